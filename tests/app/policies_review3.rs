//! The fresh black-box review of policies (#15), through the real app: H1 creating a
//! lock (a new policy, or an override that is one) is asked about first like the
//! change that makes one (the form's "What it clears", the API's 409 without
//! `"confirm": true` and the `cleared` counts with it); M1 a policy's JSON names its
//! kind's setting as the requests do, and reads back as a PATCH; M2 an override's
//! defaults are the inherited policy's, and a policy without effect here is not
//! overridable; the lows.

use crate::api::partner_app;
use crate::helpers::*;
use crate::policies::{a1_choice, base, cleared_lines, policy, resolver, uses, ACME_ALLOW_LOCK};
use serde_json::{json, Value};

/// H1 (API): a new lock that would clear choices below is 409 naming the counts and
/// creates nothing; with `"confirm": true` it is created and says what it cleared;
/// a policy that clears nothing needs no confirmation.
#[tokio::test]
async fn creating_a_lock_that_clears_choices_below_needs_confirm() {
    let (_app, t, api) = partner_app().await;
    let r = a1_choice(&api, &t).await;
    let lock = json!({"name": "Acme allow", "kind": "allow_list",
        "domains": ["acme.example.com"], "inheritable": true, "enforcement": "locked"});
    let list = format!("{}/policies", base(&t.acme));
    let (s, e) = api.post(&list, lock.clone()).await;
    assert_eq!(s, 409, "{e}");
    let detail = e["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("1 resolver") && detail.contains("\"confirm\""),
        "{e}"
    );
    assert!(
        uses(&api, &t.a1, "resolvers", &r).await.is_i64(),
        "nothing cleared"
    );
    let (_, page) = api.get(&format!("{list}?limit=500")).await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "Acme allow"),
        "nothing created: {page}"
    );
    let mut confirmed = lock.clone();
    confirmed["confirm"] = json!(true);
    let (s, got) = api.post(&list, confirmed).await;
    assert_eq!(s, 201, "{got}");
    assert_eq!(
        got["cleared"],
        json!({"resolvers": 1, "subnets": 0, "overrides": 0}),
        "{got}"
    );
    assert_eq!(got["enforcement"], "locked", "{got}");
    assert!(uses(&api, &t.a1, "resolvers", &r).await.is_null());
    // Nothing to clear: created at once, and the answer says so.
    let (s, got) = api
        .post(
            &list,
            json!({"name": "Acme deny", "kind": "deny_list", "domains": ["x.example.com"],
                   "inheritable": true, "enforcement": "locked"}),
        )
        .await;
    assert_eq!(s, 201, "{got}");
    assert_eq!(
        got["cleared"],
        json!({"resolvers": 0, "subnets": 0, "overrides": 0})
    );
}

/// H1 (override): an override that is a lock asks the same way, and accepts
/// `confirm`.
#[tokio::test]
async fn an_override_that_is_a_lock_needs_confirm_when_it_clears() {
    let (_app, t, api) = partner_app().await;
    let acme = policy(
        &api,
        &t.acme,
        json!({"name": "Acme allow", "kind": "allow_list", "domains": ["acme.example.com"],
               "inheritable": true}),
    )
    .await;
    let own = policy(
        &api,
        &t.a1x,
        json!({"name": "A1x allow", "kind": "allow_list", "domains": ["x.example.com"]}),
    )
    .await;
    let (s, r) = resolver(&api, &t.a1x, "dns-a1x", Some(own)).await;
    assert_eq!(s, 201, "{r}");
    let over = format!("{}/policies/{acme}/override", base(&t.a1));
    let body = json!({"inheritable": true, "enforcement": "locked"});
    let (s, e) = api.post(&over, body.clone()).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("1 resolver"), "{e}");
    assert!(
        uses(&api, &t.a1x, "resolvers", &r).await.is_i64(),
        "nothing cleared"
    );
    let mut confirmed = body;
    confirmed["confirm"] = json!(true);
    let (s, got) = api.post(&over, confirmed).await;
    assert_eq!(s, 201, "{got}");
    assert_eq!(got["overrides_id"], acme, "{got}");
    assert_eq!(got["cleared"]["resolvers"], 1, "{got}");
    assert!(uses(&api, &t.a1x, "resolvers", &r).await.is_null());
}

