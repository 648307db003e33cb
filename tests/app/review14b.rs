//! Issue #14, the review's remaining LOWs: who may set a user's limits (only someone
//! strictly above them), cursors bound to their list, JSON bodies that serde cannot
//! read naming their field, form conversion errors reported with the operation's
//! own, and the bulk-move preview counting the tenants moved together.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{Level, Permissions};

async fn one(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

async fn set_user_limits(app: &TestApp, u: &User, storage: Option<i64>, memory: Option<i64>) {
    db(app)
        .await
        .execute(
            "UPDATE users SET storage_limit_gb = $1, memory_limit_gb = $2 WHERE id = $3",
            &[&storage, &memory, &u.id],
        )
        .await
        .unwrap();
}

async fn user_limits(app: &TestApp, u: &User) -> (Option<i64>, Option<i64>) {
    let row = db(app)
        .await
        .query_one(
            "SELECT storage_limit_gb, memory_limit_gb FROM users WHERE id = $1",
            &[&u.id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// The edit form of `u` as the browser sends it, with these limits (`None`: the
/// field not sent, as a disabled input).
fn user_form<'a>(
    u: &'a User,
    first_name: &'a str,
    storage: Option<&'a str>,
    memory: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("username", u.username.as_str()),
        // The fixture's users have no email: none is still allowed for them.
        ("email", ""),
        ("first_name", first_name),
        ("last_name", ""),
        ("enabled_shown", "1"),
        ("enabled", "true"),
    ];
    if let Some(s) = storage {
        fields.push(("storage_limit_gb", s));
    }
    if let Some(m) = memory {
        fields.push(("memory_limit_gb", m));
    }
    fields
}

fn user_page(t: &Tenant, u: &User) -> String {
    format!("/tenants/{}/users/{}", t.id, u.id)
}

/// Posts `fields` to `u`'s form with the role they have (the form sends it).
async fn save_user(
    browser: &TestApp,
    t: &Tenant,
    u: &User,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let role = u.role_id.map(|r| r.to_string()).unwrap_or_default();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("role_id", &role));
    browser.post_form(&user_page(t, u), &all).await
}

#[tokio::test]
async fn nobody_lifts_their_own_limits_nor_a_peers_only_someone_above_them() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let full = Permissions::all(Level::Full);
    // Two tenant administrators of acme with the same rights, and a plain user.
    let ta = app.user_with_role(&acme, "ta", full.clone()).await;
    let tb = app.user_with_role(&acme, "tb", full).await;
    let pu = app
        .user_with_role(&acme, "pu", Permissions::all(Level::Read))
        .await;
    for u in [&ta, &tb, &pu] {
        set_user_limits(&app, u, Some(10), Some(2)).await;
    }
    let ta_browser = browser_as(&app, "acme\\ta").await;

    // Their own: the form shows the limits fixed, saying why; a post that lifts
    // them is refused on each limit changed, and nothing changes.
    let html = ta_browser.get_html(&user_page(&acme, &ta)).await;
    let storage_input = between(&html, "id=\"storage_limit_gb\"", ">");
    assert!(storage_input.contains("disabled"), "{storage_input}");
    assert!(html.contains("You cannot change your own limits"), "{html}");
    for (storage, memory) in [("", "2"), ("10", "64"), ("", "")] {
        let r = save_user(
            &ta_browser,
            &acme,
            &ta,
            &user_form(&ta, "Ta", Some(storage), Some(memory)),
        )
        .await;
        assert_eq!(status(&r), 422, "{storage}/{memory}");
        let page = r.text().await.unwrap();
        if storage != "10" {
            let e = field_error(&page, "storage_limit_gb").expect("storage refused");
            assert!(e.contains("your own limits"), "{e}");
        }
        if memory != "2" {
            assert!(field_error(&page, "memory_limit_gb").is_some(), "{page}");
        }
        assert_eq!(user_limits(&app, &ta).await, (Some(10), Some(2)));
    }
    // What the browser sends (the limits disabled, not sent): the rest is saved,
    // the limits kept.
    let r = save_user(&ta_browser, &acme, &ta, &user_form(&ta, "Tara", None, None)).await;
    assert_redirect_to(&r, &user_page(&acme, &ta));
    assert_eq!(user_limits(&app, &ta).await, (Some(10), Some(2)));
    // Unchanged values sent back are no change either.
    let r = save_user(
        &ta_browser,
        &acme,
        &ta,
        &user_form(&ta, "Tara", Some("10"), Some("2")),
    )
    .await;
    assert_redirect_to(&r, &user_page(&acme, &ta));

    // A peer (every right ta holds, and no more): ta may edit them, not their limits.
    let html = ta_browser.get_html(&user_page(&acme, &tb)).await;
    assert!(html.contains("only someone above you both"), "{html}");
    let r = save_user(
        &ta_browser,
        &acme,
        &tb,
        &user_form(&tb, "Tb", Some(""), None),
    )
    .await;
    assert_eq!(status(&r), 422);
    let page = r.text().await.unwrap();
    assert!(
        field_error(&page, "storage_limit_gb").is_some_and(|e| e.contains("above you both")),
        "{page}"
    );
    assert_eq!(user_limits(&app, &tb).await, (Some(10), Some(2)));

    // Someone below them: ta sets the plain user's limits, up or down.
    let r = save_user(
        &ta_browser,
        &acme,
        &pu,
        &user_form(&pu, "Pu", Some("500"), Some("")),
    )
    .await;
    assert_redirect_to(&r, &user_page(&acme, &pu));
    assert_eq!(user_limits(&app, &pu).await, (Some(500), None));

    // And the root's administrator, above them all, sets ta's.
    app.login_admin().await;
    let html = app.get_html(&user_page(&acme, &ta)).await;
    let storage_input = between(&html, "id=\"storage_limit_gb\"", ">");
    assert!(!storage_input.contains("disabled"), "{storage_input}");
    let r = save_user(
        &app,
        &acme,
        &ta,
        &user_form(&ta, "Tara", Some("20"), Some("")),
    )
    .await;
    assert_redirect_to(&r, &user_page(&acme, &ta));
    assert_eq!(user_limits(&app, &ta).await, (Some(20), None));
    // Nor may the root's administrator lift their own.
    let admin_home = app.root.clone();
    let r = save_user(
        &app,
        &admin_home,
        &app.admin,
        &user_form(&app.admin, "Admin", Some("5"), None),
    )
    .await;
    assert_eq!(status(&r), 422);
    let page = r.text().await.unwrap();
    assert!(
        field_error(&page, "storage_limit_gb").is_some_and(|e| e.contains("your own limits")),
        "{page}"
    );
}

