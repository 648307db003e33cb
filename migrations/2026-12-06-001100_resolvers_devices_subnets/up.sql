-- A tenant's DNS resolvers, the devices that use them and the subnets they serve
-- (issue #14, part B), and the tenants' user limit.
--
-- Every row names its tenant, and devices and subnets point at their resolver with
-- a composite key (tenant_id, resolver_id): a device or subnet can never use another
-- tenant's resolver, whatever the application does. Deleting a resolver that devices
-- or subnets still use is refused by those keys (NO ACTION); the application says so
-- first, listing them. Deleting a tenant removes all three with it (the cascade
-- from `tenants` deletes the devices and subnets using a resolver in the same statement, which NO
-- ACTION allows); a safe delete refuses while the subtree has any (services::tenants).

-- For the subnets' exclusion constraint: `tenant_id WITH =` needs a GiST operator
-- class for bigint. Shipped with PostgreSQL and trusted (a database owner may
-- create it), like pg_trgm in the foundation.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE resolvers (
    id         BIGSERIAL PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- A host address: no prefix shorter than the address itself.
    address    INET NOT NULL CHECK (masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END),
    -- The policy it applies. No foreign key yet: the policies table comes with
    -- issue #15, which adds the key (and what deleting a policy does to resolvers).
    policy_id  BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX resolvers_name ON resolvers (tenant_id, lower(name));

CREATE TABLE devices (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- What the device reports itself as (a serial, a MAC address, a host name):
    -- visible characters without spaces, unique in the tenant in any case.
    identifier  TEXT NOT NULL CHECK (char_length(identifier) BETWEEN 1 AND 100),
    resolver_id BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (tenant_id, resolver_id) REFERENCES resolvers (tenant_id, id)
);
CREATE UNIQUE INDEX devices_identifier ON devices (tenant_id, lower(identifier));
CREATE INDEX devices_name ON devices (tenant_id, lower(name));
CREATE INDEX devices_resolver ON devices (resolver_id);

CREATE TABLE subnets (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- CIDR refuses host bits set (10.0.0.5/24), so a stored network is canonical.
    cidr        CIDR NOT NULL,
    resolver_id BIGINT NOT NULL,
    -- As resolvers.policy_id: its key comes with issue #15.
    policy_id   BIGINT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (tenant_id, resolver_id) REFERENCES resolvers (tenant_id, id),
    -- No two subnets of one tenant overlap (10.0.0.0/8 and 10.1.0.0/16 do), held by
    -- the database so that two creates at once cannot both pass a check; the
    -- service turns a violation into the field error naming the other subnet.
    -- Different tenants may use the same ranges (private networks).
    CONSTRAINT subnets_no_overlap EXCLUDE USING gist (tenant_id WITH =, cidr inet_ops WITH &&)
);
CREATE INDEX subnets_resolver ON subnets (resolver_id);

-- The most users the tenant's whole subtree may have (NULL: no limit). Checked
-- where users are created (services::limits), on the locked rows.
ALTER TABLE tenants ADD COLUMN max_users INTEGER CHECK (max_users >= 0);
