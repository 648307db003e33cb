-- Rule generations (issue #13's benchmark: a 100,000-rule migration under 1 s).
--
-- A tenant's rules belong to generations. `rule_sets.generation` names the current
-- one, `rule_set_versions.generation` the one each version reads: the rule set at
-- version v is the rows of gen(v) with valid_from <= v < coalesce(valid_to, ∞).
-- Edits work in the current generation as before (temporal rows). A migration
-- copies the source's rules straight into the target's rules under a new
-- generation (invisible until the swap), and the swap only moves the pointer: the
-- target's old rows are neither closed nor rewritten. Generation 0 is every
-- tenant's first; migrations draw theirs from `rule_generations`, so an abandoned
-- generation's number is never reused. Rows of a generation no version names (an
-- abandoned copy) are deleted by the rollback or retry that abandons it; rows of
-- generations that versions name stay, as closed rows always did.
CREATE SEQUENCE rule_generations;

ALTER TABLE rules ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rules ALTER COLUMN generation DROP DEFAULT;
ALTER TABLE rule_sets ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rule_set_versions ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rule_set_versions ALTER COLUMN generation DROP DEFAULT;

DROP INDEX rules_current;
CREATE UNIQUE INDEX rules_current ON rules (tenant_id, generation, rule_id) WHERE valid_to IS NULL;
DROP INDEX rules_history;
CREATE INDEX rules_history ON rules (tenant_id, generation, valid_from);

-- A migration builds its generation (drawn when it is queued) and records how far
-- the copy got: `copied_upto`, the highest source rule id copied, advanced in the
-- transaction of each batch — a retry resumes after it. The staging table goes.
-- Migrations queued before this one start their copy afresh; finished ones built
-- no generation of their own (0).
ALTER TABLE rule_migrations
    ADD COLUMN generation BIGINT,
    ADD COLUMN copied_upto BIGINT NOT NULL DEFAULT 0 CHECK (copied_upto >= 0);
UPDATE rule_migrations SET generation = 0 WHERE state IN ('done', 'rolled_back');
UPDATE rule_migrations SET generation = nextval('rule_generations'), copied = 0
WHERE generation IS NULL;
ALTER TABLE rule_migrations ALTER COLUMN generation SET NOT NULL,
    ALTER COLUMN generation SET DEFAULT nextval('rule_generations');
DROP TABLE rule_migration_rows;

-- The three per-row foreign keys of `rules` become set-based checks: one check per
-- statement over its transition table (a copy of 100,000 rows names 1 tenant, 20
-- applications and 100 domains: 121 lookups, not 300,000). What the keys did on
-- delete is done per statement by triggers on the parents. The parents are locked
-- FOR KEY SHARE as a key's check locks them, so a parent deleted concurrently either
-- waits for the rule's commit (and then unbinds or deletes it) or makes the insert
-- fail: the parents' triggers must see rows committed after their statement began,
-- which only READ COMMITTED gives them, so they refuse to run under another
-- isolation level. TRUNCATE of a parent (which would skip them) is refused.
ALTER TABLE rules DROP CONSTRAINT rules_tenant_id_fkey,
                  DROP CONSTRAINT rules_application_id_tenant_id_fkey,
                  DROP CONSTRAINT rules_domain_id_tenant_id_fkey;

