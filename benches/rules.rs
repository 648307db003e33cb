//! `bench-run seed-rules` and `bench-run migrate-rules` (issue #13's benchmark,
//! scripts/bench-rules.sh): a rule-set migration of 100,000 rules end to end —
//! lock (`services::rule_migrations::start`), copy with mappings in batches and
//! swap and unlock (`Runner::tick`, the runner every `tenantry serve` runs) —
//! timed from the service call to the swap's commit.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tenantry::auth::Principal;
use tenantry::db::models::rules::{Application, Domain};
use tenantry::db::models::{Tenant, User};
use tenantry::db::schema::tenants;
use tenantry::db::DbPool;
use tenantry::domain::rules::{RuleInput, RuleText};
use tenantry::domain::TenantName;
use tenantry::services::rule_migrations::{self as migrations, Mappings, Ran, Runner};
use tenantry::services::rules::{self as rules, Change, DomainInput};
use tenantry::services::Actor;

const SOURCE: &str = "bench-rules-source";
const TARGET: &str = "bench-rules-target";
/// Applications per tenant; domain `j` is bound to application `j % APPS`.
const APPS: usize = 20;
const DOMAINS: usize = 100;
/// Rules the target holds before (all replaced by the migration).
const TARGET_RULES: usize = 1_000;
/// Rules per `create_rules` call while seeding.
const SEED_BATCH: usize = 5_000;

