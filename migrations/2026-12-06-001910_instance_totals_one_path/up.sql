-- The instance totals' statement trigger (migration instance_totals_setwise) in
-- fewer passes when the statement changed the instances of one tenant — an
-- instance created, resized or deleted through the console or the API, every
-- time (issue #14's benchmark, docs/PERFORMANCE.md session 17: the create's
-- INSERT was its costliest statement, most of it this function). The general form
-- reads the changed tenants, then their paths twice, folds the changes per tenant
-- of the paths, locks the totals rows and updates them: six queries. For one
-- tenant: its path read, locked and read again, the tenant's counter, and the
-- totals rows locked and updated in one statement.
--
-- The same locks in the same order, so the same guarantees: the tree protocol's
-- "create under" locks on the path (FOR KEY SHARE, top-down, the path read again
-- until it holds still), then the path's totals rows FOR NO KEY UPDATE top-down
-- (one path: by depth), held to the commit. Nothing for a tenant no longer there
-- (its delete took its subtree's totals off its ancestors) or for a change of
-- nothing. Statements that change the instances of several tenants go on to the
-- general form, unchanged (renamed tenant_subtree_totals_add_instances_of_many).
ALTER FUNCTION tenant_subtree_totals_add_instances(BIGINT[], BIGINT[], BIGINT[], BIGINT[])
    RENAME TO tenant_subtree_totals_add_instances_of_many;

CREATE FUNCTION tenant_subtree_totals_add_instances(ids BIGINT[], d_count BIGINT[],
    d_storage BIGINT[], d_memory BIGINT[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_one BIGINT := ids[1];
    v_n BIGINT;
    v_s BIGINT;
    v_m BIGINT;
    v_path BIGINT[];
    v_again BIGINT[];
BEGIN
    IF v_one IS NULL OR NOT ids <@ ARRAY[v_one] THEN
        PERFORM tenant_subtree_totals_add_instances_of_many(ids, d_count, d_storage, d_memory);
        RETURN;
    END IF;
    SELECT sum(x.n), sum(x.s), sum(x.m) INTO v_n, v_s, v_m
    FROM unnest(d_count, d_storage, d_memory) AS x(n, s, m);
    IF (v_n, v_s, v_m) = (0::bigint, 0::bigint, 0::bigint) THEN
        RETURN;
    END IF;
    SELECT path INTO v_path FROM tenant_paths WHERE tenant_id = v_one;
    LOOP
        IF v_path IS NULL THEN
            RETURN;
        END IF;
        PERFORM 1 FROM unnest(v_path) WITH ORDINALITY AS u(id, o)
            JOIN tenants t ON t.id = u.id
            ORDER BY u.o FOR KEY SHARE OF t;
        SELECT path INTO v_again FROM tenant_paths WHERE tenant_id = v_one;
        EXIT WHEN v_again IS NOT DISTINCT FROM v_path;
        v_path := v_again;
    END LOOP;
    IF v_n <> 0 THEN
        UPDATE tenants SET instance_count = instance_count + v_n WHERE id = v_one;
    END IF;
    UPDATE tenant_subtree_totals t
    SET instance_count = t.instance_count + v_n,
        storage_gb = t.storage_gb + v_s,
        memory_gb = t.memory_gb + v_m
    FROM (SELECT l.tenant_id FROM unnest(v_path) WITH ORDINALITY AS u(id, o)
          JOIN tenant_subtree_totals l ON l.tenant_id = u.id
          ORDER BY u.o FOR NO KEY UPDATE OF l) k
    WHERE t.tenant_id = k.tenant_id;
END $$;
