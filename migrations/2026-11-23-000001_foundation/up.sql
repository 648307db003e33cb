-- Foundation: tenant tree, tenant roles (caps), users, grants, sessions,
-- login throttling, instances (resource counts) and the audit trail.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A tenant role caps every user role inside a tenant. `permissions` maps
-- feature name -> 'none' | 'read' | 'full'; a missing feature means 'none'.
CREATE TABLE tenant_roles (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    permissions JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenant_roles_name ON tenant_roles (lower(name));

INSERT INTO tenant_roles (name, permissions) VALUES
  ('Full access', '{"tenants":"full","users":"full","roles":"full","invitations":"full","policies":"full","resources":"full","rules":"full","usage":"full","settings":"full","audit":"full"}');

-- `path` holds the ids from the root down to and including the tenant itself,
-- so "is A an ancestor of B" is `A = ANY(B.path)` on one primary-key lookup and a
-- subtree is `path @> ARRAY[A]` on the GIN index, without recursion.
CREATE TABLE tenants (
    id                  BIGSERIAL PRIMARY KEY,
    parent_id           BIGINT REFERENCES tenants (id) ON DELETE RESTRICT,
    path                BIGINT[] NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    subdomain           TEXT NOT NULL,
    custom_domain       TEXT,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    can_have_subtenants BOOLEAN NOT NULL DEFAULT FALSE,
    tenant_role_id      BIGINT NOT NULL REFERENCES tenant_roles (id) ON DELETE RESTRICT,
    user_count          INTEGER NOT NULL DEFAULT 0,
    instance_count      INTEGER NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tenants_path_ends_in_self CHECK (path[array_length(path, 1)] = id),
    CONSTRAINT tenants_root_has_no_parent CHECK ((parent_id IS NULL) = (array_length(path, 1) = 1)),
    CONSTRAINT tenants_parent_in_path CHECK (parent_id IS NULL OR path[array_length(path, 1) - 1] = parent_id)
);
CREATE UNIQUE INDEX tenants_single_root ON tenants ((parent_id IS NULL)) WHERE parent_id IS NULL;
CREATE UNIQUE INDEX tenants_subdomain ON tenants (subdomain);
CREATE UNIQUE INDEX tenants_custom_domain ON tenants (lower(custom_domain)) WHERE custom_domain IS NOT NULL;
CREATE INDEX tenants_path ON tenants USING gin (path);
CREATE INDEX tenants_parent_name ON tenants (parent_id, lower(name), id);
CREATE INDEX tenants_lower_name ON tenants (lower(name), id);
CREATE INDEX tenants_name_trgm ON tenants USING gin (name gin_trgm_ops);
CREATE INDEX tenants_created ON tenants (created_at, id);

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    tenant_id      BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username       TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    first_name     TEXT NOT NULL DEFAULT '',
    last_name      TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    source         TEXT NOT NULL DEFAULT 'local',
    -- Bumped whenever existing sessions must end (password change, disable).
    session_epoch  INTEGER NOT NULL DEFAULT 0,
    last_login_at  TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_tenant_username ON users (tenant_id, lower(username));

-- Cascading tenant-management grants: Owner / Administrator / Viewer.
CREATE TABLE grants (
    id                BIGSERIAL PRIMARY KEY,
    user_id           BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id         BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role              TEXT NOT NULL CHECK (role IN ('owner', 'administrator', 'viewer')),
    scope             TEXT NOT NULL CHECK (scope IN ('tenant', 'subtree')),
    manage_subtenants BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, tenant_id)
);
CREATE INDEX grants_tenant ON grants (tenant_id);

-- Workloads owned by a tenant; counted on the Tenants page.
CREATE TABLE instances (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    storage_gb  INTEGER NOT NULL DEFAULT 0 CHECK (storage_gb >= 0),
    memory_gb   INTEGER NOT NULL DEFAULT 0 CHECK (memory_gb >= 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX instances_tenant ON instances (tenant_id);

-- Counters kept by triggers so that sorting 100k tenants by them stays an index scan.
CREATE FUNCTION tenants_count_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE tenants SET user_count = user_count - 1 WHERE id = OLD.tenant_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tenants_count_users();

CREATE FUNCTION tenants_count_instances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tenants SET instance_count = instance_count + 1 WHERE id = NEW.tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE tenants SET instance_count = instance_count - 1 WHERE id = OLD.tenant_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER instances_count AFTER INSERT OR DELETE ON instances
    FOR EACH ROW EXECUTE FUNCTION tenants_count_instances();

CREATE INDEX tenants_user_count ON tenants (user_count, id);
CREATE INDEX tenants_instance_count ON tenants (instance_count, id);

-- Server-side sessions, shared by every app process. The key is stored hashed.
CREATE TABLE sessions (
    key_hash    TEXT PRIMARY KEY,
    state       JSONB NOT NULL,
    user_id     BIGINT REFERENCES users (id) ON DELETE CASCADE,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed-login counters per account name and per client address.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL
);

-- Append-only audit trail: the application only ever inserts.
CREATE TABLE audit_events (
    id               BIGSERIAL PRIMARY KEY,
    occurred_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_user_id    BIGINT,
    actor_username   TEXT NOT NULL,
    acting_tenant_id BIGINT,
    tenant_id        BIGINT,
    action           TEXT NOT NULL,
    before           JSONB,
    after            JSONB,
    client_addr      TEXT
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, occurred_at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END $$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
