-- Policies (issue #15): a tenant's protection settings, inherited down the tree.
--
-- A policy belongs to one tenant. `inheritable` publishes it to every descendant
-- (read-only there); `enforcement` says whether descendants must use it (`locked`)
-- or may override it (`default`). An override is a policy of its own tenant that
-- names the inherited policy it overrides (`overrides_id`; one per tenant and
-- inherited policy). Kind-specific settings: `threshold` (0–100) for
-- blocking_threshold only, `entries` for the others (content categories, host
-- names, regulatory list names), each validated by the application against its
-- fixed list or the host-name rules.
CREATE TABLE policies (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    kind         TEXT NOT NULL CHECK (kind IN ('blocking_threshold', 'content_filter',
                     'regulatory', 'allow_list', 'deny_list')),
    threshold    INTEGER CHECK (threshold BETWEEN 0 AND 100),
    entries      TEXT[] NOT NULL DEFAULT '{}' CHECK (array_position(entries, NULL) IS NULL),
    inheritable  BOOLEAN NOT NULL,
    enforcement  TEXT NOT NULL CHECK (enforcement IN ('locked', 'default')),
    -- Deleting the inherited policy leaves the override as a plain policy of its tenant.
    overrides_id BIGINT REFERENCES policies (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CHECK ((kind = 'blocking_threshold') = (threshold IS NOT NULL)),
    CHECK (overrides_id IS NULL OR overrides_id <> id),
    UNIQUE (tenant_id, overrides_id)
);
CREATE UNIQUE INDEX policies_name ON policies (tenant_id, lower(name));
-- The effective policies of a tenant: one probe per tenant on its path.
CREATE INDEX policies_tenant_kind ON policies (tenant_id, kind, id);
CREATE INDEX policies_overrides ON policies (overrides_id) WHERE overrides_id IS NOT NULL;

-- The keys #14 left for this issue. Deleting a policy clears the references: the
-- resolver or subnet then follows its tenant's effective policy.
ALTER TABLE resolvers ADD CONSTRAINT resolvers_policy_id_fkey
    FOREIGN KEY (policy_id) REFERENCES policies (id) ON DELETE SET NULL;
ALTER TABLE subnets ADD CONSTRAINT subnets_policy_id_fkey
    FOREIGN KEY (policy_id) REFERENCES policies (id) ON DELETE SET NULL;
CREATE INDEX resolvers_policy ON resolvers (policy_id) WHERE policy_id IS NOT NULL;
CREATE INDEX subnets_policy ON subnets (policy_id) WHERE policy_id IS NOT NULL;
