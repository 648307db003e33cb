//! Rules (#13 part A): applications, domains, rules and credential-stuffing
//! settings through the pages and the API; every change makes one version; the
//! diff and restore of versions; the ruleset's ETag; the lock guard (423 on every
//! page, write and the ruleset while a `rule_locks` row exists, nothing changed);
//! and the "set at version v" rule against a plain model.

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use crate::rule_migrations::checksum;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tenantry::db::models::rules::{RuleLock, RuleRow};
use tenantry::db::models::Tenant;
use tenantry::domain::rules::{RuleAction, RuleInput, RuleKind};
use tenantry::domain::{GrantRole, Scope};
use tenantry::services::rules::{self as service, versions, Change};
use tenantry::services::Actor;

// ---------------------------------------------------------------- helpers

/// Locks `tenant`'s rule configuration as a migration would (the test helper of
/// the guard): a committed `rule_locks` row.
pub(crate) async fn lock(app: &TestApp, tenant: &Tenant, migration_id: Option<i64>) {
    let mut conn = app.conn().await;
    if let Some(id) = migration_id {
        // The lock names a migration (a foreign key since part B): a row for it.
        db(app)
            .await
            .execute(
                "INSERT INTO rule_migrations (id, source_tenant_id, target_tenant_id, source_name, \
                 target_name, started_by_login, state, mappings, target_version_before, \
                 source_version, created_at, updated_at) \
                 VALUES ($1, NULL, $2, '', '', '', 'failed', '{}', 0, 0, now(), now())",
                &[&id, &tenant.id],
            )
            .await
            .unwrap();
    }
    RuleLock::insert(
        &mut conn,
        tenant.id,
        migration_id,
        Some(app.admin.id),
        "Migration to another tenant",
        app.clock.now(),
    )
    .await
    .unwrap();
}

/// Everything of a tenant's configuration, history included, to prove nothing changed.
async fn everything(app: &TestApp, tenant: &Tenant) -> (String, i64, i64, i64, i64) {
    let c = db(app).await;
    let count = |table: &'static str| {
        let c = &c;
        async move {
            c.query_one(
                &format!("SELECT count(*) FROM {table} WHERE tenant_id = $1"),
                &[&tenant.id],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
        }
    };
    (
        checksum(app, tenant).await,
        count("rules").await,
        count("rule_set_versions").await,
        count("applications").await,
        count("domains").await,
    )
}

async fn admin_api(app: &TestApp) -> Api {
    let token = token_for(app, &app.admin, false).await;
    Api::new(app, Some(&token))
}

fn base(t: &Tenant) -> String {
    format!("/api/v1/tenants/{}", t.id)
}

/// A `POST` that must create: the created item.
async fn created(api: &Api, url: &str, body: Value) -> Value {
    let (s, item) = api.post(url, body.clone()).await;
    assert_eq!(s, 201, "POST {url} {body}: {item}");
    item
}

/// The status a page answers.
async fn page_status(app: &TestApp, path: &str) -> u16 {
    app.get(path).await.status().as_u16()
}

/// `GET …/ruleset` of the API base `b` with these `If-None-Match` lines.
async fn ruleset(api: &Api, b: &str, if_none_match: &[&str]) -> reqwest::Response {
    let mut request = api.request(reqwest::Method::GET, &format!("{b}/ruleset"));
    for tag in if_none_match {
        request = request.header("If-None-Match", *tag);
    }
    request.send().await.unwrap()
}

