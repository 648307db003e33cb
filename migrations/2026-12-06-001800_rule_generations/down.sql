-- Back to one generation per tenant (best effort: the old layout cannot say
-- "generation"): rows of generations no version names are dropped; the open rows of
-- a generation that stopped being current are closed at the version that left it.
DROP TRIGGER tenants_no_truncate ON tenants;
DROP TRIGGER applications_no_truncate ON applications;
DROP TRIGGER domains_no_truncate ON domains;
DROP FUNCTION rules_parent_no_truncate();
DROP TRIGGER tenants_delete_rules ON tenants;
DROP FUNCTION tenants_delete_rules();
DROP TRIGGER applications_unbind_rules ON applications;
DROP FUNCTION applications_unbind_rules();
DROP TRIGGER domains_unbind_rules ON domains;
DROP FUNCTION domains_unbind_rules();
DROP FUNCTION rules_require_read_committed();
DROP TRIGGER rules_parents_on_update ON rules;
DROP FUNCTION rules_parents_exist_row();
DROP TRIGGER rules_parents_on_insert ON rules;
DROP FUNCTION rules_parents_exist();
DROP FUNCTION rules_fk_violation(text);

DELETE FROM rules r
WHERE r.generation <> (SELECT s.generation FROM rule_sets s WHERE s.tenant_id = r.tenant_id)
  AND NOT EXISTS (SELECT 1 FROM rule_set_versions v
                  WHERE v.tenant_id = r.tenant_id AND v.generation = r.generation);
UPDATE rules r SET valid_to = (
    SELECT min(v.version) FROM rule_set_versions v
    WHERE v.tenant_id = r.tenant_id AND v.generation <> r.generation AND v.version > r.valid_from)
WHERE r.valid_to IS NULL
  AND r.generation <> (SELECT s.generation FROM rule_sets s WHERE s.tenant_id = r.tenant_id);

ALTER TABLE rules
    ADD CONSTRAINT rules_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES tenants (id) ON DELETE CASCADE,
    ADD CONSTRAINT rules_application_id_tenant_id_fkey FOREIGN KEY (application_id, tenant_id)
        REFERENCES applications (id, tenant_id) ON DELETE SET NULL (application_id),
    ADD CONSTRAINT rules_domain_id_tenant_id_fkey FOREIGN KEY (domain_id, tenant_id)
        REFERENCES domains (id, tenant_id) ON DELETE SET NULL (domain_id);

CREATE TABLE rule_migration_rows (
    migration_id   BIGINT NOT NULL REFERENCES rule_migrations (id) ON DELETE CASCADE,
    source_rule_id BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    application_id BIGINT,
    domain_id      BIGINT,
    path           TEXT,
    value          TEXT NOT NULL,
    action         TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL,
    PRIMARY KEY (migration_id, source_rule_id)
);
UPDATE rule_migrations SET copied = 0 WHERE state NOT IN ('done', 'rolled_back');
ALTER TABLE rule_migrations DROP COLUMN generation, DROP COLUMN copied_upto;

DROP INDEX rules_history;
CREATE INDEX rules_history ON rules (tenant_id, valid_from);
DROP INDEX rules_current;
CREATE UNIQUE INDEX rules_current ON rules (tenant_id, rule_id) WHERE valid_to IS NULL;
ALTER TABLE rule_set_versions DROP COLUMN generation;
ALTER TABLE rule_sets DROP COLUMN generation;
ALTER TABLE rules DROP COLUMN generation;
DROP SEQUENCE rule_generations;