/// The root administrator of `bench-run seed` and the acting identity.
async fn admin(pool: &DbPool) -> anyhow::Result<(Principal, Actor)> {
    let mut conn = pool.get().await?;
    let (user, _) = User::find_for_login(&mut conn, "root", "admin")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root administrator: run `bench-run seed` first"))?;
    let p = Principal::load(&mut conn, user.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no principal"))?;
    let actor = Actor::user(&p, p.home.id, None);
    Ok((p, actor))
}

async fn tenant(pool: &DbPool, subdomain: &str) -> anyhow::Result<Option<Tenant>> {
    let mut conn = pool.get().await?;
    let id: Option<i64> = tenants::table
        .filter(tenants::subdomain.eq(subdomain))
        .select(tenants::id)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(match id {
        Some(id) => Some(Tenant::find(&mut conn, id).await?),
        None => None,
    })
}

/// Two tenants under the root: the source with `n` rules, the target with
/// `TARGET_RULES`; each with `APPS` applications and `DOMAINS` domains. A quarter
/// of the rules are bound to an application and one of its domains, a quarter to
/// an application, a quarter to a domain, the rest to nothing.
pub async fn seed(pool: &DbPool, n: usize) -> anyhow::Result<()> {
    let (p, actor) = admin(pool).await?;
    if tenant(pool, SOURCE).await?.is_some() {
        println!("{SOURCE} exists: nothing seeded");
        return Ok(());
    }
    let mut conn = pool.get().await?;
    let root = Tenant::root(&mut conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root"))?;
    for (subdomain, count) in [(SOURCE, n), (TARGET, TARGET_RULES)] {
        let fields = tenantry::db::models::tenant::TenantFields {
            name: subdomain.replace('-', " "),
            subdomain: subdomain.into(),
            description: String::new(),
            custom_domain: None,
            can_have_subtenants: false,
            enabled: true,
            tenant_role_id: None,
            labels: None,
            monthly_query_quota: None,
            limits: Default::default(),
            max_users: None,
            plan_id: None,
        };
        let t = tenantry::services::tenants::tree::create(
            &mut conn,
            &actor,
            &root,
            fields,
            &|_: &Tenant| Ok(()),
        )
        .await?;
        let c = Change {
            p: &p,
            actor: &actor,
            tenant: &t,
            now: chrono::Utc::now(),
        };
        let mut apps = Vec::new();
        for a in 0..APPS {
            let name = TenantName::parse(&format!("App {a}")).map_err(anyhow::Error::msg)?;
            apps.push(rules::create_application(&mut conn, &c, Ok(name)).await?.id);
        }
        let mut domains = Vec::new();
        for d in 0..DOMAINS {
            let input =
                DomainInput::parse(&format!("d{d}.{subdomain}.example"), Some(apps[d % APPS]))
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            domains.push(rules::create_domain(&mut conn, &c, Ok(input)).await?.id);
        }
        let t0 = Instant::now();
        let mut made = 0;
        while made < count {
            let inputs: Vec<_> = (made..count.min(made + SEED_BATCH))
                .map(|i| {
                    let app = apps[i % APPS];
                    // Bound to application `i % APPS`, as the rule is.
                    let domain = domains[i % DOMAINS];
                    let (application_id, domain_id) = match i % 4 {
                        0 => (Some(app), Some(domain)),
                        1 => (Some(app), None),
                        2 => (None, Some(domain)),
                        _ => (None, None),
                    };
                    let value = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
                    RuleInput::parse(RuleText {
                        kind: Some("block_ip"),
                        application_id,
                        domain_id,
                        path: if i % 3 == 0 { "/login" } else { "" },
                        value: &value,
                        action: Some(if i % 5 == 0 { "monitor" } else { "block" }),
                        enabled: i % 10 != 0,
                    })
                })
                .collect();
            made += inputs.len();
            for r in rules::create_rules(&mut conn, &c, inputs).await? {
                r?;
            }
        }
        println!(
            "seeded {subdomain}: {APPS} applications, {DOMAINS} domains, {count} rules in {:.1}s",
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Source application (domain) `k` → target application (domain) `k`, by id
/// order: domain `j` of both is bound to application `j % APPS`, so every mapped
/// rule stays consistent.
async fn mappings(pool: &DbPool, source: &Tenant, target: &Tenant) -> anyhow::Result<Mappings> {
    let mut conn = pool.get().await?;
    let pair = |from: Vec<i64>, to: Vec<i64>| -> BTreeMap<i64, Option<i64>> {
        from.into_iter().zip(to.into_iter().map(Some)).collect()
    };
    let ids_a = |v: Vec<Application>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let ids_d = |v: Vec<Domain>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    let mut sa = ids_a(Application::all(&mut conn, source.id).await?);
    let mut ta = ids_a(Application::all(&mut conn, target.id).await?);
    let mut sd = ids_d(Domain::all(&mut conn, source.id).await?);
    let mut td = ids_d(Domain::all(&mut conn, target.id).await?);
    for v in [&mut sa, &mut ta, &mut sd, &mut td] {
        v.sort_unstable();
    }
    Ok(Mappings {
        applications: pair(sa, ta),
        domains: pair(sd, td),
    })
}

/// `rounds` migrations source → target, each timed from `start` to the swap's
/// commit (the runner's tick), one after the other.
pub async fn migrate(pool: &DbPool, rounds: usize) -> anyhow::Result<()> {
    let (p, actor) = admin(pool).await?;
    let missing = || anyhow::anyhow!("run `bench-run seed-rules` first");
    let source = tenant(pool, SOURCE).await?.ok_or_else(missing)?;
    let target = tenant(pool, TARGET).await?.ok_or_else(missing)?;
    let mappings = mappings(pool, &source, &target).await?;
    let runner = Runner::new(Duration::from_secs(30));
    let mut totals = Vec::new();
    let mut each = Vec::new();
    let mut copied = 0;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let m = {
            let mut conn = pool.get().await?;
            migrations::start(
                &mut conn,
                &p,
                &actor,
                &source,
                &target,
                &mappings,
                chrono::Utc::now(),
            )
            .await?
        };
        let locked = t0.elapsed();
        let ran = runner.tick(pool, chrono::Utc::now).await?;
        let total = t0.elapsed();
        anyhow::ensure!(ran == Ran::Done(m.id), "migration #{}: {ran:?}", m.id);
        let mut conn = pool.get().await?;
        copied = migrations::progress(&mut conn, m.id).await?.copied;
        each.push(format!(
            "{:.0} (lock {:.0})",
            total.as_secs_f64() * 1e3,
            locked.as_secs_f64() * 1e3
        ));
        totals.push(total);
    }
    totals.sort();
    println!(
        "rule migration of {copied} rules ({} applications, {} domains mapped; lock, copy in batches of {}, swap, unlock): n={} median={:.0}ms max={:.0}ms (each, in order, ms: {})",
        mappings.applications.len(),
        mappings.domains.len(),
        runner.batch,
        totals.len(),
        totals[totals.len() / 2].as_secs_f64() * 1e3,
        totals.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        each.join(", ")
    );
    Ok(())
}