async fn versions_of(app: &TestApp, t: &Tenant) -> Vec<(i64, String, String)> {
    db(app)
        .await
        .query(
            "SELECT version, kind, summary FROM rule_set_versions WHERE tenant_id = $1 ORDER BY version",
            &[&t.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

// ---------------------------------------------------------------- API

#[tokio::test]
async fn the_api_creates_reads_changes_and_deletes_the_configuration() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    let (s, shop) = api
        .post(&format!("{b}/applications"), json!({"name": "Shop"}))
        .await;
    assert_eq!(s, 201, "{shop}");
    let (s, e) = api
        .post(&format!("{b}/applications"), json!({"name": "SHOP"}))
        .await;
    assert_eq!(
        (s, e["errors"]["name"].as_str()),
        (422, Some("This tenant has an application of this name."))
    );
    let (s, d) = api
        .post(
            &format!("{b}/domains"),
            json!({"name": "Shop.Example.com.", "application_id": shop["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["name"], "shop.example.com");
    let (s, rule) = api
        .post(
            &format!("{b}/rules"),
            json!({"kind": "block_ip", "value": "10.0.0.0/8", "action": "block",
                   "application_id": shop["id"], "domain_id": d["id"], "path": "/admin"}),
        )
        .await;
    assert_eq!(s, 201, "{rule}");
    let rid = rule["id"].as_i64().unwrap();
    let (s, got) = api.get(&format!("{b}/rules/{rid}")).await;
    assert_eq!((s, got["value"].as_str()), (200, Some("10.0.0.0/8")));
    // An edit keeps the rule's id and makes a new row.
    let (s, edited) = api
        .patch(
            &format!("{b}/rules/{rid}"),
            json!({"value": "192.168.0.0/16", "path": null}),
        )
        .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(
        (edited["id"].as_i64(), edited["path"].is_null()),
        (Some(rid), true)
    );
    let (s, list) = api.get(&format!("{b}/rules?limit=1")).await;
    assert_eq!((s, list["items"].as_array().unwrap().len()), (200, 1));
    assert!(list["next_cursor"].is_null(), "{list}");
    // In use: the application and the domain cannot go.
    let (s, e) = api
        .delete(&format!("{b}/applications/{}", shop["id"]))
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["detail"].as_str().unwrap().contains("1 rule uses it"),
        "{e}"
    );
    let (s, _) = api.delete(&format!("{b}/domains/{}", d["id"])).await;
    assert_eq!(s, 409);
    let (s, _) = api.delete(&format!("{b}/rules/{rid}")).await;
    assert_eq!(s, 204);
    let (s, _) = api.get(&format!("{b}/rules/{rid}")).await;
    assert_eq!(s, 404);
    let (s, _) = api.delete(&format!("{b}/domains/{}", d["id"])).await;
    assert_eq!(s, 204);
    let (s, _) = api
        .delete(&format!("{b}/applications/{}", shop["id"]))
        .await;
    assert_eq!(s, 204);
    // Each change made exactly one version.
    let kinds: Vec<String> = versions_of(&app, &t.acme)
        .await
        .into_iter()
        .map(|v| v.1)
        .collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert!(kinds.iter().all(|k| k == "edit"));
}

#[tokio::test]
async fn each_field_is_checked_and_another_tenants_ids_are_refused() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let theirs = created(
        &api,
        &format!("{}/applications", base(&t.globex)),
        json!({"name": "Theirs"}),
    )
    .await;
    let their_domain = created(
        &api,
        &format!("{}/domains", base(&t.globex)),
        json!({"name": "g.example.com"}),
    )
    .await;
    let ours = created(
        &api,
        &format!("{}/applications", base(&t.acme)),
        json!({"name": "Ours"}),
    )
    .await;
    let other = created(
        &api,
        &format!("{}/applications", base(&t.acme)),
        json!({"name": "Other"}),
    )
    .await;
    let bound = created(
        &api,
        &format!("{}/domains", base(&t.acme)),
        json!({"name": "a.example.com", "application_id": ours["id"]}),
    )
    .await;
    let b = format!("{}/rules", base(&t.acme));
    let rule = |extra: Value| {
        let mut r = json!({"kind": "block_ip", "value": "1.2.3.4", "action": "block"});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    for (body, field, message) in [
        (
            rule(json!({"value": "10.0.0.5/8"})),
            "value",
            "host bits set",
        ),
        (
            rule(json!({"value": "nope"})),
            "value",
            "Enter an IPv4 or IPv6 address",
        ),
        (
            rule(json!({"kind": "rate_limit", "value": "0"})),
            "value",
            "1 to 1,000,000",
        ),
        (
            rule(json!({"kind": "virtual_patch", "value": "a\u{7}"})),
            "value",
            "control characters",
        ),
        (
            rule(json!({"kind": "mode", "value": "off"})),
            "value",
            "monitoring or blocking",
        ),
        (
            rule(json!({"action": "allow"})),
            "action",
            "block or monitor",
        ),
        (
            rule(json!({"kind": "allow_ip", "action": "block"})),
            "action",
            "allow",
        ),
        (
            rule(json!({"kind": "mode", "value": "blocking", "action": "monitor"})),
            "action",
            "follows its value",
        ),
        (rule(json!({"path": "admin"})), "path", "starts with /"),
        (rule(json!({"path": "/a b"})), "path", "spaces"),
        (
            rule(json!({"application_id": theirs["id"]})),
            "application_id",
            "this tenant's applications",
        ),
        (
            rule(json!({"application_id": 999999})),
            "application_id",
            "this tenant's applications",
        ),
        (
            rule(json!({"domain_id": their_domain["id"]})),
            "domain_id",
            "this tenant's domains",
        ),
        (
            rule(json!({"domain_id": bound["id"], "application_id": other["id"]})),
            "domain_id",
            "another application",
        ),
    ] {
        let (s, e) = api.post(&b, body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        let got = e["errors"][field].as_str().unwrap_or_default();
        assert!(got.contains(message), "{body}: {field} said {got:?}");
    }
    // Another tenant's application for a domain: the same as a missing one.
    let (s, e) = api
        .post(
            &format!("{}/domains", base(&t.acme)),
            json!({"name": "b.example.com", "application_id": theirs["id"]}),
        )
        .await;
    assert_eq!(
        (s, e["errors"]["application_id"].as_str()),
        (422, Some("Choose one of this tenant's applications."))
    );
    let (s, _) = api
        .post(
            &format!("{}/domains", base(&t.acme)),
            json!({"name": "1.2.3.4"}),
        )
        .await;
    assert_eq!(s, 422);
    // Another tenant's rule id names nothing here.
    let (_, r) = api
        .post(&format!("{}/rules", base(&t.globex)), rule(json!({})))
        .await;
    let (s, _) = api.get(&format!("{b}/{}", r["id"])).await;
    assert_eq!(s, 404);
    let (s, _) = api.delete(&format!("{b}/{}", r["id"])).await;
    assert_eq!(s, 404);
    // Bad kinds and actions are refused by the body's schema.
    let (s, _) = api.post(&b, rule(json!({"kind": "nuke"}))).await;
    assert_eq!(s, 400);
    // A rule valid in every respect, bound to the domain's own application: fine.
    let (s, _) = api
        .post(
            &b,
            rule(json!({"domain_id": bound["id"], "application_id": ours["id"]})),
        )
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn a_batch_is_one_version_answered_per_rule() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let mut rules: Vec<Value> = (0..300)
        .map(|i| json!({"kind": "rate_limit", "value": (i + 1).to_string(), "action": "monitor"}))
        .collect();
    rules[7] = json!({"kind": "rate_limit", "value": "0", "action": "monitor"});
    let (s, answer) = api
        .post(
            &format!("{}/rules/batch", base(&t.acme)),
            json!({"rules": rules}),
        )
        .await;
    assert_eq!((s, &answer["applied"]), (200, &json!(true)), "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 300);
    assert_eq!(results[7]["status"], 422);
    assert!(results[7]["error"]["errors"]["value"].is_string());
    assert_eq!(results.iter().filter(|r| r["status"] == 201).count(), 299);
    let v = versions_of(&app, &t.acme).await;
    assert_eq!(v.len(), 1, "{v:?}");
    // Every rule refused: nothing kept, and the answer says so.
    let bad = json!({"kind": "rate_limit", "value": "0", "action": "monitor"});
    let (s, answer) = api
        .post(
            &format!("{}/rules/batch", base(&t.acme)),
            json!({"rules": [bad.clone(), bad]}),
        )
        .await;
    assert_eq!((s, &answer["applied"]), (200, &json!(false)), "{answer}");
    assert_eq!(answer["results"][1]["status"], 422, "{answer}");
    assert_eq!(versions_of(&app, &t.acme).await.len(), 1);
    // The list pages by id with a cursor.
    let (_, first) = api.get(&format!("{}/rules?limit=200", base(&t.acme))).await;
    let next = first["next_cursor"].as_str().unwrap();
    let (_, rest) = api
        .get(&format!("{}/rules?limit=200&cursor={next}", base(&t.acme)))
        .await;
    let (a, b) = (
        first["items"].as_array().unwrap(),
        rest["items"].as_array().unwrap(),
    );
    assert_eq!((a.len(), b.len()), (200, 99));
    assert!(rest["next_cursor"].is_null());
    assert!(a[199]["id"].as_i64() < b[0]["id"].as_i64());
    let (s, _) = api
        .get(&format!("{}/rules?cursor=nope", base(&t.acme)))
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        (v[0].1.as_str(), v[0].2.as_str()),
        ("batch", "Created 299 rules (batch)")
    );
    let (s, e) = api
        .post(&format!("{}/rules/batch", base(&t.acme)), json!({"rules": vec![json!({"kind": "mode", "value": "blocking", "action": "block"}); 1001]}))
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = api
        .post(
            &format!("{}/rules/batch", base(&t.acme)),
            json!({"rules": []}),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn the_ruleset_is_what_nodes_apply_with_an_etag() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    let shop = created(&api, &format!("{b}/applications"), json!({"name": "Shop"})).await;
    api.post(&format!("{b}/rules"), json!({"kind": "allow_ip", "value": "2001:DB8::1", "action": "allow", "application_id": shop["id"]})).await;
    api.post(
        &format!("{b}/rules"),
        json!({"kind": "mode", "value": "blocking", "action": "block", "enabled": false}),
    )
    .await;
    let r = ruleset(&api, &b, &[]).await;
    assert_eq!(r.status().as_u16(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}-3\"", t.acme.id));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["version"], 3);
    let rules = body["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "only enabled rules: {body}");
    assert_eq!(
        (rules[0]["application"].as_str(), rules[0]["value"].as_str()),
        (Some("Shop"), Some("2001:db8::1"))
    );
    assert_eq!(body["credential_stuffing"]["enabled"], false);
    let again = ruleset(&api, &b, &[&etag]).await;
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    // Renaming the application changes what nodes see: a new version, a new tag.
    api.patch(
        &format!("{b}/applications/{}", shop["id"]),
        json!({"name": "Store"}),
    )
    .await;
    let after = ruleset(&api, &b, &[&etag]).await;
    assert_eq!(after.status().as_u16(), 200);
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["rules"][0]["application"], "Store");
}

#[tokio::test]
async fn readers_may_read_writers_may_write_and_invisible_tenants_are_not_found() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let viewer = app.user(&t.acme, "watcher").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let token = token_for(&app, &viewer, false).await;
    let api = Api::new(&app, Some(&token));
    let (s, _) = api.get(&format!("{}/rules", base(&t.a1))).await;
    assert_eq!(s, 200);
    let (s, _) = api.get(&format!("{}/ruleset", base(&t.a1))).await;
    assert_eq!(s, 200);
    let (s, _) = api
        .post(
            &format!("{}/applications", base(&t.a1)),
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = api
        .post(
            &format!("{}/rules", base(&t.a1)),
            json!({"kind": "mode", "value": "blocking", "action": "block"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = api.get(&format!("{}/rules", base(&t.globex))).await;
    assert_eq!(s, 404);
    // The pages alike.
    let browser = browser_as(&app, "acme\\watcher").await;
    assert_eq!(
        page_status(&browser, &format!("/tenants/{}/rules", t.a1.id)).await,
        200
    );
    let r = browser
        .post_form(
            &format!("/tenants/{}/rules", t.a1.id),
            &[("kind", "mode"), ("value", "blocking"), ("action", "block")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        page_status(&browser, &format!("/tenants/{}/rules", t.globex.id)).await,
        404
    );
    assert_eq!(
        page_status(
            &browser,
            &format!("/tenants/{}/credential-stuffing", t.globex.id)
        )
        .await,
        404
    );
}

// ---------------------------------------------------------------- pages

#[tokio::test]
async fn the_pages_create_edit_filter_and_delete_rules() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let id = t.acme.id;
    let r = app
        .post_form(&format!("/tenants/{id}/applications"), &[("name", "Shop")])
        .await;
    assert_redirect_to(&r, &format!("/tenants/{id}/applications"));
    let r = app
        .post_form(&format!("/tenants/{id}/applications"), &[("name", "")])
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(
        field_error(&r.text().await.unwrap(), "name").as_deref(),
        Some("Enter a name.")
    );
    let r = app
        .post_form(
            &format!("/tenants/{id}/domains"),
            &[("name", "not a host"), ("application_id", "")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    // A bad rule: each field's message, the input kept.
    let r = app
        .post_form(
            &format!("/tenants/{id}/rules/new"),
            &[
                ("kind", "block_ip"),
                ("value", "10.0.0.5/8"),
                ("action", "allow"),
                ("path", "x"),
                ("application_id", "abc"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(
        field_error(&html, "value").unwrap().contains("10.0.0.0/8"),
        "{html}"
    );
    assert!(field_error(&html, "path").is_some());
    assert!(field_error(&html, "application_id").is_some());
    assert!(html.contains("value=\"10.0.0.5/8\""));
    for (kind, value, action) in [
        ("block_ip", "10.0.0.0/8", "block"),
        ("rate_limit", "600", "monitor"),
        ("virtual_patch", "union select", "block"),
    ] {
        let r = app
            .post_form(
                &format!("/tenants/{id}/rules/new"),
                &[
                    ("kind", kind),
                    ("value", value),
                    ("action", action),
                    ("enabled", "true"),
                ],
            )
            .await;
        assert_redirect_to(&r, &format!("/tenants/{id}/rules"));
    }
    let html = app
        .get_html(&format!("/tenants/{id}/rules?kind=rate_limit"))
        .await;
    assert!(html.contains("1 rule."), "{html}");
    let html = app.get_html(&format!("/tenants/{id}/rules?q=UNION")).await;
    assert!(html.contains("1 rule.") && html.contains("union select"));
    let r = app.get(&format!("/tenants/{id}/rules?kind=nuke")).await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("“kind”"));
    let rid: i64 = db(&app)
        .await
        .query_one("SELECT rule_id FROM rules WHERE value = '600'", &[])
        .await
        .unwrap()
        .get(0);
    let html = app.get_html(&format!("/tenants/{id}/rules/{rid}")).await;
    assert!(html.contains("value=\"600\""));
    let r = app
        .post_form(
            &format!("/tenants/{id}/rules/{rid}"),
            &[
                ("kind", "rate_limit"),
                ("value", "700"),
                ("action", "block"),
            ],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{id}/rules"));
    let html = app
        .get_html(&format!("/tenants/{id}/rules?enabled=no"))
        .await;
    assert!(html.contains("700"), "saved unchecked: disabled");
    // The delete asks first, and changes nothing until confirmed.
    let r = app
        .post_form(&format!("/tenants/{id}/rules/{rid}/delete"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(&format!("Delete rule #{rid}?")));
    assert_eq!(
        page_status(&app, &format!("/tenants/{id}/rules/{rid}")).await,
        200
    );
    let r = app
        .post_form(
            &format!("/tenants/{id}/rules/{rid}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{id}/rules"));
    assert_eq!(
        page_status(&app, &format!("/tenants/{id}/rules/{rid}")).await,
        404
    );
    // Settings: every field checked, then saved.
    let r = app
        .post_form(
            &format!("/tenants/{id}/credential-stuffing"),
            &[
                ("threshold", "0"),
                ("window_minutes", "2000"),
                ("login_paths", "/login\nnope"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    for f in ["threshold", "window_minutes", "login_paths"] {
        assert!(field_error(&html, f).is_some(), "{f}");
    }
    let r = app
        .post_form(
            &format!("/tenants/{id}/credential-stuffing"),
            &[
                ("enabled", "true"),
                ("threshold", "20"),
                ("window_minutes", "15"),
                ("login_paths", "/login\r\n/sso\r\n"),
            ],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{id}/credential-stuffing"));
    let html = app
        .get_html(&format!("/tenants/{id}/credential-stuffing"))
        .await;
    assert!(html.contains("/login\n/sso"), "{html}");
    // The tenant page and the navigation lead to the rules.
    assert!(app
        .get_html(&format!("/tenants/{id}"))
        .await
        .contains(&format!("href=\"/tenants/{id}/rules\"")));
    assert!(app
        .get_html("/dashboard")
        .await
        .contains("id=\"nav-rules\""));
    // The versions page lists every change, newest first.
    let html = app.get_html(&format!("/tenants/{id}/rules/versions")).await;
    assert!(
        html.contains("Saved the credential-stuffing settings"),
        "{html}"
    );
    assert!(html.find("data-version=\"7\"").unwrap() < html.find("data-version=\"1\"").unwrap());
}

// ---------------------------------------------------------------- versions

#[tokio::test]
async fn the_diff_names_each_change_and_a_restore_reproduces_a_version_exactly() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    let app1 = created(&api, &format!("{b}/applications"), json!({"name": "Shop"})).await; // v1
    let r1 = created(&api, &format!("{b}/rules"), json!({"kind": "block_ip", "value": "1.1.1.1", "action": "block", "application_id": app1["id"]})).await; // v2
    let r2 = created(
        &api,
        &format!("{b}/rules"),
        json!({"kind": "rate_limit", "value": "5", "action": "monitor"}),
    )
    .await; // v3
    app.login_admin().await;
    app.post_form(
        &format!("/tenants/{}/credential-stuffing", t.acme.id),
        &[
            ("enabled", "true"),
            ("threshold", "3"),
            ("window_minutes", "10"),
            ("login_paths", "/login"),
        ],
    )
    .await; // v4
    let before = checksum(&app, &t.acme).await;
    api.patch(
        &format!("{b}/rules/{}", r1["id"]),
        json!({"value": "2.2.2.2", "enabled": false}),
    )
    .await; // v5
    api.delete(&format!("{b}/rules/{}", r2["id"])).await; // v6
    let r3 = created(
        &api,
        &format!("{b}/rules"),
        json!({"kind": "mode", "value": "monitoring", "action": "monitor"}),
    )
    .await; // v7
    app.post_form(
        &format!("/tenants/{}/credential-stuffing", t.acme.id),
        &[
            ("threshold", "3"),
            ("window_minutes", "10"),
            ("login_paths", "/login"),
        ],
    )
    .await; // v8
    assert_ne!(checksum(&app, &t.acme).await, before);

    let admin = app.principal(&app.admin).await;
    let mut conn = app.conn().await;
    let d = versions::diff(&mut conn, &admin, &t.acme, 4, 8)
        .await
        .unwrap();
    assert_eq!(
        d.added.iter().map(|a| a.0).collect::<Vec<_>>(),
        [r3["id"].as_i64().unwrap()]
    );
    assert_eq!(
        d.removed.iter().map(|a| a.0).collect::<Vec<_>>(),
        [r2["id"].as_i64().unwrap()]
    );
    let changed: Vec<(&str, &str, &str)> = d.changed[0]
        .1
        .iter()
        .map(|c| (c.field, c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(
        changed,
        [
            ("value", "1.1.1.1", "2.2.2.2"),
            ("enabled", "true", "false")
        ]
    );
    assert_eq!(d.settings.len(), 1);
    assert_eq!(d.settings[0].field, "enabled");
    drop(conn);
    let html = app
        .get_html(&format!(
            "/tenants/{}/rules/versions?from=4&to=8",
            t.acme.id
        ))
        .await;
    assert!(html.contains("value 1.1.1.1 → 2.2.2.2"), "{html}");
    assert_eq!(
        page_status(
            &app,
            &format!("/tenants/{}/rules/versions?from=4&to=99", t.acme.id)
        )
        .await,
        400
    );

    // Restore version 4: asked first, then a new version (9) with its content.
    let r = app
        .post_form(
            &format!("/tenants/{}/rules/versions/4/restore", t.acme.id),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(versions_of(&app, &t.acme).await.len(), 8);
    let r = app
        .post_form(
            &format!("/tenants/{}/rules/versions/4/restore", t.acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}/rules/versions", t.acme.id));
    assert_eq!(
        checksum(&app, &t.acme).await,
        before,
        "the same rows under the same rule ids"
    );
    let v = versions_of(&app, &t.acme).await;
    assert_eq!(
        (v.len(), v[8].1.as_str(), v[8].2.as_str()),
        (9, "restore", "Restored version 4")
    );
    let mut conn = app.conn().await;
    let d = versions::diff(&mut conn, &admin, &t.acme, 4, 9)
        .await
        .unwrap();
    assert_eq!(d, Default::default());
    // A deleted application: an old version comes back unbound.
    drop(conn);
    api.delete(&format!("{b}/rules/{}", r1["id"])).await; // v10
    let (s, _) = api
        .delete(&format!("{b}/applications/{}", app1["id"]))
        .await; // v11
    assert_eq!(s, 204);
    let mut conn = app.conn().await;
    let c = Change {
        p: &admin,
        actor: &Actor::system("test"),
        tenant: &t.acme,
        now: app.clock.now(),
    };
    versions::restore(&mut conn, &c, 2).await.unwrap();
    let rules = RuleRow::current(&mut conn, t.acme.id).await.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        (rules[0].rule_id, rules[0].application_id),
        (r1["id"].as_i64().unwrap(), None)
    );
}

// ---------------------------------------------------------------- what reads refuse

#[tokio::test]
async fn the_rules_list_and_the_versions_refuse_a_page_that_is_not_one() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    for list in ["rules", "rules/versions"] {
        let path = format!("/tenants/{}/{list}", t.acme.id);
        for bad in ["abc", "0", "-1", "1000001"] {
            let r = app.get(&format!("{path}?page={bad}")).await;
            assert_eq!(status(&r), 400, "{path}?page={bad}");
            assert!(
                r.text().await.unwrap().contains("“page”"),
                "{path}?page={bad}"
            );
        }
        for fine in ["", "1", "7"] {
            assert_eq!(page_status(&app, &format!("{path}?page={fine}")).await, 200);
        }
    }
}

#[tokio::test]
async fn the_ruleset_takes_no_parameters_and_compares_tags_weakly() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    created(&api, &format!("{b}/applications"), json!({"name": "Shop"})).await;
    let (s, e) = api.get(&format!("{b}/ruleset?version=1")).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("“version”"), "{e}");
    let etag = format!("\"{}-1\"", t.acme.id);
    let weak = format!("W/{etag}");
    let listed = format!("\"{}-0\", {weak}", t.acme.id);
    for sent in [
        vec![etag.as_str()],
        vec![weak.as_str()],
        vec![listed.as_str()],
        vec!["\"elsewhere\"", weak.as_str()],
        vec!["*"],
    ] {
        let r = ruleset(&api, &b, &sent).await;
        assert_eq!(status(&r), 304, "{sent:?}");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
    }
    for sent in [vec!["\"elsewhere\""], vec!["W/\"elsewhere\", \"x\""]] {
        assert_eq!(status(&ruleset(&api, &b, &sent).await), 200, "{sent:?}");
    }
}

#[tokio::test]
async fn a_checkbox_takes_its_value_or_nothing() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let id = t.acme.id;
    let settings = format!("/tenants/{id}/credential-stuffing");
    let rule = format!("/tenants/{id}/rules/new");
    for bad in ["maybe", "false", ""] {
        let r = app
            .post_form(
                &settings,
                &[
                    ("enabled", bad),
                    ("threshold", "5"),
                    ("window_minutes", "5"),
                    ("login_paths", "/login"),
                ],
            )
            .await;
        assert_eq!(status(&r), 422, "enabled={bad}");
        let html = r.text().await.unwrap();
        assert!(field_error(&html, "enabled").is_some(), "{html}");
        let r = app
            .post_form(
                &rule,
                &[
                    ("kind", "mode"),
                    ("value", "blocking"),
                    ("action", "block"),
                    ("enabled", bad),
                ],
            )
            .await;
        assert_eq!(status(&r), 422, "enabled={bad}");
        assert!(field_error(&r.text().await.unwrap(), "enabled").is_some());
    }
    assert!(versions_of(&app, &t.acme).await.is_empty(), "nothing saved");
    // Ticked, and left out.
    for fields in [vec![("enabled", "true")], vec![]] {
        let mut fields = fields;
        fields.extend([("threshold", "5"), ("window_minutes", "5")]);
        assert_redirect_to(&app.post_form(&settings, &fields).await, &settings);
    }
    assert_eq!(versions_of(&app, &t.acme).await.len(), 2);
}

// ---------------------------------------------------------------- the lock guard

#[tokio::test]
async fn a_locked_tenant_answers_423_everywhere_and_nothing_changes() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    let shop = created(&api, &format!("{b}/applications"), json!({"name": "Shop"})).await;
    let dom = created(
        &api,
        &format!("{b}/domains"),
        json!({"name": "shop.example.com"}),
    )
    .await;
    let rule = created(
        &api,
        &format!("{b}/rules"),
        json!({"kind": "block_ip", "value": "1.2.3.4", "action": "block"}),
    )
    .await;
    let (aid, did, rid) = (
        shop["id"].as_i64().unwrap(),
        dom["id"].as_i64().unwrap(),
        rule["id"].as_i64().unwrap(),
    );
    lock(&app, &t.acme, Some(42)).await;
    let before = everything(&app, &t.acme).await;
    let id = t.acme.id;

    // Every page of the four (and the versions): the locked-page view.
    app.login_admin().await;
    for page in [
        format!("/tenants/{id}/rules"),
        format!("/tenants/{id}/rules/new"),
        format!("/tenants/{id}/rules/{rid}"),
        format!("/tenants/{id}/rules/versions"),
        format!("/tenants/{id}/applications"),
        format!("/tenants/{id}/applications/{aid}"),
        format!("/tenants/{id}/domains"),
        format!("/tenants/{id}/domains/{did}"),
        format!("/tenants/{id}/credential-stuffing"),
    ] {
        for htmx in [false, true] {
            let r = if htmx {
                app.get_hx(&page).await
            } else {
                app.get(&page).await
            };
            assert_eq!(r.status().as_u16(), 423, "{page}");
            let html = r.text().await.unwrap();
            assert!(html.contains("id=\"locked\""), "{page}: {html}");
            // A migration's lock is described from its row, per reader.
            assert!(html.contains("Migration #42 of the rules"), "{page}");
            assert!(html.contains("root\\admin"), "{page}: who");
            assert!(
                html.contains("href=\"/migrations/42\""),
                "{page}: the migration"
            );
        }
    }
    // Every form post, confirmed or not.
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/tenants/{id}/rules"),
            vec![("kind", "mode"), ("value", "blocking"), ("action", "block")],
        ),
        (
            format!("/tenants/{id}/rules/new"),
            vec![("kind", "mode"), ("value", "blocking"), ("action", "block")],
        ),
        (
            format!("/tenants/{id}/rules/{rid}"),
            vec![
                ("kind", "block_ip"),
                ("value", "5.6.7.8"),
                ("action", "block"),
            ],
        ),
        (format!("/tenants/{id}/rules/{rid}/delete"), vec![]),
        (
            format!("/tenants/{id}/rules/{rid}/delete"),
            vec![("confirm", "yes")],
        ),
        (format!("/tenants/{id}/applications"), vec![("name", "New")]),
        (
            format!("/tenants/{id}/applications/{aid}"),
            vec![("name", "Renamed")],
        ),
        (
            format!("/tenants/{id}/applications/{aid}/delete"),
            vec![("confirm", "yes")],
        ),
        (
            format!("/tenants/{id}/domains"),
            vec![("name", "new.example.com")],
        ),
        (
            format!("/tenants/{id}/domains/{did}"),
            vec![("name", "renamed.example.com")],
        ),
        (
            format!("/tenants/{id}/domains/{did}/delete"),
            vec![("confirm", "yes")],
        ),
        (
            format!("/tenants/{id}/credential-stuffing"),
            vec![
                ("enabled", "true"),
                ("threshold", "5"),
                ("window_minutes", "5"),
            ],
        ),
        (format!("/tenants/{id}/rules/versions/1/restore"), vec![]),
        (
            format!("/tenants/{id}/rules/versions/1/restore"),
            vec![("confirm", "yes")],
        ),
    ];
    for (path, fields) in &forms {
        let r = app.post_form(path, fields).await;
        assert_eq!(r.status().as_u16(), 423, "POST {path} {fields:?}");
    }
    // htmx posts too.
    let token = app.csrf().await;
    let r = app
        .client
        .post(app.url(&format!("/tenants/{id}/rules/new")))
        .header("HX-Request", "true")
        .form(&[
            ("kind", "mode"),
            ("value", "blocking"),
            ("action", "block"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 423);
    // Every API write, and the ruleset.
    let rule_body = json!({"kind": "mode", "value": "blocking", "action": "block"});
    for (method, path, body) in [
        ("POST", format!("{b}/rules"), Some(rule_body.clone())),
        (
            "POST",
            format!("{b}/rules/batch"),
            Some(json!({"rules": [rule_body.clone()]})),
        ),
        (
            "PATCH",
            format!("{b}/rules/{rid}"),
            Some(json!({"value": "9.9.9.9"})),
        ),
        ("DELETE", format!("{b}/rules/{rid}"), None),
        (
            "POST",
            format!("{b}/applications"),
            Some(json!({"name": "New"})),
        ),
        (
            "PATCH",
            format!("{b}/applications/{aid}"),
            Some(json!({"name": "Renamed"})),
        ),
        ("DELETE", format!("{b}/applications/{aid}"), None),
        (
            "POST",
            format!("{b}/domains"),
            Some(json!({"name": "new.example.com"})),
        ),
        (
            "PATCH",
            format!("{b}/domains/{did}"),
            Some(json!({"name": "renamed.example.com"})),
        ),
        ("DELETE", format!("{b}/domains/{did}"), None),
        ("GET", format!("{b}/rules"), None),
        ("GET", format!("{b}/rules/{rid}"), None),
        ("GET", format!("{b}/applications"), None),
        ("GET", format!("{b}/domains"), None),
        ("GET", format!("{b}/ruleset"), None),
    ] {
        let mut request = api.request(method.parse().unwrap(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (s, problem) = send(request).await;
        assert_eq!(s, 423, "{method} {path}: {problem}");
        assert_eq!(problem["type"], "urn:tenantry:problem:locked");
        assert!(
            problem["detail"].as_str().unwrap().contains("locked"),
            "{problem}"
        );
    }
    assert_eq!(everything(&app, &t.acme).await, before, "nothing changed");
    // Another tenant is not locked.
    let (s, _) = api
        .post(&format!("{}/rules", base(&t.globex)), rule_body)
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn a_viewer_of_a_locked_tenant_is_refused_for_the_right_first() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let viewer = app.user(&t.acme, "watcher").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    lock(&app, &t.acme, None).await;
    let token = token_for(&app, &viewer, false).await;
    let api = Api::new(&app, Some(&token));
    let (s, _) = api
        .post(
            &format!("{}/applications", base(&t.acme)),
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = api.get(&format!("{}/applications", base(&t.acme))).await;
    assert_eq!(s, 423);
    let html = browser_as(&app, "acme\\watcher")
        .await
        .get_html(&format!("/tenants/{}/rules", t.acme.id))
        .await;
    assert!(
        html.contains("id=\"locked\"") && !html.contains("/migrations/"),
        "no migration: no link"
    );
}

// ---------------------------------------------------------------- the set at version v

/// The model: each version's rule set, as replayed.
#[tokio::test]
async fn the_set_at_each_version_is_the_replayed_model() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let admin = app.principal(&app.admin).await;
    let actor = Actor::system("test");
    let mut conn = app.conn().await;
    for seed in [7_u64, 1313] {
        let tenant = if seed == 7 { &t.acme } else { &t.globex };
        let c = Change {
            p: &admin,
            actor: &actor,
            tenant,
            now: app.clock.now(),
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut model: Vec<BTreeMap<i64, RuleInput>> = vec![BTreeMap::new()];
        let rule = |rng: &mut StdRng| RuleInput {
            kind: RuleKind::RateLimit,
            application_id: None,
            domain_id: None,
            path: rng
                .gen_bool(0.5)
                .then(|| format!("/p{}", rng.gen_range(0..3))),
            value: rng.gen_range(1..50).to_string(),
            action: if rng.gen_bool(0.5) {
                RuleAction::Block
            } else {
                RuleAction::Monitor
            },
            enabled: rng.gen_bool(0.8),
        };
        for _ in 0..40 {
            let mut next = model.last().unwrap().clone();
            let ids: Vec<i64> = next.keys().copied().collect();
            let op = if ids.is_empty() {
                0
            } else {
                rng.gen_range(0..5)
            };
            match op {
                0 | 1 => {
                    let r = rule(&mut rng);
                    let row = service::create_rule(&mut conn, &c, Ok(r.clone()))
                        .await
                        .unwrap();
                    next.insert(row.rule_id, r);
                }
                2 => {
                    let n = rng.gen_range(1..4);
                    let rs: Vec<RuleInput> = (0..n).map(|_| rule(&mut rng)).collect();
                    let rows =
                        service::create_rules(&mut conn, &c, rs.iter().cloned().map(Ok).collect())
                            .await
                            .unwrap();
                    for (row, r) in rows.into_iter().zip(rs) {
                        next.insert(row.unwrap().rule_id, r);
                    }
                }
                3 => {
                    let id = ids[rng.gen_range(0..ids.len())];
                    let r = rule(&mut rng);
                    service::update_rule(&mut conn, &c, id, Ok(r.clone()))
                        .await
                        .unwrap();
                    if next[&id] == r {
                        continue; // unchanged: no version
                    }
                    next.insert(id, r);
                }
                _ => {
                    let id = ids[rng.gen_range(0..ids.len())];
                    service::delete_rule(&mut conn, &c, id).await.unwrap();
                    next.remove(&id);
                }
            }
            model.push(next);
            // Now and then restore an earlier version: itself a version.
            if rng.gen_range(0..8) == 0 {
                let v = rng.gen_range(0..model.len()) as i64;
                let made = versions::restore(&mut conn, &c, v).await.unwrap();
                let restored = model[v as usize].clone();
                if restored != *model.last().unwrap() {
                    assert_eq!(made, model.len() as i64);
                    model.push(restored);
                }
            }
        }
        for (v, expected) in model.iter().enumerate() {
            let got: BTreeMap<i64, RuleInput> = RuleRow::at_version(&mut conn, tenant.id, v as i64)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.rule_id, r.content()))
                .collect();
            assert_eq!(&got, expected, "seed {seed}, version {v}");
        }
    }
}
