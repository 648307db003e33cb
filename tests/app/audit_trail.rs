//! The audit trail's catalogue and what its events record, as the activity page and
//! its API read them: every recorded action is a labelled filter (and the source
//! writes no other), tenant roles are audited, changes are recorded field by field,
//! updates hold only what changed and removals what was removed.

use crate::api::{admin_api, partner_app, Api};
use crate::api::{plan, put, put_on};
use crate::helpers::*;
use crate::move_limits::{cloud, vm};
use crate::policies::policies;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use tenantry::db::models::Tenant;
use tenantry::domain::activity::Action;
use tenantry::domain::Feature;

/// The events of `action` about `tenant`, newest first, through the API.
async fn events(api: &Api, tenant: &Tenant, action: &str) -> Vec<Value> {
    let (s, page) = api
        .get(&format!(
            "/api/v1/tenants/{}/activity?action={action}",
            tenant.id
        ))
        .await;
    assert_eq!(s, 200, "{action}: {page}");
    page["items"].as_array().unwrap().clone()
}

/// The one event of `action` about `tenant`.
async fn event(api: &Api, tenant: &Tenant, action: &str) -> Value {
    let mut all = events(api, tenant, action).await;
    assert_eq!(all.len(), 1, "{action}: {all:?}");
    all.remove(0)
}

/// What `POST path` created (201).
async fn created(api: &Api, path: &str, body: Value) -> Value {
    let (s, item) = api.post(path, body).await;
    assert_eq!(s, 201, "{path}: {item}");
    item
}

/// An event's `changes` as (field, before, after).
fn changes(e: &Value) -> Vec<(String, Value, Value)> {
    e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_string(),
                c["before"].clone(),
                c["after"].clone(),
            )
        })
        .collect()
}

/// One change as `changes` lists it.
fn change(field: &str, before: &str, after: &str) -> (String, Value, Value) {
    (field.into(), json!(before), json!(after))
}

/// The `action` enum of the activity's API parameters in the served OpenAPI document.
async fn openapi_actions(api: &Api) -> BTreeSet<String> {
    let (s, doc) = api.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    let params = doc["paths"]["/api/v1/tenants/{id}/activity"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let action = params.iter().find(|p| p["name"] == "action").unwrap();
    action["schema"]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum: {action}"))
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------- the catalogue

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.display().to_string(), text));
        }
    }
}

