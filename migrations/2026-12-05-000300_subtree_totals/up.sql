-- Subtree totals, maintained: for every tenant, what its whole subtree (itself
-- included) holds — tenants, disabled tenants, users, instances — and how many
-- children it has, so that the Tenants list's subtree columns, the dashboard's cards
-- and the tree (toggles, "N sub-tenants you cannot see") read one row by key
-- instead of summing or counting the subtree on every request (at 1,000,000 tenants the
-- root's dashboard counted a million rows, and every reseller row of the list
-- summed its subtree through the path index). docs/PERFORMANCE.md has the figures.
--
-- Who keeps them exact, always in the transaction that makes the change:
--
-- * Users and instances (insert, delete, a change of home tenant) and a tenant's
--   enabled flag: triggers, like the per-tenant counters beside them. Those rows are
--   written from many places (services, bootstrap, invitations, the demo and bench
--   seeds, tests with plain SQL, provisioning to come), and a trigger cannot be
--   forgotten by any of them. Each change adds ±1 along the tenant's whole path, so
--   the root's row changes with every user created anywhere: a hot row. The
--   triggers are therefore constraint triggers deferred to commit — the row locks
--   along the path are taken at COMMIT and held for the commit alone, not for the
--   rest of the transaction (audit event, grants, mail). Before counting, a trigger
--   takes the tree protocol's "create under" locks (every tenant on the path FOR
--   KEY SHARE, top-down, path read again until it holds still; see
--   services/tenants/tree.rs), so a move or delete of an ancestor that is in flight
--   is waited for and never counted on the path it is leaving. A tenant deleted in
--   the same transaction counts nothing here: its delete took the whole subtree's
--   totals off its ancestors.
-- * New tenants: a statement trigger on tenant_paths (every tenant gets its path
--   right after its row, a batch create a thousand per statement), one upsert per
--   statement. Its creator already holds the parent's path per the tree protocol.
-- * Moves and deletes of subtrees: the data layer (Tenant::move_subtree,
--   Tenant::delete_subtree), which runs under the tree protocol's locks. A move
--   changes one parent link but the totals of every tenant on one of the two paths
--   and not the other (the moved subtree's totals go from one to the other, set-wise,
--   in one statement) and the child counts of both parents; a delete removes the
--   subtree's totals from its ancestors once, where per-row triggers on the cascade
--   would subtract user by user.
--
-- Lock order for these rows: top-down along paths (by depth, then id), as the tree
-- protocol locks tenants, so two writers never wait on each other in a circle.
CREATE TABLE tenant_subtree_totals (
    tenant_id      BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    tenant_count   BIGINT NOT NULL DEFAULT 1 CHECK (tenant_count >= 1),
    disabled_count BIGINT NOT NULL DEFAULT 0 CHECK (disabled_count >= 0),
    user_count     BIGINT NOT NULL DEFAULT 0 CHECK (user_count >= 0),
    instance_count BIGINT NOT NULL DEFAULT 0 CHECK (instance_count >= 0),
    -- Direct children (a tree statistic rather than a total; it changes with the
    -- same tree operations).
    child_count    BIGINT NOT NULL DEFAULT 0 CHECK (child_count >= 0)
);

-- Backfill: every tenant counts once on each tenant of its path (and as a child on
-- the one just above it); users and instances counted from their rows.
INSERT INTO tenant_subtree_totals (tenant_id, tenant_count, disabled_count, user_count, instance_count, child_count)
SELECT a.id, count(*), count(*) FILTER (WHERE NOT t.enabled),
       coalesce(sum(u.n), 0), coalesce(sum(i.n), 0),
       count(*) FILTER (WHERE a.depth = cardinality(p.path) - 1)
