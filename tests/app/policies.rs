//! Policies inherited down the tree (#15), as users see them through the pages and
//! the API: inheritance across several levels and never sideways, read-only on
//! every path, the defaults offered nearest first, locked kinds refused on the
//! resolver and subnet forms and the API, overrides with their differences and
//! their reset, the effective policies and the overrides report.

use crate::api::{partner_app, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Scope};

pub(crate) fn base(t: &Tenant) -> String {
    format!("/api/v1/tenants/{}", t.id)
}

pub(crate) async fn policy(api: &Api, t: &Tenant, body: Value) -> i64 {
    let (s, p) = api.post(&format!("{}/policies", base(t)), body).await;
    assert_eq!(s, 201, "{p}");
    p["id"].as_i64().unwrap()
}

/// The ids a tenant's policy list shows.
pub(crate) async fn listed(api: &Api, t: &Tenant) -> Vec<i64> {
    let (s, page) = api.get(&format!("{}/policies?limit=500", base(t))).await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

pub(crate) async fn resolver(
    api: &Api,
    t: &Tenant,
    name: &str,
    policy_id: Option<i64>,
) -> (u16, Value) {
    api.post(
        &format!("{}/resolvers", base(t)),
        json!({"name": name, "address": "192.0.2.53", "policy_id": policy_id}),
    )
    .await
}

/// A subnet of `t` served by its new resolver, using `policy_id`.
pub(crate) async fn subnet(api: &Api, t: &Tenant, cidr: &str, policy_id: i64) -> Value {
    let (s, r) = resolver(
        api,
        t,
        &format!("for-{}", cidr.replace(['.', '/'], "-")),
        None,
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let (s, sn) = api
        .post(
            &format!("{}/subnets", base(t)),
            json!({"cidr": cidr, "resolver_id": r["id"], "policy_id": policy_id}),
        )
        .await;
    assert_eq!(s, 201, "{sn}");
    sn
}

/// The policy a resolver or subnet (`items`: `resolvers`, `subnets`) of `t` uses now.
pub(crate) async fn uses(api: &Api, t: &Tenant, items: &str, item: &Value) -> Value {
    let (s, got) = api
        .get(&format!("{}/{items}/{}", base(t), item["id"]))
        .await;
    assert_eq!(s, 200, "{got}");
    got["policy_id"].clone()
}

/// a1's own allow list, used by a resolver of a1.
pub(crate) async fn a1_choice(api: &Api, t: &PartnerTree) -> Value {
    let own = policy(
        api,
        &t.a1,
        json!({"name": "A1 allow", "kind": "allow_list", "domains": ["a1.example.com"]}),
    )
    .await;
    let (s, r) = resolver(api, &t.a1, "dns-a1", Some(own)).await;
    assert_eq!(s, 201, "{r}");
    r
}

/// The new-policy form's fields of acme's allow list made a lock (what
/// [`a1_choice`] chose it takes away).
pub(crate) const ACME_ALLOW_LOCK: [(&str, &str); 5] = [
    ("name", "Acme allow"),
    ("kind", "allow_list"),
    ("domains", "acme.example.com"),
    ("inheritable", "true"),
    ("enforcement", "locked"),
];

/// The lines of a confirmation's list of what a change clears.
pub(crate) fn cleared_lines(html: &str) -> Vec<String> {
    between(html, "<ul id=\"confirm-cleared\">", "</ul>")
        .split("<li>")
        .skip(1)
        .map(|l| l.split("</li>").next().unwrap_or_default().to_string())
        .collect()
}

/// The effective view's row of policy `id` that does not apply (empty when there is
/// none).
pub(crate) fn shadowed_row(html: &str, id: i64) -> String {
    let Some(at) = html.find(&format!("data-policy-id=\"{id}\">")) else {
        return String::new();
    };
    let start = html[..at].rfind("<tr class=\"shadowed\"").unwrap_or(at);
    between(&html[start..], "<tr", "</tr>").to_string()
}

/// acme's locked deny list, a1's overridable threshold, globex's filter, acme's
/// private list (not inheritable).
pub(crate) struct Policies {
    pub acme_deny: i64,
    pub acme_private: i64,
    pub a1_threshold: i64,
    pub globex_filter: i64,
}

pub(crate) async fn policies(api: &Api, t: &PartnerTree) -> Policies {
    Policies {
        acme_deny: policy(
            api,
            &t.acme,
            json!({"name": "Acme deny", "kind": "deny_list", "domains": ["bad.example.com"],
                   "inheritable": true, "enforcement": "locked"}),
        )
        .await,
        acme_private: policy(
            api,
            &t.acme,
            json!({"name": "Acme only", "kind": "allow_list", "domains": ["ok.example.com"]}),
        )
        .await,
        a1_threshold: policy(
            api,
            &t.a1,
            json!({"name": "A1 threshold", "kind": "blocking_threshold", "threshold": 40.0,
                   "inheritable": true}),
        )
        .await,
        globex_filter: policy(
            api,
            &t.globex,
            json!({"name": "Globex filter", "kind": "content_filter",
                   "categories": ["malware", "adult"], "inheritable": true}),
        )
        .await,
    }
}

#[tokio::test]
async fn inheritable_policies_reach_every_level_below_and_never_sideways() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let mut a1x = listed(&api, &t.a1x).await;
    a1x.sort();
    assert_eq!(a1x, vec![p.acme_deny, p.a1_threshold], "two levels down");
    assert_eq!(
        listed(&api, &t.a2).await,
        vec![p.acme_deny],
        "a sibling of a1"
    );
    assert_eq!(listed(&api, &t.g1).await, vec![p.globex_filter], "a cousin");
    let mut acme = listed(&api, &t.acme).await;
    acme.sort();
    assert_eq!(
        acme,
        vec![p.acme_deny, p.acme_private],
        "nothing from below"
    );
    // Another tenant's, or one not inheritable: not there at all.
    for (tenant, id) in [
        (&t.a2, p.a1_threshold),
        (&t.a1, p.acme_private),
        (&t.g1, p.acme_deny),
    ] {
        let (s, _) = api.get(&format!("{}/policies/{id}", base(tenant))).await;
        assert_eq!(s, 404, "{id} from {}", tenant.name);
    }
    let (s, got) = api
        .get(&format!("{}/policies/{}", base(&t.a1x), p.acme_deny))
        .await;
    assert_eq!(
        (s, got["inherited"].as_bool(), got["owner_name"].as_str()),
        (200, Some(true), Some("Tenant acme"))
    );
    // The page lists them with their badge.
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/policies", t.a1x.id))
        .await;
    assert!(html.contains("inherited from Tenant acme"), "{html}");
    assert!(html.contains("inherited from Tenant a1"));
    assert!(!html.contains("Globex filter") && !html.contains("Acme only"));
}

#[tokio::test]
async fn an_inherited_policy_is_read_only_on_every_path() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let named = "This policy is inherited from Tenant acme: it is read-only here, and only \
                 Tenant acme can change it.";
    // API.
    let item = format!("{}/policies/{}", base(&t.a1), p.acme_deny);
    let (s, e) = api.patch(&item, json!({"name": "mine"})).await;
    assert_eq!((s, e["detail"].as_str()), (403, Some(named)), "{e}");
    let (s, e) = api.delete(&item).await;
    assert_eq!((s, e["detail"].as_str()), (403, Some(named)), "{e}");
    // The page shows it read-only, without a save button.
    app.login_admin().await;
    let page = format!("/tenants/{}/policies/{}", t.a1.id, p.acme_deny);
    let html = app.get_html(&page).await;
    assert!(html.contains("id=\"inherited-badge\""), "{html}");
    assert!(!html.contains("id=\"save-policy\"") && !html.contains("id=\"delete-policy\""));
    // A direct POST of the form, its delete (confirmed or not), and htmx alike.
    let r = app
        .post_form(
            &page,
            &[
                ("name", "mine"),
                ("kind", "deny_list"),
                ("domains", "x.example.com"),
            ],
        )
        .await;
    assert_eq!(status(&r), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("only Tenant acme can change it"));
    for confirm in ["", "yes"] {
        let r = app
            .post_form(&format!("{page}/delete"), &[("confirm", confirm)])
            .await;
        assert_eq!(status(&r), 403, "confirm={confirm}");
    }
    let token = app.csrf().await;
    let r = app
        .client
        .post(app.url(&page))
        .header("HX-Request", "true")
        .form(&[("name", "mine"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    // Nothing changed.
    let (_, got) = api
        .get(&format!("{}/policies/{}", base(&t.acme), p.acme_deny))
        .await;
    assert_eq!(got["name"], "Acme deny");
    // Its owner changes it.
    let (s, _) = api
        .patch(
            &format!("{}/policies/{}", base(&t.acme), p.acme_deny),
            json!({"domains": ["worse.example.com"]}),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn resolver_and_subnet_forms_offer_the_nearest_inherited_policy_first() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let own = policy(
        &api,
        &t.a1x,
        json!({"name": "Own regs", "kind": "regulatory", "regulatory": ["de_bpjm"]}),
    )
    .await;
    app.login_admin().await;
    for form in ["resolvers", "subnets"] {
        let html = app
            .get_html(&format!("/tenants/{}/{form}/new", t.a1x.id))
            .await;
        let select = between(&html, "<select id=\"policy_id\"", "</select>");
        let at = |id: i64| {
            select
                .find(&format!("value=\"{id}\""))
                .unwrap_or_else(|| panic!("{id} in {select}"))
        };
        assert!(at(own) < at(p.a1_threshold) && at(p.a1_threshold) < at(p.acme_deny));
        assert!(
            select.contains(&format!("value=\"{}\" selected", p.a1_threshold)),
            "the nearest inherited one is the default: {select}"
        );
        assert!(select.contains("A1 threshold (Blocking threshold, inherited from Tenant a1)"));
        assert!(!select.contains(&format!("value=\"{}\"", p.globex_filter)));
    }
    // Kept as offered, the resolver uses it; another tenant's is refused like a missing one.
    let r = app
        .post_form(
            &format!("/tenants/{}/resolvers/new", t.a1x.id),
            &[
                ("name", "dns"),
                ("address", "192.0.2.1"),
                ("policy_id", &p.a1_threshold.to_string()),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let (html, e) = refused_form(
        &app,
        &format!("/tenants/{}/resolvers/new", t.a1x.id),
        &[
            ("name", "dns2"),
            ("address", "192.0.2.2"),
            ("policy_id", &p.globex_filter.to_string()),
        ],
        "policy_id",
    )
    .await;
    assert!(
        e.unwrap_or_default().starts_with("Unknown policy"),
        "{html}"
    );
    let (s, e) = resolver(&api, &t.a1x, "dns3", Some(p.acme_private)).await;
    assert_eq!(
        (
            s,
            e["errors"]["policy_id"]
                .as_str()
                .map(|m| m.starts_with("Unknown policy"))
        ),
        (422, Some(true)),
        "{e}"
    );
    // None is a choice too.
    let (s, r) = resolver(&api, &t.a1x, "dns4", None).await;
    assert_eq!((s, r["policy_id"].is_null()), (201, true));
}

#[tokio::test]
async fn a_locked_kind_refuses_another_policy_of_it_on_forms_and_the_api() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let own_deny = policy(
        &api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["x.example.com"]}),
    )
    .await;
    let locked = "Tenant acme locks the deny list policy here: use Acme deny (or none).";
    let (s, e) = resolver(&api, &t.a1, "dns", Some(own_deny)).await;
    assert_eq!(
        (s, e["errors"]["policy_id"].as_str()),
        (422, Some(locked)),
        "{e}"
    );
    let (s, r) = resolver(&api, &t.a1, "dns", Some(p.acme_deny)).await;
    assert_eq!(s, 201, "{r}");
    let (s, _) = resolver(&api, &t.a1, "dns-2", Some(p.a1_threshold)).await;
    assert_eq!(s, 201, "another kind is free");
    // A subnet through the API, and both forms.
    let (s, e) = api
        .post(
            &format!("{}/subnets", base(&t.a1)),
            json!({"cidr": "10.0.0.0/24", "resolver_id": r["id"], "policy_id": own_deny}),
        )
        .await;
    assert_eq!(
        (s, e["errors"]["policy_id"].as_str()),
        (422, Some(locked)),
        "{e}"
    );
    let (s, e) = api
        .patch(
            &format!("{}/resolvers/{}", base(&t.a1), r["id"]),
            json!({"policy_id": own_deny}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    app.login_admin().await;
    let rid = r["id"].to_string();
    let own = own_deny.to_string();
    for (form, fields) in [
        (
            "resolvers",
            vec![
                ("name", "dns-3"),
                ("address", "192.0.2.9"),
                ("policy_id", own.as_str()),
            ],
        ),
        (
            "subnets",
            vec![
                ("cidr", "10.1.0.0/24"),
                ("resolver_id", rid.as_str()),
                ("policy_id", own.as_str()),
            ],
        ),
    ] {
        let (_, e) = refused_form(
            &app,
            &format!("/tenants/{}/{form}/new", t.a1.id),
            &fields,
            "policy_id",
        )
        .await;
        assert_eq!(e.as_deref(), Some(locked), "{form}");
    }
    // The lock reaches further down, and a locked policy cannot be overridden.
    let (s, e) = resolver(&api, &t.a1x, "dns", Some(p.a1_threshold)).await;
    assert_eq!(s, 201, "{e}");
    let (s, e) = api
        .post(
            &format!("{}/policies/{}/override", base(&t.a1), p.acme_deny),
            json!({}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(e["detail"]
        .as_str()
        .unwrap()
        .contains("locked by Tenant acme"));
}

#[tokio::test]
async fn an_override_shows_what_differs_and_resets_to_the_inherited_policy() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    app.login_admin().await;
    // The override form of a1x, prefilled with the inherited settings.
    let page = format!("/tenants/{}/policies/{}/override", t.a1x.id, p.a1_threshold);
    let html = app.get_html(&page).await;
    assert!(html.contains("value=\"40\""), "{html}");
    let r = app
        .post_form(&page, &[("name", "Stricter"), ("threshold", "70")])
        .await;
    assert_eq!(status(&r), 303);
    let (_, list) = api.get(&format!("{}/policies", base(&t.a1x))).await;
    let over = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["overrides_id"] == json!(p.a1_threshold))
        .cloned()
        .expect("the override");
    assert_eq!(
        (over["threshold"].as_i64(), over["kind"].as_str()),
        (Some(70), Some("blocking_threshold"))
    );
    let oid = over["id"].as_i64().unwrap();
    // A second override of the same policy: 409.
    let (s, _) = api
        .post(
            &format!("{}/policies/{}/override", base(&t.a1x), p.a1_threshold),
            json!({"threshold": 10}),
        )
        .await;
    assert_eq!(s, 409);
    // Its resolver uses it.
    let (s, r) = resolver(&api, &t.a1x, "dns", Some(oid)).await;
    assert_eq!(s, 201, "{r}");
    // Its page: side by side, and the reset.
    let html = app
        .get_html(&format!("/tenants/{}/policies/{oid}", t.a1x.id))
        .await;
    let diff = between(
        &html,
        "<table class=\"data\" id=\"differences\"",
        "</table>",
    );
    assert!(
        diff.contains("<th scope=\"row\">threshold</th><td>40</td><td>70</td>"),
        "{diff}"
    );
    assert!(html.contains("Reset to inherited"));
    // The overrides report of a1 shows it with the difference only.
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.a1.id))
        .await;
    assert!(report.contains("threshold: 40 → 70"), "{report}");
    assert!(!report.contains("domains:") && !report.contains("entries:"));
    // A tenant does not override its own policy; an override equal to its policy
    // (reaching below as it does) is no drift: not reported.
    let (s, e) = api
        .post(
            &format!("{}/policies/{}/override", base(&t.a1), p.a1_threshold),
            json!({}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    let filter = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["malware"],
               "inheritable": true}),
    )
    .await;
    let (s, e) = api
        .post(
            &format!("{}/policies/{filter}/override", base(&t.a2)),
            json!({"inheritable": true}),
        )
        .await;
    assert_eq!(
        (s, e["name"].as_str()),
        (201, Some("Acme filter (Tenant a2)")),
        "{e}"
    );
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    assert!(report.contains("id=\"no-overrides\""), "{report}");
    // Reset: asked first (works without JS), then done.
    let reset = format!("/tenants/{}/policies/{oid}/reset", t.a1x.id);
    let r = app.post_form(&reset, &[]).await;
    assert_eq!(status(&r), 200);
    assert!(r.text().await.unwrap().contains("Reset to inherited"));
    let r = app.post_form(&reset, &[("confirm", "yes")]).await;
    assert_eq!(status(&r), 303);
    let (s, _) = api.get(&format!("{}/policies/{oid}", base(&t.a1x))).await;
    assert_eq!(s, 404, "the override is gone");
    let (_, got) = api
        .get(&format!(
            "{}/resolvers/{}",
            base(&t.a1x),
            r_id(&r_json(&api, &t.a1x).await)
        ))
        .await;
    assert_eq!(
        got["policy_id"],
        json!(p.a1_threshold),
        "back to the inherited policy"
    );
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.a1.id))
        .await;
    assert!(report.contains("id=\"no-overrides\""));
}

