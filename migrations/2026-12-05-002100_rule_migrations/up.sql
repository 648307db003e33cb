-- Rule-set migrations between tenants (issue #13, part B): the job rows, the staged
-- copy, and the link from a tenant's lock to the migration holding it.

-- One migration: a job row claimed by a `tenantry serve` process (FOR UPDATE SKIP
-- LOCKED) and held by a lease (lease_owner, lease_until) its heartbeat extends. A
-- lease past its end while copying or swapping is a crashed run: the next claimer
-- marks it failed. Tenants are not deleted while a migration locks them (the lock
-- row's RESTRICT below); the migration's history stays with the remaining tenant
-- (SET NULL) once both locks are gone.
CREATE TABLE rule_migrations (
    id                    BIGSERIAL PRIMARY KEY,
    source_tenant_id      BIGINT REFERENCES tenants (id) ON DELETE SET NULL,
    target_tenant_id      BIGINT REFERENCES tenants (id) ON DELETE SET NULL,
    source_name           TEXT NOT NULL,
    target_name           TEXT NOT NULL,
    started_by            BIGINT REFERENCES users (id) ON DELETE SET NULL,
    started_by_login      TEXT NOT NULL,
    state                 TEXT NOT NULL
        CHECK (state IN ('queued', 'copying', 'swapping', 'done', 'failed', 'rolled_back')),
    total                 BIGINT NOT NULL DEFAULT 0 CHECK (total >= 0),
    copied                BIGINT NOT NULL DEFAULT 0 CHECK (copied >= 0),
    error                 TEXT,
    -- {"applications": {"<source id>": <target id or null>}, "domains": {…}}
    mappings              JSONB NOT NULL,
    target_version_before BIGINT NOT NULL CHECK (target_version_before >= 0),
    -- The source's version the staged rows were copied from: a retry after the
    -- source changed starts the copy afresh.
    source_version        BIGINT NOT NULL CHECK (source_version >= 0),
    -- The target's credential-stuffing row before (NULL: none), restored exactly
    -- by a rollback.
    target_settings_before JSONB,
    lease_owner           TEXT,
    lease_until           TIMESTAMPTZ,
    attempts              INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    finished_at           TIMESTAMPTZ,
    CHECK (source_tenant_id IS NULL OR source_tenant_id <> target_tenant_id)
);
-- The runner's claim: the unfinished jobs.
CREATE INDEX rule_migrations_open ON rule_migrations (id)
    WHERE state IN ('queued', 'copying', 'swapping');

-- The copy, staged: the source's current rules with the mappings applied, one row
-- per source rule. The primary key makes a resumed copy skip what is staged.
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

-- A lock held by a migration names it; the tenant under a lock cannot be deleted
-- (RESTRICT, answered 409 naming the migration) — replacing the CASCADE of part A
-- for that case.
ALTER TABLE rule_locks
    ADD CONSTRAINT rule_locks_migration FOREIGN KEY (migration_id)
        REFERENCES rule_migrations (id) ON DELETE RESTRICT;
ALTER TABLE rule_locks DROP CONSTRAINT rule_locks_tenant_id_fkey;
ALTER TABLE rule_locks
    ADD CONSTRAINT rule_locks_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES tenants (id) ON DELETE RESTRICT;
