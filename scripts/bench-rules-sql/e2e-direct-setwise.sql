-- The migration with set-based checks and no staging: close the target, one INSERT … SELECT with the mappings. Rolled back.
\set ON_ERROR_STOP 1
SELECT id AS src FROM tenants WHERE subdomain='src' \gset
SELECT id AS dst FROM tenants WHERE subdomain='dst' \gset
BEGIN;
\echo reference-setwise
\timing on
INSERT INTO rules (tenant_id, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT tenant_id, kind, application_id, domain_id, path, value, action, enabled, valid_from + 1000000
FROM rules WHERE tenant_id = :src AND valid_to IS NULL;
\timing off
ROLLBACK;
BEGIN;
\echo close-target
\timing on
UPDATE rules SET valid_to = 3 WHERE tenant_id = :dst AND valid_to IS NULL;
\echo direct-insert
INSERT INTO rules (tenant_id, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT :dst, r.kind, (m.mappings -> 'applications' ->> r.application_id::text)::bigint,
       (m.mappings -> 'domains' ->> r.domain_id::text)::bigint, r.path, r.value, r.action, r.enabled, 3
FROM bench_map m, rules r WHERE r.tenant_id = :src AND r.valid_to IS NULL;
\timing off
ROLLBACK;
