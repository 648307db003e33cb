//! Rule-set migrations between tenants (#13 part B): start (locks both, 409 on a
//! locked tenant, rights over both, mappings checked), the runner's copy and swap
//! (the target gets the mapped copy, one version of kind `migration`, both
//! unlocked), a crashed run found when its lease runs out (source unlocked, target
//! locked), rollback (the target byte for byte as before) and retry (resumes the
//! staged copy, no duplicates, converges to the mapped copy).

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::json;
use std::collections::BTreeMap;
use tenantry::db::models::rule_migration::RuleMigration;
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Scope};
use tenantry::error::AppError;
use tenantry::services::rule_migrations::{self as service, Mappings, Ran, Runner};
use tenantry::services::Actor;

/// The app with its own runner idle (a poll of an hour): the tests run the jobs.
pub async fn app() -> TestApp {
    spawn_app_with_env(&[("TENANTRY_MIGRATION_POLL_MS", "3600000")]).await
}

pub fn runner(batch: i64) -> Runner {
    Runner {
        batch,
        ..Runner::new(std::time::Duration::from_secs(30))
    }
}

/// How many rows migration $1 copied into its generation of the target's rules
/// (every row of that generation: a copy resumed twice would show here).
pub const COPIED: &str = "SELECT count(*) FROM rules r JOIN rule_migrations m \
     ON r.tenant_id = m.target_tenant_id AND r.generation = m.generation WHERE m.id = $1";

/// A checksum of a tenant's current rules (rule ids included) and settings.
pub async fn checksum(app: &TestApp, tenant: &Tenant) -> String {
    db(app)
        .await
        .query_one(
            "SELECT md5(coalesce((SELECT string_agg(concat_ws('|', rule_id, kind, application_id, \
             domain_id, path, value, action, enabled), ';' ORDER BY rule_id) FROM rules \
             WHERE tenant_id = $1 AND valid_to IS NULL \
             AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = $1)), '') || '#' || \
             coalesce((SELECT concat_ws('|', enabled, threshold, window_minutes, login_paths) \
             FROM credential_stuffing WHERE tenant_id = $1), ''))",
            &[&tenant.id],
        )
        .await
        .unwrap()
        .get(0)
}

