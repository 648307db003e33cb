-- A tenant's enabled flag is counted in the subtree totals set-wise, by the one
-- statement that changes it, instead of by a per-row trigger. The trigger walked the
-- tenant's whole path for every row, so disabling a subtree of 100,000 tenants (with
-- its subtree, or in a bulk action) updated the root's totals row 100,000 times in
-- one transaction (docs/PERFORMANCE.md has the figures). Now the data layer
-- (`Tenant::set_enabled_in`, src/db/models/tenant/edit.rs) changes the flag only
-- through `tenants_set_enabled`: each tenant on the changed tenants' paths gains or
-- loses, in one update, as many disabled tenants as changed in its subtree. Writing
-- `tenants.enabled` any other way leaves the totals' disabled counts behind.
DROP TRIGGER tenants_subtree_totals_enabled ON tenants;
DROP FUNCTION tenant_subtree_totals_enabled();

-- Sets `enabled` on the tenants `ids` that differ, all at or below `top`, which the
-- caller holds locked FOR UPDATE (nothing below it moves), and counts them. First the
-- tree protocol's "create under" locks on top's path (FOR KEY SHARE, top-down, path
-- read again until it holds still), so a move or delete of an ancestor in flight is
-- waited for and the change is never counted on a path being left; then the flags;
-- then the totals rows of every tenant on the changed tenants' paths, locked
-- top-down (the order of every writer of these rows), and one update. Returns how
-- many tenants changed.
CREATE FUNCTION tenants_set_enabled(top BIGINT, ids BIGINT[], now_enabled BOOLEAN)
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    p BIGINT[];
    q BIGINT[];
    changed BIGINT[];
    above BIGINT[];
    counts BIGINT[];
BEGIN
    SELECT path INTO p FROM tenant_paths WHERE tenant_id = top;
    LOOP
        IF p IS NULL THEN
            RETURN 0;
        END IF;
        PERFORM 1 FROM tenants WHERE id = ANY (p) ORDER BY array_position(p, id) FOR KEY SHARE;
        SELECT path INTO q FROM tenant_paths WHERE tenant_id = top;
        EXIT WHEN q IS NOT DISTINCT FROM p;
        p := q;
    END LOOP;
    WITH c AS (
        UPDATE tenants SET enabled = now_enabled, updated_at = now()
        WHERE id = ANY (ids) AND enabled IS DISTINCT FROM now_enabled
        RETURNING id
    )
    SELECT array_agg(id) INTO changed FROM c;
    IF changed IS NULL THEN
        RETURN 0;
    END IF;
    -- Every tenant on a changed tenant's path, with how many changed at or below it.
    SELECT array_agg(a.id ORDER BY a.depth, a.id), array_agg(a.n ORDER BY a.depth, a.id)
    INTO above, counts
    FROM (SELECT x.id, min(x.depth) AS depth, count(*) AS n
          FROM tenant_paths tp, unnest(tp.path) WITH ORDINALITY AS x(id, depth)
          WHERE tp.tenant_id = ANY (changed)
          GROUP BY x.id) a;
    PERFORM 1 FROM unnest(above) WITH ORDINALITY AS u(id, o)
        JOIN tenant_subtree_totals s ON s.tenant_id = u.id
        ORDER BY u.o FOR NO KEY UPDATE OF s;
    UPDATE tenant_subtree_totals s
    SET disabled_count = s.disabled_count + CASE WHEN now_enabled THEN -u.n ELSE u.n END
    FROM unnest(above, counts) AS u(id, n)
    WHERE s.tenant_id = u.id;
    RETURN cardinality(changed);
END $$;
