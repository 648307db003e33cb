-- The target after a first migration: its 1,000 rules closed, the source mapped in (see README.md).
\set ON_ERROR_STOP 1
SELECT id AS src FROM tenants WHERE subdomain='src' \gset
SELECT id AS dst FROM tenants WHERE subdomain='dst' \gset
CREATE TABLE bench_map AS SELECT
  jsonb_build_object('applications', (SELECT jsonb_object_agg(s.id::text, d.id) FROM (SELECT id, row_number() over (order by id) n FROM applications WHERE tenant_id=:src) s JOIN (SELECT id, row_number() over (order by id) n FROM applications WHERE tenant_id=:dst) d USING (n)),
                     'domains', (SELECT jsonb_object_agg(s.id::text, d.id) FROM (SELECT id, row_number() over (order by id) n FROM domains WHERE tenant_id=:src) s JOIN (SELECT id, row_number() over (order by id) n FROM domains WHERE tenant_id=:dst) d USING (n))) AS mappings;
UPDATE rules SET valid_to = 2 WHERE tenant_id = :dst AND valid_to IS NULL;
INSERT INTO rules (tenant_id, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT :dst, r.kind, (m.mappings -> 'applications' ->> r.application_id::text)::bigint,
       (m.mappings -> 'domains' ->> r.domain_id::text)::bigint, r.path, r.value, r.action, r.enabled, 2
FROM bench_map m, rules r WHERE r.tenant_id = :src AND r.valid_to IS NULL;
UPDATE rule_sets SET version = 2 WHERE tenant_id = :dst;
VACUUM ANALYZE;
