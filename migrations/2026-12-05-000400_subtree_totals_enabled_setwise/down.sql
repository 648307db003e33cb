DROP FUNCTION tenants_set_enabled(BIGINT, BIGINT[], BOOLEAN);
CREATE FUNCTION tenant_subtree_totals_enabled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenant_subtree_totals_add(NEW.id, CASE WHEN NEW.enabled THEN -1 ELSE 1 END, 0, 0);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER tenants_subtree_totals_enabled AFTER UPDATE OF enabled ON tenants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled)
    EXECUTE FUNCTION tenant_subtree_totals_enabled();
