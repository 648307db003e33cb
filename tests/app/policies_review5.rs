//! The acceptance review of policies (#15), through the real app: M2 an inherited
//! override's page offers no Reset; M1 the default offered on resolver and subnet
//! forms is the owner's oldest policy whatever the names; M3 a move records
//! `policy.clear` in each tenant whose choices it cleared; L1/L2 list domains refuse
//! bad punycode and take underscores; L3 an actor of a hidden tenant is masked.

use crate::api::partner_app;
use crate::helpers::*;
use crate::policies::{base, policy, resolver, subnet};
use crate::policies_drift::{change_lines, events};
use crate::policies_review::{override_of, policy_select, selected};
use serde_json::json;

/// M2: a descendant's page of an inherited policy that is itself an override of
/// something higher up is read-only without a Reset form; the overriding tenant's
/// own page of it offers Reset.
#[tokio::test]
async fn an_inherited_override_offers_no_reset_below_its_tenant() {
    let (app, t, api) = partner_app().await;
    let original = policy(
        &api,
        &t.acme,
        json!({"name": "Acme BT", "kind": "blocking_threshold", "threshold": 50,
               "inheritable": true}),
    )
    .await;
    let over = override_of(&api, &t.a1, original, json!({"threshold": 60})).await;
    app.login_admin().await;
    let reset = format!("/policies/{over}/reset");
    let below = app
        .get_html(&format!("/tenants/{}/policies/{over}", t.a1x.id))
        .await;
    assert!(below.contains("id=\"inherited-badge\""), "{below}");
    assert!(
        !below.contains(&reset) && !below.contains("id=\"reset-policy\""),
        "{below}"
    );
    assert!(!below.contains("id=\"save-policy\"") && !below.contains("id=\"delete-policy\""));
    let own = app
        .get_html(&format!("/tenants/{}/policies/{over}", t.a1.id))
        .await;
    assert!(
        own.contains(&format!("/tenants/{}{reset}", t.a1.id))
            && own.contains("id=\"reset-policy\""),
        "{own}"
    );
    // The server agrees: a Reset posted below is refused, nothing reset.
    let r = app
        .post_form(
            &format!("/tenants/{}{reset}", t.a1x.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 403);
    let (s, _) = api.get(&format!("{}/policies/{over}", base(&t.a1))).await;
    assert_eq!(s, 200);
}

/// M1: the default a resolver or subnet form offers is the nearest owner's oldest
/// policy (its kind's effective one), before and after a rename that reorders the
/// owner's policies by name.
#[tokio::test]
async fn renaming_a_policy_does_not_move_the_default_offered_below() {
    let (app, t, api) = partner_app().await;
    let zeta = policy(
        &api,
        &t.acme,
        json!({"name": "Zeta BT", "kind": "blocking_threshold", "threshold": 50,
               "inheritable": true}),
    )
    .await;
    let alpha = policy(
        &api,
        &t.acme,
        json!({"name": "Alpha filter", "kind": "content_filter", "categories": ["malware"],
               "inheritable": true}),
    )
    .await;
    app.login_admin().await;
    for form in ["resolvers", "subnets"] {
        assert_eq!(
            selected(&policy_select(&app, &t.a1, form).await),
            Some(zeta),
            "{form}: the oldest"
        );
    }
    let (s, body) = api
        .patch(
            &format!("{}/policies/{alpha}", base(&t.acme)),
            json!({"name": "Zz filter"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = api
        .patch(
            &format!("{}/policies/{zeta}", base(&t.acme)),
            json!({"name": "Zzz BT"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    for form in ["resolvers", "subnets"] {
        assert_eq!(
            selected(&policy_select(&app, &t.a1, form).await),
            Some(zeta),
            "{form}: still the oldest after the renames"
        );
    }
}