/// H1 (pages): the new-policy form asks first, with what the lock clears per
/// tenant; nothing is created until the confirmation's own form is sent.
#[tokio::test]
async fn the_new_policy_form_asks_before_a_lock_clears_choices() {
    let (app, t, api) = partner_app().await;
    let r = a1_choice(&api, &t).await;
    app.login_admin().await;
    let action = format!("/tenants/{}/policies/new", t.acme.id);
    let fields = ACME_ALLOW_LOCK;
    let r1 = app.post_form(&action, &fields).await;
    assert_eq!(status(&r1), 200, "asked, not created");
    let html = r1.text().await.unwrap();
    assert!(
        html.contains("Lock Acme allow for the tenants below?"),
        "{html}"
    );
    assert_eq!(cleared_lines(&html), ["Tenant a1: 1 resolver"], "{html}");
    let hidden = hidden_fields(&html, &action);
    assert!(
        hidden.contains(&("confirm".to_string(), "1".to_string())),
        "{hidden:?}"
    );
    assert!(
        uses(&api, &t.a1, "resolvers", &r).await.is_i64(),
        "nothing cleared"
    );
    let r2 = app.post_form(&action, &as_pairs(&hidden)).await;
    assert_eq!(status(&r2), 303);
    assert!(uses(&api, &t.a1, "resolvers", &r).await.is_null());
}

/// M1: a policy's JSON names its kind's setting as a request does (`threshold`,
/// `categories`, `regulatory`, `domains`; no `entries`), and what was read can be
/// sent back as a PATCH.
#[tokio::test]
async fn a_policy_reads_back_as_its_own_patch() {
    let (_app, t, api) = partner_app().await;
    for (kind, field, value) in [
        ("blocking_threshold", "threshold", json!(40)),
        ("content_filter", "categories", json!(["adult", "malware"])),
        ("regulatory", "regulatory", json!(["de_bpjm"])),
        ("allow_list", "domains", json!(["ok.example.com"])),
        ("deny_list", "domains", json!(["bad.example.com"])),
    ] {
        let mut body = json!({"name": format!("P {kind}"), "kind": kind});
        body[field] = value.clone();
        let id = policy(&api, &t.acme, body).await;
        let item = format!("{}/policies/{id}", base(&t.acme));
        let (s, got) = api.get(&item).await;
        assert_eq!(s, 200, "{got}");
        assert_eq!(got[field], value, "{got}");
        let settings = [
            "threshold",
            "categories",
            "regulatory",
            "domains",
            "entries",
        ];
        for other in settings.iter().filter(|f| **f != field) {
            assert!(got.get(*other).is_none(), "{other} in {got}");
        }
        let back = json!({
            "name": got["name"], field: got[field], "inheritable": got["inheritable"],
            "enforcement": got["enforcement"],
        });
        let (s, again) = api.patch(&item, back).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(again[field], value, "{again}");
    }
}

/// M2: an override's defaults are the inherited policy's settings, `inheritable`
/// too (the API's and the form's), so an unchanged override is no drift; a policy
/// a lock above its owner overrules (no effect here) is not offered for override,
/// and overriding it is refused naming the lock.
#[tokio::test]
async fn an_override_starts_equal_and_a_policy_without_effect_is_not_overridable() {
    let (app, t, api) = partner_app().await;
    let shared = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["adult"],
               "inheritable": true}),
    )
    .await;
    let (s, over) = api
        .post(
            &format!("{}/policies/{shared}/override", base(&t.a2)),
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
    assert_eq!(over["inheritable"], true, "{over}");
    app.login_admin().await;
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    assert!(report.contains("id=\"no-overrides\""), "no drift: {report}");
    let form = app
        .get_html(&format!("/tenants/{}/policies/{shared}/override", t.a1.id))
        .await;
    let field = between(&form, "name=\"inheritable\"", ">");
    assert!(field.contains("checked"), "pre-filled: {field}");
    // a1's inheritable filter under acme's later lock of the kind: no effect at a1x.
    let a1_filter = policy(
        &api,
        &t.a1,
        json!({"name": "A1 filter", "kind": "deny_list", "domains": ["x.example.com"],
               "inheritable": true}),
    )
    .await;
    policy(
        &api,
        &t.acme,
        json!({"name": "Acme lock", "kind": "deny_list", "domains": ["y.example.com"],
               "inheritable": true, "enforcement": "locked"}),
    )
    .await;
    let page = app
        .get_html(&format!("/tenants/{}/policies/{a1_filter}", t.a1x.id))
        .await;
    assert!(page.contains("overridden by the lock of"), "{page}");
    assert!(!page.contains("id=\"override-policy\""), "{page}");
    let (s, e) = api
        .post(
            &format!("{}/policies/{a1_filter}/override", base(&t.a1x)),
            json!({"domains": ["z.example.com"]}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Acme lock"),
        "{e}"
    );
    let r = app
        .get(&format!(
            "/tenants/{}/policies/{a1_filter}/override",
            t.a1x.id
        ))
        .await;
    assert_eq!(status(&r), 403);
}

/// L9: a PATCH with a setting sent as `null` is a 422 naming it, like the other
/// fields; an empty PATCH changes nothing, `updated_at` included.
#[tokio::test]
async fn null_settings_are_refused_and_an_empty_patch_changes_nothing() {
    let (_app, t, api) = partner_app().await;
    let threshold = policy(
        &api,
        &t.acme,
        json!({"name": "T", "kind": "blocking_threshold", "threshold": 40}),
    )
    .await;
    let filter = policy(
        &api,
        &t.acme,
        json!({"name": "F", "kind": "content_filter", "categories": ["adult"]}),
    )
    .await;
    for (id, field) in [
        (threshold, "threshold"),
        (filter, "categories"),
        (filter, "regulatory"),
        (filter, "domains"),
    ] {
        let item = format!("{}/policies/{id}", base(&t.acme));
        let mut body = json!({});
        body[field] = Value::Null;
        let (s, e) = api.patch(&item, body).await;
        assert_eq!(s, 422, "{field}: {e}");
        assert!(e["errors"][field].is_string(), "{e}");
    }
    let item = format!("{}/policies/{threshold}", base(&t.acme));
    let (_, before) = api.get(&item).await;
    let (s, got) = api.patch(&item, json!({})).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["updated_at"], before["updated_at"], "{got}");
    assert_eq!(got["threshold"], 40, "{got}");
}