async fn r_json(api: &Api, t: &Tenant) -> Value {
    let (_, page) = api.get(&format!("{}/resolvers", base(t))).await;
    page["items"][0].clone()
}

fn r_id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_effective_policies_say_which_applies_and_why() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let _ = p.globex_filter;
    policy(
        &api,
        &t.a1x,
        json!({"name": "Own filter", "kind": "content_filter", "categories": ["gambling"]}),
    )
    .await;
    // a1x overrides a1's threshold; its own deny list is overruled by acme's lock.
    let (s, _) = api
        .post(
            &format!("{}/policies/{}/override", base(&t.a1x), p.a1_threshold),
            json!({"name": "Looser", "threshold": 90}),
        )
        .await;
    assert_eq!(s, 201);
    policy(
        &api,
        &t.a1x,
        json!({"name": "Own deny", "kind": "deny_list", "domains": ["y.example.com"]}),
    )
    .await;
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/policies/effective", t.a1x.id))
        .await;
    let row =
        |kind: &str| between(&html, &format!("<tr data-kind=\"{kind}\">"), "</tr>").to_string();
    assert!(
        row("deny_list").contains("Acme deny")
            && row("deny_list").contains("locked by Tenant acme")
    );
    assert!(row("blocking_threshold").contains("Looser"));
    assert!(row("blocking_threshold").contains("override of A1 threshold (Tenant a1)"));
    assert!(
        row("content_filter").contains("Own filter") && row("content_filter").contains(">own<")
    );
    assert!(row("regulatory").contains(">none<"));
    let a2 = app
        .get_html(&format!("/tenants/{}/policies/effective", t.a2.id))
        .await;
    assert!(between(&a2, "<tr data-kind=\"blocking_threshold\">", "</tr>").contains(">none<"));
    let a1 = app
        .get_html(&format!("/tenants/{}/policies/effective", t.a1.id))
        .await;
    assert!(between(&a1, "<tr data-kind=\"blocking_threshold\">", "</tr>").contains(">own<"));
    let g1 = app
        .get_html(&format!("/tenants/{}/policies/effective", t.g1.id))
        .await;
    assert!(between(&g1, "<tr data-kind=\"content_filter\">", "</tr>")
        .contains("inherited from Tenant globex"));
}

