//! `bench-run seed-resources` and `bench-run create-instances` (issue #14's benchmark,
//! scripts/bench-resources.sh): instances created through `POST
//! /api/v1/tenants/{id}/instances` all over the tree of `bench-run seed`, with limits
//! on every tenant of the paths used, timed per request by a small HTTP/1.1 client
//! (hey sends one path; these requests go to a different tenant each time).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantry::db::models::Tenant;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::percentile;

const CLOUD: &str = "Bench cloud";
const OWNER_PREFIX: &str = "bench-owner-";
const INSTANCE_PREFIX: &str = "bench-vm-";
/// Tenants picked at each depth to create instances in.
const PER_DEPTH: usize = 100;
/// Every TIGHT_EVERY-th picked tenant has room for only TIGHT_ROOM more instances,
/// so that some creates are refused by a limit.
const TIGHT_EVERY: usize = 40;
const TIGHT_ROOM: i64 = 2;
/// The generous limits: current use plus far more than any run adds.
const HEADROOM_GB: i64 = 10_000_000;
const HEADROOM_INSTANCES: i64 = 1_000_000;
const OWNER_LIMIT_GB: i64 = 1_000_000;
/// What each instance asks for.
const STORAGE_GB: i64 = 10;
const MEMORY_GB: i64 = 2;

#[derive(QueryableByName)]
struct Picked {
    #[diesel(sql_type = BigInt)]
    tenant_id: i64,
    #[diesel(sql_type = BigInt)]
    depth: i64,
    #[diesel(sql_type = BigInt)]
    owner_id: i64,
}

