//! The rule-set migrations' JSON API (#13 part B): start (202 with `Location`),
//! read, list, rollback and retry, through the same services as the pages; 404 for
//! what the token's user may not see, 422 for a bad target or mapping, 423 while a
//! tenant is locked, 409 for a migration in another state.

use crate::api::{token_for, Api};
use crate::migration_pages::{app, fail, run, setup, state};
use serde_json::json;
use tenantry::services::rule_migrations::Ran;

#[tokio::test]
async fn the_api_starts_follows_rolls_back_and_retries_a_migration() {
    let app = app().await;
    let s = setup(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (src, dst) = (s.t.acme.id, s.t.globex.id);
    let url = format!("/api/v1/tenants/{src}/rules/migrate");

    // Bad input: never a 500, nothing started.
    for (body, field) in [
        (json!({"target": 999_999_999}), "target"),
        (json!({"target": src}), "target"),
        (
            json!({"target": dst, "applications": {"x": null}}),
            "applications",
        ),
        (json!({"target": dst, "domains": {"-1": null}}), "domains"),
    ] {
        let (status, v) = api.post(&url, body.clone()).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert!(v["errors"][field].is_string(), "{body}: {v}");
    }
    for body in [
        json!({"target": "abc"}),
        json!({"target": dst, "extra": 1}),
        json!([]),
    ] {
        let (status, v) = api.post(&url, body.clone()).await;
        assert!(status == 400 || status == 422, "{body}: {status} {v}");
    }
    // Another tenant's application as a target: refused, naming the field.
    let (status, v) = api
        .post(
            &url,
            json!({"target": dst, "applications": {s.shop.to_string(): s.g1_app}}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v.to_string()
            .contains(&format!("map_application_{}", s.shop)),
        "{v}"
    );
    let (_, list) = api.get("/api/v1/migrations").await;
    assert_eq!(list["items"], json!([]), "{list}");

    // Started: 202, Location, queued; both tenants locked (423 for a second one).
    let body = json!({"target": dst,
        "applications": {s.shop.to_string(): s.store, s.blog.to_string(): null},
        "domains": {s.dom.to_string(): s.store_dom}});
    let r = api
        .request(reqwest::Method::POST, &url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let v: serde_json::Value = r.json().await.unwrap();
    let mid = v["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/migrations/{mid}"));
    assert_eq!(v["state"], "queued");
    assert_eq!(v["target_tenant_id"], dst);
    let (status, again) = api.post(&url, body.clone()).await;
    assert_eq!(status, 423, "{again}");
    // A method the path does not take is 405 whether or not the tenant is locked.
    let (status, v) = api.get(&url).await;
    assert_eq!(status, 405, "{v}");
    let (status, v) = api.get(&location).await;
    assert_eq!(status, 200, "{v}");
    let (_, list) = api.get("/api/v1/migrations?limit=1").await;
    assert_eq!(list["items"][0]["id"], mid, "{list}");

    // Done: rollback and retry refused (409).
    assert_eq!(run(&app).await, Ran::Done(mid));
    let (_, v) = api.get(&location).await;
    assert_eq!(
        (v["state"].as_str(), v["copied"].as_i64()),
        (Some("done"), Some(10))
    );
    for action in ["rollback", "retry"] {
        let (status, v) = api.post(&format!("{location}/{action}"), json!({})).await;
        assert_eq!(status, 409, "{action}: {v}");
    }

    // A second one fails: retried, fails again, rolled back.
    let (status, v) = api.post(&url, body).await;
    assert_eq!(status, 202, "{v}");
    let mid = v["id"].as_i64().unwrap();
    fail(&app, mid, "boom").await;
    let (status, v) = api
        .post(&format!("/api/v1/migrations/{mid}/retry"), json!({}))
        .await;
    assert_eq!((status, v["state"].as_str()), (200, Some("queued")), "{v}");
    fail(&app, mid, "boom").await;
    let (status, v) = api
        .post(&format!("/api/v1/migrations/{mid}/rollback"), json!({}))
        .await;
    assert_eq!(
        (status, v["state"].as_str()),
        (200, Some("rolled_back")),
        "{v}"
    );
    assert_eq!(state(&app, mid).await, "rolled_back");

    // Who may not see both tenants: 404, and an empty list.
    let other = app.user(&s.t.g1, "g1api").await;
    app.grant(
        &other,
        &s.t.g1,
        tenantry::domain::GrantRole::Administrator,
        tenantry::domain::Scope::Subtree,
        true,
    )
    .await;
    let theirs = Api::new(&app, Some(&token_for(&app, &other, false).await));
    let (status, _) = theirs.get(&format!("/api/v1/migrations/{mid}")).await;
    assert_eq!(status, 404);
    let (status, _) = theirs
        .post(&format!("/api/v1/migrations/{mid}/rollback"), json!({}))
        .await;
    assert_eq!(status, 404);
    let (_, list) = theirs.get("/api/v1/migrations").await;
    assert_eq!(list["items"], json!([]), "{list}");
    let (status, _) = theirs.get("/api/v1/migrations?cursor=nope").await;
    assert_eq!(status, 422);
}

/// The start reads ids as its document states them: a target or a mapping's value
/// may be an integral float (`3.0`, as JSON Schema counts integers); a mapping's
/// key is a source id written plainly, once.
#[tokio::test]
async fn a_start_reads_ids_as_its_document_states_them() {
    let app = app().await;
    let s = setup(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (src, dst) = (s.t.acme.id, s.t.globex.id);
    let url = format!("/api/v1/tenants/{src}/rules/migrate");
    for key in ["01", " 1", "1 ", "+1", "1.0"] {
        let key = key.replace('1', &s.shop.to_string());
        let (status, v) = api
            .post(
                &url,
                json!({"target": dst, "applications": {key.clone(): null}}),
            )
            .await;
        assert_eq!(status, 422, "{key:?}: {v}");
        let e = v["errors"]["applications"].as_str().unwrap();
        assert!(e.contains(&format!("“{key}”")), "{key:?}: {e}");
    }
    // A key twice (JSON allows it): refused rather than one of them taken.
    let twice = format!(
        r#"{{"target": {dst}, "domains": {{"{d}": null, "{d}": {to}}}}}"#,
        d = s.dom,
        to = s.store_dom
    );
    let (status, v) = crate::api::send(
        api.request(reqwest::Method::POST, &url)
            .header("Content-Type", "application/json")
            .body(twice),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("duplicate key"),
        "{v}"
    );
    let (_, list) = api.get("/api/v1/migrations").await;
    assert_eq!(list["items"], json!([]), "nothing started: {list}");

    let (status, v) = api
        .post(
            &url,
            json!({"target": dst as f64,
                   "applications": {s.shop.to_string(): s.store as f64},
                   "domains": {s.dom.to_string(): s.store_dom as f64}}),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["target_tenant_id"], dst);
    assert_eq!(
        v["mappings"]["applications"][s.shop.to_string()],
        json!(s.store),
        "{v}"
    );
    assert_eq!(
        v["mappings"]["domains"][s.dom.to_string()],
        json!(s.store_dom)
    );
    assert_eq!(run(&app).await, Ran::Done(v["id"].as_i64().unwrap()));
}
