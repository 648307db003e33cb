DROP FUNCTION tenant_subtree_totals_add_instances(BIGINT[], BIGINT[], BIGINT[], BIGINT[]);
ALTER FUNCTION tenant_subtree_totals_add_instances_of_many(BIGINT[], BIGINT[], BIGINT[], BIGINT[])
    RENAME TO tenant_subtree_totals_add_instances;
