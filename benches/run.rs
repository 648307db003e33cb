//! `make bench` helper: seeds a large tree and times the ancestor check.
//!
//! `bench-run seed --tenants N --depth D` creates N tenants (a chain of depth D,
//! the rest attached at random to shallower tenants; those that get no children are
//! customers, 3 % of them disabled, 30 % with an instance), a region label on every
//! tenant and a tier label (`tier:gold` 5 %, `tier:silver` 15 %) on some, 10,000
//! users with grants at home in enabled tenants, and the root administrator
//! `admin` / `bench-password-123`.
//! `bench-run seed-audit --events N` adds N audit events (default 1,000,000) about
//! tenants spread over the tree, one every half second up to now, a fifth of them
//! made by the root administrator switched into the tenant.
//! `bench-run ancestor-check` times "is A an ancestor of B" with the stored path
//! (primary-key lookup + array test) against a recursive walk up parent links.
//! `bench-run seed-rules --rules N` and `bench-run migrate-rules --rounds R`: a
//! rule-set migration of N rules end to end (benches/rules.rs).
//! `bench-run seed-resources` and `bench-run create-instances --requests N --connections
//! C --warmup W` (the server's address and an API token in BENCH_ADDR and BENCH_TOKEN):
//! instances created through the API with limits on every level (benches/resources.rs).
//! `bench-run seed-policies --policies N` and `bench-run effective-policies`: the
//! effective policies of tenants at depth 12 with N policies in the tree
//! (benches/policies.rs).

mod policies;
mod resources;
mod rules;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};
use tenantry::db::models::Tenant;
use tenantry::db::schema::{grants, instances, tenant_labels, tenant_paths, tenants, users};

const ADMIN_PASSWORD: &str = "bench-password-123";
const BATCH: usize = 5_000;
const USERS: usize = 10_000;
/// Share of customers (tenants without children) that are disabled.
const DISABLED_SHARE: f64 = 0.03;
/// Share of customers with an instance.
const INSTANCE_SHARE: f64 = 0.3;
const SAMPLES: usize = 20_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = std::env::var("DATABASE_URL")?;
    let pool = tenantry::db::pool(&url, 2)?;
    let mut conn = pool.get().await?;
    match args.get(1).map(String::as_str) {
        Some("seed") => {
            let tenants = flag(&args, "--tenants").unwrap_or(100_000);
            let depth = flag(&args, "--depth").unwrap_or(12);
            seed(&mut conn, tenants, depth).await
        }
        Some("seed-audit") => {
            let events = flag(&args, "--events").unwrap_or(1_000_000);
            seed_audit(&mut conn, events).await
        }
        Some("ancestor-check") => ancestor_check(&mut conn).await,
        Some("decision") => decision(&mut conn).await,
        Some("move") => {
            moves(
                &mut conn,
                args.get(2).and_then(|v| v.parse().ok()).unwrap_or(3),
            )
            .await
        }
        Some("create-users") => {
            drop(conn);
            create_users(
                &url,
                flag(&args, "--clients").unwrap_or(8),
                flag(&args, "--users").unwrap_or(2_000),
                args.iter().any(|a| a == "--without-totals"),
            )
            .await
        }
        Some("token") => token(&mut conn).await,
        Some("seed-rules") => {
            drop(conn);
            let pool = tenantry::db::pool(&url, 4)?;
            rules::seed(&pool, flag(&args, "--rules").unwrap_or(100_000)).await
        }
        Some("migrate-rules") => {
            drop(conn);
            // The runner takes a second connection for its heartbeat.
            let pool = tenantry::db::pool(&url, 4)?;
            rules::migrate(&pool, flag(&args, "--rounds").unwrap_or(5)).await
        }
        Some("seed-resources") => resources::seed(&mut conn).await,
        Some("seed-policies") => {
            policies::seed(&mut conn, flag(&args, "--policies").unwrap_or(10_000)).await
        }
        Some("effective-policies") => policies::effective(&mut conn).await,
        Some("create-instances") => {
            let addr = std::env::var("BENCH_ADDR")?;
            let token = std::env::var("BENCH_TOKEN")?;
            resources::create(
                &mut conn,
                &addr,
                &token,
                flag(&args, "--requests").unwrap_or(10_000),
                flag(&args, "--warmup").unwrap_or(200),
                flag(&args, "--connections").unwrap_or(4),
            )
            .await
        }
        Some("batch-json") => {
            batch_json(
                &mut conn,
                args.get(2)
                    .map(String::as_str)
                    .unwrap_or("target/bench/batch"),
            )
            .await
        }
        _ => {
            anyhow::bail!("usage: bench-run seed --tenants N --depth D | bench-run seed-audit --events N | bench-run ancestor-check | bench-run decision | bench-run move [ROUNDS] | bench-run create-users --clients C --users N [--without-totals] | bench-run token | bench-run batch-json DIR | bench-run seed-rules --rules N | bench-run migrate-rules --rounds R | bench-run seed-resources | bench-run create-instances --requests N --connections C --warmup W | bench-run seed-policies --policies N | bench-run effective-policies")
        }
    }
}