/// The tenant's current rules' content without rule ids, sorted: what a mapped
/// copy must equal.
pub async fn contents(app: &TestApp, tenant: &Tenant) -> Vec<String> {
    db(app)
        .await
        .query(
            "SELECT concat_ws('|', kind, application_id, domain_id, path, value, action, enabled) \
             FROM rules WHERE tenant_id = $1 AND valid_to IS NULL \
             AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = $1) ORDER BY 1",
            &[&tenant.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub async fn locked(app: &TestApp, tenant: &Tenant) -> bool {
    db(app)
        .await
        .query_one(
            "SELECT count(*) FROM rule_locks WHERE tenant_id = $1",
            &[&tenant.id],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
        == 1
}

/// Source `acme`: applications Shop and Blog, a domain bound to Shop, `n` rules
/// (some bound); settings saved. Target `globex`: application Store, domain
/// store.example.net, two rules of its own. Returns the mapping Shop → Store,
/// Blog → none, the domain → store.example.net, and the expected target content.
pub struct Setup {
    pub source: Tenant,
    pub target: Tenant,
    pub mappings: Mappings,
    pub expected: Vec<String>,
}

pub async fn setup(app: &TestApp, n: usize) -> Setup {
    let t = partner_tree(app).await;
    let api = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let post = |path: String, body: serde_json::Value| {
        let api = &api;
        async move {
            let (s, v) = api.post(&path, body).await;
            assert_eq!(s, 201, "{path}: {v}");
            v["id"].as_i64().unwrap()
        }
    };
    let src = format!("/api/v1/tenants/{}", t.acme.id);
    let dst = format!("/api/v1/tenants/{}", t.globex.id);
    let shop = post(format!("{src}/applications"), json!({"name": "Shop"})).await;
    let blog = post(format!("{src}/applications"), json!({"name": "Blog"})).await;
    let dom = post(
        format!("{src}/domains"),
        json!({"name": "shop.example.com", "application_id": shop}),
    )
    .await;
    let store = post(format!("{dst}/applications"), json!({"name": "Store"})).await;
    let store_dom = post(
        format!("{dst}/domains"),
        json!({"name": "store.example.net", "application_id": store}),
    )
    .await;
    let mut expected = Vec::new();
    let mut rules = Vec::new();
    for i in 0..n {
        let (app_id, dom_id, exp_app, exp_dom) = match i % 3 {
            0 => (Some(shop), Some(dom), Some(store), Some(store_dom)),
            1 => (Some(blog), None, None, None),
            _ => (None, None, None, None),
        };
        let value = format!("10.{}.{}.0/24", i / 256, i % 256);
        rules.push(
            json!({"kind": "block_ip", "value": value, "action": "block",
                          "application_id": app_id, "domain_id": dom_id, "path": "/login"}),
        );
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        // concat_ws skips NULLs.
        let mut parts = vec!["block_ip".to_string()];
        parts.extend(
            [opt(exp_app), opt(exp_dom)]
                .into_iter()
                .filter(|s| !s.is_empty()),
        );
        parts.extend(["/login".into(), value, "block".into(), "t".into()]);
        expected.push(parts.join("|"));
    }
    let (s, v) = api
        .post(&format!("{src}/rules/batch"), json!({ "rules": rules }))
        .await;
    assert!(s == 200 || s == 207, "{v}");
    for v in ["1.2.3.4", "5.6.7.8"] {
        post(
            format!("{dst}/rules"),
            json!({"kind": "allow_ip", "value": v, "action": "allow"}),
        )
        .await;
    }
    expected.sort();
    let mappings = Mappings {
        applications: BTreeMap::from([(shop, Some(store)), (blog, None)]),
        domains: BTreeMap::from([(dom, Some(store_dom))]),
    };
    Setup {
        source: t.acme,
        target: t.globex,
        mappings,
        expected,
    }
}

pub async fn start(app: &TestApp, s: &Setup) -> Result<RuleMigration, AppError> {
    let p = app.principal(&app.admin).await;
    let actor = Actor::user(&p, p.home.id, None);
    service::start(
        &mut *app.conn().await,
        &p,
        &actor,
        &s.source,
        &s.target,
        &s.mappings,
        app.clock.now(),
    )
    .await
}

#[tokio::test]
async fn a_migration_copies_the_mapped_rules_and_unlocks_both() {
    let app = app().await;
    let s = setup(&app, 12).await;
    let source_before = checksum(&app, &s.source).await;
    // The starter needs an address for the notice mail (none is queued without one).
    app.admin_with_email().await;
    let m = start(&app, &s).await.unwrap();
    assert!(locked(&app, &s.source).await && locked(&app, &s.target).await);
    // The locked pages and the ruleset answer 423 while it is queued.
    app.login_admin().await;
    let r = app.get(&format!("/tenants/{}/rules", s.target.id)).await;
    assert_eq!(status(&r), 423);
    // Batches of 5: three copy transactions, then the swap.
    let ran = runner(5).tick(&app.pool, || app.clock.now()).await.unwrap();
    assert_eq!(ran, Ran::Done(m.id));
    assert_eq!(contents(&app, &s.target).await, s.expected);
    assert_eq!(checksum(&app, &s.source).await, source_before);
    assert!(!locked(&app, &s.source).await && !locked(&app, &s.target).await);
    let c = db(&app).await;
    let row = c
        .query_one(
            "SELECT state, copied, total FROM rule_migrations WHERE id = $1",
            &[&m.id],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2)
        ),
        ("done".into(), 12, 12)
    );
    let kinds: Vec<String> = c
        .query(
            "SELECT kind FROM rule_set_versions WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1",
            &[&s.target.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, ["migration"]);
    let mails: i64 = c
        .query_one(
            "SELECT count(*) FROM outbox WHERE subject LIKE 'Migration #%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(mails, 1);
    // The mail links the migration, absolute once the outbox writes in the
    // console's public URL (as it does for every mail's links).
    let body: String = c
        .query_one(
            "SELECT body_text FROM outbox WHERE subject LIKE 'Migration #%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let link = format!(
        "{}/migrations/{}",
        tenantry::mail::PUBLIC_URL_PLACEHOLDER,
        m.id
    );
    assert!(body.contains(&link), "{body}");
    // Nothing left to run.
    let ran = runner(5).tick(&app.pool, || app.clock.now()).await.unwrap();
    assert_eq!(ran, Ran::Idle);
}

#[tokio::test]
async fn a_second_migration_touching_a_locked_tenant_is_refused() {
    let app = app().await;
    let s = setup(&app, 3).await;
    let m = start(&app, &s).await.unwrap();
    let e = start(&app, &s).await.unwrap_err();
    match e {
        AppError::Conflict(msg) => assert!(
            msg.contains(&format!("locked by migration #{}", m.id)),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
    // A locked tenant cannot be deleted, even forced: 409 naming the migration.
    let p = app.principal(&app.admin).await;
    let actor = Actor::user(&p, p.home.id, None);
    let e = tenantry::services::tenants::delete(
        &mut *app.conn().await,
        &p,
        &actor,
        &s.target,
        true,
        app.clock.now(),
    )
    .await
    .unwrap_err();
    match e {
        AppError::Conflict(msg) => assert!(msg.contains(&format!("migration #{}", m.id)), "{msg}"),
        other => panic!("{other:?}"),
    }
    // The other way round too, and with a third tenant.
    let a2 = Tenant::find(&mut *app.conn().await, s.source.id + 3)
        .await
        .unwrap();
    let again = Setup {
        source: a2,
        target: s.target.clone(),
        mappings: Mappings::default(),
        expected: vec![],
    };
    assert!(matches!(
        start(&app, &again).await,
        Err(AppError::Conflict(_))
    ));
}

#[tokio::test]
async fn rights_over_both_tenants_and_a_valid_mapping_are_needed() {
    let app = app().await;
    let s = setup(&app, 3).await;
    // An Administrator over the source only.
    let user = app.user(&s.source, "half").await;
    app.grant(
        &user,
        &s.source,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let p = app.principal(&user).await;
    let actor = Actor::user(&p, p.home.id, None);
    let now = app.clock.now();
    let r = service::start(
        &mut *app.conn().await,
        &p,
        &actor,
        &s.source,
        &s.target,
        &s.mappings,
        now,
    )
    .await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    // A target id of another tenant, an unknown source id: field errors.
    let mut bad = Setup {
        mappings: s.mappings.clone(),
        ..s
    };
    let (&first, _) = bad.mappings.applications.iter().next().unwrap();
    bad.mappings.applications.insert(first, Some(first));
    let field = format!("map_application_{first}");
    match start(&app, &bad).await.unwrap_err() {
        AppError::Validation(errors) => {
            assert!(errors.contains_key(field.as_str()), "{errors:?}")
        }
        e => panic!("{e:?}"),
    }
    bad.mappings.applications.insert(first, None);
    bad.mappings.domains.insert(999_999, None);
    match start(&app, &bad).await.unwrap_err() {
        AppError::Validation(errors) => {
            assert!(errors["mappings"].contains("domain 999999"), "{errors:?}")
        }
        e => panic!("{e:?}"),
    }
    assert!(!locked(&app, &bad.source).await && !locked(&app, &bad.target).await);
}

/// A run whose process died after staging one batch: its lease runs out, the next
/// claim marks it failed.
async fn crash_after_one_batch(app: &TestApp, m: &RuleMigration, batch: i64) {
    let mut conn = app.conn().await;
    let now = app.clock.now();
    let dead = "dead-process";
    let claimed = RuleMigration::claim(&mut conn, dead, now - chrono::Duration::seconds(1), now)
        .await
        .unwrap();
    assert!(claimed.is_some());
    let staged = RuleMigration::copy_batch(&mut conn, m.id, dead, batch, now)
        .await
        .unwrap();
    assert_eq!(staged, batch);
    drop(conn);
    let ran = runner(batch)
        .tick(&app.pool, || app.clock.now())
        .await
        .unwrap();
    assert_eq!(ran, Ran::Recovered(m.id));
}

#[tokio::test]
async fn a_crashed_run_fails_and_rollback_restores_the_target_exactly() {
    let app = app().await;
    let s = setup(&app, 10).await;
    let before = checksum(&app, &s.target).await;
    let m = start(&app, &s).await.unwrap();
    crash_after_one_batch(&app, &m, 4).await;
    let failed = RuleMigration::find(&mut *app.conn().await, m.id)
        .await
        .unwrap();
    assert_eq!(failed.state, "failed");
    assert!(failed.error.unwrap().contains("stopped"));
    assert!(!locked(&app, &s.source).await, "the source is unlocked");
    assert!(locked(&app, &s.target).await, "the target stays locked");
    let p = app.principal(&app.admin).await;
    let actor = Actor::user(&p, p.home.id, None);
    let done = service::rollback(&mut *app.conn().await, &p, &actor, m.id, app.clock.now())
        .await
        .unwrap();
    assert_eq!(done.state, "rolled_back");
    assert_eq!(checksum(&app, &s.target).await, before);
    assert!(!locked(&app, &s.target).await);
    // Only a failed migration can be rolled back or retried.
    let e = service::retry(&mut *app.conn().await, &p, &actor, m.id, app.clock.now())
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Conflict(_)), "{e:?}");
}

#[tokio::test]
async fn a_retry_resumes_the_staged_copy_without_duplicates() {
    let app = app().await;
    let s = setup(&app, 10).await;
    let m = start(&app, &s).await.unwrap();
    crash_after_one_batch(&app, &m, 4).await;
    let p = app.principal(&app.admin).await;
    let actor = Actor::user(&p, p.home.id, None);
    let queued = service::retry(&mut *app.conn().await, &p, &actor, m.id, app.clock.now())
        .await
        .unwrap();
    assert_eq!((queued.state.as_str(), queued.attempts), ("queued", 2));
    assert!(locked(&app, &s.source).await && locked(&app, &s.target).await);
    let ran = runner(4).tick(&app.pool, || app.clock.now()).await.unwrap();
    assert_eq!(ran, Ran::Done(m.id));
    assert_eq!(contents(&app, &s.target).await, s.expected);
    let staged: i64 = db(&app)
        .await
        .query_one(COPIED, &[&m.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(staged, 10);
}
