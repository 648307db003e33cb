//! #13's last review findings: a PATCH sending `null` for a field that cannot be
//! null is refused (L2), every bad login path is named (L5), a migration's total
//! is known from its start (L6), and a rollback leaves the rules it did not need
//! to touch as they were, since-version included (L1).

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::migration_pages::{app, fail, setup};
use serde_json::json;

const NOT_NULL: &str = "May not be null: send a value, or leave the field out to keep it.";

#[tokio::test]
async fn a_null_for_a_field_that_cannot_be_null_is_a_field_error_and_changes_nothing() {
    let app = app().await;
    let s = setup(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let base = format!("/api/v1/tenants/{}", s.t.globex.id);
    let (_, rules) = api.get(&format!("{base}/rules")).await;
    let rule = rules["items"][0].clone();
    let url = format!("{base}/rules/{}", rule["id"]);
    let (_, version_before) = api.get(&format!("{base}/ruleset")).await;

    for field in ["enabled", "kind", "value", "action"] {
        let (status, v) = api.patch(&url, json!({ field: null })).await;
        assert_eq!(status, 422, "{field}: {v}");
        assert_eq!(v["errors"][field], NOT_NULL, "{field}: {v}");
        assert_eq!(v["errors"].as_object().unwrap().len(), 1, "{v}");
    }
    // Several at once, next to a valid change: every null named, nothing changed.
    let (status, v) = api
        .patch(
            &url,
            json!({"enabled": null, "kind": null, "value": "9.9.9.9"}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let mut named: Vec<&String> = v["errors"].as_object().unwrap().keys().collect();
    named.sort();
    assert_eq!(named, ["enabled", "kind"], "{v}");
    let (_, now) = api.get(&url).await;
    assert_eq!(now, rule, "the rule is unchanged");
    let (_, version_now) = api.get(&format!("{base}/ruleset")).await;
    assert_eq!(version_now["version"], version_before["version"]);

    // `null` still clears what it clears.
    let (status, v) = api.patch(&url, json!({"path": null})).await;
    assert_eq!((status, &v["path"]), (200, &json!(null)), "{v}");

    // A domain's name, an application's name.
    let dom = format!("{base}/domains/{}", s.store_dom);
    let (status, v) = api.patch(&dom, json!({"name": null})).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["errors"]["name"], NOT_NULL, "{v}");
    assert_eq!(
        v["type"].as_str().map(|t| t.ends_with("validation-failed")),
        Some(true),
        "{v}"
    );
    let (_, d) = api.get(&dom).await;
    assert_eq!(d["name"], "store.example.net");
    let (status, v) = api
        .patch(&dom, json!({"name": null, "application_id": null}))
        .await;
    assert_eq!(status, 422, "{v}");
    let (_, d) = api.get(&dom).await;
    assert_eq!(d["application_id"], s.store, "unchanged: {d}");
    let app_url = format!("{base}/applications/{}", s.store);
    let (status, v) = api.patch(&app_url, json!({"name": null})).await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["errors"]["name"]
            .as_str()
            .unwrap()
            .starts_with("May not be null"),
        "{v}"
    );
    let (_, a) = api.get(&app_url).await;
    assert_eq!(a["name"], "Store");
}

#[tokio::test]
async fn every_bad_login_path_is_named_with_its_line() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let page = &app;
    let id = s.t.globex.id;
    let r = page
        .post_form(
            &format!("/tenants/{id}/credential-stuffing"),
            &[
                ("enabled", "true"),
                ("threshold", "10"),
                ("window_minutes", "5"),
                ("login_paths", "/login\nsso\n/a b\n\nadmin\n/ok"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    let e = field_error(&html, "login_paths").unwrap();
    assert!(e.starts_with("Lines 2 and 5: A path starts with "), "{e}");
    assert!(
        e.contains("Line 3: A path cannot contain spaces or control characters."),
        "{e}"
    );
    // The text is kept for correcting.
    assert!(html.contains("/login\nsso\n/a b\n\nadmin\n/ok"), "{html}");
}

#[tokio::test]
async fn a_queued_migration_shows_its_total_from_the_start() {
    let app = app().await;
    let s = setup(&app).await;
    let (api, v) = crate::migration_review::started(&app, &s).await;
    let mid = v["id"].as_i64().unwrap();
    assert_eq!(
        (
            v["state"].as_str(),
            v["copied"].as_i64(),
            v["total"].as_i64()
        ),
        (Some("queued"), Some(0), Some(10)),
        "{v}"
    );
    app.login_admin().await;
    let html = app.get_html(&format!("/migrations/{mid}")).await;
    assert!(
        html.contains(
            "Queued: <span id=\"migration-copied\">0</span> of <span id=\"migration-total\">10</span> rules copied"
        ),
        "{html}"
    );
    // A retry counts the source again: it may have changed while it was unlocked.
    fail(&app, mid, "boom").await;
    let src = format!("/api/v1/tenants/{}/rules", s.t.acme.id);
    let (status, r) = api
        .post(
            &src,
            json!({"kind": "block_ip", "value": "10.9.9.0/24", "action": "block"}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let (status, v) = api
        .post(&format!("/api/v1/migrations/{mid}/retry"), json!({}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            v["state"].as_str(),
            v["copied"].as_i64(),
            v["total"].as_i64()
        ),
        (Some("queued"), Some(0), Some(11)),
        "{v}"
    );
}

/// The target's rules as (id, since_version, content).
async fn target_rules(api: &Api, tenant: i64) -> Vec<serde_json::Value> {
    let (status, v) = api
        .get(&format!("/api/v1/tenants/{tenant}/rules?limit=500"))
        .await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_rollback_keeps_each_rules_since_version() {
    let app = app().await;
    let s = setup(&app).await;
    let dst = s.t.globex.id;
    let admin = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let before = target_rules(&admin, dst).await;
    assert_eq!(before.len(), 2);
    assert_ne!(before[0]["since_version"], before[1]["since_version"]);
    let (api, v) = crate::migration_review::started(&app, &s).await;
    let mid = v["id"].as_i64().unwrap();
    fail(&app, mid, "boom").await;
    let (status, v) = api
        .post(&format!("/api/v1/migrations/{mid}/rollback"), json!({}))
        .await;
    assert_eq!(
        (status, v["state"].as_str()),
        (200, Some("rolled_back")),
        "{v}"
    );
    assert_eq!(target_rules(&admin, dst).await, before);
    // The rollback is still a version of its own, equal to the one before.
    let (_, set) = admin.get(&format!("/api/v1/tenants/{dst}/ruleset")).await;
    let head = set["version"].as_i64().unwrap();
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{dst}/rules/versions"))
        .await;
    assert!(html.contains("Rolled back migration"), "{html}");
    assert!(head > before[1]["since_version"].as_i64().unwrap());
}

/// Restoring to a version the rules changed since: rules untouched since keep
/// their rows, changed and deleted ones come back under their ids, new ones go.
#[tokio::test]
async fn restoring_rules_rewrites_only_what_differs() {
    let app = app().await;
    let s = setup(&app).await;
    let dst = s.t.globex.id;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let base = format!("/api/v1/tenants/{dst}/rules");
    let (_, r) = api
        .post(
            &base,
            json!({"kind": "block_ip", "value": "7.7.7.7", "action": "block"}),
        )
        .await;
    let third = r["id"].as_i64().unwrap();
    let before = target_rules(&api, dst).await;
    let version = before
        .iter()
        .map(|r| r["since_version"].as_i64().unwrap())
        .max()
        .unwrap();
    let (first, second) = (
        before[0]["id"].as_i64().unwrap(),
        before[1]["id"].as_i64().unwrap(),
    );
    let (status, _) = api
        .patch(&format!("{base}/{second}"), json!({"value": "6.6.6.6"}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = api.delete(&format!("{base}/{third}")).await;
    assert_eq!(status, 204);
    let (status, _) = api
        .post(
            &base,
            json!({"kind": "block_ip", "value": "8.8.8.8", "action": "block"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, set) = api.get(&format!("/api/v1/tenants/{dst}/ruleset")).await;
    let next = set["version"].as_i64().unwrap() + 1;
    tenantry::db::models::rule_migration::RuleMigration::restore_rules(
        &mut *app.conn().await,
        dst,
        version,
        next,
    )
    .await
    .unwrap();
    let after = target_rules(&api, dst).await;
    let ids: Vec<i64> = after.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [first, second, third]);
    assert_eq!(after[0], before[0], "untouched: kept as it was");
    for (a, b) in after.iter().zip(&before).skip(1) {
        assert_eq!(a["value"], b["value"]);
        assert_eq!(a["since_version"], next, "{a}");
    }
}
