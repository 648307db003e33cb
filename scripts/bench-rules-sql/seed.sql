-- Seeds a migrated scratch database like `bench-run seed-rules` (see README.md).
\set ON_ERROR_STOP 1
INSERT INTO tenants (name, subdomain, tenant_role_id) SELECT 'Root', 'root', (SELECT id FROM tenant_roles ORDER BY id LIMIT 1);
INSERT INTO tenants (parent_id, name, subdomain, tenant_role_id) SELECT (SELECT id FROM tenants WHERE subdomain='root'), s, s, (SELECT id FROM tenant_roles ORDER BY id LIMIT 1) FROM unnest(ARRAY['src','dst']) s;
INSERT INTO applications (tenant_id, name, created_at, updated_at)
  SELECT t.id, 'App ' || a, now(), now() FROM tenants t, generate_series(0,19) a WHERE t.subdomain IN ('src','dst') ORDER BY t.id, a;
INSERT INTO domains (tenant_id, name, application_id, created_at, updated_at)
  SELECT t.id, 'd' || d || '.' || t.subdomain || '.example',
         (SELECT id FROM applications WHERE tenant_id = t.id ORDER BY id OFFSET d % 20 LIMIT 1), now(), now()
  FROM tenants t, generate_series(0,99) d WHERE t.subdomain IN ('src','dst') ORDER BY t.id, d;
CREATE TEMP TABLE ids AS SELECT t.id AS tenant_id, t.subdomain,
  (SELECT array_agg(id ORDER BY id) FROM applications WHERE tenant_id=t.id) apps,
  (SELECT array_agg(id ORDER BY id) FROM domains WHERE tenant_id=t.id) doms
  FROM tenants t WHERE subdomain IN ('src','dst');
INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT ids.tenant_id, 0, 'block_ip',
  CASE WHEN i % 4 IN (0,1) THEN apps[1 + i % 20] END,
  CASE WHEN i % 4 IN (0,2) THEN doms[1 + i % 100] END,
  CASE WHEN i % 3 = 0 THEN '/login' END,
  format('10.%s.%s.%s', (i >> 16) & 255, (i >> 8) & 255, i & 255),
  CASE WHEN i % 5 = 0 THEN 'monitor' ELSE 'block' END, i % 10 <> 0, 1 + i / 5000
FROM ids, generate_series(0, 99999) i WHERE ids.subdomain = 'src';
INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT ids.tenant_id, 0, 'block_ip',
  CASE WHEN i % 4 IN (0,1) THEN apps[1 + i % 20] END,
  CASE WHEN i % 4 IN (0,2) THEN doms[1 + i % 100] END,
  NULL, format('10.%s.%s.%s', (i >> 16) & 255, (i >> 8) & 255, i & 255), 'block', true, 1
FROM ids, generate_series(0, 999) i WHERE ids.subdomain = 'dst';
INSERT INTO rule_sets (tenant_id, version, updated_at) SELECT tenant_id, CASE WHEN subdomain='src' THEN 21 ELSE 1 END, now() FROM ids;
VACUUM ANALYZE;
SELECT t.subdomain, count(*) FROM rules r JOIN tenants t ON t.id=r.tenant_id GROUP BY 1;