FROM tenants t
JOIN tenant_paths p ON p.tenant_id = t.id
LEFT JOIN (SELECT tenant_id, count(*) AS n FROM users GROUP BY tenant_id) u ON u.tenant_id = t.id
LEFT JOIN (SELECT tenant_id, count(*) AS n FROM instances GROUP BY tenant_id) i ON i.tenant_id = t.id
CROSS JOIN LATERAL unnest(p.path) WITH ORDINALITY AS a(id, depth)
GROUP BY a.id;

-- Adds to the totals of `tenant` and of every tenant above it, under the tree
-- protocol's "create under" locks (see the head of this file). Nothing when the
-- tenant is gone.
CREATE FUNCTION tenant_subtree_totals_add(tenant BIGINT, d_disabled BIGINT, d_users BIGINT, d_instances BIGINT)
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
        instance_count = instance_count + d_instances
    WHERE tenant_id = ANY (p);
END $$;

CREATE FUNCTION tenant_subtree_totals_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_users BIGINT := CASE WHEN TG_TABLE_NAME = 'users' THEN 1 ELSE 0 END;
    d_instances BIGINT := CASE WHEN TG_TABLE_NAME = 'instances' THEN 1 ELSE 0 END;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM tenant_subtree_totals_add(OLD.tenant_id, 0, -d_users, -d_instances);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM tenant_subtree_totals_add(NEW.tenant_id, 0, d_users, d_instances);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER users_subtree_totals AFTER INSERT OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenant_subtree_totals_count();
CREATE CONSTRAINT TRIGGER users_subtree_totals_moved AFTER UPDATE OF tenant_id ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tenant_subtree_totals_count();
CREATE CONSTRAINT TRIGGER instances_subtree_totals AFTER INSERT OR DELETE ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tenant_subtree_totals_count();
CREATE CONSTRAINT TRIGGER instances_subtree_totals_moved AFTER UPDATE OF tenant_id ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tenant_subtree_totals_count();

CREATE FUNCTION tenant_subtree_totals_enabled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenant_subtree_totals_add(NEW.id, CASE WHEN NEW.enabled THEN -1 ELSE 1 END, 0, 0);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER tenants_subtree_totals_enabled AFTER UPDATE OF enabled ON tenants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled)
    EXECUTE FUNCTION tenant_subtree_totals_enabled();

-- New tenants: their own rows, and one more tenant (disabled or not) on every
-- tenant above each and one more child on its parent, in one upsert per
-- statement, top-down.
CREATE FUNCTION tenant_subtree_totals_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_subtree_totals AS s (tenant_id, tenant_count, disabled_count, child_count)
    SELECT a.id, count(*), count(*) FILTER (WHERE NOT t.enabled),
           count(*) FILTER (WHERE a.depth = cardinality(n.path) - 1)
    FROM added n
    JOIN tenants t ON t.id = n.tenant_id
    CROSS JOIN LATERAL unnest(n.path) WITH ORDINALITY AS a(id, depth)
    GROUP BY a.id
    ORDER BY min(a.depth), a.id
    ON CONFLICT (tenant_id) DO UPDATE
    SET tenant_count = s.tenant_count + EXCLUDED.tenant_count,
        disabled_count = s.disabled_count + EXCLUDED.disabled_count,
        child_count = s.child_count + EXCLUDED.child_count;
    RETURN NULL;
END $$;
CREATE TRIGGER tenant_paths_subtree_totals AFTER INSERT ON tenant_paths
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_subtree_totals_created();

-- The per-tenant counters follow a user or instance to another tenant too.
CREATE OR REPLACE FUNCTION tenants_count_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE tenants SET user_count = user_count - 1 WHERE id = OLD.tenant_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_count_moved AFTER UPDATE OF tenant_id ON users
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tenants_count_users();

CREATE OR REPLACE FUNCTION tenants_count_instances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE tenants SET instance_count = instance_count - 1 WHERE id = OLD.tenant_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE tenants SET instance_count = instance_count + 1 WHERE id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER instances_count_moved AFTER UPDATE OF tenant_id ON instances
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tenants_count_instances();
