-- The migration as built with generations (session 14): the reference INSERT … SELECT
-- (rolled back), then one migration that commits: queue the job, copy in batches of
-- 25,000 (the statement of RuleMigration::copy_batch), swap (count, move the pointer,
-- one version). Each run adds a generation of 100,000 rows to the target.
\set ON_ERROR_STOP 1
SELECT id AS src FROM tenants WHERE subdomain='src' \gset
SELECT id AS dst FROM tenants WHERE subdomain='dst' \gset
\echo reference
BEGIN;
\timing on
INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT tenant_id, -1, kind, application_id, domain_id, path, value, action, enabled, valid_from + 1000000
FROM rules WHERE tenant_id = :src AND valid_to IS NULL AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = :src);
\timing off
ROLLBACK;
\echo queue
\timing on
INSERT INTO rule_migrations (source_tenant_id, target_tenant_id, source_name, target_name, started_by_login, state, mappings,
  target_version_before, source_version, total, lease_owner, lease_until, created_at, updated_at)
SELECT :src, :dst, 'src', 'dst', 'bench', 'copying',
  jsonb_build_object(
    'applications', (SELECT jsonb_object_agg(s.id::text, d.id) FROM
        (SELECT id, row_number() OVER (ORDER BY id) n FROM applications WHERE tenant_id = :src) s JOIN
        (SELECT id, row_number() OVER (ORDER BY id) n FROM applications WHERE tenant_id = :dst) d USING (n)),
    'domains', (SELECT jsonb_object_agg(s.id::text, d.id) FROM
        (SELECT id, row_number() OVER (ORDER BY id) n FROM domains WHERE tenant_id = :src) s JOIN
        (SELECT id, row_number() OVER (ORDER BY id) n FROM domains WHERE tenant_id = :dst) d USING (n))),
  (SELECT version FROM rule_sets WHERE tenant_id = :dst), 21, 100000, 'bench', now() + interval '1 hour', now(), now()
RETURNING id AS mid \gset
\echo copy-batches
PREPARE copy_batch(bigint, text, bigint, timestamptz) AS
WITH m AS (
     SELECT id, source_tenant_id, target_tenant_id, generation,
            mappings -> 'applications' AS apps, mappings -> 'domains' AS doms,
            copied_upto, target_version_before
     FROM rule_migrations
     WHERE id = $1 AND lease_owner = $2 AND state = 'copying'
     FOR UPDATE
 ), batch AS MATERIALIZED (
     SELECT r.rule_id, r.kind,
            (m.apps ->> r.application_id::text)::bigint AS application_id,
            (m.doms ->> r.domain_id::text)::bigint AS domain_id,
            r.path, r.value, r.action, r.enabled
     FROM m, rules r
     WHERE r.tenant_id = (SELECT source_tenant_id FROM m)
       AND r.generation = (SELECT s.generation FROM rule_sets s
                           WHERE s.tenant_id = (SELECT source_tenant_id FROM m))
       AND r.valid_to IS NULL
       AND r.rule_id > (SELECT copied_upto FROM m)
     ORDER BY r.rule_id
     LIMIT $3
 ), copied AS (
     INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id,
                        path, value, action, enabled, valid_from)
     SELECT m.target_tenant_id, m.generation, b.kind, b.application_id,
            b.domain_id, b.path, b.value, b.action, b.enabled,
            m.target_version_before + 1
     FROM m, batch b
     ORDER BY b.rule_id
 ), counted AS (
     UPDATE rule_migrations
     SET (copied, copied_upto) = (SELECT copied + count(*), coalesce(max(rule_id), copied_upto) FROM batch),
         updated_at = $4
     WHERE id = (SELECT id FROM m)
 )
 SELECT count(*) AS n FROM batch;
EXECUTE copy_batch(:mid, 'bench', 25000, now());
EXECUTE copy_batch(:mid, 'bench', 25000, now());
EXECUTE copy_batch(:mid, 'bench', 25000, now());
EXECUTE copy_batch(:mid, 'bench', 25000, now());
EXECUTE copy_batch(:mid, 'bench', 25000, now());
\echo swap
BEGIN;
SELECT version FROM rule_sets WHERE tenant_id = :dst FOR UPDATE;
SELECT count(*) FROM rules WHERE tenant_id = :dst AND valid_to IS NULL AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = :dst);
UPDATE rule_sets SET version = version + 1, generation = (SELECT generation FROM rule_migrations WHERE id = :mid), updated_at = now() WHERE tenant_id = :dst;
INSERT INTO rule_set_versions (tenant_id, version, generation, created_at, actor_login, kind, summary, settings)
SELECT :dst, version, generation, now(), 'bench', 'migration', 'bench', '{}' FROM rule_sets WHERE tenant_id = :dst;
UPDATE rule_migrations SET state = 'done', finished_at = now() WHERE id = :mid;
COMMIT;
\timing off
