//! `bench-run seed-policies` and `bench-run effective-policies` (issue #15's
//! benchmark, scripts/bench-policies.sh): the effective policies of tenants at
//! depth 12 in the tree of `bench-run seed` with 10,000 policies, timed in process
//! as the effective view pays them (`services::policies::effective`: one query
//! over the tenant's path, then the decision per kind).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;
use tenantry::db::models::Tenant;

use super::report;

/// The depth measured (the root is depth 0).
const DEPTH: i64 = 12;
/// Tenants at that depth whose every ancestor owns policies (the worst paths).
const TARGETS: usize = 200;
/// Inheritable policies of each tenant on a target's path.
const PER_PATH_TENANT: i64 = 2;
const WARMUP: usize = 200;
const SAMPLES: usize = 10_000;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The tenants at depth [`DEPTH`], by id.
async fn at_depth(conn: &mut AsyncPgConnection) -> QueryResult<Vec<i64>> {
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT tenant_id AS id FROM tenant_paths WHERE cardinality(path) = $1 + 1 \
         ORDER BY tenant_id",
    )
    .bind::<BigInt, _>(DEPTH)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The same start every time: every policy removed, then `total` policies:
/// - on every tenant of the paths of [`TARGETS`] tenants at depth 12 (the root
///   included), [`PER_PATH_TENANT`] inheritable policies of two kinds (the root's
///   first one `locked`, the rest `default`);
/// - each target overrides the nearest overridable policy it inherits, and
///   has one policy of its own;
/// - the rest spread over other tenants, one each, half of them inheritable.
pub async fn seed(conn: &mut AsyncPgConnection, total: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let all = at_depth(conn).await?;
    anyhow::ensure!(
        all.len() >= TARGETS,
        "fewer than {TARGETS} tenants at depth {DEPTH}: run `bench-run seed --depth 12` first"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let targets: Vec<i64> = all.choose_multiple(&mut rng, TARGETS).copied().collect();
    diesel::sql_query("DELETE FROM policies")
        .execute(conn)
        .await?;
    // Kind, threshold and entries from a number: every kind's settings valid.
    const SETTINGS: &str = "(ARRAY['blocking_threshold', 'content_filter', 'regulatory', \
         'allow_list', 'deny_list'])[(1 + k % 5)::int], \
         CASE WHEN k % 5 = 0 THEN 50 END, \
         CASE k % 5 WHEN 0 THEN '{}'::text[] WHEN 1 THEN ARRAY['malware', 'adult'] \
         WHEN 2 THEN ARRAY['de_bpjm'] ELSE ARRAY['x' || k || '.example.com'] END";
    let on_paths = diesel::sql_query(format!(
        "INSERT INTO policies (tenant_id, name, kind, threshold, entries, inheritable, \
         enforcement, created_at, updated_at) \
         SELECT o.tenant_id, 'Policy ' || n || ' of ' || o.tenant_id, {SETTINGS}, true, \
         CASE WHEN o.tenant_id = (SELECT id FROM tenants WHERE parent_id IS NULL) AND n = 1 \
         THEN 'locked' ELSE 'default' END, now(), now() \
         FROM (SELECT DISTINCT unnest(path) AS tenant_id FROM tenant_paths \
               WHERE tenant_id = ANY ($1)) o, \
         generate_series(1, $2) AS n, LATERAL (SELECT o.tenant_id + 2 * n AS k) AS kk"
    ))
    .bind::<Array<BigInt>, _>(&targets)
    .bind::<BigInt, _>(PER_PATH_TENANT)
    .execute(conn)
    .await?;
    let overrides = diesel::sql_query(
        "INSERT INTO policies (tenant_id, name, kind, threshold, entries, inheritable, \
         enforcement, overrides_id, created_at, updated_at) \
         SELECT DISTINCT ON (t.tenant_id) t.tenant_id, 'Override of ' || p.name, p.kind, \
         p.threshold, p.entries, false, 'default', p.id, now(), now() \
         FROM tenant_paths t JOIN policies p ON p.tenant_id = ANY (t.path) \
         AND p.tenant_id <> t.tenant_id AND p.inheritable AND p.enforcement = 'default' \
         WHERE t.tenant_id = ANY ($1) \
         ORDER BY t.tenant_id, array_position(t.path, p.tenant_id) DESC, p.id",
    )
    .bind::<Array<BigInt>, _>(&targets)
    .execute(conn)
    .await?;
    let own = diesel::sql_query(format!(
        "INSERT INTO policies (tenant_id, name, kind, threshold, entries, inheritable, \
         enforcement, created_at, updated_at) \
         SELECT tenant_id, 'Own of ' || tenant_id, {SETTINGS}, false, 'default', now(), now() \
         FROM (SELECT unnest($1::bigint[]) AS tenant_id) t, \
         LATERAL (SELECT t.tenant_id + 1 AS k) AS kk"
    ))
    .bind::<Array<BigInt>, _>(&targets)
    .execute(conn)
    .await?;
    let rest = total.saturating_sub(on_paths + overrides + own);
    let spread = diesel::sql_query(format!(
        "INSERT INTO policies (tenant_id, name, kind, threshold, entries, inheritable, \
         enforcement, created_at, updated_at) \
         SELECT tenant_id, 'Spread ' || tenant_id, {SETTINGS}, tenant_id % 2 = 0, 'default', \
         now(), now() \
         FROM (SELECT tenant_id FROM tenant_paths t WHERE NOT EXISTS \
               (SELECT 1 FROM policies p WHERE p.tenant_id = t.tenant_id) \
               ORDER BY md5(tenant_id::text) LIMIT $1) t, \
         LATERAL (SELECT t.tenant_id AS k) AS kk"
    ))
    .bind::<BigInt, _>(rest as i64)
    .execute(conn)
    .await?;
    println!(
        "seeded {} policies in {:.1}s: {on_paths} on the paths of {TARGETS} tenants at depth {DEPTH}, \
         {overrides} overrides and {own} own policies there, {spread} elsewhere",
        on_paths + overrides + own + spread,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Times `services::policies::effective` for tenants at depth 12: half the samples
/// on the seeded targets (a policy on every tenant of the path), half on any tenant
/// at that depth; the tenant row is loaded beforehand, as the page has it.
pub async fn effective(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    use tenantry::db::schema::policies;
    let all = at_depth(conn).await?;
    let targets: Vec<i64> = policies::table
        .filter(policies::overrides_id.is_not_null())
        .select(policies::tenant_id)
        .distinct()
        .load(conn)
        .await?;
    let total: i64 = policies::table.count().get_result(conn).await?;
    anyhow::ensure!(
        !all.is_empty() && !targets.is_empty(),
        "run `bench-run seed-policies` first"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(1515);
    let mut tenants = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let pool = if i % 2 == 0 { &targets } else { &all };
        let id = *pool.choose(&mut rng).unwrap_or(&all[0]);
        tenants.push(id);
    }
    let mut loaded = std::collections::HashMap::new();
    for id in &tenants {
        if !loaded.contains_key(id) {
            loaded.insert(*id, Tenant::find(conn, *id).await?);
        }
    }
    for id in tenants.iter().take(WARMUP) {
        tenantry::services::policies::effective(conn, &loaded[id]).await?;
    }
    let (mut on_targets, mut anywhere) = (Vec::new(), Vec::new());
    let (mut decided, mut seen_total) = (0usize, 0usize);
    for (i, id) in tenants.iter().enumerate() {
        let tenant = &loaded[id];
        let t0 = Instant::now();
        let effective = tenantry::services::policies::effective(conn, tenant).await?;
        let took = t0.elapsed();
        if i % 2 == 0 {
            on_targets.push(took);
        } else {
            anywhere.push(took);
        }
        decided += effective.iter().filter(|e| e.policy.is_some()).count();
        seen_total += effective.len();
    }
    let mut both = on_targets.clone();
    both.extend(anywhere.iter().copied());
    println!(
        "{total} policies; {} tenants at depth {DEPTH}, {} of them with policies on every tenant of their path",
        all.len(),
        targets.len()
    );
    report(
        "effective policies at depth 12, tenants with policies all along their path",
        on_targets,
    );
    report(
        "effective policies at depth 12, any tenant at that depth",
        anywhere,
    );
    report("effective policies at depth 12, all samples", both);
    println!("(sanity: {decided} of {seen_total} kinds had a policy that applies)");
    Ok(())
}