/// L2: Reset from the overrides report asks, then returns to the report (Cancel
/// too); a `next` that is not a report's path is ignored.
#[tokio::test]
async fn reset_from_the_report_returns_to_the_report() {
    let (app, t, api) = partner_app().await;
    let shared = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["adult"],
               "inheritable": true}),
    )
    .await;
    let (s, over) = api
        .post(
            &format!("{}/policies/{shared}/override", base(&t.a2)),
            json!({"categories": ["malware"]}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
    app.login_admin().await;
    let report_url = format!("/tenants/{}/policies/overrides", t.acme.id);
    let report = app.get_html(&report_url).await;
    let action = format!("/tenants/{}/policies/{}/reset", t.a2.id, over["id"]);
    let fields = hidden_fields(&report, &action);
    let r = app.post_form(&action, &as_pairs(&fields)).await;
    assert_eq!(status(&r), 200);
    let asked = r.text().await.unwrap();
    assert!(
        asked.contains(&format!("href=\"{report_url}\"")),
        "Cancel: {asked}"
    );
    let again = hidden_fields(&asked, &action);
    let again = as_pairs(&again);
    assert!(again.contains(&("next", report_url.as_str())), "{again:?}");
    let r = app.post_form(&action, &again).await;
    assert_redirect_to(&r, &report_url);
    // Anything else is no place to return to.
    let (s, over) = api
        .post(
            &format!("{}/policies/{shared}/override", base(&t.a2)),
            json!({"categories": ["malware"]}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
    let action = format!("/tenants/{}/policies/{}/reset", t.a2.id, over["id"]);
    let r = app
        .post_form(
            &action,
            &[("confirm", "yes"), ("next", "https://evil.example/")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}/policies", t.a2.id));
}

/// Re-review H1: a lock between a policy's owner and the tenant leaves the policy
/// without effect there too: no override of it (403 naming the lock, no button),
/// while a tenant beside that lock may still override it.
#[tokio::test]
async fn a_lock_between_the_owner_and_the_tenant_leaves_nothing_to_override() {
    let (app, t, api) = partner_app().await;
    let shared = policy(
        &api,
        &t.acme,
        json!({"name": "Acme threshold", "kind": "blocking_threshold", "threshold": 50,
               "inheritable": true}),
    )
    .await;
    policy(
        &api,
        &t.a1,
        json!({"name": "A1 lock", "kind": "blocking_threshold", "threshold": 70,
               "inheritable": true, "enforcement": "locked", "confirm": true}),
    )
    .await;
    app.login_admin().await;
    let page = app
        .get_html(&format!("/tenants/{}/policies/{shared}", t.a1x.id))
        .await;
    assert!(page.contains("overridden by the lock of"), "{page}");
    assert!(page.contains("A1 lock"), "{page}");
    assert!(!page.contains("id=\"override-policy\""), "{page}");
    let (s, e) = api
        .post(
            &format!("{}/policies/{shared}/override", base(&t.a1x)),
            json!({"threshold": 5}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["detail"].as_str().unwrap_or_default().contains("A1 lock"),
        "{e}"
    );
    // Beside the lock (a2 is not under a1) the policy applies and may be overridden.
    let page = app
        .get_html(&format!("/tenants/{}/policies/{shared}", t.a2.id))
        .await;
    assert!(page.contains("id=\"override-policy\""), "{page}");
    let (s, over) = api
        .post(
            &format!("{}/policies/{shared}/override", base(&t.a2)),
            json!({"threshold": 5}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
}
