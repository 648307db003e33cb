//! The mappings a rule-set migration starts with (#13 part B): every mapped
//! application and domain must be the target's, and no copied rule may end up
//! bound to one target application and to a domain bound to another. Refusals
//! are field errors named like the form's fields (`map_application_<source id>`,
//! `map_domain_<source id>`), nothing is started or locked.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::rule_migrations::{app, locked, setup, start, Setup};
use serde_json::json;
use tenantry::error::AppError;

/// The source's ids in the fixture's mapping: (Shop, Store, Blog, its domain,
/// store.example.net).
fn ids(s: &Setup) -> (i64, i64, i64, i64, i64) {
    let apps = &s.mappings.applications;
    let (&shop, &store) = apps.iter().find(|(_, to)| to.is_some()).unwrap();
    let (&blog, _) = apps.iter().find(|(_, to)| to.is_none()).unwrap();
    let (&dom, &store_dom) = s.mappings.domains.iter().next().unwrap();
    (shop, store.unwrap(), blog, dom, store_dom.unwrap())
}

async fn create(app: &TestApp, path: String, body: serde_json::Value) -> i64 {
    let api = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let (status, v) = api.post(&path, body).await;
    assert_eq!(status, 201, "{path}: {v}");
    v["id"].as_i64().unwrap()
}

async fn refused(app: &TestApp, s: &Setup) -> std::collections::BTreeMap<&'static str, String> {
    let jobs_before = jobs(app).await;
    let errors = match start(app, s).await {
        Err(AppError::Validation(errors)) => errors,
        other => panic!("expected field errors, got {other:?}"),
    };
    assert_eq!(jobs(app).await, jobs_before, "nothing was queued");
    assert!(!locked(app, &s.source).await && !locked(app, &s.target).await);
    errors
}

async fn jobs(app: &TestApp) -> i64 {
    db(app)
        .await
        .query_one("SELECT count(*) FROM rule_migrations", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn another_tenants_application_or_domain_is_refused_per_field() {
    let app = app().await;
    let mut s = setup(&app, 6).await;
    let (shop, _, _, dom, _) = ids(&s);
    let third = app.tenant(&app.root, "initech", true).await;
    let base = format!("/api/v1/tenants/{}", third.id);
    let foreign_app = create(
        &app,
        format!("{base}/applications"),
        json!({"name": "Foreign"}),
    )
    .await;
    let foreign_dom = create(
        &app,
        format!("{base}/domains"),
        json!({"name": "foreign.example.org"}),
    )
    .await;
    s.mappings.applications.insert(shop, Some(foreign_app));
    s.mappings.domains.insert(dom, Some(foreign_dom));
    let errors = refused(&app, &s).await;
    let app_field = format!("map_application_{shop}");
    let dom_field = format!("map_domain_{dom}");
    assert!(
        errors[app_field.as_str()].contains("applications of Tenant globex"),
        "{errors:?}"
    );
    assert!(
        errors[dom_field.as_str()].contains("domains of Tenant globex"),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[tokio::test]
async fn a_rules_domain_bound_to_another_target_application_is_refused() {
    let app = app().await;
    let mut s = setup(&app, 6).await;
    let (shop, _, blog, dom, _) = ids(&s);
    let other = create(
        &app,
        format!("/api/v1/tenants/{}/applications", s.target.id),
        json!({"name": "Other"}),
    )
    .await;
    // Rules bound to Shop and its domain would go to Other and to
    // store.example.net, which is bound to Store.
    s.mappings.applications.insert(shop, Some(other));
    let errors = refused(&app, &s).await;
    let field = format!("map_domain_{dom}");
    let message = &errors[field.as_str()];
    assert!(
        message.contains("store.example.net belongs to Store") && message.contains("Other"),
        "{message}"
    );
    assert_eq!(errors.len(), 1, "{errors:?}");

    // Only the pairs the rules use count: Blog's rules have no domain, so Blog may
    // go to Other while the domain goes to store.example.net.
    s.mappings.applications.insert(shop, None);
    s.mappings.applications.insert(blog, Some(other));
    let m = start(&app, &s).await.unwrap();
    assert_eq!(m.state, "queued");
}

#[tokio::test]
async fn an_unbound_application_with_a_bound_domain_is_accepted() {
    let app = app().await;
    let mut s = setup(&app, 3).await;
    let (shop, _, _, _, _) = ids(&s);
    // Unbound from any application, the rules may keep a domain of Store's.
    s.mappings.applications.insert(shop, None);
    let m = start(&app, &s).await.unwrap();
    assert_eq!(m.state, "queued");
    assert!(locked(&app, &s.source).await && locked(&app, &s.target).await);
}
