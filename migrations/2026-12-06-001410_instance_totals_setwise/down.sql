DROP TRIGGER instances_subtree_totals_added ON instances;
DROP TRIGGER instances_subtree_totals_removed ON instances;
DROP TRIGGER instances_subtree_totals_changed ON instances;
DROP FUNCTION tenant_subtree_totals_instances_added();
DROP FUNCTION tenant_subtree_totals_instances_removed();
DROP FUNCTION tenant_subtree_totals_instances_changed();
DROP FUNCTION tenant_subtree_totals_add_instances(BIGINT[], BIGINT[], BIGINT[], BIGINT[]);

CREATE FUNCTION tenant_subtree_totals_count_instance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tenant_subtree_totals_add(OLD.tenant_id, 0, 0, -1, -OLD.storage_gb::bigint, -OLD.memory_gb::bigint);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tenant_subtree_totals_add(NEW.tenant_id, 0, 0, 1, NEW.storage_gb::bigint, NEW.memory_gb::bigint);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER instances_subtree_totals AFTER INSERT OR DELETE ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenant_subtree_totals_count_instance();
CREATE CONSTRAINT TRIGGER instances_subtree_totals_changed AFTER UPDATE OF tenant_id, storage_gb, memory_gb ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR OLD.storage_gb IS DISTINCT FROM NEW.storage_gb
          OR OLD.memory_gb IS DISTINCT FROM NEW.memory_gb)
    EXECUTE FUNCTION tenant_subtree_totals_count_instance();
CREATE TRIGGER instances_count AFTER INSERT OR DELETE ON instances
    FOR EACH ROW EXECUTE FUNCTION tenants_count_instances();
CREATE TRIGGER instances_count_moved AFTER UPDATE OF tenant_id ON instances
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tenants_count_instances();