/// The tenants picked by an earlier seed (those with a bench owner), with depth and owner.
async fn picked(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Picked>> {
    diesel::sql_query(
        "SELECT u.tenant_id, cardinality(p.path)::bigint - 1 AS depth, u.id AS owner_id \
         FROM users u JOIN tenant_paths p ON p.tenant_id = u.tenant_id \
         WHERE u.username LIKE $1 ORDER BY u.tenant_id",
    )
    .bind::<Text, _>(format!("{OWNER_PREFIX}%"))
    .load(conn)
    .await
}

async fn bench_cloud(conn: &mut AsyncPgConnection, root: i64) -> QueryResult<Option<i64>> {
    use tenantry::db::schema::clouds;
    clouds::table
        .filter(clouds::tenant_id.eq(root))
        .filter(clouds::name.eq(CLOUD))
        .select(clouds::id)
        .first(conn)
        .await
        .optional()
}

/// Prepares a run, from the same state every time: removes the instances of earlier
/// runs; picks (once) `PER_DEPTH` enabled tenants at every depth, each with an owner
/// user of its own, and a public cloud of the root that all of them see; then sets
/// limits on every tenant of the picked tenants' paths (the root included) at their
/// current use plus a wide margin, except every `TIGHT_EVERY`-th picked tenant, whose
/// instance limit leaves room for `TIGHT_ROOM` more.
pub async fn seed(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    use tenantry::db::schema::{clouds, users};
    let root = Tenant::root(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root: run `bench-run seed` first"))?;
    let t0 = Instant::now();
    // One statement: the totals' statement trigger (migration
    // `instance_totals_setwise`) updates each totals row once. Before it, a per-row
    // trigger made one statement deleting 10,000 run for over 5 minutes.
    let removed = diesel::sql_query("DELETE FROM instances WHERE name LIKE $1")
        .bind::<Text, _>(format!("{INSTANCE_PREFIX}%"))
        .execute(conn)
        .await?;
    if bench_cloud(conn, root.id).await?.is_none() {
        diesel::insert_into(clouds::table)
            .values((
                clouds::tenant_id.eq(root.id),
                clouds::name.eq(CLOUD),
                clouds::provider.eq("other"),
                clouds::visibility.eq("public"),
            ))
            .execute(conn)
            .await?;
    }
    if picked(conn).await?.is_empty() {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            tenant_id: i64,
            #[diesel(sql_type = BigInt)]
            depth: i64,
        }
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT p.tenant_id, cardinality(p.path)::bigint - 1 AS depth \
             FROM tenant_paths p JOIN tenants t ON t.id = p.tenant_id \
             WHERE t.enabled AND cardinality(p.path) > 1 ORDER BY p.tenant_id",
        )
        .load(conn)
        .await?;
        let mut by_depth: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for r in rows {
            by_depth.entry(r.depth).or_default().push(r.tenant_id);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(14);
        let hash = tenantry::auth::password::hash_blocking("bench-owner-password-123")?;
        let mut owners = Vec::new();
        for ids in by_depth.values_mut() {
            ids.shuffle(&mut rng);
            for id in ids.iter().take(PER_DEPTH) {
                owners.push((
                    users::tenant_id.eq(*id),
                    users::username.eq(format!("{OWNER_PREFIX}{id}")),
                    users::password_hash.eq(hash.clone()),
                    users::storage_limit_gb.eq(Some(OWNER_LIMIT_GB)),
                    users::memory_limit_gb.eq(Some(OWNER_LIMIT_GB)),
                ));
            }
        }
        diesel::insert_into(users::table)
            .values(&owners)
            .execute(conn)
            .await?;
    }
    let picked = picked(conn).await?;
    let ids: Vec<i64> = picked.iter().map(|p| p.tenant_id).collect();
    // Tight limits only where no other picked tenant is below: a tight ancestor would
    // refuse its whole subtree.
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let lowest: Vec<Id> = diesel::sql_query(
        "SELECT t AS id FROM unnest($1::bigint[]) AS t WHERE NOT EXISTS \
             (SELECT 1 FROM tenant_paths p WHERE p.tenant_id = ANY ($1) AND p.tenant_id <> t \
              AND p.path @> ARRAY[t]) ORDER BY t",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .load(conn)
    .await?;
    let tight: Vec<i64> = lowest
        .iter()
        .map(|r| r.id)
        .skip(TIGHT_EVERY / 2)
        .step_by(TIGHT_EVERY)
        .collect();
    // Everyone's limits first (the paths' union), then the tight ones.
    let limited = diesel::sql_query(
        "UPDATE tenants t SET storage_limit_gb = s.storage_gb + $2, \
             memory_limit_gb = s.memory_gb + $2, max_instances = s.instance_count + $3 \
         FROM tenant_subtree_totals s \
         WHERE s.tenant_id = t.id AND t.id IN \
             (SELECT DISTINCT unnest(path) FROM tenant_paths WHERE tenant_id = ANY ($1))",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<BigInt, _>(HEADROOM_GB)
    .bind::<BigInt, _>(HEADROOM_INSTANCES)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "UPDATE tenants t SET max_instances = s.instance_count + $2 \
         FROM tenant_subtree_totals s WHERE s.tenant_id = t.id AND t.id = ANY ($1)",
    )
    .bind::<Array<BigInt>, _>(&tight)
    .bind::<BigInt, _>(TIGHT_ROOM)
    .execute(conn)
    .await?;
    let depths: BTreeMap<i64, usize> = picked.iter().fold(BTreeMap::new(), |mut m, p| {
        *m.entry(p.depth).or_default() += 1;
        m
    });
    println!(
        "resources seeded in {:.1}s: {} tenants picked at depths {}..={} ({} per depth at most), \
         each with an owner; limits on all {limited} tenants of their paths (root included), \
         {} of the picked with room for {TIGHT_ROOM} more instances only; {removed} instances \
         of earlier runs removed",
        t0.elapsed().as_secs_f64(),
        picked.len(),
        depths.keys().next().copied().unwrap_or(0),
        depths.keys().last().copied().unwrap_or(0),
        PER_DEPTH,
        tight.len(),
    );
    Ok(())
}

/// One finished request: the target's depth, the status, the time from the first
/// byte written to the last read, and `X-Db-Statements` (development mode only).
struct Sample {
    depth: i64,
    status: u16,
    elapsed: Duration,
    statements: Option<u32>,
}

/// One keep-alive HTTP/1.1 connection, enough for the API's answers (a
/// `Content-Length` or chunked body).
struct Client {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Client {
    async fn post(
        &mut self,
        path: &str,
        token: &str,
        body: &str,
    ) -> anyhow::Result<(u16, Option<u32>, Vec<u8>)> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(BufReader::new(s));
        }
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no connection"))?;
        stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("bad status line {line:?}"))?;
        let (mut length, mut chunked, mut close, mut statements) = (0usize, false, false, None);
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse()?,
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "x-db-statements" => statements = value.parse().ok(),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim_end(), 16)?;
                let mut chunk = vec![0; size + 2];
                stream.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length, 0);
            stream.read_exact(&mut body).await?;
        }
        if close {
            self.stream = None;
        }
        Ok((status, statements, body))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `(p50, p95, p99, max)` in ms, or `None` for no samples.