// ---------------------------------------------------------------- cursors

/// A public cloud of `t` and three instances on it.
async fn three_of_each(api: &Api, t: &Tenant) {
    let base = format!("/api/v1/tenants/{}", t.id);
    let mut cloud = 0;
    for name in ["c1", "c2", "c3"] {
        let (s, body) = api
            .post(
                &format!("{base}/clouds"),
                json!({"name": name, "provider": "aws", "visibility": "private"}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        cloud = body["id"].as_i64().unwrap();
    }
    for name in ["i1", "i2", "i3"] {
        let (s, body) = api
            .post(
                &format!("{base}/instances"),
                json!({"name": name, "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
}

#[tokio::test]
async fn a_cursor_continues_only_the_list_it_was_read_in() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let globex = app.tenant(&app.root, "globex", true).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    three_of_each(&api, &acme).await;
    three_of_each(&api, &globex).await;
    let lists = [
        "instances",
        "clouds",
        "resolvers",
        "devices",
        "subnets",
        "policies",
    ];
    let (s, page) = api
        .get(&format!("/api/v1/tenants/{}/instances?limit=1", acme.id))
        .await;
    assert_eq!(s, 200, "{page}");
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    // Its own list goes on.
    let (s, next) = api
        .get(&format!(
            "/api/v1/tenants/{}/instances?limit=1&cursor={cursor}",
            acme.id
        ))
        .await;
    assert_eq!(s, 200, "{next}");
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    // Another list of the same tenant, or of another tenant: 422 on `cursor`.
    for tenant in [&acme, &globex] {
        for list in &lists[1..] {
            let (s, body) = api
                .get(&format!(
                    "/api/v1/tenants/{}/{list}?cursor={cursor}",
                    tenant.id
                ))
                .await;
            assert_eq!(s, 422, "{list}: {body}");
            let why = body["errors"]["cursor"].as_str().unwrap();
            assert!(why.contains("another list"), "{why}");
        }
    }
    // The same list of another tenant: 422 on `cursor` too.
    let (s, body) = api
        .get(&format!(
            "/api/v1/tenants/{}/instances?cursor={cursor}",
            globex.id
        ))
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["cursor"].is_string(), "{body}");
    // And the other way round: a clouds cursor on the instances.
    let (_, clouds) = api
        .get(&format!("/api/v1/tenants/{}/clouds?limit=1", acme.id))
        .await;
    let cursor = clouds["next_cursor"].as_str().unwrap();
    let (s, body) = api
        .get(&format!(
            "/api/v1/tenants/{}/instances?cursor={cursor}",
            acme.id
        ))
        .await;
    assert_eq!(s, 422, "{body}");
}

// ---------------------------------------------------------------- bodies

#[tokio::test]
async fn a_body_serde_cannot_read_names_its_field_in_errors() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    three_of_each(&api, &acme).await;
    let base = format!("/api/v1/tenants/{}", acme.id);
    let (_, clouds) = api.get(&format!("{base}/clouds")).await;
    let cloud = clouds["items"][0]["id"].as_i64().unwrap();
    let ok = json!({"name": "vm", "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1});
    let with = |field: &str, value: Value| {
        let mut body = ok.clone();
        body[field] = value;
        body
    };
    for (body, field, kind) in [
        (with("status", json!("paused")), "status", "invalid-body"),
        (
            with("storage_gb", json!("abc")),
            "storage_gb",
            "invalid-body",
        ),
        (with("cloud_id", json!([1])), "cloud_id", "invalid-body"),
        (with("bogus", json!(1)), "bogus", "unknown-field"),
        (
            json!({"cloud_id": cloud, "storage_gb": 1, "memory_gb": 1}),
            "name",
            "invalid-body",
        ),
    ] {
        let (s, answer) = api.post(&format!("{base}/instances"), body.clone()).await;
        assert_eq!(s, 400, "{body}: {answer}");
        assert_eq!(
            answer["type"],
            format!("urn:tenantry:problem:{kind}"),
            "{answer}"
        );
        let errors = answer["errors"].as_object().expect("errors");
        assert_eq!(errors.len(), 1, "{answer}");
        assert!(errors[field].is_string(), "{field}: {answer}");
        assert!(
            !errors[field].as_str().unwrap().contains(" at line "),
            "{answer}"
        );
    }
    // A change too, and another resource.
    let (_, list) = api.get(&format!("{base}/instances")).await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    let (s, answer) = api
        .patch(
            &format!("{base}/instances/{id}"),
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(s, 400, "{answer}");
    assert!(answer["errors"]["status"].is_string(), "{answer}");
    let (s, answer) = api
        .post(
            &format!("{base}/resolvers"),
            json!({"name": 5, "address": "10.0.0.1"}),
        )
        .await;
    assert_eq!(s, 400, "{answer}");
    assert!(answer["errors"]["name"].is_string(), "{answer}");
    // Nothing was written.
    assert_eq!(
        one(
            &app,
            &format!(
                "SELECT count(*) FROM instances WHERE tenant_id = {}",
                acme.id
            )
        )
        .await,
        3
    );
    // Not JSON at all names no field.
    let r = api
        .http
        .post(format!("{}{base}/instances", app.address))
        .bearer_auth(api.token.as_deref().unwrap())
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["type"], "urn:tenantry:problem:malformed-json");
    assert!(answer.get("errors").is_none(), "{answer}");
}

// ---------------------------------------------------------------- forms

#[tokio::test]
async fn form_conversion_errors_come_with_the_operations_own() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    app.login_admin().await;
    let errors_of = |html: &str, fields: &[&str]| {
        for field in fields {
            assert!(field_error(html, field).is_some(), "{field}: {html}");
        }
    };
    // Instances: a size that is no number, and a cloud the tenant does not see.
    let r = app
        .post_form(
            &format!("/tenants/{}/instances/new", t.a2.id),
            &[
                ("name", "vm"),
                ("cloud_id", "999999"),
                ("owner_id", ""),
                ("storage_gb", "abc"),
                ("memory_gb", "1"),
                ("status", "running"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    errors_of(&html, &["cloud_id", "storage_gb"]);
    // Clouds: no name, and sharing by a tenant that may not share.
    let r = app
        .post_form(
            &format!("/tenants/{}/clouds/new", t.a2.id),
            &[
                ("name", ""),
                ("provider", "aws"),
                ("visibility", "public"),
                ("assigned_tenant_ids", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    errors_of(&r.text().await.unwrap(), &["name", "visibility"]);
    // Resolvers: an address that is none, and a name taken.
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/resolvers", t.a2.id),
            json!({"name": "dns", "address": "10.0.0.53"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let r = app
        .post_form(
            &format!("/tenants/{}/resolvers/new", t.a2.id),
            &[("name", "dns"), ("address", "nowhere"), ("policy_id", "")],
        )
        .await;
    assert_eq!(status(&r), 422);
    errors_of(&r.text().await.unwrap(), &["name", "address"]);
    // Devices: an identifier that is none, and a resolver the tenant does not have.
    let r = app
        .post_form(
            &format!("/tenants/{}/devices/new", t.a2.id),
            &[
                ("name", "pc"),
                ("identifier", "a b"),
                ("resolver_id", "999999"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    errors_of(&r.text().await.unwrap(), &["identifier", "resolver_id"]);
    // Subnets: a network that is none, and a resolver the tenant does not have.
    let r = app
        .post_form(
            &format!("/tenants/{}/subnets/new", t.a2.id),
            &[
                ("cidr", "10.0.0.0/33"),
                ("resolver_id", "999999"),
                ("policy_id", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    errors_of(&r.text().await.unwrap(), &["cidr", "resolver_id"]);
    // Nothing was written.
    for table in ["instances", "clouds", "devices", "subnets"] {
        let n = one(
            &app,
            &format!("SELECT count(*) FROM {table} WHERE tenant_id = {}", t.a2.id),
        )
        .await;
        assert_eq!(n, 0, "{table}");
    }
    // The user form: a limit that is no number, and a username taken.
    let taken = app.user(&t.a2, "taken").await;
    let u = app
        .user_with_role(&t.a2, "someone", Permissions::all(Level::Read))
        .await;
    let r = save_user(
        &app,
        &t.a2,
        &u,
        &[
            ("username", taken.username.as_str()),
            ("email", ""),
            ("first_name", ""),
            ("last_name", ""),
            ("enabled_shown", "1"),
            ("enabled", "true"),
            ("storage_limit_gb", "abc"),
            ("memory_limit_gb", ""),
        ],
    )
    .await;
    assert_eq!(status(&r), 422);
    errors_of(&r.text().await.unwrap(), &["username", "storage_limit_gb"]);
}

// ---------------------------------------------------------------- bulk move

#[tokio::test]
async fn a_bulk_move_preview_sums_the_tenants_moved_together() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", app.root.id),
            json!({"name": "shared", "provider": "aws", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let cloud = body["id"].as_i64().unwrap();
    for (tenant, storage) in [(&t.a2, 300), (&t.a1x, 300), (&t.g1, 200)] {
        let (s, body) = api
            .post(
                &format!("/api/v1/tenants/{}/instances", tenant.id),
                json!({"name": "vm", "cloud_id": cloud, "storage_gb": storage, "memory_gb": 1}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    // globex: 200 GB used of 700, 500 left: each of a1 (300) and a2 (300) fits alone,
    // both together do not.
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET storage_limit_gb = 700 WHERE id = $1",
            &[&t.globex.id],
        )
        .await
        .unwrap();
    for dry_run in [true, false] {
        let (s, body) = api
            .post(
                "/api/v1/tenants/bulk",
                json!({"ids": [t.a1.id, t.a2.id], "action": "move", "parent_id": t.globex.id,
                       "dry_run": dry_run}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["items"][0]["outcome"], "changed", "{dry_run}: {body}");
        assert_eq!(body["items"][1]["outcome"], "refused", "{dry_run}: {body}");
        let message = body["items"][1]["message"].as_str().unwrap();
        assert!(
            message.contains("Storage 500 of 700 GB used"),
            "{dry_run}: {message}"
        );
    }
    assert_eq!(
        one(
            &app,
            &format!("SELECT parent_id FROM tenants WHERE id = {}", t.a2.id)
        )
        .await,
        t.acme.id
    );
    // A tenant moved with its parent is not counted twice: a1 and a1x together,
    // into a destination with room for a1's subtree (300) only.
    let d = app.tenant(&app.root, "d", true).await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET storage_limit_gb = 300 WHERE id = $1",
            &[&d.id],
        )
        .await
        .unwrap();
    let (s, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [t.a1x.id, t.a1.id], "action": "move", "parent_id": d.id,
                   "dry_run": true}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    for i in 0..2 {
        assert_eq!(body["items"][i]["outcome"], "changed", "{body}");
    }
}