#[tokio::test]
async fn bad_policy_input_is_refused_field_by_field() {
    let (app, t, api) = partner_app().await;
    let b = format!("{}/policies", base(&t.acme));
    for (body, field) in [
        (
            json!({"name": "x", "kind": "blocking_threshold", "threshold": 101}),
            "threshold",
        ),
        (
            json!({"name": "x", "kind": "blocking_threshold"}),
            "threshold",
        ),
        (
            json!({"name": "x", "kind": "content_filter", "categories": ["nope"]}),
            "categories",
        ),
        (
            json!({"name": "x", "kind": "regulatory", "regulatory": []}),
            "regulatory",
        ),
        (
            json!({"name": "x", "kind": "deny_list", "domains": ["not a host"]}),
            "domains",
        ),
        (
            json!({"name": "x", "kind": "deny_list", "domains": ["a.example.com"], "threshold": 500}),
            "threshold",
        ),
        (
            json!({"name": " ", "kind": "allow_list", "domains": ["a.example.com"]}),
            "name",
        ),
    ] {
        let (s, e) = api.post(&b, body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert!(e["errors"][field].is_string(), "{body}: {e}");
    }
    let (s, _) = api.post(&b, json!({"name": "x", "kind": "other"})).await;
    assert_eq!(s, 400);
    app.login_admin().await;
    let (html, e) = refused_form(
        &app,
        &format!("/tenants/{}/policies/new", t.acme.id),
        &[
            ("name", "Lists"),
            ("kind", "deny_list"),
            ("domains", "ok.example.com\nbad_host"),
            ("inheritable", "maybe"),
        ],
        "domains",
    )
    .await;
    assert!(
        e.unwrap_or_default()
            .starts_with("Line 2 is not a domain. Line 2 (bad_host)"),
        "{html}"
    );
    assert!(field_error(&html, "inheritable").is_some());
    assert!(
        html.contains("ok.example.com\nbad_host"),
        "the input is kept"
    );
    let (_, page) = api.get(&b).await;
    assert_eq!(page["items"], json!([]), "nothing written");
}

#[tokio::test]
async fn moving_a_subtree_changes_what_it_inherits_as_the_preview_said() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let filter = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["malware"],
               "inheritable": true}),
    )
    .await;
    let (s, over) = api
        .post(
            &format!("{}/policies/{filter}/override", base(&t.a1)),
            json!({"name": "A1 filter", "categories": ["adult"], "inheritable": false}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
    let (s, r) = resolver(&api, &t.a1x, "dns", Some(p.acme_deny)).await;
    assert_eq!(s, 201, "{r}");
    let (s, kept) = resolver(&api, &t.a1x, "dns-2", Some(p.a1_threshold)).await;
    assert_eq!(s, 201, "{kept}");
    app.login_admin().await;
    let preview = app
        .get_html(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a1.id, t.globex.id
        ))
        .await;
    let impact = between(&preview, "id=\"impact-inherited\"", "</dd>");
    assert!(impact.contains("Loses Acme deny (Tenant acme)"), "{impact}");
    assert!(impact.contains("Loses Acme filter (Tenant acme)"));
    assert!(impact.contains("Gains Globex filter (Tenant globex)"));
    assert!(!impact.contains("A1 threshold"), "a1's own stays with it");
    // A mover who cannot see acme (moving a1x out of a1): acme's policies by
    // kind, not by name; a1's and globex's named.
    let mover = app.user(&app.root, "mover").await;
    app.grant(&mover, &t.a1, GrantRole::Owner, Scope::Subtree, true)
        .await;
    app.grant(
        &mover,
        &t.globex,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let theirs = browser_as(&app, "mover")
        .await
        .get_html(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a1x.id, t.globex.id
        ))
        .await;
    let hidden = between(&theirs, "id=\"impact-inherited\"", "</dd>");
    assert!(
        hidden.contains("Loses a deny list policy of a tenant you cannot see"),
        "{hidden}"
    );
    assert!(!hidden.contains("Acme deny"), "{hidden}");
    assert!(
        hidden.contains("Loses A1 threshold (Tenant a1)"),
        "{hidden}"
    );
    assert!(
        hidden.contains("Gains Globex filter (Tenant globex)"),
        "{hidden}"
    );
    assert!(
        impact.contains("<strong>1</strong> resolver or subnet"),
        "{impact}"
    );
    let r2 = app
        .post_form(
            &format!("/tenants/{}/move", t.a1.id),
            &[("parent_id", &t.globex.id.to_string())],
        )
        .await;
    assert_eq!(status(&r2), 303);
    let mut a1x = listed(&api, &t.a1x).await;
    a1x.sort();
    assert_eq!(a1x, vec![p.a1_threshold, p.globex_filter]);
    let (_, got) = api
        .get(&format!("{}/resolvers/{}", base(&t.a1x), r["id"]))
        .await;
    assert!(got["policy_id"].is_null(), "cleared: {got}");
    let (_, got) = api
        .get(&format!("{}/resolvers/{}", base(&t.a1x), kept["id"]))
        .await;
    assert_eq!(
        got["policy_id"],
        json!(p.a1_threshold),
        "moved along with it"
    );
    let (_, got) = api
        .get(&format!("{}/policies/{}", base(&t.a1), over["id"]))
        .await;
    assert!(got["overrides_id"].is_null(), "a plain policy now: {got}");
    let eff = app
        .get_html(&format!("/tenants/{}/policies/effective", t.a1.id))
        .await;
    let row = between(&eff, "<tr data-kind=\"content_filter\">", "</tr>");
    assert!(row.contains("A1 filter") && row.contains(">own<"), "{row}");
    let eff = app
        .get_html(&format!("/tenants/{}/policies/effective", t.a1x.id))
        .await;
    assert!(between(&eff, "<tr data-kind=\"deny_list\">", "</tr>").contains(">none<"));
    // And back: acme's policies reach it again, nothing was reassigned unasked.
    let back = app
        .get_html(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a1.id, t.acme.id
        ))
        .await;
    let impact = between(&back, "id=\"impact-inherited\"", "</dd>");
    assert!(
        impact.contains("Gains Acme deny (Tenant acme)") && impact.contains("Loses Globex filter")
    );
    assert!(!impact.contains("impact-policy-uses"), "{impact}");
}

