-- Issue #14 (part A): clouds shared down the tree, instances on clouds, and the
-- tenant limits that instances are checked against.
--
-- Clouds. A tenant's clouds are `private` (its own), `public` (every tenant below
-- it sees them) or `assigned` (the tenants listed in cloud_assignments, all below
-- it, see them). Who may share (the root and tenants that may have sub-tenants) is
-- checked by services::clouds; who sees which cloud is authz::cloud_access, and
-- its SQL form is Cloud::visible (by key over the viewer's path).
CREATE TABLE clouds (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    provider    TEXT NOT NULL CHECK (provider IN ('aws', 'azure', 'gcp', 'vmware', 'openstack', 'other')),
    visibility  TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public', 'assigned')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX clouds_tenant ON clouds (tenant_id, id);
CREATE UNIQUE INDEX clouds_tenant_name ON clouds (tenant_id, lower(name));

CREATE TABLE cloud_assignments (
    cloud_id   BIGINT NOT NULL REFERENCES clouds (id) ON DELETE CASCADE,
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    PRIMARY KEY (cloud_id, tenant_id)
);
CREATE INDEX cloud_assignments_tenant ON cloud_assignments (tenant_id, cloud_id);

-- Whether the tenants of a tenant role see the root's public clouds.
ALTER TABLE tenant_roles ADD COLUMN public_clouds BOOLEAN NOT NULL DEFAULT true;

-- Instances run on a cloud (NULL only for rows from before clouds existed). The
-- foreign key is NO ACTION, checked at the end of the statement: deleting a subtree
-- removes its clouds and the instances on them in one statement, while deleting a
-- cloud that instances still use is refused (services::clouds says so first).
-- The owner is a user of the tenant; when that user is deleted the instance stays,
-- without an owner (ON DELETE SET NULL): instances are the tenant's, and deleting a
-- person must not be blocked by, nor destroy, what they ran.
ALTER TABLE instances
    ADD COLUMN cloud_id   BIGINT REFERENCES clouds (id),
    ADD COLUMN owner_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN status     TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX instances_cloud ON instances (cloud_id);
CREATE INDEX instances_owner ON instances (owner_id);
CREATE INDEX instances_tenant_id ON instances (tenant_id, id);

-- Limits on a tenant's whole subtree (NULL: none).
ALTER TABLE tenants
    ADD COLUMN storage_limit_gb BIGINT CHECK (storage_limit_gb >= 0),
    ADD COLUMN memory_limit_gb  BIGINT CHECK (memory_limit_gb >= 0),
    ADD COLUMN max_instances    BIGINT CHECK (max_instances >= 0);

-- The subtree totals gain the instances' storage and memory, kept exactly like
-- instance_count (see 2026-12-05-000300_subtree_totals): a deferred trigger adds
-- each instance's change along its tenant's path at commit; moves and deletes of
-- subtrees shift them in Tenant::move_subtree / delete_subtree. An instance create or
-- resize (services::instances) locks these rows along the path top-down BEFORE it
-- writes, checks the limits on them, and holds them to its commit, where the
-- trigger adds its own change: so every limit check reads sums no one else is
-- changing, and the lock order (top-down, as the trigger takes them) stays the same.
ALTER TABLE tenant_subtree_totals
    ADD COLUMN storage_gb BIGINT NOT NULL DEFAULT 0 CHECK (storage_gb >= 0),
    ADD COLUMN memory_gb  BIGINT NOT NULL DEFAULT 0 CHECK (memory_gb >= 0);

UPDATE tenant_subtree_totals s
SET storage_gb = x.storage, memory_gb = x.memory
FROM (
    SELECT a.id, sum(i.storage_gb) AS storage, sum(i.memory_gb) AS memory
    FROM instances i
    JOIN tenant_paths p ON p.tenant_id = i.tenant_id
    CROSS JOIN LATERAL unnest(p.path) AS a(id)
    GROUP BY a.id
) x
WHERE s.tenant_id = x.id;

-- tenant_subtree_totals_add with storage and memory; the four-argument form
-- (users, enabled flags) calls it.
CREATE FUNCTION tenant_subtree_totals_add(tenant BIGINT, d_disabled BIGINT, d_users BIGINT,
    d_instances BIGINT, d_storage BIGINT, d_memory BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p BIGINT[];
    q BIGINT[];
BEGIN
    SELECT path INTO p FROM tenant_paths WHERE tenant_id = tenant;
    LOOP
        IF p IS NULL THEN
            RETURN;
        END IF;
        PERFORM 1 FROM tenants WHERE id = ANY (p) ORDER BY array_position(p, id) FOR KEY SHARE;
        SELECT path INTO q FROM tenant_paths WHERE tenant_id = tenant;
        EXIT WHEN q IS NOT DISTINCT FROM p;
        p := q;
    END LOOP;
    PERFORM 1 FROM tenant_subtree_totals WHERE tenant_id = ANY (p)
        ORDER BY array_position(p, tenant_id) FOR NO KEY UPDATE;
    UPDATE tenant_subtree_totals
    SET disabled_count = disabled_count + d_disabled,
        user_count = user_count + d_users,
        instance_count = instance_count + d_instances,
        storage_gb = storage_gb + d_storage,
        memory_gb = memory_gb + d_memory
    WHERE tenant_id = ANY (p);
END $$;

CREATE OR REPLACE FUNCTION tenant_subtree_totals_add(tenant BIGINT, d_disabled BIGINT, d_users BIGINT, d_instances BIGINT)
RETURNS void LANGUAGE sql AS $$
    SELECT tenant_subtree_totals_add(tenant, d_disabled, d_users, d_instances, 0::bigint, 0::bigint);
$$;

CREATE FUNCTION tenant_subtree_totals_count_instance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tenant_subtree_totals_add(OLD.tenant_id, 0, 0, -1, -OLD.storage_gb::bigint, -OLD.memory_gb::bigint);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tenant_subtree_totals_add(NEW.tenant_id, 0, 0, 1, NEW.storage_gb::bigint, NEW.memory_gb::bigint);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER instances_subtree_totals ON instances;
DROP TRIGGER instances_subtree_totals_moved ON instances;
CREATE CONSTRAINT TRIGGER instances_subtree_totals AFTER INSERT OR DELETE ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenant_subtree_totals_count_instance();
CREATE CONSTRAINT TRIGGER instances_subtree_totals_changed AFTER UPDATE OF tenant_id, storage_gb, memory_gb ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR OLD.storage_gb IS DISTINCT FROM NEW.storage_gb
          OR OLD.memory_gb IS DISTINCT FROM NEW.memory_gb)
    EXECUTE FUNCTION tenant_subtree_totals_count_instance();
