-- Permission model: user roles per tenant (single-tenant roles and linked copies of
-- multi-tenant templates defined in the root), roles and limits on users.

CREATE TABLE user_roles (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- feature name -> 'none' | 'read' | 'full'; a missing feature means 'none'.
    permissions  JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- A template, copied into every tenant (only in the root tenant).
    multi_tenant BOOLEAN NOT NULL DEFAULT FALSE,
    -- The template this role is a copy of; NULL once the template is deleted.
    template_id  BIGINT REFERENCES user_roles (id) ON DELETE SET NULL,
    -- Edited inside its tenant: no longer follows the template, for good.
    customised   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX user_roles_tenant ON user_roles (tenant_id, lower(name));
CREATE INDEX user_roles_template ON user_roles (template_id) WHERE template_id IS NOT NULL;
CREATE UNIQUE INDEX user_roles_one_copy_per_tenant ON user_roles (template_id, tenant_id) WHERE template_id IS NOT NULL;

ALTER TABLE users
    ADD COLUMN role_id BIGINT REFERENCES user_roles (id) ON DELETE RESTRICT,
    ADD COLUMN storage_limit_gb INTEGER CHECK (storage_limit_gb >= 0),
    ADD COLUMN memory_limit_gb INTEGER CHECK (memory_limit_gb >= 0);
CREATE INDEX users_role ON users (role_id);
