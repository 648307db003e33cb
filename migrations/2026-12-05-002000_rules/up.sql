-- Per-tenant protection configuration (issue #13, part A): applications, domains,
-- rules kept as temporal rows (every version of a tenant's rule set can be read
-- back), credential-stuffing settings, the version history, and the lock rows that
-- a rule-set migration (part B) holds while it runs.

-- A tenant's applications. (id, tenant_id) is unique so that domains and rules can
-- point at one with a composite key: a row can never name another tenant's.
CREATE TABLE applications (
    id         BIGSERIAL PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (id, tenant_id)
);
CREATE UNIQUE INDEX applications_name ON applications (tenant_id, lower(name));

-- A tenant's domains (host names, lower case), optionally bound to one of its
-- applications; deleting the application unbinds them.
CREATE TABLE domains (
    id             BIGSERIAL PRIMARY KEY,
    tenant_id      BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name           TEXT NOT NULL CHECK (name <> '' AND name = lower(name)),
    application_id BIGINT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (id, tenant_id),
    FOREIGN KEY (application_id, tenant_id) REFERENCES applications (id, tenant_id)
        ON DELETE SET NULL (application_id)
);
CREATE UNIQUE INDEX domains_name ON domains (tenant_id, name);
CREATE INDEX domains_application ON domains (application_id) WHERE application_id IS NOT NULL;

-- The head of a tenant's rule set: its current version. Every write to the
-- tenant's rules, applications, domains or settings locks this row FOR UPDATE
-- first (created on first use), then checks `rule_locks`; a migration locks it the
-- same way before inserting its lock, so the two serialise.
CREATE TABLE rule_sets (
    tenant_id  BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL CHECK (version >= 0),
    updated_at TIMESTAMPTZ NOT NULL
);

-- Logical rule ids (the id in URLs), shared by every row of one rule's history.
CREATE SEQUENCE rule_ids;

-- Rules as temporal rows: a row holds one rule's content from version
-- `valid_from` up to (not including) `valid_to`; NULL `valid_to` is current. An
-- edit closes the current row and inserts the new content under the same rule_id;
-- a delete closes it. The set at version v: valid_from <= v AND (valid_to IS NULL
-- OR valid_to > v). An application or domain deleted later leaves old rows unbound.
CREATE TABLE rules (
    row_id         BIGSERIAL PRIMARY KEY,
    rule_id        BIGINT NOT NULL DEFAULT nextval('rule_ids'),
    tenant_id      BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL
        CHECK (kind IN ('block_ip', 'allow_ip', 'rate_limit', 'virtual_patch', 'mode')),
    application_id BIGINT,
    domain_id      BIGINT,
    path           TEXT CHECK (path IS NULL OR (path LIKE '/%' AND char_length(path) <= 1000)),
    value          TEXT NOT NULL CHECK (value <> ''),
    action         TEXT NOT NULL CHECK (action IN ('block', 'monitor', 'allow')),
    enabled        BOOLEAN NOT NULL,
    valid_from     BIGINT NOT NULL CHECK (valid_from >= 1),
    valid_to       BIGINT CHECK (valid_to IS NULL OR valid_to > valid_from),
    FOREIGN KEY (application_id, tenant_id) REFERENCES applications (id, tenant_id)
        ON DELETE SET NULL (application_id),
    FOREIGN KEY (domain_id, tenant_id) REFERENCES domains (id, tenant_id)
        ON DELETE SET NULL (domain_id)
);
ALTER SEQUENCE rule_ids OWNED BY rules.rule_id;
-- The current set, and one current row per rule.
CREATE UNIQUE INDEX rules_current ON rules (tenant_id, rule_id) WHERE valid_to IS NULL;
-- Reading an older version, and a rule's history.
CREATE INDEX rules_history ON rules (tenant_id, valid_from);
CREATE INDEX rules_application ON rules (application_id) WHERE application_id IS NOT NULL;
CREATE INDEX rules_domain ON rules (domain_id) WHERE domain_id IS NOT NULL;

-- A tenant's current credential-stuffing settings (absent: the defaults, off).
CREATE TABLE credential_stuffing (
    tenant_id      BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    enabled        BOOLEAN NOT NULL,
    threshold      INTEGER NOT NULL CHECK (threshold BETWEEN 1 AND 10000),
    window_minutes INTEGER NOT NULL CHECK (window_minutes BETWEEN 1 AND 1440),
    login_paths    TEXT[] NOT NULL CHECK (cardinality(login_paths) <= 50),
    updated_at     TIMESTAMPTZ NOT NULL
);

-- One row per version of a tenant's rule set: who made it, how, and the
-- credential-stuffing settings as they stood after it (the rules of a version are
-- read from the temporal rows).
CREATE TABLE rule_set_versions (
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version       BIGINT NOT NULL CHECK (version >= 1),
    created_at    TIMESTAMPTZ NOT NULL,
    actor_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor_login   TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('edit', 'batch', 'restore', 'migration', 'rollback')),
    summary       TEXT NOT NULL,
    settings      JSONB NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- A tenant whose rule configuration is locked (by a running or failed migration):
-- a committed row, seen by every process. Every write checks it after locking the
-- tenant's `rule_sets` row.
CREATE TABLE rule_locks (
    tenant_id    BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    migration_id BIGINT,
    locked_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    since        TIMESTAMPTZ NOT NULL,
    description  TEXT NOT NULL
);
