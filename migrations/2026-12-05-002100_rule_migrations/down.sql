ALTER TABLE rule_locks DROP CONSTRAINT rule_locks_tenant_id_fkey;
ALTER TABLE rule_locks
    ADD CONSTRAINT rule_locks_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE rule_locks DROP CONSTRAINT rule_locks_migration;
DROP TABLE rule_migration_rows;
DROP TABLE rule_migrations;