CREATE FUNCTION rules_fk_violation(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'insert or update on table "rules" violates foreign key constraint "%"', what
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = what, TABLE = 'rules';
END $$;

CREATE FUNCTION rules_parents_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant_ids bigint[];
    app_ids bigint[];
    app_tenants bigint[];
    domain_ids bigint[];
    domain_tenants bigint[];
    found bigint;
BEGIN
    -- One pass over the new rows: their distinct parents (a handful, however many
    -- rows), then one locking lookup per kind of parent.
    WITH k AS MATERIALIZED (
        SELECT DISTINCT tenant_id, application_id, domain_id FROM new_rules
    ), a AS (
        SELECT DISTINCT application_id, tenant_id FROM k WHERE application_id IS NOT NULL
    ), d AS (
        SELECT DISTINCT domain_id, tenant_id FROM k WHERE domain_id IS NOT NULL
    )
    SELECT (SELECT array_agg(DISTINCT tenant_id) FROM k),
           (SELECT array_agg(application_id) FROM a), (SELECT array_agg(tenant_id) FROM a),
           (SELECT array_agg(domain_id) FROM d), (SELECT array_agg(tenant_id) FROM d)
    INTO tenant_ids, app_ids, app_tenants, domain_ids, domain_tenants;
    SELECT count(*) INTO found FROM (
        SELECT 1 FROM tenants WHERE id = ANY (tenant_ids) FOR KEY SHARE) x;
    IF found < coalesce(cardinality(tenant_ids), 0) THEN
        PERFORM rules_fk_violation('rules_tenant_id_fkey');
    END IF;
    IF app_ids IS NOT NULL THEN
        SELECT count(*) INTO found FROM (
            SELECT 1 FROM applications p
            JOIN unnest(app_ids, app_tenants) u (id, tenant_id)
              ON p.id = u.id AND p.tenant_id = u.tenant_id
            FOR KEY SHARE OF p) x;
        IF found < cardinality(app_ids) THEN
            PERFORM rules_fk_violation('rules_application_id_tenant_id_fkey');
        END IF;
    END IF;
    IF domain_ids IS NOT NULL THEN
        SELECT count(*) INTO found FROM (
            SELECT 1 FROM domains p
            JOIN unnest(domain_ids, domain_tenants) u (id, tenant_id)
              ON p.id = u.id AND p.tenant_id = u.tenant_id
            FOR KEY SHARE OF p) x;
        IF found < cardinality(domain_ids) THEN
            PERFORM rules_fk_violation('rules_domain_id_tenant_id_fkey');
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rules_parents_on_insert AFTER INSERT ON rules
    REFERENCING NEW TABLE AS new_rules
    FOR EACH STATEMENT EXECUTE FUNCTION rules_parents_exist();

-- A rule re-pointed by an UPDATE (nothing in the application does; closing a row
-- sets only valid_to, and the parents' triggers below only clear references, which
-- needs no check). Row-level: a column list and transition tables do not go together.
CREATE FUNCTION rules_parents_exist_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved boolean := NEW.tenant_id IS DISTINCT FROM OLD.tenant_id;
BEGIN
    IF moved THEN
        PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM rules_fk_violation('rules_tenant_id_fkey');
        END IF;
    END IF;
    IF NEW.application_id IS NOT NULL
       AND (moved OR NEW.application_id IS DISTINCT FROM OLD.application_id) THEN
        PERFORM 1 FROM applications
        WHERE id = NEW.application_id AND tenant_id = NEW.tenant_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM rules_fk_violation('rules_application_id_tenant_id_fkey');
        END IF;
    END IF;
    IF NEW.domain_id IS NOT NULL
       AND (moved OR NEW.domain_id IS DISTINCT FROM OLD.domain_id) THEN
        PERFORM 1 FROM domains
        WHERE id = NEW.domain_id AND tenant_id = NEW.tenant_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM rules_fk_violation('rules_domain_id_tenant_id_fkey');
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rules_parents_on_update AFTER UPDATE OF tenant_id, application_id, domain_id ON rules
    FOR EACH ROW
    WHEN (NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
          OR (NEW.application_id IS NOT NULL AND NEW.application_id IS DISTINCT FROM OLD.application_id)
          OR (NEW.domain_id IS NOT NULL AND NEW.domain_id IS DISTINCT FROM OLD.domain_id))
    EXECUTE FUNCTION rules_parents_exist_row();

CREATE FUNCTION rules_require_read_committed() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'deleting a parent of rules needs READ COMMITTED (not %)',
            current_setting('transaction_isolation')
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Its statement-level triggers must see rules committed after the statement began.';
    END IF;
END $$;

-- ON DELETE CASCADE of rules.tenant_id.
CREATE FUNCTION tenants_delete_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rules_require_read_committed();
    DELETE FROM rules WHERE tenant_id IN (SELECT id FROM old_tenants);
    RETURN NULL;
END $$;
CREATE TRIGGER tenants_delete_rules AFTER DELETE ON tenants
    REFERENCING OLD TABLE AS old_tenants
    FOR EACH STATEMENT EXECUTE FUNCTION tenants_delete_rules();

-- ON DELETE SET NULL (application_id). Applications deleted with their tenant are
-- skipped: the tenant's trigger deletes those rules (the tenant row is gone by the
-- time its applications' cascade runs).
CREATE FUNCTION applications_unbind_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rules_require_read_committed();
    UPDATE rules SET application_id = NULL
    WHERE (application_id, tenant_id) IN (
        SELECT o.id, o.tenant_id FROM old_applications o JOIN tenants t ON t.id = o.tenant_id);
    RETURN NULL;
END $$;
CREATE TRIGGER applications_unbind_rules AFTER DELETE ON applications
    REFERENCING OLD TABLE AS old_applications
    FOR EACH STATEMENT EXECUTE FUNCTION applications_unbind_rules();

-- ON DELETE SET NULL (domain_id), likewise.
CREATE FUNCTION domains_unbind_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rules_require_read_committed();
    UPDATE rules SET domain_id = NULL
    WHERE (domain_id, tenant_id) IN (
        SELECT o.id, o.tenant_id FROM old_domains o JOIN tenants t ON t.id = o.tenant_id);
    RETURN NULL;
END $$;
CREATE TRIGGER domains_unbind_rules AFTER DELETE ON domains
    REFERENCING OLD TABLE AS old_domains
    FOR EACH STATEMENT EXECUTE FUNCTION domains_unbind_rules();

CREATE FUNCTION rules_parent_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE % would leave rules naming its rows; DELETE instead', TG_TABLE_NAME
        USING ERRCODE = 'feature_not_supported';
END $$;
CREATE TRIGGER tenants_no_truncate BEFORE TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION rules_parent_no_truncate();
CREATE TRIGGER applications_no_truncate BEFORE TRUNCATE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION rules_parent_no_truncate();
CREATE TRIGGER domains_no_truncate BEFORE TRUNCATE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION rules_parent_no_truncate();
