-- Instances are counted in the subtree totals set-wise, by the statement that
-- changes them, instead of by deferred per-row triggers (issue #14). The per-row
-- trigger walked the instance's whole path for every row at commit, so deleting
-- 10,000 instances in one statement updated the root's totals row 10,000 times in
-- one transaction (over 5 minutes; a force delete of a big subtree, or a cleanup,
-- hit it). Now one AFTER … FOR EACH STATEMENT trigger per kind of change reads the
-- statement's transition tables, folds the changes per tenant on their paths, and
-- updates each totals row once.
--
-- The triggers are immediate (statement-level triggers cannot be deferred): the
-- totals rows of the changed tenants' paths are locked at the statement that
-- changes the instances and held to the commit. services::instances relies on
-- that: its create or resize writes the instance, and then, on the rows this
-- statement locked and updated, checks every limit of the path (module comment of
-- src/services/instances.rs; the lock is held from that write to the commit only,
-- no longer from a check at the start of the transaction).
--
-- Lock order, as every writer of these rows: the tree protocol's "create under"
-- locks on the changed tenants' paths (FOR KEY SHARE, top-down, paths read again
-- until they hold still: no move or delete of an ancestor is in flight, none is
-- counted on a path it is leaving), then the totals rows FOR NO KEY UPDATE by
-- depth, then id. A tenant deleted in the same transaction (its row gone: a
-- force delete cascading to its instances) counts nothing here: its delete took
-- the whole subtree's totals off its ancestors (Tenant::delete_subtree).
DROP TRIGGER instances_subtree_totals ON instances;
DROP TRIGGER instances_subtree_totals_changed ON instances;
DROP FUNCTION tenant_subtree_totals_count_instance();
-- The per-tenant counter (tenants.instance_count) too: its per-row trigger updated
-- the tenant's row once per instance.
DROP TRIGGER instances_count ON instances;
DROP TRIGGER instances_count_moved ON instances;

-- Adds per tenant `ids[i]` `d_count[i]` instances, `d_storage[i]` and `d_memory[i]`
-- GB to its own instance count and to its totals and every tenant's above it (ids
-- may repeat; zero changes and tenants no longer there are skipped).
CREATE FUNCTION tenant_subtree_totals_add_instances(ids BIGINT[], d_count BIGINT[],
    d_storage BIGINT[], d_memory BIGINT[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed BIGINT[];
    held BIGINT[] := '{}';
    todo BIGINT[];
BEGIN
    SELECT array_agg(DISTINCT c.id) INTO changed
    FROM unnest(ids, d_count, d_storage, d_memory) AS c(id, n, s, m)
    JOIN tenants t ON t.id = c.id
    WHERE (c.n, c.s, c.m) IS DISTINCT FROM (0::bigint, 0::bigint, 0::bigint);
    IF changed IS NULL THEN
        RETURN;
    END IF;
    -- "Create under" every changed tenant, in rounds until the paths hold still.
    LOOP
        SELECT array_agg(a.id ORDER BY a.depth, a.id) INTO todo
        FROM (SELECT x.id, min(x.depth) AS depth
              FROM tenant_paths p, unnest(p.path) WITH ORDINALITY AS x(id, depth)
              WHERE p.tenant_id = ANY (changed)
              GROUP BY x.id) a
        WHERE NOT a.id = ANY (held);
        EXIT WHEN todo IS NULL;
        PERFORM 1 FROM unnest(todo) WITH ORDINALITY AS u(id, o)
            JOIN tenants t ON t.id = u.id
            ORDER BY u.o FOR KEY SHARE OF t;
        held := held || todo;
    END LOOP;
    UPDATE tenants t SET instance_count = t.instance_count + c.n
    FROM (SELECT id, sum(n)::int AS n FROM unnest(ids, d_count) AS x(id, n) GROUP BY id) c
    WHERE t.id = c.id AND c.n <> 0;
    WITH d AS (
        SELECT x.id, min(x.depth) AS depth, sum(c.n) AS n, sum(c.s) AS s, sum(c.m) AS m
        FROM unnest(ids, d_count, d_storage, d_memory) AS c(id, n, s, m)
        JOIN tenants t ON t.id = c.id
        JOIN tenant_paths p ON p.tenant_id = c.id
        CROSS JOIN LATERAL unnest(p.path) WITH ORDINALITY AS x(id, depth)
        GROUP BY x.id
    )
    SELECT array_agg(d.id ORDER BY d.depth, d.id), array_agg(d.n ORDER BY d.depth, d.id),
           array_agg(d.s ORDER BY d.depth, d.id), array_agg(d.m ORDER BY d.depth, d.id)
    INTO ids, d_count, d_storage, d_memory
    FROM d;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM unnest(ids) WITH ORDINALITY AS u(id, o)
        JOIN tenant_subtree_totals s ON s.tenant_id = u.id
        ORDER BY u.o FOR NO KEY UPDATE OF s;
    UPDATE tenant_subtree_totals s
    SET instance_count = s.instance_count + u.n,
        storage_gb = s.storage_gb + u.s,
        memory_gb = s.memory_gb + u.m
    FROM unnest(ids, d_count, d_storage, d_memory) AS u(id, n, s, m)
    WHERE s.tenant_id = u.id AND (u.n, u.s, u.m) IS DISTINCT FROM (0::bigint, 0::bigint, 0::bigint);
END $$;

CREATE FUNCTION tenant_subtree_totals_instances_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenant_subtree_totals_add_instances(array_agg(tenant_id), array_agg(1::bigint),
        array_agg(storage_gb::bigint), array_agg(memory_gb::bigint))
    FROM added;
    RETURN NULL;
END $$;

CREATE FUNCTION tenant_subtree_totals_instances_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenant_subtree_totals_add_instances(array_agg(tenant_id), array_agg(-1::bigint),
        array_agg(-storage_gb::bigint), array_agg(-memory_gb::bigint))
    FROM removed;
    RETURN NULL;
END $$;

-- Fires for every UPDATE of instances (a trigger with transition tables takes no
-- column list); a statement that changes no tenant, storage or memory stops at
-- the first query.
CREATE FUNCTION tenant_subtree_totals_instances_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenant_subtree_totals_add_instances(array_agg(x.id), array_agg(x.n),
        array_agg(x.s), array_agg(x.m))
    FROM (
        SELECT o.tenant_id AS id, -1::bigint AS n, -o.storage_gb::bigint AS s, -o.memory_gb::bigint AS m
        FROM was o JOIN now n ON n.id = o.id
        WHERE (o.tenant_id, o.storage_gb, o.memory_gb) IS DISTINCT FROM (n.tenant_id, n.storage_gb, n.memory_gb)
        UNION ALL
        SELECT n.tenant_id, 1, n.storage_gb, n.memory_gb
        FROM was o JOIN now n ON n.id = o.id
        WHERE (o.tenant_id, o.storage_gb, o.memory_gb) IS DISTINCT FROM (n.tenant_id, n.storage_gb, n.memory_gb)
    ) x;
    RETURN NULL;
END $$;

CREATE TRIGGER instances_subtree_totals_added AFTER INSERT ON instances
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_subtree_totals_instances_added();
CREATE TRIGGER instances_subtree_totals_removed AFTER DELETE ON instances
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_subtree_totals_instances_removed();
CREATE TRIGGER instances_subtree_totals_changed AFTER UPDATE ON instances
    REFERENCING OLD TABLE AS was NEW TABLE AS now
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_subtree_totals_instances_changed();
