//! The effective view in the API (`GET /api/v1/tenants/{id}/policies/effective`,
//! review #15 L2): per kind, the policy that applies and why, as the console's
//! Effective policies page says it; read as the policies list is read.

use crate::api::{partner_app, token_for, Api};
use crate::policies::{base, policies, policy};
use crate::policies_review::override_of;
use serde_json::{json, Value};
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};

/// The effective view's entry of `kind`.
fn kind<'a>(view: &'a Value, kind: &str) -> &'a Value {
    view["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {view}"))
}

#[tokio::test]
async fn the_effective_view_says_per_kind_what_applies_and_why() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let over = override_of(&api, &t.a1x, p.a1_threshold, json!({"threshold": 60})).await;
    let own_deny = policy(
        &api,
        &t.a1x,
        json!({"name": "Own deny", "kind": "deny_list", "domains": ["y.example.com"]}),
    )
    .await;
    let (s, view) = api
        .get(&format!("{}/policies/effective", base(&t.a1x)))
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["tenant_id"], json!(t.a1x.id));
    assert_eq!(
        view["items"].as_array().unwrap().len(),
        5,
        "every kind: {view}"
    );
    // The lock from acme binds the deny list; a1x's own is shadowed by it.
    let deny = kind(&view, "deny_list");
    assert_eq!(deny["policy"]["id"], json!(p.acme_deny), "{deny}");
    assert_eq!(deny["reason"], "locked");
    assert_eq!(deny["policy"]["inherited"], true);
    assert_eq!(
        deny["shadowed"][0]["policy"]["id"],
        json!(own_deny),
        "{deny}"
    );
    assert_eq!(
        deny["shadowed"][0]["overruled_by"]["id"],
        json!(p.acme_deny),
        "{deny}"
    );
    // The override applies, naming what it overrides.
    let threshold = kind(&view, "blocking_threshold");
    assert_eq!(threshold["policy"]["id"], json!(over), "{threshold}");
    assert_eq!(threshold["reason"], "override");
    assert_eq!(threshold["overrides"]["id"], json!(p.a1_threshold));
    // Globex's filter never reaches a1x: nothing of the kind.
    let filter = kind(&view, "content_filter");
    assert_eq!(
        (&filter["policy"], &filter["reason"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(filter["shadowed"], json!([]));
    // a1: its own threshold; g1: globex's filter, inherited.
    let (_, view) = api
        .get(&format!("{}/policies/effective", base(&t.a1)))
        .await;
    let threshold = kind(&view, "blocking_threshold");
    assert_eq!(
        (&threshold["policy"]["id"], &threshold["reason"]),
        (&json!(p.a1_threshold), &json!("own"))
    );
    let (_, view) = api
        .get(&format!("{}/policies/effective", base(&t.g1)))
        .await;
    let filter = kind(&view, "content_filter");
    assert_eq!(
        (&filter["policy"]["id"], &filter["reason"]),
        (&json!(p.globex_filter), &json!("inherited"))
    );
    // The console's page names the same policy per kind.
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/policies/effective", t.a1x.id))
        .await;
    assert!(
        html.contains("Acme deny") && html.contains("A1 threshold"),
        "{html}"
    );

    // Read as the list is read: a viewer of a1x reads it; a cap without Policies
    // is 403; a tenant out of sight is 404; a parameter it does not take, 400.
    let viewer = app.user(&t.a1x, "vera").await;
    app.grant(&viewer, &t.a1x, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let vera = Api::new(&app, Some(&token_for(&app, &viewer, false).await));
    let (s, _) = vera
        .get(&format!("{}/policies/effective", base(&t.a1x)))
        .await;
    assert_eq!(s, 200);
    let (s, _) = vera
        .get(&format!("{}/policies/effective", base(&t.g1)))
        .await;
    assert_eq!(s, 404);
    let mut no_policies = Permissions::all(Level::Full);
    no_policies.set(Feature::Policies, Level::None);
    let capped = app.user_with_role(&t.a2, "cap", no_policies).await;
    let cap = Api::new(&app, Some(&token_for(&app, &capped, false).await));
    let (s, e) = cap
        .get(&format!("{}/policies/effective", base(&t.a2)))
        .await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = api
        .get(&format!(
            "{}/policies/effective?kind=deny_list",
            base(&t.a1x)
        ))
        .await;
    assert_eq!(s, 400, "{e}");
}
