-- Set-based replacement of rules' three foreign keys (experiment).
ALTER TABLE rules DROP CONSTRAINT rules_tenant_id_fkey,
                  DROP CONSTRAINT rules_application_id_tenant_id_fkey,
                  DROP CONSTRAINT rules_domain_id_tenant_id_fkey;

-- New or re-pointed rules: every parent they name exists, and is locked FOR KEY
-- SHARE (as the FK's check does) so that it cannot be deleted before we commit.
CREATE FUNCTION rules_parents_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    locked bigint;
BEGIN
    SELECT count(*) INTO wanted FROM (SELECT DISTINCT tenant_id FROM new_rules) k;
    SELECT count(*) INTO locked FROM (
        SELECT 1 FROM tenants t WHERE t.id IN (SELECT tenant_id FROM new_rules)
        FOR KEY SHARE) k;
    IF locked < wanted THEN
        RAISE EXCEPTION 'insert or update on table "rules" violates foreign key constraint "rules_tenant_id_fkey"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'rules_tenant_id_fkey', TABLE = 'rules';
    END IF;
    SELECT count(*) INTO wanted FROM (SELECT DISTINCT application_id, tenant_id FROM new_rules WHERE application_id IS NOT NULL) k;
    IF wanted > 0 THEN
        SELECT count(*) INTO locked FROM (
            SELECT 1 FROM applications a
            WHERE (a.id, a.tenant_id) IN (SELECT application_id, tenant_id FROM new_rules WHERE application_id IS NOT NULL)
            FOR KEY SHARE) k;
        IF locked < wanted THEN
            RAISE EXCEPTION 'insert or update on table "rules" violates foreign key constraint "rules_application_id_tenant_id_fkey"'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'rules_application_id_tenant_id_fkey', TABLE = 'rules';
        END IF;
    END IF;
    SELECT count(*) INTO wanted FROM (SELECT DISTINCT domain_id, tenant_id FROM new_rules WHERE domain_id IS NOT NULL) k;
    IF wanted > 0 THEN
        SELECT count(*) INTO locked FROM (
            SELECT 1 FROM domains d
            WHERE (d.id, d.tenant_id) IN (SELECT domain_id, tenant_id FROM new_rules WHERE domain_id IS NOT NULL)
            FOR KEY SHARE) k;
        IF locked < wanted THEN
            RAISE EXCEPTION 'insert or update on table "rules" violates foreign key constraint "rules_domain_id_tenant_id_fkey"'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'rules_domain_id_tenant_id_fkey', TABLE = 'rules';
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rules_parents_on_insert AFTER INSERT ON rules
    REFERENCING NEW TABLE AS new_rules FOR EACH STATEMENT EXECUTE FUNCTION rules_parents_exist();

-- A rule's parents changed by an UPDATE (rare: SET NULL below; the close of a row
-- only sets valid_to and does not fire it). Row-level: a column list and
-- transition tables do not go together.
CREATE FUNCTION rules_parents_exist_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rules: tenant % does not exist', NEW.tenant_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NEW.application_id IS NOT NULL THEN
        PERFORM 1 FROM applications WHERE id = NEW.application_id AND tenant_id = NEW.tenant_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'rules: application % of tenant % does not exist', NEW.application_id, NEW.tenant_id USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    IF NEW.domain_id IS NOT NULL THEN
        PERFORM 1 FROM domains WHERE id = NEW.domain_id AND tenant_id = NEW.tenant_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'rules: domain % of tenant % does not exist', NEW.domain_id, NEW.tenant_id USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rules_parents_on_update AFTER UPDATE OF tenant_id, application_id, domain_id ON rules
    FOR EACH ROW WHEN (NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
                       OR NEW.application_id IS DISTINCT FROM OLD.application_id
                       OR NEW.domain_id IS DISTINCT FROM OLD.domain_id)
    EXECUTE FUNCTION rules_parents_exist_row();

-- What the foreign keys' ON DELETE did, per statement.
CREATE FUNCTION tenants_delete_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM rules WHERE tenant_id IN (SELECT id FROM old_tenants);
    RETURN NULL;
END $$;
CREATE TRIGGER tenants_delete_rules AFTER DELETE ON tenants
    REFERENCING OLD TABLE AS old_tenants FOR EACH STATEMENT EXECUTE FUNCTION tenants_delete_rules();
CREATE FUNCTION applications_unbind_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rules SET application_id = NULL
    WHERE (application_id, tenant_id) IN (SELECT id, tenant_id FROM old_applications);
    RETURN NULL;
END $$;
CREATE TRIGGER applications_unbind_rules AFTER DELETE ON applications
    REFERENCING OLD TABLE AS old_applications FOR EACH STATEMENT EXECUTE FUNCTION applications_unbind_rules();
CREATE FUNCTION domains_unbind_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rules SET domain_id = NULL
    WHERE (domain_id, tenant_id) IN (SELECT id, tenant_id FROM old_domains);
    RETURN NULL;
END $$;
CREATE TRIGGER domains_unbind_rules AFTER DELETE ON domains
    REFERENCING OLD TABLE AS old_domains FOR EACH STATEMENT EXECUTE FUNCTION domains_unbind_rules();