fn flag(args: &[String], name: &str) -> Option<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

async fn seed(conn: &mut AsyncPgConnection, n: usize, depth: usize) -> anyhow::Result<()> {
    let hash = tenantry::auth::password::hash_blocking(ADMIN_PASSWORD)?;
    tenantry::services::bootstrap::run(conn, "root", "admin", &hash).await?;
    let root = Tenant::root(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root"))?;
    let base: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "nextval('tenants_id_seq')",
    ))
    .get_result(conn)
    .await?;
    diesel::sql_query(format!(
        "SELECT setval('tenants_id_seq', {})",
        base + n as i64
    ))
    .execute(conn)
    .await?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    // The shape first (a parent for each tenant), then the rows: a tenant that gets no
    // children is a customer, the rest resellers.
    let mut paths: Vec<Vec<i64>> = Vec::with_capacity(n);
    for i in 0..n {
        let id = base + i as i64;
        let parent_path = if i < depth {
            // A chain guarantees the requested depth.
            if i == 0 {
                root.path.clone()
            } else {
                paths[i - 1].clone()
            }
        } else {
            // Attach to a random earlier tenant that is not too deep: a bushy tree.
            let mut p = &paths[rng.gen_range(0..i)];
            while p.len() > depth + 2 {
                p = &paths[rng.gen_range(0..i)];
            }
            p.clone()
        };
        let mut path = parent_path;
        path.push(id);
        paths.push(path);
    }
    let mut has_children = vec![false; n];
    for path in &paths {
        if let Some(parent) = path.len().checked_sub(2).map(|i| path[i]) {
            if parent >= base {
                has_children[(parent - base) as usize] = true;
            }
        }
    }
    // What the filters select: a few disabled customers, labels on most tenants, and
    // instances on customers (their own rng, so the tree's shape stays that of
    // earlier runs).
    let mut extra = rand::rngs::StdRng::seed_from_u64(4242);
    let enabled: Vec<bool> = (0..n)
        .map(|i| has_children[i] || !extra.gen_bool(DISABLED_SHARE))
        .collect();
    let mut rows = Vec::with_capacity(BATCH);
    let mut path_rows = Vec::with_capacity(BATCH);
    let mut label_rows = Vec::with_capacity(BATCH * 2);
    let mut instance_rows = Vec::with_capacity(BATCH);
    let started = Instant::now();
    for (i, path) in paths.iter().enumerate() {
        let id = base + i as i64;
        rows.push((
            tenants::id.eq(id),
            tenants::parent_id.eq(path.len().checked_sub(2).map(|p| path[p])),
            tenants::name.eq(format!("Tenant {i:06}")),
            tenants::subdomain.eq(format!("t{i}")),
            tenants::can_have_subtenants.eq(has_children[i]),
            tenants::enabled.eq(enabled[i]),
            tenants::tenant_role_id.eq(root.tenant_role_id),
        ));
        path_rows.push((
            tenant_paths::tenant_id.eq(id),
            tenant_paths::path.eq(path.clone()),
        ));
        let region = ["region:eu", "region:us", "region:apac"][extra.gen_range(0..3)];
        label_rows.push((
            tenant_labels::tenant_id.eq(id),
            tenant_labels::label.eq(region),
        ));
        let tier: f64 = extra.gen();
        if tier < 0.05 {
            label_rows.push((
                tenant_labels::tenant_id.eq(id),
                tenant_labels::label.eq("tier:gold"),
            ));
        } else if tier < 0.20 {
            label_rows.push((
                tenant_labels::tenant_id.eq(id),
                tenant_labels::label.eq("tier:silver"),
            ));
        }
        if !has_children[i] && extra.gen_bool(INSTANCE_SHARE) {
            instance_rows.push((
                instances::tenant_id.eq(id),
                instances::name.eq(format!("t{i}-vm1")),
                instances::storage_gb.eq(20),
                instances::memory_gb.eq(4),
            ));
        }
        if rows.len() == BATCH || i + 1 == n {
            diesel::insert_into(tenants::table)
                .values(&rows)
                .execute(conn)
                .await?;
            diesel::insert_into(tenant_paths::table)
                .values(&path_rows)
                .execute(conn)
                .await?;
            diesel::insert_into(tenant_labels::table)
                .values(&label_rows)
                .execute(conn)
                .await?;
            rows.clear();
            path_rows.clear();
            label_rows.clear();
        }
    }
    println!(
        "seeded {n} tenants in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for chunk in instance_rows.chunks(BATCH) {
        diesel::insert_into(instances::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    println!(
        "seeded {} instances in {:.1}s",
        instance_rows.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut user_rows = Vec::new();
    for u in 0..USERS {
        // At home in an enabled tenant, so that every seeded user can log in.
        let mut at = rng.gen_range(0..n);
        while !enabled[at] {
            at = rng.gen_range(0..n);
        }
        user_rows.push((
            users::tenant_id.eq(base + at as i64),
            users::username.eq(format!("user{u}")),
            users::password_hash.eq(hash.clone()),
        ));
    }
    let user_ids: Vec<(i64, i64)> = diesel::insert_into(users::table)
        .values(&user_rows)
        .returning((users::id, users::tenant_id))
        .get_results(conn)
        .await?;
    let grant_rows: Vec<_> = user_ids
        .iter()
        .map(|(uid, tid)| {
            (
                grants::user_id.eq(*uid),
                grants::tenant_id.eq(*tid),
                // Spread: most administer their subtree, every fourth views one tenant.
                grants::role.eq(if uid % 4 == 0 {
                    "viewer"
                } else {
                    "administrator"
                }),
                grants::scope.eq(if uid % 4 == 0 { "tenant" } else { "subtree" }),
                grants::manage_subtenants.eq(uid % 4 != 0),
            )
        })
        .collect();
    diesel::insert_into(grants::table)
        .values(&grant_rows)
        .execute(conn)
        .await?;
    let max_depth = paths.iter().map(Vec::len).max().unwrap_or(0);
    let disabled = enabled.iter().filter(|e| !**e).count();
    println!(
        "seeded {USERS} users with grants in {:.1}s; {n} tenants (max depth {max_depth}, {} resellers, {disabled} disabled)",
        started.elapsed().as_secs_f64(),
        has_children.iter().filter(|c| **c).count(),
    );
    Ok(())
}

/// Audit events for the activity page's benchmark, written by one statement per
/// 100,000 with every column the insert trigger would look up already filled (so
/// the trigger reads nothing). Tenants are picked by a multiplicative hash of the
/// event number over the range of tenant ids (an id no longer there picks none, so
/// the rounds go on until `n` are written); actions cycle through a few with small diffs.
async fn seed_audit(conn: &mut AsyncPgConnection, n: usize) -> anyhow::Result<()> {
    const CHUNK: usize = 100_000;
    let started = Instant::now();
    let (mut done, mut next) = (0, 1);
    while done < n {
        let (from, to) = (next, next + (n - done).min(CHUNK) - 1);
        done += diesel::sql_query(format!(
            "WITH ids AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS span FROM tenants), \
                  admin AS (SELECT u.id, t.id AS home, t.name, t.subdomain || E'\\\\' || u.username AS login \
                            FROM users u JOIN tenants t ON t.id = u.tenant_id \
                            WHERE t.parent_id IS NULL ORDER BY u.id LIMIT 1), \
                  picked AS (SELECT g, ids.lo + (g::bigint * 2654435761) % ids.span AS tenant_id \
                             FROM generate_series({from}, {to}) AS g, ids) \
             INSERT INTO audit_events (occurred_at, actor_user_id, actor_username, actor_home_id, \
                 acting_tenant_id, acting_tenant_name, tenant_id, tenant_name, tenant_path, action, \
                 before, after, client_addr) \
             SELECT now() - make_interval(secs => ({n} - g) * 0.5), admin.id, admin.login, admin.home, \
                    CASE WHEN g % 5 = 0 THEN t.id ELSE admin.home END, \
                    CASE WHEN g % 5 = 0 THEN t.name ELSE admin.name END, \
                    t.id, t.name, p.path, \
                    (ARRAY['tenant.update', 'tenant.disable', 'tenant.enable', 'user.create', 'grant.give'])[1 + g % 5], \
                    jsonb_build_object('name', t.name, 'n', g - 1), jsonb_build_object('name', t.name, 'n', g), \
                    '192.0.2.' || (g % 250) \
             FROM picked JOIN tenants t ON t.id = picked.tenant_id \
             JOIN tenant_paths p ON p.tenant_id = t.id, admin"
        ))
        .execute(conn)
        .await?;
        next = to + 1;
    }
    println!(
        "seeded {done} audit events in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.3}ms p99={:.3}ms max={:.3}ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        percentile(&samples, 1.0).as_secs_f64() * 1e3,
    );
}

async fn ancestor_check(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let ids: Vec<i64> = tenants::table.select(tenants::id).load(conn).await?;
    anyhow::ensure!(!ids.is_empty(), "no tenants: run `bench-run seed` first");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let pairs: Vec<(i64, i64)> = (0..SAMPLES)
        .map(|_| {
            (
                ids[rng.gen_range(0..ids.len())],
                ids[rng.gen_range(0..ids.len())],
            )
        })
        .collect();

    // The path way: one primary-key lookup of B, then `A ∈ B.path` in memory —
    // what `authz::visible_tenant` does on every request.
    let mut path_samples = Vec::with_capacity(SAMPLES);
    let mut hits = 0usize;
    for (a, b) in &pairs {
        let t0 = Instant::now();
        let tenant = Tenant::find(conn, *b).await?;
        if tenant.is_within(*a) {
            hits += 1;
        }
        path_samples.push(t0.elapsed());
    }
    report(
        "ancestor check, stored path (PK lookup + array test)",
        path_samples,
    );

    // The naive way, for comparison: walk parent links with a recursive CTE.
    let mut walk_samples = Vec::with_capacity(SAMPLES / 10);
    let mut walk_hits = 0usize;
    for (a, b) in pairs.iter().take(SAMPLES / 10) {
        let t0 = Instant::now();
        let found: bool = diesel::sql_query(
            "WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM tenants WHERE id = $1 \
             UNION ALL SELECT t.id, t.parent_id FROM tenants t JOIN up ON t.id = up.parent_id) \
             SELECT EXISTS (SELECT 1 FROM up WHERE id = $2) AS found",
        )
        .bind::<diesel::sql_types::BigInt, _>(*b)
        .bind::<diesel::sql_types::BigInt, _>(*a)
        .get_result::<Found>(conn)
        .await?
        .found;
        if found {
            walk_hits += 1;
        }
        walk_samples.push(t0.elapsed());
    }
    report("ancestor check, recursive walk (comparison)", walk_samples);
    println!(
        "(sanity: {hits} of {SAMPLES} pairs related by path; {walk_hits} of {} by walk)",
        SAMPLES / 10
    );
    Ok(())
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

/// The effective-permission decision: (user, tenant, feature) -> level, timed two ways:
/// as a request pays it (load the principal: user + home + role, grants, tenant roles;
/// load the target tenant; decide) and with the principal already loaded (what every
/// further check of the same request costs).
async fn decision(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    use tenantry::auth::{authz, Principal};
    use tenantry::domain::Feature;
    let tenant_ids: Vec<i64> = tenants::table.select(tenants::id).load(conn).await?;
    let user_ids: Vec<i64> = users::table.select(users::id).load(conn).await?;
    anyhow::ensure!(
        !tenant_ids.is_empty() && user_ids.len() > 1,
        "run `bench-run seed` first"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let n = SAMPLES / 4;
    let mut full = Vec::with_capacity(n);
    let mut warm = Vec::with_capacity(n);
    let mut allowed = 0usize;
    for i in 0..n {
        let uid = user_ids[rng.gen_range(0..user_ids.len())];
        // Half the targets inside the user's reach (their grant's tenant), half anywhere.
        let t0 = Instant::now();
        let principal = Principal::load(conn, uid)
            .await?
            .ok_or_else(|| anyhow::anyhow!("user {uid} vanished"))?;
        let target = if i % 2 == 0 {
            // (`first()` would resolve to diesel's QueryDsl here.)
            <[tenantry::db::models::Grant]>::first(&principal.grants)
                .map_or(principal.home.id, |g| g.tenant_id)
        } else {
            tenant_ids[rng.gen_range(0..tenant_ids.len())]
        };
        let tenant = Tenant::find(conn, target).await?;
        let feature = Feature::ALL[i % Feature::ALL.len()];
        if authz::can_see(&principal, &tenant)
            && authz::effective_level(&principal, &tenant, feature) > tenantry::domain::Level::None
        {
            allowed += 1;
        }
        full.push(t0.elapsed());
        let t1 = Instant::now();
        let tenant = Tenant::find(conn, target).await?;
        let _ = authz::effective_level(&principal, &tenant, feature);
        warm.push(t1.elapsed());
    }
    report(
        "decision, as a request pays it (principal: 1 query + tenant: 1 query)",
        full,
    );
    report("decision, principal already loaded (tenant: 1 query)", warm);
    println!("(sanity: {allowed} of {n} decisions allowed something)");
    Ok(())
}

/// The tenant whose subtree size is closest to `size`, with that size.
async fn subtree_near(conn: &mut AsyncPgConnection, size: i64) -> anyhow::Result<(i64, i64)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // Every tenant counts once for each tenant on its path: subtree sizes in one pass.
    let row: Row = diesel::sql_query(
        "SELECT a AS id, count(*) AS n FROM tenant_paths, unnest(path) AS a \
         WHERE a <> (SELECT id FROM tenants WHERE parent_id IS NULL) \
         GROUP BY a ORDER BY abs(count(*) - $1) LIMIT 1",
    )
    .bind::<diesel::sql_types::BigInt, _>(size)
    .get_result(conn)
    .await?;
    Ok((row.id, row.n))
}

/// Moves a ~10,000-tenant and a ~100,000-tenant subtree to a new parent and back,
/// timing each committed move (`rounds` times each).
async fn moves(conn: &mut AsyncPgConnection, rounds: usize) -> anyhow::Result<()> {
    use tenantry::services::{tenants::tree as service, Actor};
    let root = Tenant::root(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root"))?;
    let fields = tenantry::db::models::tenant::TenantFields {
        name: "Bench destination".into(),
        subdomain: format!("bench-dest-{}", std::process::id()),
        description: String::new(),
        custom_domain: None,
        can_have_subtenants: true,
        enabled: true,
        tenant_role_id: None,
        labels: None,
        monthly_query_quota: None,
        limits: Default::default(),
        max_users: None,
        plan_id: None,
    };
    let actor = Actor::system("bench");
    let dest = service::create(conn, &actor, &root, fields, &|_: &Tenant| Ok(())).await?;
    let allow = |_: &Tenant, _: &Tenant, _: &Tenant| Ok(());
    for target in [10_000i64, 100_000] {
        let (id, n) = subtree_near(conn, target).await?;
        let home = Tenant::find(conn, id)
            .await?
            .parent_id
            .ok_or_else(|| anyhow::anyhow!("root picked"))?;
        // In order: there, back, there, back, ...
        let mut runs = Vec::new();
        for _ in 0..rounds {
            for to in [dest.id, home] {
                let t0 = Instant::now();
                service::move_tenant(
                    conn,
                    &actor,
                    id,
                    to,
                    &allow,
                    &|_, _| Ok(()),
                    &|_| true,
                    chrono::Utc::now(),
                )
                .await?;
                runs.push(t0.elapsed());
            }
        }
        let in_order: Vec<String> = runs
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
            .collect();
        runs.sort();
        println!(
            "move subtree of {n} tenants (target {target}): n={} median={:.0}ms max={:.0}ms (each, in order: {} ms)",
            runs.len(),
            percentile(&runs, 0.5).as_secs_f64() * 1e3,
            percentile(&runs, 1.0).as_secs_f64() * 1e3,
            in_order.join(", "),
        );
    }
    Ok(())
}

/// Users created by `clients` connections at once, `users` in all, each in a
/// transaction shaped like `services::users::create` (the insert, then its audit
/// event), in enabled tenants picked at random all over the tree: every one of them
/// counts on the root's subtree totals. Prints throughput and latency, then deletes
/// what it created. `--without-totals` does the same with the totals trigger off
/// (how it was before the totals were maintained); the created users are deleted
/// with it still off, so the totals stay exact.
async fn create_users(
    url: &str,
    clients: usize,
    users: usize,
    without_totals: bool,
) -> anyhow::Result<()> {
    use tenantry::services::Actor;
    let pool = tenantry::db::pool(url, clients + 1)?;
    let mut conn = pool.get().await?;
    let toggle = |on: bool| {
        format!(
            "ALTER TABLE users {} TRIGGER users_subtree_totals",
            if on { "ENABLE" } else { "DISABLE" }
        )
    };
    if without_totals {
        diesel::sql_query(toggle(false)).execute(&mut conn).await?;
    }
    let tenant_ids: Vec<i64> = tenants::table
        .filter(tenants::enabled.eq(true))
        .select(tenants::id)
        .load(&mut conn)
        .await?;
    let hash = tenantry::auth::password::hash_blocking(ADMIN_PASSWORD)?;
    let run = std::process::id();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (pool, ids, hash) = (pool.clone(), tenant_ids.clone(), hash.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await?;
            let mut rng = rand::rngs::StdRng::seed_from_u64(client as u64);
            let actor = Actor::system("bench");
            let mut samples = Vec::new();
            for i in (client..users).step_by(clients) {
                let tenant = ids[rng.gen_range(0..ids.len())];
                let name = format!("cu-{run}-{i}");
                let t0 = Instant::now();
                conn.transaction::<_, diesel::result::Error, _>(async |c| {
                    tenantry::db::set_lock_timeout(c).await?;
                    tenantry::db::models::user::NewUser {
                        tenant_id: tenant,
                        username: &name,
                        email: "",
                        first_name: "",
                        last_name: "",
                        password_hash: &hash,
                    }
                    .insert(c)
                    .await?;
                    actor
                        .event(tenantry::domain::activity::Action::UserCreate, Some(tenant))
                        .record(c)
                        .await?;
                    Ok(())
                })
                .await?;
                samples.push(t0.elapsed());
            }
            anyhow::Ok(samples)
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} users created by {clients} connections at once ({}): {:.0} users/s",
        samples.len(),
        if without_totals {
            "totals trigger off"
        } else {
            "subtree totals maintained"
        },
        samples.len() as f64 / secs,
    );
    report("  each creation, begin to commit", samples);
    diesel::delete(users::table.filter(users::username.like(format!("cu-{run}-%"))))
        .execute(&mut conn)
        .await?;
    if without_totals {
        diesel::sql_query(toggle(true)).execute(&mut conn).await?;
    }
    Ok(())
}

/// Prints a fresh API token of the root administrator (for the batch benchmark).
async fn token(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    use tenantry::services::{api_tokens, Actor};
    let (admin, _) = tenantry::db::models::User::find_for_login(conn, "root", "admin")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no admin"))?;
    let fields = api_tokens::TokenFields {
        name: "bench".into(),
        read_only: false,
        expires_at: None,
    };
    let (_, secret) = api_tokens::create(conn, &Actor::system("bench"), admin.id, &fields)
        .await
        .map_err(|e| anyhow::anyhow!("token: {e}"))?;
    println!("{secret}");
    Ok(())
}

/// Writes 10 batch request bodies of 1,000 creates each under a fresh parent.
async fn batch_json(conn: &mut AsyncPgConnection, dir: &str) -> anyhow::Result<()> {
    let root = Tenant::root(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root"))?;
    std::fs::create_dir_all(dir)?;
    let run = std::process::id();
    for file in 0..10 {
        let ops: Vec<serde_json::Value> = (0..1000)
            .map(|i| {
                serde_json::json!({"op": "create", "data": {
                    "parent_id": root.id,
                    "name": format!("Batch {run}-{file}-{i}"),
                    "subdomain": format!("b{run}-{file}-{i}"),
                }})
            })
            .collect();
        let body = serde_json::json!({"atomic": true, "operations": ops});
        std::fs::write(
            format!("{dir}/batch-{file}.json"),
            serde_json::to_vec(&body)?,
        )?;
    }
    println!("{dir}");
    Ok(())
}