fn quantiles(mut v: Vec<Duration>) -> Option<[f64; 4]> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some([0.5, 0.95, 0.99, 1.0].map(|p| ms(percentile(&v, p))))
}

fn cells(q: Option<[f64; 4]>) -> String {
    match q {
        Some(q) => q
            .iter()
            .map(|v| format!("{v:.2} ms"))
            .collect::<Vec<_>>()
            .join(" | "),
        None => "— | — | — | —".into(),
    }
}

/// `warmup` + `requests` creates from `connections` connections at once, to the
/// server at `addr` with the API token `token`. Request `i` goes to a tenant of depth
/// `depths[i % depths.len()]` (every depth as often), picked at random among the
/// seeded ones. Prints Markdown: the creates and the refusals, then by depth; and a
/// `RESULT` line for the script. Any answer but 201 or a limit's refusal (422 for a
/// size, 409 for the instance count) fails the run.
pub async fn create(
    conn: &mut AsyncPgConnection,
    addr: &str,
    token: &str,
    requests: usize,
    warmup: usize,
    connections: usize,
) -> anyhow::Result<()> {
    let root = Tenant::root(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root"))?;
    let cloud = bench_cloud(conn, root.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("run `bench-run seed-resources` first"))?;
    let picked = picked(conn).await?;
    anyhow::ensure!(!picked.is_empty(), "run `bench-run seed-resources` first");
    let mut by_depth: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for p in &picked {
        by_depth
            .entry(p.depth)
            .or_default()
            .push((p.tenant_id, p.owner_id));
    }
    let depths: Vec<i64> = by_depth.keys().copied().collect();
    let run = std::process::id();
    let mut rng = rand::rngs::StdRng::seed_from_u64(run.into());
    let plan: Arc<Vec<(i64, String, String)>> = Arc::new(
        (0..warmup + requests)
            .map(|i| {
                let depth = depths[i % depths.len()];
                let choices = &by_depth[&depth];
                let (tenant, owner) = choices[rng.gen_range(0..choices.len())];
                let body = serde_json::json!({
                    "name": format!("{INSTANCE_PREFIX}{run}-{i}"),
                    "cloud_id": cloud,
                    "owner_id": owner,
                    "storage_gb": STORAGE_GB,
                    "memory_gb": MEMORY_GB,
                });
                (
                    depth,
                    format!("/api/v1/tenants/{tenant}/instances"),
                    body.to_string(),
                )
            })
            .collect(),
    );

    // Warm-up (not counted): the server's pooled connections prepare their statements.
    let mut client = Client {
        addr: addr.to_string(),
        stream: None,
    };
    for (_, path, body) in plan.iter().take(warmup) {
        let (status, _, answer) = client.post(path, token, body).await?;
        anyhow::ensure!(
            status == 201 || status == 422 || status == 409,
            "warm-up {path}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
    }

    let next = Arc::new(AtomicUsize::new(warmup));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (plan, next, token) = (plan.clone(), next.clone(), token.to_string());
        let mut client = Client {
            addr: addr.to_string(),
            stream: None,
        };
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut odd = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((depth, path, body)) = plan.get(i) else {
                    break;
                };
                let t0 = Instant::now();
                let (status, statements, answer) = client.post(path, &token, body).await?;
                let elapsed = t0.elapsed();
                let answer = String::from_utf8_lossy(&answer);
                // A limit's refusal says what is used ("Storage 480 of 500 GB used; …"):
                // 422 for a size, 409 for the instance count. Counted together as 422.
                let refusal = (status == 422 || status == 409) && answer.contains(" used");
                if status != 201 && !refusal && odd.len() < 5 {
                    odd.push(format!("{path}: {status} {answer}"));
                }
                samples.push(Sample {
                    depth: *depth,
                    status: match (refusal, status) {
                        (true, _) => 422,
                        (false, 422) => 0,
                        (false, other) => other,
                    },
                    elapsed,
                    statements,
                });
            }
            anyhow::Ok((samples, odd))
        }));
    }
    let mut samples = Vec::new();
    let mut odd = Vec::new();
    for task in tasks {
        let (s, o) = task.await??;
        samples.extend(s);
        odd.extend(o);
    }
    let secs = started.elapsed().as_secs_f64();

    let times = |status: u16, depth: Option<i64>| -> Vec<Duration> {
        samples
            .iter()
            .filter(|s| s.status == status && depth.is_none_or(|d| s.depth == d))
            .map(|s| s.elapsed)
            .collect()
    };
    let created = times(201, None);
    let refused = times(422, None);
    let other = samples.len() - created.len() - refused.len();
    println!(
        "{} creates (`POST /api/v1/tenants/{{id}}/instances`, {STORAGE_GB} GB storage, \
         {MEMORY_GB} GB memory, an owner each) from {connections} connections at once, after \
         {warmup} not counted: {:.1} s, {:.0} requests/s; {} created, {} refused by a limit \
         (422), {other} other.",
        samples.len(),
        secs,
        samples.len() as f64 / secs,
        created.len(),
        refused.len(),
    );
    println!();
    println!("| answer | n | p50 | p95 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let (n_created, n_refused) = (created.len(), refused.len());
    let all = quantiles(created);
    println!("| 201 created | {n_created} | {} |", cells(all));
    println!(
        "| 422 refused by a limit | {n_refused} | {} |",
        cells(quantiles(refused))
    );
    println!();
    println!(
        "By depth of the tenant (created only; statements: `X-Db-Statements`, development mode):"
    );
    println!();
    println!("| depth | n | p50 | p95 | p99 | max | statements |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut p99_at = BTreeMap::new();
    for d in &depths {
        let t = times(201, Some(*d));
        let n = t.len();
        let q = quantiles(t);
        let st: Vec<u32> = samples
            .iter()
            .filter(|s| s.status == 201 && s.depth == *d)
            .filter_map(|s| s.statements)
            .collect();
        let statements = match (st.iter().min(), st.iter().max()) {
            (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
            (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
            _ => "—".into(),
        };
        if let Some(q) = q {
            p99_at.insert(*d, q[2]);
        }
        println!("| {d} | {n} | {} | {statements} |", cells(q));
    }
    let [p50, p95, p99, _] = all.unwrap_or_default();
    let at = |d: i64| p99_at.get(&d).map_or("n/a".into(), |v| format!("{v:.2}"));
    println!();
    println!(
        "RESULT created={n_created} refused={n_refused} other={other} rps={:.0} p50={p50:.2} \
         p95={p95:.2} p99={p99:.2} p99_depth1={} p99_depth12={}",
        samples.len() as f64 / secs,
        at(1),
        at(12)
    );
    if !odd.is_empty() {
        anyhow::bail!("unexpected answers:\n{}", odd.join("\n"));
    }
    Ok(())
}
