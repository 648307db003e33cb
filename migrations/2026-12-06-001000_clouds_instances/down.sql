DROP TRIGGER instances_subtree_totals ON instances;
DROP TRIGGER instances_subtree_totals_changed ON instances;
DROP FUNCTION tenant_subtree_totals_count_instance();
CREATE OR REPLACE FUNCTION tenant_subtree_totals_add(tenant BIGINT, d_disabled BIGINT, d_users BIGINT, d_instances BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p BIGINT[];
    q BIGINT[];
BEGIN
    SELECT path INTO p FROM tenant_paths WHERE tenant_id = tenant;
    LOOP
        IF p IS NULL THEN
            RETURN;
        END IF;
        PERFORM 1 FROM tenants WHERE id = ANY (p) ORDER BY array_position(p, id) FOR KEY SHARE;
        SELECT path INTO q FROM tenant_paths WHERE tenant_id = tenant;
        EXIT WHEN q IS NOT DISTINCT FROM p;
        p := q;
    END LOOP;
    PERFORM 1 FROM tenant_subtree_totals WHERE tenant_id = ANY (p)
        ORDER BY array_position(p, tenant_id) FOR NO KEY UPDATE;
    UPDATE tenant_subtree_totals
    SET disabled_count = disabled_count + d_disabled,
        user_count = user_count + d_users,
        instance_count = instance_count + d_instances
    WHERE tenant_id = ANY (p);
END $$;
DROP FUNCTION tenant_subtree_totals_add(BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT);
CREATE CONSTRAINT TRIGGER instances_subtree_totals AFTER INSERT OR DELETE ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenant_subtree_totals_count();
CREATE CONSTRAINT TRIGGER instances_subtree_totals_moved AFTER UPDATE OF tenant_id ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tenant_subtree_totals_count();
ALTER TABLE tenant_subtree_totals DROP COLUMN storage_gb, DROP COLUMN memory_gb;
ALTER TABLE tenants DROP COLUMN storage_limit_gb, DROP COLUMN memory_limit_gb, DROP COLUMN max_instances;
DROP INDEX instances_tenant_id;
ALTER TABLE instances DROP COLUMN cloud_id, DROP COLUMN owner_id, DROP COLUMN status, DROP COLUMN updated_at;
ALTER TABLE tenant_roles DROP COLUMN public_clouds;
DROP TABLE cloud_assignments;
DROP TABLE clouds;
