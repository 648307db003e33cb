-- The migration as built, in SQL: staging in batches of 5,000 (copy_batch), then the swap (close the target, insert the staged rows). Rolled back.
\set ON_ERROR_STOP 1
SELECT id AS src FROM tenants WHERE subdomain='src' \gset
SELECT id AS dst FROM tenants WHERE subdomain='dst' \gset
BEGIN;
INSERT INTO rule_migrations (source_tenant_id, target_tenant_id, source_name, target_name, started_by_login, state, mappings, target_version_before, source_version, created_at, updated_at, lease_owner)
SELECT :src, :dst, 'src', 'dst', 'x', 'copying', mappings, 2, 21, now(), now(), 'me' FROM bench_map RETURNING id AS mid \gset
\echo reference
\timing on
INSERT INTO rules (tenant_id, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT tenant_id, kind, application_id, domain_id, path, value, action, enabled, valid_from + 1000000
FROM rules WHERE tenant_id = :src AND valid_to IS NULL;
\timing off
ROLLBACK;
BEGIN;
INSERT INTO rule_migrations (source_tenant_id, target_tenant_id, source_name, target_name, started_by_login, state, mappings, target_version_before, source_version, created_at, updated_at, lease_owner)
SELECT :src, :dst, 'src', 'dst', 'x', 'copying', mappings, 2, 21, now(), now(), 'me' FROM bench_map RETURNING id AS mid \gset
\echo staging-20-batches
\timing on
DO $$ DECLARE n bigint; mid bigint := (SELECT max(id) FROM rule_migrations); BEGIN
  LOOP
    WITH m AS (SELECT id, source_tenant_id, mappings FROM rule_migrations WHERE id = mid),
    after AS (SELECT coalesce(max(source_rule_id), 0) AS last FROM rule_migration_rows WHERE migration_id = mid),
    staged AS (
      INSERT INTO rule_migration_rows (migration_id, source_rule_id, kind, application_id, domain_id, path, value, action, enabled)
      SELECT m.id, r.rule_id, r.kind, (m.mappings -> 'applications' ->> r.application_id::text)::bigint,
             (m.mappings -> 'domains' ->> r.domain_id::text)::bigint, r.path, r.value, r.action, r.enabled
      FROM m, rules r
      WHERE r.tenant_id = (SELECT source_tenant_id FROM m) AND r.valid_to IS NULL AND r.rule_id > (SELECT last FROM after)
      ORDER BY r.rule_id LIMIT 5000 ON CONFLICT DO NOTHING RETURNING 1)
    SELECT count(*) INTO n FROM staged;
    EXIT WHEN n < 5000;
  END LOOP; END $$;
\echo close-target
UPDATE rules SET valid_to = 3 WHERE tenant_id = :dst AND valid_to IS NULL;
\echo insert-from-staging
INSERT INTO rules (tenant_id, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT :dst, kind, application_id, domain_id, path, value, action, enabled, 3
FROM rule_migration_rows WHERE migration_id = :mid ORDER BY source_rule_id;
\timing off
ROLLBACK;
