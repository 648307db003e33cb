-- The same create as services::instances sends it since session 14: the
-- instance's id taken first and the audit event recorded before the insert, so
-- the path's totals rows are held from the insert's trigger through the limit
-- check to the commit only; and the path's delete guards tried shared first
-- (Tenant::guard_change, DELETE_GUARD = 1952736620).
\set b random(1, 4)
SELECT t.id AS t, u.id AS o, p.path::text AS path FROM tenants t JOIN users u ON u.tenant_id = t.id JOIN tenant_paths p ON p.tenant_id = t.id WHERE t.subdomain = 'b' || :b || 'd' || :depth \gset
BEGIN;
SET LOCAL lock_timeout = '10s';
SELECT t.*, p.path FROM tenants t JOIN tenant_paths p ON p.tenant_id = t.id WHERE t.id = :t;
SELECT coalesce(bool_and(pg_try_advisory_xact_lock_shared(1952736620, (id & 2147483647)::int)), true) FROM unnest(:path::bigint[]) AS id;
SELECT t.id FROM tenants t JOIN tenant_paths p ON p.tenant_id = t.id WHERE t.id = ANY (:path::bigint[]) ORDER BY array_length(p.path, 1), t.id FOR KEY SHARE OF t;
SELECT t.*, p.path FROM tenants t JOIN tenant_paths p ON p.tenant_id = t.id WHERE t.id = :t;
SELECT c.* FROM clouds c WHERE c.id = (SELECT min(id) FROM clouds) AND c.tenant_id = ANY (:path::bigint[]);
SELECT public_clouds FROM tenant_roles WHERE name = 'bench';
SELECT 1 FROM users WHERE id = :o AND tenant_id = :t;
SELECT username, storage_limit_gb, memory_limit_gb FROM users WHERE id = :o FOR NO KEY UPDATE;
SELECT sum(storage_gb), sum(memory_gb) FROM instances WHERE owner_id = :o;
SELECT nextval('instances_id_seq') AS iid \gset
INSERT INTO audit_events (actor_username, tenant_id, action, after, tenant_name, tenant_path) VALUES ('admin', :t, 'instance.create', '{"id": 1, "name": "bench", "cloud_id": 1, "owner_id": 1, "storage_gb": 1, "memory_gb": 1, "status": "running"}', 'x', :path::bigint[]);
INSERT INTO instances (id, tenant_id, name, cloud_id, owner_id, storage_gb, memory_gb, status) VALUES (:iid, :t, 'bench', (SELECT min(id) FROM clouds), :o, 1, 1, 'running') RETURNING *;
SELECT s.tenant_id, t.name, COALESCE(t.storage_limit_gb, (SELECT pl.storage_limit_gb FROM plans pl WHERE pl.id = (SELECT gt.plan_id FROM tenant_paths gp CROSS JOIN LATERAL unnest(gp.path) WITH ORDINALITY AS ga(id, n) JOIN tenants gt ON gt.id = ga.id WHERE gp.tenant_id = t.id AND gt.plan_id IS NOT NULL ORDER BY ga.n DESC LIMIT 1))) AS storage_limit_gb, COALESCE(t.memory_limit_gb, (SELECT pl.memory_limit_gb FROM plans pl WHERE pl.id = (SELECT gt.plan_id FROM tenant_paths gp CROSS JOIN LATERAL unnest(gp.path) WITH ORDINALITY AS ga(id, n) JOIN tenants gt ON gt.id = ga.id WHERE gp.tenant_id = t.id AND gt.plan_id IS NOT NULL ORDER BY ga.n DESC LIMIT 1))) AS memory_limit_gb, COALESCE(t.max_instances, (SELECT pl.max_instances FROM plans pl WHERE pl.id = (SELECT gt.plan_id FROM tenant_paths gp CROSS JOIN LATERAL unnest(gp.path) WITH ORDINALITY AS ga(id, n) JOIN tenants gt ON gt.id = ga.id WHERE gp.tenant_id = t.id AND gt.plan_id IS NOT NULL ORDER BY ga.n DESC LIMIT 1))) AS max_instances, s.storage_gb, s.memory_gb, s.instance_count, s.user_count FROM tenant_subtree_totals s JOIN tenants t ON t.id = s.tenant_id WHERE s.tenant_id = ANY (:path::bigint[]) ORDER BY array_position(:path::bigint[], s.tenant_id);
COMMIT;
