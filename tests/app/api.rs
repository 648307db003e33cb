//! The Manage Tenants API: personal API tokens (page, bearer auth, read-only,
//! revocation, disabled users and tenants), the tenant endpoints, problem documents
//! for bad input, batches, idempotency keys, the OpenAPI document, and an
//! authorization matrix over every `/api/` route.

use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::auth::tokens;
use tenantry::db::models::api_token::NewApiToken;
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{GrantRole, Scope};

// ---------------------------------------------------------------- helpers

/// A token for `user`, made directly in the database.
pub async fn token_for(app: &TestApp, user: &User, read_only: bool) -> String {
    token_expiring(app, user, read_only, None).await
}

/// A token for `user` that ends at `expires_at`, if any.
async fn token_expiring(
    app: &TestApp,
    user: &User,
    read_only: bool,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let secret = tokens::generate_api_token();
    let mut conn = app.conn().await;
    NewApiToken {
        user_id: user.id,
        name: "test",
        token_hash: &tokens::stored_hash(&secret),
        prefix: &secret[..10],
        read_only,
        expires_at,
    }
    .insert(&mut conn)
    .await
    .unwrap();
    secret
}

/// An API client with a bearer token.
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(app: &TestApp, token: Option<&str>) -> Self {
        Api {
            base: app.address.clone(),
            token: token.map(str::to_string),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.request(reqwest::Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Moves the tenant `id` under `parent` (`POST /api/v1/tenants/{id}/move`).
    pub async fn move_tenant(&self, id: i64, parent: i64) -> (u16, Value) {
        self.post(
            &format!("/api/v1/tenants/{id}/move"),
            serde_json::json!({"parent_id": parent}),
        )
        .await
    }
}

/// An API client with a token of the root administrator (read and write).
pub async fn admin_api(app: &TestApp) -> Api {
    Api::new(app, Some(&token_for(app, &app.admin, false).await))
}

/// A `PUT` with a JSON body.
pub async fn put(api: &Api, path: &str, body: Value) -> (u16, Value) {
    send(api.request(reqwest::Method::PUT, path).json(&body)).await
}

/// A plan's whole body for a `PUT` (which names every field): `fields`, and each
/// field it leaves out unlimited (`null`) or off.
pub fn whole_plan(fields: Value) -> Value {
    let mut body = json!({
        "monthly_query_quota": null, "max_users": null, "max_instances": null,
        "storage_limit_gb": null, "memory_limit_gb": null, "custom_branding": false,
        "custom_domain": false, "sub_tenants": false, "api_access": false,
    });
    if let (Some(all), Some(given)) = (body.as_object_mut(), fields.as_object()) {
        all.extend(given.clone());
    }
    body
}

/// A plan made through the API; its id.
pub async fn plan(api: &Api, body: Value) -> i64 {
    let (status, body) = api.post("/api/v1/plans", body).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

/// Puts `tenant` on `plan` through the API.
pub async fn put_on(api: &Api, tenant: &Tenant, plan: i64) {
    let (status, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", tenant.id),
            json!({"plan_id": plan}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plan_id"], plan);
}

/// A fresh app with the partner tree (`helpers::partner_tree`) and the root
/// administrator's API client: the opening of the plans and policies suites.
pub async fn partner_app() -> (TestApp, PartnerTree, Api) {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    (app, t, api)
}

/// Sends, and checks the content type: JSON for successes, problem+json for errors.
pub async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
    let response = r.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.unwrap();
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{status}: {text}");
    } else if status != 204 {
        assert!(ct.starts_with("application/json"), "{status} {ct}: {text}");
    }
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    if status >= 400 {
        assert_eq!(body["status"].as_u64(), Some(u64::from(status)), "{body}");
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:tenantry:problem:")),
            "{body}"
        );
    }
    (status, body)
}

fn problem(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("urn:tenantry:problem:"))
        .unwrap_or("")
}

async fn find(app: &TestApp, id: i64) -> Option<Tenant> {
    app.reload_id(id).await
}

impl TestApp {
    async fn reload_id(&self, id: i64) -> Option<Tenant> {
        Tenant::find(&mut *self.conn().await, id).await.ok()
    }
}

// ---------------------------------------------------------------- tokens

#[tokio::test]
async fn tokens_are_created_shown_once_stored_hashed_and_revoked() {
    let app = spawn_app().await;
    app.login_admin().await;
    let page = app.get_html("/profile/tokens").await;
    assert!(page.contains("name=\"expires_at\""), "{page}");

    let r = app
        .post_form(
            "/profile/tokens",
            &[("name", "provisioning"), ("expires_at", "")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let html = r.text().await.unwrap();
    let marker = "<code id=\"token-secret\">";
    let start = html.find(marker).unwrap() + marker.len();
    let secret = html[start..start + html[start..].find('<').unwrap()].to_string();
    assert!(secret.starts_with("tnt_"), "{secret}");

    // Shown once: the list has only its prefix; the database only its hash.
    let list = app.get_html("/profile/tokens").await;
    assert!(!list.contains(&secret));
    assert!(list.contains(&secret[..10]));
    let client = db(&app).await;
    let stored: String = client
        .query_one("SELECT token_hash FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, tokens::stored_hash(&secret));
    assert!(!stored.contains(&secret));

    let api = Api::new(&app, Some(&secret));
    let (status, body) = api.get("/api/v1/tenants").await;
    assert_eq!(status, 200, "{body}");

    // Bad form input keeps the form and creates nothing.
    for (name, expires) in [("", ""), ("x", "yesterday"), ("x", "2000-01-01")] {
        let r = app
            .post_form(
                "/profile/tokens",
                &[("name", name), ("expires_at", expires)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422, "{name:?} {expires:?}");
    }

    let id: i64 = client
        .query_one("SELECT id FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    // Someone else cannot revoke it.
    let other = app.user(&app.root, "other").await;
    let _ = other;
    let stranger = app.new_browser();
    assert_redirect_to(&stranger.login("other", PASSWORD).await, "/dashboard");
    let r = stranger
        .post_form(&format!("/profile/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(api.get("/api/v1/tenants").await.0, 200);

    let r = app
        .post_form(
            &format!("/profile/tokens/{id}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, "/profile/tokens");
    let (status, body) = api.get("/api/v1/tenants").await;
    assert_eq!(status, 401);
    assert_eq!(problem(&body), "unauthorized");
}

#[tokio::test]
async fn unusable_tokens_answer_401_at_once() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let alice = app.user(&acme, "alice").await;
    app.grant(&alice, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let lifetime = chrono::Duration::days(1);
    let token = token_expiring(&app, &alice, false, Some(app.clock.now() + lifetime)).await;
    let api = Api::new(&app, Some(&token));
    let path = format!("/api/v1/tenants/{}", acme.id);
    assert_eq!(api.get(&path).await.0, 200);

    for (label, r) in [
        ("no token", Api::new(&app, None).get(&path).await),
        ("unknown", Api::new(&app, Some("tnt_nope")).get(&path).await),
        (
            "not bearer",
            send(
                Api::new(&app, None)
                    .request(reqwest::Method::GET, &path)
                    .basic_auth("alice", Some("x")),
            )
            .await,
        ),
    ] {
        assert_eq!(r.0, 401, "{label}");
        assert_eq!(problem(&r.1), "unauthorized", "{label}");
    }

    let client = db(&app).await;
    // A disabled user's token stops at once; so does one of a disabled tenant's user.
    client
        .execute(
            "UPDATE users SET enabled = false WHERE id = $1",
            &[&alice.id],
        )
        .await
        .unwrap();
    assert_eq!(api.get(&path).await.0, 401);
    client
        .execute(
            "UPDATE users SET enabled = true WHERE id = $1",
            &[&alice.id],
        )
        .await
        .unwrap();
    assert_eq!(api.get(&path).await.0, 200);
    // Through the data layer, which keeps the subtree totals of the flag.
    Tenant::set_enabled(&mut *app.conn().await, acme.id, false)
        .await
        .unwrap();
    assert_eq!(api.get(&path).await.0, 401);
    // Through the data layer, which keeps the subtree totals of the flag.
    Tenant::set_enabled(&mut *app.conn().await, acme.id, true)
        .await
        .unwrap();
    // Works to its last second, then expires.
    app.clock.advance(lifetime - chrono::Duration::seconds(1));
    assert_eq!(api.get(&path).await.0, 200);
    app.clock.advance(chrono::Duration::seconds(2));
    let (status, _) = api.get(&path).await;
    assert_eq!(status, 401);
    let used: bool = client
        .query_one("SELECT last_used_at IS NOT NULL FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    assert!(used, "last use recorded");
}

#[tokio::test]
async fn a_read_only_token_only_reads_and_a_token_has_its_owners_rights() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let alice = app.user(&t.acme, "alice").await;
    app.grant(&alice, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let ro = Api::new(&app, Some(&token_for(&app, &alice, true).await));
    let rw = Api::new(&app, Some(&token_for(&app, &alice, false).await));

    assert_eq!(ro.get(&format!("/api/v1/tenants/{}", t.a1.id)).await.0, 200);
    let create = json!({"parent_id": t.acme.id, "name": "New", "subdomain": "new-one"});
    let (status, body) = ro.post("/api/v1/tenants", create.clone()).await;
    assert_eq!((status, problem(&body)), (403, "read-only-token"));
    let (status, _) = ro
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        ro.delete(&format!("/api/v1/tenants/{}", t.a2.id)).await.0,
        403
    );
    assert!(find(&app, t.a2.id).await.is_some());

    // Alice's own rights: acme's subtree, nothing of globex; not the root.
    assert_eq!(rw.post("/api/v1/tenants", create).await.0, 201);
    let (status, body) = rw.get(&format!("/api/v1/tenants/{}", t.globex.id)).await;
    assert_eq!((status, problem(&body)), (404, "not-found"));
    let (status, _) = rw
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.globex.id, "name": "N", "subdomain": "nope"}),
        )
        .await;
    assert_eq!(status, 404);
    // acme is visible but edited only by whoever manages the root.
    let (status, body) = rw
        .patch(
            &format!("/api/v1/tenants/{}", t.acme.id),
            json!({"name": "Mine"}),
        )
        .await;
    assert_eq!((status, problem(&body)), (403, "forbidden"));
    let items = rw.get("/api/v1/tenants?limit=500").await.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subdomain"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(items, ["acme", "a1", "a1x", "a2", "new-one"]);
}

// ---------------------------------------------------------------- tenant endpoints

#[tokio::test]
async fn create_read_update_list_move_and_delete_tenants() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));

    // Create.
    let r = api
        .request(reqwest::Method::POST, "/api/v1/tenants")
        .json(&json!({
            "parent_id": t.acme.id, "name": "Initech", "subdomain": "initech",
            "description": "TPS reports", "can_have_subtenants": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/tenants/{id}"));
    assert_eq!(created["parent_id"], json!(t.acme.id));
    assert_eq!(created["path"], json!([app.root.id, t.acme.id, id]));
    assert_eq!(created["enabled"], json!(true));
    assert_eq!(created["custom_domain"], Value::Null);
    for field in [
        "name",
        "subdomain",
        "description",
        "can_have_subtenants",
        "tenant_role_id",
        "created_at",
        "updated_at",
    ] {
        assert!(created.get(field).is_some(), "{field}");
    }

    // Read.
    let (status, got) = api.get(&location).await;
    assert_eq!((status, &got), (200, &created));

    // Update: only what is sent changes; null clears the custom domain.
    let (status, body) = api
        .patch(
            &location,
            json!({"custom_domain": "console.initech.example"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["custom_domain"], json!("console.initech.example"));
    assert_eq!(body["name"], json!("Initech"));
    let (status, body) = api
        .patch(&location, json!({"custom_domain": null, "enabled": false}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["custom_domain"], Value::Null);
    assert_eq!(body["enabled"], json!(false));
    assert_eq!(body["description"], json!("TPS reports"));

    // List: filters and cursor pagination.
    let (_, page) = api
        .get(&format!("/api/v1/tenants?parent={}", t.acme.id))
        .await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subdomain"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a1", "a2", "initech"]);
    assert_eq!(page["next_cursor"], Value::Null);
    let (_, page) = api
        .get(&format!("/api/v1/tenants?subtree={}", t.a1.id))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, page) = api.get("/api/v1/tenants?name=LOBE").await;
    assert_eq!(page["items"][0]["subdomain"], json!("globex"));
    let mut seen = Vec::new();
    let mut next = "/api/v1/tenants?limit=3".to_string();
    loop {
        let (status, page) = api.get(&next).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("/api/v1/tenants?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "root, 6 tenants, initech");
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    for bad in [
        "/api/v1/tenants?limit=0",
        "/api/v1/tenants?limit=501",
        "/api/v1/tenants?parent=abc",
        "/api/v1/tenants?bogus=1",
    ] {
        assert_eq!(api.get(bad).await.0, 400, "{bad}");
    }
    assert_eq!(api.get("/api/v1/tenants?parent=999999").await.0, 404);
    // A cursor that is none: 422 on `cursor`, as on every list.
    let (s, body) = api.get("/api/v1/tenants?cursor=nonsense").await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["cursor"].is_string(), "{body}");

    // Move, with the same refusals as the console.
    let (status, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.a1.id),
            json!({"parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["path"], json!([app.root.id, t.globex.id, t.a1.id]));
    assert_eq!(
        find(&app, t.a1x.id).await.unwrap().path,
        vec![app.root.id, t.globex.id, t.a1.id, t.a1x.id]
    );
    for (dest, why) in [(t.a1x.id, "itself"), (t.g1.id, "sub-tenants")] {
        let (status, body) = api
            .post(
                &format!("/api/v1/tenants/{}/move", t.a1.id),
                json!({"parent_id": dest}),
            )
            .await;
        assert_eq!((status, problem(&body)), (422, "validation-failed"));
        assert!(
            body["errors"]["parent_id"].as_str().unwrap().contains(why),
            "{body}"
        );
    }
    let (status, _) = api
        .post(
            &format!("/api/v1/tenants/{}/move", app.root.id),
            json!({"parent_id": t.acme.id}),
        )
        .await;
    assert_eq!(status, 403, "the root never moves");

    // Delete: blocked while the subtree holds something; forced, all of it goes.
    app.user(&t.a1x, "someone").await;
    let (status, body) = api.delete(&format!("/api/v1/tenants/{}", t.a1.id)).await;
    assert_eq!((status, problem(&body)), (409, "delete-blocked"));
    let kinds: Vec<&str> = body["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["subtenants", "users"]);
    assert!(find(&app, t.a1.id).await.is_some());
    let (status, _) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", t.a1.id))
        .await;
    assert_eq!(status, 204);
    assert!(find(&app, t.a1.id).await.is_none());
    assert!(find(&app, t.a1x.id).await.is_none());
    assert_eq!(
        api.get(&format!("/api/v1/tenants/{}", t.a1.id)).await.0,
        404
    );
    let (status, _) = api.delete(&format!("/api/v1/tenants/{}", t.a2.id)).await;
    assert_eq!(status, 204, "an empty leaf is deleted safely");
    let (status, body) = api
        .delete(&format!("/api/v1/tenants/{}", app.root.id))
        .await;
    assert_eq!((status, problem(&body)), (403, "forbidden"));
}

/// A body serde refuses is told in plain words, naming the field, never where in
/// the text serde found it.
#[tokio::test]
async fn a_refused_body_says_what_is_wrong_in_plain_words() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (status, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": "acme", "name": "N", "subdomain": "x2"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let said = body["errors"]["parent_id"].as_str().unwrap();
    assert!(said.starts_with("Expected "), "{body}");
    assert!(said.ends_with(r#", not the string "acme"."#), "{body}");
    assert_eq!(
        body["detail"].as_str(),
        Some(format!("parent_id: {said}").as_str())
    );
    let (status, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "N", "subdomain": "x3", "colour": "red"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let said = body["errors"]["colour"].as_str().unwrap();
    assert!(
        said.starts_with(r#"Unknown field "colour": the fields are"#),
        "{body}"
    );
    assert!(
        !body["detail"].as_str().unwrap().contains("line 1"),
        "{body}"
    );
    // A whole number past any 64-bit one: too large, not "not an integer".
    for (field, number) in [
        ("max_users", "99999999999999999999"),
        ("monthly_query_quota", "9223372036854775808"),
    ] {
        let r = api
            .request(
                reqwest::Method::PATCH,
                &format!("/api/v1/tenants/{}", t.a1.id),
            )
            .header("content-type", "application/json")
            .body(format!(r#"{{"{field}": {number}}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{field}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            body["errors"][field], "This number is too large: it is at most 9223372036854775807.",
            "{body}"
        );
    }
    // Inside a batch, a field by its path; an unknown operation by its own.
    for (body, field, says) in [
        (
            json!({"operations": [
                {"op": "create", "data": {"parent_id": t.acme.id, "name": "N", "subdomain": "b1"}},
                {"op": "update", "id": t.a1.id, "data": {"max_users": "ten"}}
            ]}),
            "operations[1].data.max_users",
            "Expected a whole number, not the string \"ten\".",
        ),
        (
            json!({"operations": [{"op": "update", "id": t.a1.id, "data": {"colour": "red"}}]}),
            "operations[0].data.colour",
            "",
        ),
        (
            json!({"operations": [{"op": "explode", "id": t.a1.id}]}),
            "operations[0].op",
            "",
        ),
    ] {
        let (status, answer) = api.post("/api/v1/tenants/batch", body.clone()).await;
        assert_eq!(status, 400, "{answer}");
        let said = answer["errors"][field].as_str().unwrap_or_default();
        assert!(
            !said.is_empty() && said.starts_with(says),
            "{field}: {answer}"
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let count = || async {
        db(&app)
            .await
            .query_one("SELECT count(*) FROM tenants", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = count().await;
    let good = json!({"parent_id": t.acme.id, "name": "N", "subdomain": "fine"});
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "unknown field",
            api.request(reqwest::Method::POST, "/api/v1/tenants").json(
                &json!({"parent_id": t.acme.id, "name": "N", "subdomain": "x1", "colour": "red"}),
            ),
            400,
            "unknown-field",
        ),
        (
            // Which of the two would count is not for the server to guess.
            "a key twice",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"parent_id": {}, "name": "N", "subdomain": "x3", "subdomain": "x4"}}"#,
                    t.acme.id
                )),
            400,
            "invalid-body",
        ),
        (
            "wrong type",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .json(&json!({"parent_id": "acme", "name": "N", "subdomain": "x2"})),
            400,
            "invalid-body",
        ),
        (
            "missing field",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .json(&json!({"parent_id": t.acme.id, "name": "N"})),
            400,
            "invalid-body",
        ),
        (
            "malformed",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .header("content-type", "application/json")
                .body("{\"parent_id\": 1,"),
            400,
            "malformed-json",
        ),
        (
            "not JSON",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .header("content-type", "text/plain")
                .body(good.to_string()),
            415,
            "unsupported-media-type",
        ),
        (
            "form",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .form(&[("parent_id", "1")]),
            415,
            "unsupported-media-type",
        ),
        (
            "invalid subdomain",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .json(&json!({"parent_id": t.acme.id, "name": "N", "subdomain": "Bad_Sub"})),
            422,
            "validation-failed",
        ),
        (
            "taken subdomain",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .json(&json!({"parent_id": t.acme.id, "name": "N", "subdomain": "globex"})),
            422,
            "validation-failed",
        ),
        (
            "parent may not have sub-tenants",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .json(&json!({"parent_id": t.g1.id, "name": "N", "subdomain": "x3"})),
            422,
            "validation-failed",
        ),
        (
            "NUL in a name",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .json(&json!({"parent_id": t.acme.id, "name": "a\u{0}b", "subdomain": "x4"})),
            422,
            "validation-failed",
        ),
        (
            "oversized",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .header("content-type", "application/json")
                .body(format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024))),
            413,
            "payload-too-large",
        ),
        (
            "patch with a parent",
            api.request(
                reqwest::Method::PATCH,
                &format!("/api/v1/tenants/{}", t.a2.id),
            )
            .json(&json!({"parent_id": t.globex.id})),
            400,
            "unknown-field",
        ),
        (
            "move without a body",
            api.request(
                reqwest::Method::POST,
                &format!("/api/v1/tenants/{}/move", t.a2.id),
            ),
            415,
            "unsupported-media-type",
        ),
        (
            "array body",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .json(&json!([1, 2])),
            400,
            "invalid-body",
        ),
        (
            "method",
            api.request(reqwest::Method::PUT, "/api/v1/tenants")
                .json(&good),
            405,
            "method-not-allowed",
        ),
        (
            "no such route",
            api.request(reqwest::Method::GET, "/api/v1/nothing"),
            404,
            "not-found",
        ),
        (
            "bad idempotency key",
            api.request(reqwest::Method::POST, "/api/v1/tenants")
                .header("Idempotency-Key", "")
                .json(&good),
            400,
            "bad-request",
        ),
    ];
    for (label, request, status, kind) in cases {
        let (got, body) = send(request).await;
        assert_eq!((got, problem(&body)), (status, kind), "{label}: {body}");
    }
    assert_eq!(count().await, before, "nothing was created");
    let r = api
        .request(reqwest::Method::PUT, "/api/v1/tenants")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "GET, POST");
    // HEAD misses the way GET does: a path no tenant can have is not found.
    for path in [
        "/api/v1/tenants/abc",
        "/api/v1/tenants/99999999999999999999",
    ] {
        let r = api
            .request(reqwest::Method::HEAD, path)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "HEAD {path}");
    }
    let (_, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "", "subdomain": "Bad_Sub"}),
        )
        .await;
    assert!(body["errors"]["name"].is_string() && body["errors"]["subdomain"].is_string());
    assert_eq!(
        find(&app, t.a2.id).await.unwrap().parent_id,
        Some(t.acme.id)
    );
}

// ---------------------------------------------------------------- batch and idempotency

#[tokio::test]
async fn batches_answer_per_item_and_atomic_ones_all_or_nothing() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));

    let (status, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": false, "operations": [
                {"op": "create", "data": {"parent_id": t.acme.id, "name": "B1", "subdomain": "b1"}},
                {"op": "create", "data": {"parent_id": t.acme.id, "name": "B2", "subdomain": "Bad_Sub"}},
                {"op": "update", "id": t.a2.id, "data": {"name": "Renamed"}},
                {"op": "move", "id": t.a1.id, "parent_id": t.a1x.id},
                {"op": "move", "id": t.a1.id, "parent_id": t.globex.id},
                {"op": "delete", "id": t.g1.id, "force": false},
                {"op": "delete", "id": 999999},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], json!(true));
    let results = body["results"].as_array().unwrap();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 422, 200, 422, 200, 204, 404]);
    assert!(results[0]["id"].is_i64());
    assert_eq!(problem(&results[1]["error"]), "validation-failed");
    assert!(results[1]["error"]["errors"]["subdomain"].is_string());
    assert_eq!(find(&app, t.a2.id).await.unwrap().name, "Renamed");
    assert_eq!(
        find(&app, t.a1.id).await.unwrap().parent_id,
        Some(t.globex.id)
    );
    assert!(find(&app, t.g1.id).await.is_none());

    // Atomic: one failure, nothing applied.
    let (status, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": true, "operations": [
                {"op": "create", "data": {"parent_id": t.acme.id, "name": "C1", "subdomain": "c1"}},
                {"op": "update", "id": t.a2.id, "data": {"name": "Again"}},
                {"op": "move", "id": t.acme.id, "parent_id": t.a2.id},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], json!(false));
    let statuses: Vec<u64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [424, 424, 422]);
    assert_eq!(find(&app, t.a2.id).await.unwrap().name, "Renamed");
    assert!(Tenant::by_subdomain(&mut *app.conn().await, "c1")
        .await
        .unwrap()
        .is_none());
    // Atomic and all fine: all applied.
    let (_, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": true, "operations": [
                {"op": "create", "data": {"parent_id": t.acme.id, "name": "C1", "subdomain": "c1"}},
                {"op": "update", "id": t.a2.id, "data": {"name": "Again"}},
            ]}),
        )
        .await;
    assert_eq!(body["applied"], json!(true), "{body}");
    assert_eq!(find(&app, t.a2.id).await.unwrap().name, "Again");

    // Too many operations, or a malformed one: refused whole.
    let ops: Vec<Value> = (0..1001)
        .map(|i| json!({"op": "delete", "id": i}))
        .collect();
    let (status, body) = api
        .post("/api/v1/tenants/batch", json!({"operations": ops}))
        .await;
    assert_eq!((status, problem(&body)), (422, "too-many-operations"));
    let (status, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"operations": [{"op": "explode", "id": 1}]}),
        )
        .await;
    assert_eq!((status, problem(&body)), (400, "invalid-body"));
    let (status, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"operations": [{"op": "delete", "id": 1, "extra": true}]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn an_idempotency_key_applies_a_post_once() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let body = json!({"parent_id": t.acme.id, "name": "Once", "subdomain": "once"});
    let post = |key: &str, body: &Value| {
        api.request(reqwest::Method::POST, "/api/v1/tenants")
            .header("Idempotency-Key", key)
            .json(body)
            .send()
    };
    let first = post("k-1", &body).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post("k-1", &body).await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.headers()["location"].to_str().unwrap(),
        format!("/api/v1/tenants/{}", first["id"])
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let n: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM tenants WHERE subdomain = 'once'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);

    // The same key with another body: refused, nothing applied.
    let other = json!({"parent_id": t.acme.id, "name": "Twice", "subdomain": "twice"});
    let r = post("k-1", &other).await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let b: Value = r.json().await.unwrap();
    assert_eq!(problem(&b), "idempotency-key-reused");
    // A failed request is remembered too (same answer), without applying anything.
    let bad = json!({"parent_id": t.acme.id, "name": "Bad", "subdomain": "Bad_Sub"});
    assert_eq!(post("k-2", &bad).await.unwrap().status().as_u16(), 422);
    assert_eq!(post("k-2", &bad).await.unwrap().status().as_u16(), 422);
    // Keys are per user: another user's identical key is theirs.
    let bob = app.user(&app.root, "bob").await;
    app.grant(&bob, &app.root, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let bob_api = Api::new(&app, Some(&token_for(&app, &bob, false).await));
    let r = bob_api
        .request(reqwest::Method::POST, "/api/v1/tenants")
        .header("Idempotency-Key", "k-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    // Concurrent retries with one key: one applies, the rest replay it.
    let body = json!({"parent_id": t.acme.id, "name": "Race", "subdomain": "race"});
    let mut handles = Vec::new();
    for _ in 0..8 {
        let request = api
            .request(reqwest::Method::POST, "/api/v1/tenants")
            .header("Idempotency-Key", "race")
            .json(&body);
        handles.push(tokio::spawn(async move {
            request.send().await.unwrap().status().as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    let n: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM tenants WHERE subdomain = 'race'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // Moves and batches take keys as well.
    let mv = |key: &'static str| {
        api.request(
            reqwest::Method::POST,
            &format!("/api/v1/tenants/{}/move", t.a2.id),
        )
        .header("Idempotency-Key", key)
        .json(&json!({"parent_id": t.globex.id}))
        .send()
    };
    assert_eq!(mv("m").await.unwrap().status().as_u16(), 200);
    assert_eq!(
        mv("m").await.unwrap().headers()["idempotent-replayed"],
        "true"
    );
}

/// Statuses of a batch answer, in order.
fn statuses(body: &Value) -> Vec<u64> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {body}"))
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

async fn sql_count(app: &TestApp, sql: &str, id: i64) -> i64 {
    db(app).await.query_one(sql, &[&id]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_run_of_batch_creates_lands_whole_with_paths_role_copies_and_audit() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let templates = sql_count(
        &app,
        "SELECT count(*) FROM user_roles WHERE tenant_id = $1 AND multi_tenant",
        app.root.id,
    )
    .await;
    assert!(templates > 0, "bootstrap makes templates");
    let parents = [t.acme.id, t.globex.id, t.a1.id];
    let ops: Vec<Value> = (0..300)
        .map(|i| {
            json!({"op": "create", "data": {
                "parent_id": parents[i % 3], "name": format!("Bulk {i:03}"),
                "subdomain": format!("bulk-{i}"), "can_have_subtenants": i % 2 == 0,
            }})
        })
        .collect();
    let (status, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": true, "operations": ops}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], json!(true));
    assert_eq!(statuses(&body), vec![201; 300]);
    let ids: Vec<i64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids follow the order");
    for (i, id) in ids.iter().enumerate().step_by(37) {
        let (status, tenant) = api.get(&format!("/api/v1/tenants/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(tenant["subdomain"], json!(format!("bulk-{i}")));
        assert_eq!(tenant["parent_id"], json!(parents[i % 3]));
        assert_eq!(tenant["can_have_subtenants"], json!(i % 2 == 0));
        let parent = find(&app, parents[i % 3]).await.unwrap();
        let mut path = parent.path.clone();
        path.push(*id);
        assert_eq!(find(&app, *id).await.unwrap().path, path);
    }
    crate::tree_ops::assert_tree_valid(&app).await;
    let client = db(&app).await;
    let copies: i64 = client
        .query_one(
            "SELECT count(*) FROM user_roles WHERE tenant_id = ANY($1) AND template_id IS NOT NULL",
            &[&ids],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        copies,
        300 * templates,
        "every new tenant has a linked copy of each template"
    );
    let audited: i64 = client
        .query_one(
            "SELECT count(DISTINCT tenant_id) FROM audit_events \
             WHERE action = 'tenant.create' AND tenant_id = ANY($1) AND actor_user_id = $2",
            &[&ids, &app.admin.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        audited, 300,
        "one audit event per tenant, by the token's user"
    );
}

#[tokio::test]
async fn batch_creates_fail_one_by_one_without_stopping_the_others() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let alice = app.user(&t.acme, "alice").await;
    app.grant(
        &alice,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let api = Api::new(&app, Some(&token_for(&app, &alice, false).await));
    let create = |parent: i64, sub: &str, domain: Option<&str>| json!({"op": "create", "data": {"parent_id": parent, "name": sub, "subdomain": sub, "custom_domain": domain}});
    let (status, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": false, "operations": [
                create(t.acme.id, "n1", Some("n1.example.org")),
                create(t.acme.id, "a2", None),                      // taken in the database
                create(t.a1.id, "n1", None),                        // taken by item 0
                create(t.a1x.id, "n3", None),                       // a1x may not have sub-tenants
                create(t.globex.id, "n4", None),                    // not hers: 404
                create(t.acme.id, "n5", Some("N1.example.org")),    // domain taken by item 0
                create(t.acme.id, "Bad_Sub", None),                 // invalid
                create(t.a1.id, "n7", None),
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), [201, 422, 422, 422, 404, 422, 422, 201]);
    let results = &body["results"];
    assert!(
        results[1]["error"]["errors"]["subdomain"].is_string(),
        "{body}"
    );
    assert!(
        results[2]["error"]["errors"]["subdomain"].is_string(),
        "{body}"
    );
    assert!(
        results[3]["error"]["errors"]["parent_id"].is_string(),
        "{body}"
    );
    assert!(
        results[5]["error"]["errors"]["custom_domain"].is_string(),
        "{body}"
    );
    let mut conn = app.conn().await;
    for (sub, parent) in [("n1", Some(t.acme.id)), ("n7", Some(t.a1.id))] {
        let created = Tenant::by_subdomain(&mut conn, sub).await.unwrap().unwrap();
        assert_eq!(created.parent_id, parent);
    }
    for sub in ["n3", "n4", "n5"] {
        assert!(
            Tenant::by_subdomain(&mut conn, sub)
                .await
                .unwrap()
                .is_none(),
            "{sub}"
        );
    }

    // Atomic: the first failing create is named, nothing is created.
    let ops: Vec<Value> = (0..10)
        .map(|i| {
            create(
                t.acme.id,
                &if i == 6 {
                    "a2".to_string()
                } else {
                    format!("m{i}")
                },
                None,
            )
        })
        .collect();
    let (_, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": true, "operations": ops}),
        )
        .await;
    assert_eq!(body["applied"], json!(false), "{body}");
    let mut expected = vec![424; 10];
    expected[6] = 422;
    assert_eq!(statuses(&body), expected);
    assert!(Tenant::by_subdomain(&mut conn, "m0")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_batches_create_each_subdomain_once_and_answer_every_item() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let token = token_for(&app, &app.admin, false).await;
    let ops: Vec<Value> = (0..60)
        .map(|i| json!({"op": "create", "data": {"parent_id": t.acme.id, "name": format!("R{i}"), "subdomain": format!("rc-{i}")}}))
        .collect();
    let mut handles = Vec::new();
    for k in 0..4 {
        let api = Api::new(&app, Some(&token));
        // Each request in its own order, so that they collide part-way.
        let mut ops = ops.clone();
        ops.rotate_left(k * 15);
        handles.push(tokio::spawn(async move {
            api.post(
                "/api/v1/tenants/batch",
                json!({"atomic": false, "operations": ops}),
            )
            .await
        }));
    }
    let mut created = 0;
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert_eq!(status, 200, "{body}");
        for s in statuses(&body) {
            assert!(s == 201 || s == 422, "{body}");
            created += usize::from(s == 201);
        }
    }
    assert_eq!(created, 60, "every subdomain created exactly once");
    let n: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM tenants WHERE subdomain LIKE 'rc-%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 60);
    crate::tree_ops::assert_tree_valid(&app).await;
}

// ---------------------------------------------------------------- OpenAPI

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let (status, doc) = Api::new(&app, None).get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    for route in tenantry::web::routes() {
        if !route.path.starts_with("/api/") || route.path.ends_with("openapi.json") {
            continue;
        }
        let method = route.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][route.path][&method];
        assert!(op.is_object(), "{} {} missing", route.method, route.path);
        for code in ["401", "404"] {
            assert!(op["responses"][code].is_object(), "{} {}", route.path, code);
        }
    }
    assert!(doc["components"]["schemas"]["Tenant"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

// ---------------------------------------------------------------- authorization matrix

use crate::matrix::{self, Outcome};

/// How an API route is authorized, in the matrix's reference model.
#[derive(Clone, Copy, Debug)]
enum ApiRule {
    /// No token needed (the OpenAPI document).
    Public,
    /// Any valid token.
    Token,
    /// Tenants at least read on `{id}`.
    Read,
    /// Creating under the tenant posted as `parent_id`.
    CreateUnder,
    /// Editing `{id}` (whoever manages its parent).
    Edit,
    /// Deleting `{id}` (Owner over its parent).
    Delete,
    /// Moving `{id}` under itself: Owner over its parent, then managing the
    /// destination (itself), then refused as a cycle (422).
    MoveUnderItself,
    /// Approving a custom domain without its DNS proof: Owners of the root only.
    ApproveDomain,
    /// Usage ingestion takes an ingestion key, never a personal token: 401.
    IngestionKey,
    /// This level on `{id}` (the rules' feature; levels are uniform in the fixture).
    Level(tenantry::domain::Level),
    /// This level on `{id}`, then a made-up item: 404.
    Item(tenantry::domain::Level),
    /// A rule-set migration from `{id}`: Owners and Administrators over it with
    /// Rules full (the fixture's grant givers).
    MigrateFrom,
    /// A made-up migration: 404 for every token.
    Missing,
    /// The plans: root Owners and Administrators (the fixture's admin), else 404.
    Plans,
}

/// The rule and the body of every API route (bodies that fail validation after
/// authorization, so allowed requests change nothing). A new API route without an
/// entry here fails the matrix.
fn api_rule_for(method: &str, path: &str) -> Option<(ApiRule, Option<Value>)> {
    use tenantry::domain::Level::{Full as F, Read as R};
    use ApiRule::*;
    Some(match (method, path) {
        ("GET", "/api/v1/openapi.json") => (Public, None),
        ("GET", "/api/v1/tenants") => (Token, None),
        ("POST", "/api/v1/tenants/batch") => (Token, Some(json!({"operations": []}))),
        // Nothing selected: 422 after authorization; each tenant's right is bulk.rs's.
        ("POST", "/api/v1/tenants/bulk") => (Token, Some(json!({"ids": [], "action": "disable"}))),
        ("POST", "/api/v1/tenants") => (
            CreateUnder,
            Some(json!({"parent_id": 0, "name": "", "subdomain": "Bad_Sub"})),
        ),
        ("GET", "/api/v1/tenants/{id}") => (Read, None),
        // Audit read (levels are uniform across features in the fixture).
        ("GET", "/api/v1/tenants/{id}/activity") => (Read, None),
        // Usage read (Viewers too); which rows each sees is usage_stats.rs's test.
        ("GET", "/api/v1/tenants/{id}/stats") => (Read, None),
        ("PATCH", "/api/v1/tenants/{id}") => (Edit, Some(json!({"subdomain": "Bad_Sub"}))),
        // Every fixture tenant holds a user: a safe delete is refused (409), nothing goes.
        ("DELETE", "/api/v1/tenants/{id}") => (Delete, None),
        ("POST", "/api/v1/tenants/{id}/move") => (MoveUnderItself, Some(json!({"parent_id": 0}))),
        // The fixture's tenants have no custom domain: 422, nothing changes.
        ("POST", "/api/v1/tenants/{id}/custom-domain/verify") => (Edit, None),
        ("POST", "/api/v1/tenants/{id}/custom-domain/approve") => (
            ApproveDomain,
            Some(json!({"custom_domain": "console.example.org"})),
        ),
        ("POST", "/api/v1/usage") => (IngestionKey, Some(json!({"batch_id": "x", "events": []}))),
        // Rules (#13): bodies that fail validation after authorization.
        ("GET", "/api/v1/tenants/{id}/applications")
        | ("GET", "/api/v1/tenants/{id}/domains")
        | ("GET", "/api/v1/tenants/{id}/rules")
        | ("GET", "/api/v1/tenants/{id}/ruleset") => (Level(R), None),
        ("POST", "/api/v1/tenants/{id}/applications")
        | ("POST", "/api/v1/tenants/{id}/domains") => (Level(F), Some(json!({"name": ""}))),
        ("POST", "/api/v1/tenants/{id}/rules") => (
            Level(F),
            Some(json!({"kind": "mode", "value": "x", "action": "block"})),
        ),
        // Every rule refused: 200 with per-rule 422s, nothing created.
        ("POST", "/api/v1/tenants/{id}/rules/batch") => (
            Level(F),
            Some(json!({"rules": [{"kind": "mode", "value": "x", "action": "block"}]})),
        ),
        ("GET", "/api/v1/tenants/{id}/applications/{aid}")
        | ("GET", "/api/v1/tenants/{id}/domains/{did}")
        | ("GET", "/api/v1/tenants/{id}/rules/{rid}") => (Item(R), None),
        ("PATCH", "/api/v1/tenants/{id}/applications/{aid}") => {
            (Item(F), Some(json!({"name": "x"})))
        }
        ("PATCH", "/api/v1/tenants/{id}/domains/{did}")
        | ("PATCH", "/api/v1/tenants/{id}/rules/{rid}") => (Item(F), Some(json!({}))),
        ("DELETE", "/api/v1/tenants/{id}/applications/{aid}")
        | ("DELETE", "/api/v1/tenants/{id}/domains/{did}")
        | ("DELETE", "/api/v1/tenants/{id}/rules/{rid}") => (Item(F), None),
        // Rule-set migrations (#13 part B): a target that does not exist is 422
        // after authorization; the list is everyone's (what each sees is
        // migration_pages.rs's test); a made-up migration is 404.
        ("POST", "/api/v1/tenants/{id}/rules/migrate") => (MigrateFrom, Some(json!({"target": 0}))),
        // Resources (#14): bodies that fail validation after authorization.
        ("GET", "/api/v1/tenants/{id}/clouds")
        | ("GET", "/api/v1/tenants/{id}/instances")
        | ("GET", "/api/v1/tenants/{id}/usage") => (Level(R), None),
        ("POST", "/api/v1/tenants/{id}/clouds") => {
            (Level(F), Some(json!({"name": "", "provider": "aws"})))
        }
        ("POST", "/api/v1/tenants/{id}/instances") => (
            Level(F),
            Some(json!({"name": "", "cloud_id": 1, "storage_gb": 0, "memory_gb": 0})),
        ),
        ("GET", "/api/v1/tenants/{id}/clouds/{rid}")
        | ("GET", "/api/v1/tenants/{id}/instances/{rid}") => (Item(R), None),
        ("PATCH", "/api/v1/tenants/{id}/clouds/{rid}")
        | ("PATCH", "/api/v1/tenants/{id}/instances/{rid}") => (Item(F), Some(json!({}))),
        ("DELETE", "/api/v1/tenants/{id}/clouds/{rid}")
        | ("DELETE", "/api/v1/tenants/{id}/instances/{rid}") => (Item(F), None),
        ("GET", "/api/v1/migrations") => (Token, None),
        // Resolvers, devices, subnets (#14 part B): bodies that parse but fail
        // validation after authorization; made-up items 404 once authorized.
        ("GET", "/api/v1/tenants/{id}/resolvers")
        | ("GET", "/api/v1/tenants/{id}/devices")
        | ("GET", "/api/v1/tenants/{id}/subnets") => (Level(R), None),
        ("POST", "/api/v1/tenants/{id}/resolvers") => {
            (Level(F), Some(json!({"name": "", "address": ""})))
        }
        ("POST", "/api/v1/tenants/{id}/devices") => (
            Level(F),
            Some(json!({"name": "", "identifier": "", "resolver_id": 1})),
        ),
        ("POST", "/api/v1/tenants/{id}/subnets") => {
            (Level(F), Some(json!({"cidr": "", "resolver_id": 1})))
        }
        ("GET", "/api/v1/tenants/{id}/resolvers/{rid}")
        | ("GET", "/api/v1/tenants/{id}/devices/{did}")
        | ("GET", "/api/v1/tenants/{id}/subnets/{sid}") => (Item(R), None),
        ("PATCH", "/api/v1/tenants/{id}/resolvers/{rid}")
        | ("PATCH", "/api/v1/tenants/{id}/devices/{did}")
        | ("PATCH", "/api/v1/tenants/{id}/subnets/{sid}") => (Item(F), Some(json!({}))),
        ("DELETE", "/api/v1/tenants/{id}/resolvers/{rid}")
        | ("DELETE", "/api/v1/tenants/{id}/devices/{did}")
        | ("DELETE", "/api/v1/tenants/{id}/subnets/{sid}") => (Item(F), None),
        // Policies (#15): Policies read to read, full to write; a body that parses but
        // fails validation after authorization; made-up items 404 once authorized.
        ("GET", "/api/v1/tenants/{id}/policies")
        | ("GET", "/api/v1/tenants/{id}/policies/effective") => (Level(R), None),
        ("POST", "/api/v1/tenants/{id}/policies") => {
            (Level(F), Some(json!({"name": "", "kind": "deny_list"})))
        }
        ("GET", "/api/v1/tenants/{id}/policies/{pid}") => (Item(R), None),
        ("PATCH", "/api/v1/tenants/{id}/policies/{pid}")
        | ("POST", "/api/v1/tenants/{id}/policies/{pid}/override") => (Item(F), Some(json!({}))),
        ("DELETE", "/api/v1/tenants/{id}/policies/{pid}") => (Item(F), None),
        // Branding (#16): Settings read to read, full to change; an empty name and an
        // empty upload fail validation after authorization; removing a logo the
        // fixture's tenants do not have changes nothing.
        ("GET", "/api/v1/tenants/{id}/branding") => (Level(R), None),
        ("PUT", "/api/v1/tenants/{id}/branding") => (
            Level(F),
            Some(
                json!({"product_name": "", "primary_color": null, "support_email": null, "support_url": null}),
            ),
        ),
        ("PUT", "/api/v1/tenants/{id}/branding/logo")
        | ("DELETE", "/api/v1/tenants/{id}/branding/logo") => (Level(F), None),
        // Plans (#16): the fixture's spare plan, on which no tenant is (so its delete
        // goes through: it is the last of these routes).
        ("GET", "/api/v1/plans") | ("GET", "/api/v1/plans/{id}") => (Plans, None),
        ("POST", "/api/v1/plans")
        | ("PUT", "/api/v1/plans/{id}")
        | ("PATCH", "/api/v1/plans/{id}") => (Plans, Some(json!({"name": ""}))),
        ("DELETE", "/api/v1/plans/{id}") => (Plans, None),
        ("GET", "/api/v1/migrations/{id}")
        | ("POST", "/api/v1/migrations/{id}/rollback")
        | ("POST", "/api/v1/migrations/{id}/retry") => (Missing, None),
        _ => return None,
    })
}

fn api_expected(rule: ApiRule, user: &str, tenant: &str) -> Outcome {
    use matrix::{at_least, gate, manages, owns_children, parent};
    if user == "anonymous" || matches!(rule, ApiRule::IngestionKey) {
        return match rule {
            ApiRule::Public => Outcome::Allowed,
            // 401: "log in" with a token.
            _ => Outcome::Login,
        };
    }
    match rule {
        ApiRule::Public | ApiRule::Token => Outcome::Allowed,
        ApiRule::Read => at_least(user, tenant, tenantry::domain::Level::Read),
        ApiRule::CreateUnder => gate(user, tenant, manages(user, tenant)),
        ApiRule::Edit => gate(
            user,
            tenant,
            match parent(tenant) {
                Some(p) => manages(user, p),
                None => user == "admin",
            },
        ),
        ApiRule::Delete => gate(
            user,
            tenant,
            parent(tenant).is_some_and(|p| owns_children(user, p)),
        ),
        ApiRule::MoveUnderItself => gate(
            user,
            tenant,
            parent(tenant).is_some_and(|p| owns_children(user, p)) && manages(user, tenant),
        ),
        ApiRule::ApproveDomain => gate(user, tenant, user == "admin"),
        ApiRule::IngestionKey => Outcome::Login,
        ApiRule::Level(l) => at_least(user, tenant, l),
        ApiRule::Item(l) => match at_least(user, tenant, l) {
            Outcome::Allowed => Outcome::NotFound,
            other => other,
        },
        ApiRule::MigrateFrom => gate(user, tenant, matrix::gives_grants(user, tenant)),
        ApiRule::Missing => Outcome::NotFound,
        ApiRule::Plans if user == "admin" => Outcome::Allowed,
        ApiRule::Plans => Outcome::NotFound,
    }
}

fn api_classify(status: u16) -> Outcome {
    match status {
        401 => Outcome::Login,
        404 => Outcome::NotFound,
        403 => Outcome::Forbidden,
        200 | 201 | 204 | 400 | 409 | 422 => Outcome::Allowed,
        other => panic!("unexpected status {other}"),
    }
}

#[tokio::test]
async fn every_api_route_for_every_user_and_tenant() {
    let routes: Vec<(String, &'static str)> = tenantry::web::routes()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    let missing: Vec<String> = routes
        .iter()
        .filter(|(m, p)| api_rule_for(m, p).is_none())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(missing.is_empty(), "API routes without a rule: {missing:?}");

    let w = matrix::world().await;
    let app = &w._app;
    // A token for every fixture user (anonymous: none).
    let mut tokens: std::collections::HashMap<&str, Option<String>> = Default::default();
    for user in matrix::USERS {
        let token = match user {
            "anonymous" => None,
            name => {
                let (subdomain, username) = match name {
                    "admin" => ("root", ADMIN_USER),
                    other => (w.tenants[matrix::home(other)].subdomain.as_str(), other),
                };
                let (u, _) = User::find_for_login(&mut *app.conn().await, subdomain, username)
                    .await
                    .unwrap()
                    .unwrap();
                Some(token_for(app, &u, false).await)
            }
        };
        tokens.insert(user, token);
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, path) in &routes {
        let (rule, body) = api_rule_for(method, path).unwrap();
        let plans = matches!(rule, ApiRule::Plans);
        let per_tenant = !plans && (path.contains("{id}") || matches!(rule, ApiRule::CreateUnder));
        let targets: Vec<&str> = if per_tenant {
            matrix::TENANTS.to_vec()
        } else {
            vec!["root"]
        };
        for user in matrix::USERS {
            let api = Api::new(app, tokens[user].as_deref());
            for tenant in &targets {
                let id = if plans {
                    w.spare_plan
                } else {
                    w.tenants[tenant].id
                };
                let url = path
                    .replace("{id}", &id.to_string())
                    .replace("{aid}", matrix::MADE_UP)
                    .replace("{did}", matrix::MADE_UP)
                    .replace("{rid}", matrix::MADE_UP)
                    .replace("{sid}", matrix::MADE_UP)
                    .replace("{pid}", matrix::MADE_UP)
                    .replace("{mid}", matrix::MADE_UP);
                let mut request = api.request(method.parse().unwrap(), &url);
                if let Some(mut body) = body.clone() {
                    if body.get("parent_id").is_some() {
                        body["parent_id"] = json!(id);
                    }
                    request = request.json(&body);
                }
                let (status, response) = send(request).await;
                assert!(status < 500, "{user} {method} {url}: {status} {response}");
                let got = api_classify(status);
                let want = api_expected(rule, user, tenant);
                checked += 1;
                if got != want {
                    failures.push(format!(
                        "{method} {path} as {user} on {tenant}: expected {want:?}, got {got:?} ({response})"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 300, "the API matrix covered only {checked} cases");
    // Nothing changed: every fixture tenant is still there.
    for t in w.tenants.values() {
        assert!(app.reload(t).await.is_some());
    }
}

/// "May have sub-tenants" stays on for the root (whatever is sent) and for a tenant
/// that has sub-tenants (turning it off would strand them); a leaf may drop it.
#[tokio::test]
async fn may_have_subtenants_stays_on_where_there_are_sub_tenants() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let off = json!({"can_have_subtenants": false});
    let (status, body) = api
        .patch(&format!("/api/v1/tenants/{}", app.root.id), off.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(find(&app, app.root.id).await.unwrap().can_have_subtenants);
    let (status, body) = api
        .patch(&format!("/api/v1/tenants/{}", t.acme.id), off.clone())
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"]["can_have_subtenants"]
            .as_str()
            .unwrap_or_default()
            .contains("has sub-tenants"),
        "{body}"
    );
    assert!(find(&app, t.acme.id).await.unwrap().can_have_subtenants);
    let leaf = app.tenant(&t.a2, "leaf", true).await;
    let (status, body) = api
        .patch(&format!("/api/v1/tenants/{}", leaf.id), off)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!find(&app, leaf.id).await.unwrap().can_have_subtenants);
}

/// A PATCH leaves out what it keeps; `null` is no value for a name (or any field
/// but the custom domain): a 422 with a field error, and nothing changes.
#[tokio::test]
async fn a_null_name_is_a_field_error_not_a_silent_no_op() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let path = format!("/api/v1/tenants/{}", t.acme.id);
    let (status, body) = api
        .patch(&path, json!({"name": null, "description": "Changed"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"]["name"]
            .as_str()
            .is_some_and(|m| m.contains("May not be null")),
        "{body}"
    );
    for field in ["enabled", "tenant_role_id", "labels"] {
        let (status, body) = api
            .patch(&path, json!({field: null, "description": "Changed"}))
            .await;
        assert_eq!(status, 422, "{field}: {body}");
        assert!(body["errors"][field].is_string(), "{field}: {body}");
    }
    let acme = find(&app, t.acme.id).await.unwrap();
    assert_eq!(
        (acme.name, acme.description, acme.enabled),
        (t.acme.name.clone(), t.acme.description.clone(), true)
    );
}