/// The literals of `text` quoted with `quote` that look like an action: dotted
/// lower-case words (`tenant.delete`, `tenant.custom_domain.verify`).
fn dotted_literals(text: &str, quote: char) -> Vec<String> {
    let looks_like_action = |s: &str| {
        s.contains('.')
            && s.split('.')
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    };
    let mut found = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(quote).collect();
        // The odd parts sit between a pair of quotes.
        for inside in parts.iter().skip(1).step_by(2) {
            if looks_like_action(inside) {
                found.push((*inside).to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn the_source_writes_only_catalogue_actions_and_the_api_offers_each() {
    let app = spawn_app().await;
    let api = admin_api(&app).await;
    let offered = openapi_actions(&api).await;
    let catalogue = "src/domain/activity.rs";
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let families: BTreeSet<&str> = Action::ALL
        .iter()
        .map(|a| a.as_str().split('.').next().unwrap())
        .collect();
    let mut written = BTreeSet::new();
    for (path, text) in files.iter().filter(|(p, _)| !p.ends_with(catalogue)) {
        // Written through the catalogue: `Action::TenantDelete`, …
        for a in Action::ALL {
            if text.contains(&format!("Action::{a:?}")) {
                written.insert(a.as_str());
            }
        }
        // An action spelled out instead — in a Rust string or in SQL (an `INSERT INTO
        // audit_events` takes its action as a bound catalogue value) — must be one
        // of the catalogue's, so that it is labelled and filterable too.
        let sql_writes = text.contains("INSERT INTO audit_events");
        for quote in ['"', '\''] {
            for literal in dotted_literals(text, quote) {
                let family = literal.split('.').next().unwrap_or_default();
                if families.contains(family) || (sql_writes && quote == '\'') {
                    let known = Action::from_text(&literal);
                    assert!(known.is_some(), "{path}: {literal} is not in the catalogue");
                }
            }
        }
    }
    // Every catalogue action is written somewhere; each recorded about a tenant is
    // in the OpenAPI enum, the others are not.
    for a in Action::ALL {
        assert!(
            written.contains(a.as_str()),
            "{a} is in the catalogue but never written"
        );
        assert_eq!(
            offered.contains(a.as_str()),
            a.entry().filterable,
            "{a} in the OpenAPI enum"
        );
    }
    assert_eq!(offered.len(), Action::filterable().count(), "{offered:?}");
}

#[tokio::test]
async fn every_recorded_action_is_a_labelled_filter_of_the_page_and_the_api() {
    let app = spawn_app().await;
    let api = admin_api(&app).await;
    app.login_admin().await;
    let root = app.root.clone();
    let html = app
        .get_html(&format!("/tenants/{}/activity", root.id))
        .await;
    for a in Action::filterable() {
        let name = a.as_str();
        let (s, body) = api
            .get(&format!(
                "/api/v1/tenants/{}/activity?action={name}",
                root.id
            ))
            .await;
        assert_eq!(s, 200, "{name}: {body}");
        let option = format!("<option value=\"{name}\" >");
        assert!(html.contains(&option), "{option}");
        let page = app
            .get(&format!("/tenants/{}/activity?action={name}", root.id))
            .await;
        assert_eq!(status(&page), 200, "{name}");
    }
    // Never about a tenant: neither offered nor taken.
    assert!(!html.contains("value=\"login.failure\""));
    let (s, body) = api
        .get(&format!(
            "/api/v1/tenants/{}/activity?action=login.failure",
            root.id
        ))
        .await;
    assert_eq!(s, 400, "{body}");
}

#[tokio::test]
async fn instance_cloud_and_plan_events_are_filtered_and_read_as_sentences() {
    let (app, t, api) = partner_app().await;
    let cloud = cloud(&app, &api).await;
    let (s, vm1) = vm(&api, &t.a1, cloud, "web-1", 10, 2).await;
    assert_eq!(s, 201, "{vm1}");
    let path = format!("/api/v1/tenants/{}/instances/{}", t.a1.id, vm1["id"]);
    let (s, body) = api.patch(&path, json!({"storage_gb": 20})).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.delete(&path).await;
    assert_eq!(s, 204, "{body}");
    let id = plan(&api, json!({"name": "Basic", "storage_limit_gb": 100})).await;
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{id}"),
        crate::api::whole_plan(json!({"name": "Basic", "storage_limit_gb": 200})),
    )
    .await;
    assert_eq!(s, 200, "{body}");

    for (tenant, action, label) in [
        (&t.a1, "instance.create", "Created an instance"),
        (&t.a1, "instance.update", "Changed an instance"),
        (&t.a1, "instance.delete", "Deleted an instance"),
        (&app.root, "cloud.create", "Created a cloud"),
        (&app.root, "plan.create", "Created plan Basic"),
        (&app.root, "plan.update", "Changed plan Basic"),
    ] {
        let e = event(&api, tenant, action).await;
        assert_eq!(e["action_label"], label, "{e}");
    }
    let e = event(&api, &t.a1, "instance.update").await;
    assert_eq!(changes(&e), [change("storage_gb", "10", "20")]);
    // The console: the filter taken, the event read as a sentence.
    app.login_admin().await;
    let html = app
        .get_html(&format!(
            "/tenants/{}/activity?action=instance.update",
            t.a1.id
        ))
        .await;
    assert!(
        html.contains("<span class=\"action-label\">Changed an instance</span>"),
        "{html}"
    );
    assert!(!html.contains("data-action=\"instance.create\""), "{html}");
    assert!(!html.contains("field-error"), "{html}");
}

// ---------------------------------------------------------------- tenant roles

/// The tenant role form's fields: `name`, every cap at `level` but those in `caps`,
/// and the public-clouds box (shown, checked when `public`).
fn tenant_role_form(
    name: &str,
    level: &str,
    caps: &[(Feature, &str)],
    public: bool,
) -> Vec<(String, String)> {
    let mut fields = vec![
        ("name".to_string(), name.to_string()),
        ("public_clouds_shown".into(), "true".into()),
    ];
    if public {
        fields.push(("public_clouds".into(), "on".into()));
    }
    for f in Feature::ALL {
        let level = caps
            .iter()
            .find(|(c, _)| *c == f)
            .map_or(level, |(_, l)| *l);
        fields.push((format!("perm_{}", f.as_str()), level.into()));
    }
    fields
}

async fn post_fields(app: &TestApp, path: &str, fields: &[(String, String)]) {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app.post_form(path, &pairs).await;
    assert_eq!(status(&r), 303, "{path}: {}", r.text().await.unwrap());
}

#[tokio::test]
async fn tenant_role_changes_are_in_the_roots_activity_field_by_field() {
    let app = spawn_app().await;
    let api = admin_api(&app).await;
    app.login_admin().await;
    post_fields(
        &app,
        "/tenant-roles/new",
        &tenant_role_form("Partner", "full", &[], true),
    )
    .await;
    let id: i64 = db(&app)
        .await
        .query_one("SELECT id FROM tenant_roles WHERE name = 'Partner'", &[])
        .await
        .unwrap()
        .get(0);
    let role = format!("/tenant-roles/{id}");
    // Users lowered to read, the public clouds taken away.
    post_fields(
        &app,
        &role,
        &tenant_role_form("Partner", "full", &[(Feature::Users, "read")], false),
    )
    .await;
    // Saved as it is: nothing to record.
    post_fields(
        &app,
        &role,
        &tenant_role_form("Partner", "full", &[(Feature::Users, "read")], false),
    )
    .await;
    let r = app.post_form(&format!("{role}/delete"), &[]).await;
    assert_eq!(status(&r), 303);

    let root = app.root.clone();
    let created = event(&api, &root, "tenant_role.create").await;
    assert_eq!(created["action_label"], "Created tenant role Partner");
    assert_eq!(created["after"]["public_clouds"], true, "{created}");
    assert_eq!(
        created["after"]["permissions"]["users"], "full",
        "{created}"
    );
    assert!(created["before"].is_null());

    let updated = event(&api, &root, "tenant_role.update").await;
    assert_eq!(updated["action_label"], "Changed tenant role Partner");
    assert_eq!(
        changes(&updated),
        [
            change("permissions.users", "full", "read"),
            change("public_clouds", "true", "false"),
        ],
        "{updated}"
    );
    // Only what changed, and which role.
    assert_eq!(
        updated["before"],
        json!({"tenant_role_id": id, "name": "Partner", "public_clouds": true,
               "permissions": {"users": "full"}})
    );
    assert_eq!(
        updated["after"],
        json!({"tenant_role_id": id, "name": "Partner", "public_clouds": false,
               "permissions": {"users": "read"}})
    );

    let deleted = event(&api, &root, "tenant_role.delete").await;
    assert_eq!(deleted["action_label"], "Deleted tenant role Partner");
    assert_eq!(deleted["before"]["permissions"]["users"], "read");
    assert_eq!(deleted["before"]["public_clouds"], false);
    assert!(deleted["after"].is_null());
    // The console lists them on the root's activity.
    let html = app
        .get_html(&format!(
            "/tenants/{}/activity?action=tenant_role.update",
            root.id
        ))
        .await;
    assert!(
        html.contains("<span class=\"field-name\">permissions.users</span>: <del>full</del> → <ins>read</ins>"),
        "{html}"
    );
}

// ---------------------------------------------------------------- per field

#[tokio::test]
async fn limit_and_plan_changes_are_recorded_per_field_naming_the_plan() {
    let (app, t, api) = partner_app().await;
    let tenant = format!("/api/v1/tenants/{}", t.a1.id);
    for limit in [100, 200] {
        let (s, body) = api.patch(&tenant, json!({"storage_limit_gb": limit})).await;
        assert_eq!(s, 200, "{body}");
    }
    let latest = &events(&api, &t.a1, "tenant.update").await[0];
    assert_eq!(
        changes(latest),
        [change("storage_limit_gb", "100", "200")],
        "{latest}"
    );
    assert_eq!(latest["before"], json!({"storage_limit_gb": 100}));
    assert_eq!(latest["after"], json!({"storage_limit_gb": 200}));

    let id = plan(
        &api,
        json!({"name": "Basic", "storage_limit_gb": 300, "api_access": true}),
    )
    .await;
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{id}"),
        crate::api::whole_plan(
            json!({"name": "Basic", "storage_limit_gb": 400, "api_access": true, "sub_tenants": true})
        ),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let e = event(&api, &app.root, "plan.update").await;
    assert_eq!(e["action_label"], "Changed plan Basic");
    assert_eq!(
        changes(&e),
        [
            change("storage_limit_gb", "300", "400"),
            change("sub_tenants", "false", "true"),
        ],
        "{e}"
    );
    assert_eq!(
        e["before"],
        json!({"plan_id": id, "name": "Basic", "storage_limit_gb": 300, "sub_tenants": false})
    );
    let created = event(&api, &app.root, "plan.create").await;
    assert_eq!(created["after"]["storage_limit_gb"], 300, "{created}");
    assert_eq!(created["after"]["api_access"], true, "{created}");
    // A tenant put on the plan names it.
    put_on(&api, &t.a2, id).await;
    let e = &events(&api, &t.a2, "tenant.update").await[0];
    assert_eq!(
        changes(e),
        [(
            "plan_id".to_string(),
            json!("none"),
            json!(format!("Basic (id {id})"))
        )],
        "{e}"
    );
}

// ---------------------------------------------------------------- updates, removals

#[tokio::test]
async fn network_changes_record_only_what_changed_and_removals_what_was_removed() {
    let (_app, t, api) = partner_app().await;
    let b = format!("/api/v1/tenants/{}", t.acme.id);
    let r = created(
        &api,
        &format!("{b}/resolvers"),
        json!({"name": "dns-1", "address": "192.0.2.53"}),
    )
    .await;
    let r2 = created(
        &api,
        &format!("{b}/resolvers"),
        json!({"name": "dns-2", "address": "192.0.2.54"}),
    )
    .await;
    let d = created(
        &api,
        &format!("{b}/devices"),
        json!({"name": "Router", "identifier": "AA:BB:CC:00:11:22", "resolver_id": r["id"]}),
    )
    .await;
    let net = created(
        &api,
        &format!("{b}/subnets"),
        json!({"cidr": "10.0.0.0/16", "resolver_id": r["id"]}),
    )
    .await;
    let resolver = format!("{b}/resolvers/{}", r["id"]);
    let device = format!("{b}/devices/{}", d["id"]);
    let subnet = format!("{b}/subnets/{}", net["id"]);
    for (path, body) in [
        (&resolver, json!({"name": "dns-one"})),
        // The same again: nothing changes, nothing is recorded.
        (&resolver, json!({"name": "dns-one"})),
        (&device, json!({"resolver_id": r2["id"]})),
        (&subnet, json!({"cidr": "10.1.0.0/16"})),
    ] {
        let (s, body) = api.patch(path, body).await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    let e = event(&api, &t.acme, "resolver.update").await;
    assert_eq!(
        e["before"],
        json!({"resolver_id": r["id"], "name": "dns-1"})
    );
    assert_eq!(
        e["after"],
        json!({"resolver_id": r["id"], "name": "dns-one"})
    );
    assert_eq!(changes(&e), [change("name", "dns-1", "dns-one")]);
    let e = event(&api, &t.acme, "device.update").await;
    assert_eq!(
        e["before"],
        json!({"device_id": d["id"], "resolver_id": r["id"]})
    );
    assert_eq!(
        e["after"],
        json!({"device_id": d["id"], "resolver_id": r2["id"]})
    );
    let e = event(&api, &t.acme, "subnet.update").await;
    assert_eq!(
        e["before"],
        json!({"subnet_id": net["id"], "cidr": "10.0.0.0/16"})
    );
    assert_eq!(
        e["after"],
        json!({"subnet_id": net["id"], "cidr": "10.1.0.0/16"})
    );

    for (path, action, field, value) in [
        (&device, "device.delete", "name", "Router"),
        (&subnet, "subnet.delete", "cidr", "10.1.0.0/16"),
        (&resolver, "resolver.delete", "name", "dns-one"),
    ] {
        let (s, body) = api.delete(path).await;
        assert_eq!(s, 204, "{path}: {body}");
        let e = event(&api, &t.acme, action).await;
        assert_eq!(e["before"][field], value, "{e}");
        assert!(e["after"].is_null(), "{e}");
        assert!(
            changes(&e).contains(&(field.to_string(), json!(value), Value::Null)),
            "{e}"
        );
    }
}

#[tokio::test]
async fn resetting_an_override_records_the_override_removed() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let override_of = |tenant: &Tenant, of: i64, name: &str| {
        let (api, path) = (
            &api,
            format!("/api/v1/tenants/{}/policies/{of}/override", tenant.id),
        );
        let body = json!({"name": name});
        async move { created(api, &path, body).await["id"].as_i64().unwrap() }
    };
    // a1x's override, used by a resolver, reset through the API …
    let looser = override_of(&t.a1x, p.a1_threshold, "Looser").await;
    created(
        &api,
        &format!("/api/v1/tenants/{}/resolvers", t.a1x.id),
        json!({"name": "dns", "address": "192.0.2.53", "policy_id": looser}),
    )
    .await;
    let (s, body) = api
        .delete(&format!("/api/v1/tenants/{}/policies/{looser}", t.a1x.id))
        .await;
    assert_eq!(s, 204, "{body}");
    let e = event(&api, &t.a1x, "policy.reset").await;
    assert_eq!(
        e["action_label"],
        "Reset an override to the inherited policy"
    );
    assert_eq!(e["before"]["name"], "Looser", "{e}");
    assert_eq!(e["before"]["overrides_id"], p.a1_threshold, "{e}");
    assert_eq!(e["before"]["repointed"], 1, "{e}");
    assert!(e["after"].is_null(), "{e}");
    assert!(changes(&e).contains(&("name".into(), json!("Looser"), Value::Null)));

    // … and g1's through the console's Reset.
    let mine = override_of(&t.g1, p.globex_filter, "Mine").await;
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/policies/{mine}/reset", t.g1.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 303);
    let e = event(&api, &t.g1, "policy.reset").await;
    assert_eq!(
        (&e["before"]["name"], &e["before"]["repointed"], &e["after"]),
        (&json!("Mine"), &json!(0), &Value::Null),
        "{e}"
    );
}