/// Review H1: a lock added later reaches the resolvers and subnets below that chose
/// another policy of its kind (cleared: they follow the lock), and an edit that does
/// not touch `policy_id` is never refused for it.
#[tokio::test]
async fn a_lock_added_later_clears_other_choices_of_its_kind_below() {
    let (_app, t, api) = partner_app().await;
    let own = policy(
        &api,
        &t.a1x,
        json!({"name": "Own regs", "kind": "regulatory", "regulatory": ["de_bpjm"]}),
    )
    .await;
    let (s, r) = resolver(&api, &t.a1x, "dns", Some(own)).await;
    assert_eq!(s, 201, "{r}");
    let lock = policy(
        &api,
        &t.acme,
        json!({"name": "Acme regs", "kind": "regulatory", "regulatory": ["uk_ofcom"],
               "inheritable": true, "enforcement": "locked",
               "confirm": true}),
    )
    .await;
    let url = format!("{}/resolvers/{}", base(&t.a1x), r["id"]);
    let (s, got) = api.get(&url).await;
    assert_eq!((s, got["policy_id"].is_null()), (200, true), "{got}");
    let (s, got) = api.patch(&url, json!({"name": "dns-renamed"})).await;
    assert_eq!(s, 200, "{got}");
    // A second lock of the kind below it could never be used: refused.
    let (s, e) = api
        .post(
            &format!("{}/policies", base(&t.a1)),
            json!({"name": "A1 regs", "kind": "regulatory", "regulatory": ["uk_ofcom"],
                   "inheritable": true, "enforcement": "locked"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["errors"]["enforcement"].is_string(), "{e}");
    let _ = lock;
}
