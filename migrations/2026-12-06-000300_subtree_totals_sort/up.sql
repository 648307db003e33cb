-- The Tenants list's "Total Users" and "Total Instances" columns sort by the subtree
-- totals they show (issue #11). Up to the list's count cap the page's ids are sorted
-- by key lookups into tenant_subtree_totals; past it (the root's list at 1,000,000
-- tenants) PostgreSQL walks one of these indexes in order and stops after the page,
-- instead of sorting every tenant. Ties go by id, as the list orders them.
CREATE INDEX tenant_subtree_totals_users ON tenant_subtree_totals (user_count, tenant_id);
CREATE INDEX tenant_subtree_totals_instances ON tenant_subtree_totals (instance_count, tenant_id);
