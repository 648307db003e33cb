//! The acceptance review of policies (#15), through the real app: M2 an inherited
//! override's page offers no Reset; M1 the default offered on resolver and subnet
//! forms is the owner's oldest policy whatever the names; M3 a move records
//! `policy.clear` in each tenant whose choices it cleared; L1/L2 list domains refuse
//! bad punycode and take underscores; L3 an actor of a hidden tenant is masked.

use crate::api::{partner_app, token_for, Api};
use crate::helpers::*;
use crate::policies::{base, policy, resolver, subnet};
use crate::policies_drift::{change_lines, events};
use crate::policies_review::{override_of, policy_select, selected};
use serde_json::json;

/// Acme's inheritable allow list "Acme share" (its id).
async fn acme_share(api: &Api, t: &PartnerTree) -> i64 {
    policy(
        api,
        &t.acme,
        json!({"name": "Acme share", "kind": "allow_list", "domains": ["a.example.com"],
               "inheritable": true}),
    )
    .await
}

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

/// M3: a move (single, bulk) that clears policy choices in the moved subtree
/// records a `policy.clear` entry in each tenant touched, naming each item, the
/// same shape as a policy change's; tenants it touched nothing in get none.
#[tokio::test]
async fn a_move_records_what_it_cleared_in_each_tenant_touched() {
    let (_app, t, api) = partner_app().await;
    let shared = acme_share(&api, &t).await;
    override_of(&api, &t.a1, shared, json!({"name": "A1 share"})).await;
    let (s, r) = resolver(&api, &t.a1x, "dns", Some(shared)).await;
    assert_eq!(s, 201, "{r}");
    subnet(&api, &t.a1x, "10.0.0.0/24", shared).await;
    let (s, r) = resolver(&api, &t.a2, "dns2", Some(shared)).await;
    assert_eq!(s, 201, "{r}");
    // A single move of a1 (with a1x) under globex.
    let (s, body) = api
        .post(
            &format!("{}/move", base(&t.a1)),
            json!({"parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let why = "(Tenant a1 moved under Tenant globex)";
    let a1 = events(&api, &t.a1, "policy.clear").await;
    assert_eq!(a1.len(), 1, "{a1:?}");
    assert_eq!(a1[0]["tenant_id"], json!(t.a1.id));
    assert_eq!(
        change_lines(&a1[0]),
        [format!(
            "policy A1 share: override of Acme share → plain policy {why}"
        )]
    );
    let a1x = events(&api, &t.a1x, "policy.clear").await;
    assert_eq!(a1x.len(), 1, "{a1x:?}");
    assert_eq!(
        change_lines(&a1x[0]),
        [
            format!("resolver dns: Acme share → none {why}"),
            format!("subnet 10.0.0.0/24: Acme share → none {why}"),
        ]
    );
    assert!(events(&api, &t.globex, "policy.clear").await.is_empty());
    // The move's own entry keeps its counts.
    let moves = events(&api, &t.a1, "tenant.move").await;
    assert!(
        !moves[0]["after"]["policies_cleared"].is_null(),
        "{moves:?}"
    );
    // A bulk move of a2 the same.
    let (s, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [t.a2.id], "action": "move", "parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let a2 = events(&api, &t.a2, "policy.clear").await;
    assert_eq!(
        a2.iter().map(change_lines).collect::<Vec<_>>(),
        [
            [
                "resolver dns2: Acme share → none (Tenant a2 moved under Tenant globex)"
                    .to_string()
            ]
        ]
    );
}

/// L1 + L2: a list refuses punycode that decodes to no valid internationalised
/// name (422 on `domains`, nothing stored) and takes names with underscores, which
/// real DNS queries carry; the form says the same.
#[tokio::test]
async fn list_domains_refuse_bad_punycode_and_take_underscores() {
    let (app, t, api) = partner_app().await;
    for bad in ["xn--zz.example", "xn--a.example"] {
        let (s, e) = api
            .post(
                &format!("{}/policies", base(&t.acme)),
                json!({"name": "a", "kind": "deny_list", "domains": [bad]}),
            )
            .await;
        assert_eq!(s, 422, "{bad}: {e}");
        let why = e["errors"]["domains"].as_str().unwrap_or_default();
        assert!(
            why.contains("Not a valid internationalised domain name."),
            "{bad}: {e}"
        );
    }
    let (_, page) = api.get(&format!("{}/policies", base(&t.acme))).await;
    assert_eq!(page["items"], json!([]), "nothing stored");
    let (s, p) = api
        .post(
            &format!("{}/policies", base(&t.acme)),
            json!({"name": "a", "kind": "deny_list",
                   "domains": ["a_b.example", "_dmarc.Example.com", "xn--bcher-kva.example"]}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        p["domains"],
        json!(["_dmarc.example.com", "a_b.example", "xn--bcher-kva.example"])
    );
    app.login_admin().await;
    let (html, error) = refused_form(
        &app,
        &format!("/tenants/{}/policies/new", t.acme.id),
        &[
            ("name", "b"),
            ("kind", "allow_list"),
            ("domains", "ok_1.example\nxn--zz.example"),
        ],
        "domains",
    )
    .await;
    let error = error.unwrap_or_default();
    assert!(
        error.contains("Line 2 (xn--zz.example): Not a valid internationalised domain name."),
        "{html}"
    );
}

/// L3: a policy change of acme clears a choice in a1; a reader of a1's activity who
/// cannot see the root (where the acting administrator acted, with a token) reads
/// neither the acting tenant nor the actor, on the page, the CSV and the API; the
/// actor reads their own events as recorded.
#[tokio::test]
async fn the_actor_of_a_hidden_acting_tenant_is_masked_too() {
    let (app, t, api) = partner_app().await;
    let shared = acme_share(&api, &t).await;
    let (s, r) = resolver(&api, &t.a1, "dns", Some(shared)).await;
    assert_eq!(s, 201, "{r}");
    let (s, e) = api
        .patch(
            &format!("{}/policies/{shared}", base(&t.acme)),
            json!({"inheritable": false, "confirm": true}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    // The actor's own view: as recorded, with the token.
    let own = events(&api, &t.a1, "policy.clear").await;
    let recorded = own[0]["actor"].as_str().unwrap().to_string();
    assert!(recorded.contains("(API token "), "{recorded}");
    assert_eq!(own[0]["actor_user_id"], json!(app.admin.id));
    // A reader at home in a1.
    let bob = app.user(&t.a1, "bob").await;
    app.grant(
        &bob,
        &t.a1,
        tenantry::domain::GrantRole::Administrator,
        tenantry::domain::Scope::Subtree,
        true,
    )
    .await;
    let reader = Api::new(&app, Some(&token_for(&app, &bob, true).await));
    let seen = events(&reader, &t.a1, "policy.clear").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["acting_tenant_name"], "a tenant you cannot see");
    assert_eq!(
        seen[0]["actor"], "a user of a tenant you cannot see",
        "{seen:?}"
    );
    assert!(seen[0]["actor_user_id"].is_null(), "{seen:?}");
    let login = recorded.split(" (").next().unwrap().to_string();
    let browser = browser_as(&app, &format!("{}\\bob", t.a1.subdomain)).await;
    for path in ["activity", "activity.csv"] {
        let text = browser
            .get_html(&format!("/tenants/{}/{path}?action=policy.clear", t.a1.id))
            .await;
        assert!(
            text.contains("a user of a tenant you cannot see")
                && !text.contains(&recorded)
                && !text.contains(&format!("<code class=\"actor\">{login}")),
            "{path}: {text}"
        );
    }
}
