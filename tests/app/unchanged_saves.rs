//! #14 review: a save that changes nothing changes nothing. An empty PATCH (`{}`)
//! of a resolver, device, subnet or tenant, or its form sent back as it was, keeps
//! `updated_at` and records no audit event, as clouds and instances already did
//! (`review14e::an_empty_patch_changes_nothing_not_even_updated_at`); a real change
//! still moves both.

use crate::api::admin_api;
use crate::helpers::*;
use serde_json::{json, Value};

/// How many audit events of `action` there are.
async fn events(app: &TestApp, action: &str) -> i64 {
    db(app)
        .await
        .query_one(
            "SELECT count(*) FROM audit_events WHERE action = $1",
            &[&action],
        )
        .await
        .unwrap()
        .get(0)
}

/// `updated_at` of the row `id` of `table`, as text.
async fn updated_at(app: &TestApp, table: &str, id: i64) -> String {
    db(app)
        .await
        .query_one(
            &format!("SELECT updated_at::text FROM {table} WHERE id = $1"),
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn an_empty_patch_of_a_resolver_device_subnet_or_tenant_changes_nothing() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = format!("/api/v1/tenants/{}", t.acme.id);
    let post = |path: String, body: Value| {
        let api = &api;
        async move {
            let (s, v) = api.post(&path, body).await;
            assert_eq!(s, 201, "{v}");
            v
        }
    };
    let r = post(
        format!("{b}/resolvers"),
        json!({"name": "dns", "address": "192.0.2.53"}),
    )
    .await;
    let d = post(
        format!("{b}/devices"),
        json!({"name": "Router", "identifier": "aa-bb", "resolver_id": r["id"]}),
    )
    .await;
    let n = post(
        format!("{b}/subnets"),
        json!({"cidr": "10.0.0.0/24", "resolver_id": r["id"]}),
    )
    .await;
    // Time moves on: a write from now on would show in `updated_at`.
    app.clock.advance(chrono::TimeDelta::hours(1));
    for (path, action, change) in [
        (
            format!("{b}/resolvers/{}", id(&r)),
            "resolver.update",
            json!({"name": "dns-2"}),
        ),
        (
            format!("{b}/devices/{}", id(&d)),
            "device.update",
            json!({"identifier": "cc-dd"}),
        ),
        (
            format!("{b}/subnets/{}", id(&n)),
            "subnet.update",
            json!({"cidr": "10.0.1.0/24"}),
        ),
        (
            b.clone(),
            "tenant.update",
            json!({"description": "changed"}),
        ),
    ] {
        let (_, before) = api.get(&path).await;
        let (s, after) = api.patch(&path, json!({})).await;
        assert_eq!(s, 200, "{path}: {after}");
        assert_eq!(after["updated_at"], before["updated_at"], "{path}");
        assert_eq!(events(&app, action).await, 0, "{path}");
        let (_, again) = api.get(&path).await;
        assert_eq!(again, before, "{path}");
        // A real change moves it, and is recorded.
        let (s, changed) = api.patch(&path, change).await;
        assert_eq!(s, 200, "{path}: {changed}");
        assert_ne!(changed["updated_at"], before["updated_at"], "{path}");
        assert_eq!(events(&app, action).await, 1, "{path}");
    }
}

#[tokio::test]
async fn a_form_saved_as_it_was_changes_nothing() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let (s, r) = api
        .post(
            &format!("/api/v1/tenants/{}/resolvers", t.acme.id),
            json!({"name": "dns", "address": "192.0.2.53"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    app.clock.advance(chrono::TimeDelta::hours(1));
    app.login_admin().await;
    let resolver = (id(&r), updated_at(&app, "resolvers", id(&r)).await);
    let tenant = updated_at(&app, "tenants", t.acme.id).await;
    let saved = app
        .post_form(
            &format!("/tenants/{}/resolvers/{}", t.acme.id, resolver.0),
            &[
                ("name", "dns"),
                ("address", "192.0.2.53"),
                ("policy_id", ""),
            ],
        )
        .await;
    assert_eq!(status(&saved), 303);
    let role = t.acme.tenant_role_id.to_string();
    let form = tenant_edit_form(
        &t.acme,
        &[
            ("tenant_role_id", &role),
            ("labels", ""),
            ("monthly_query_quota", ""),
            ("storage_limit_gb", ""),
            ("memory_limit_gb", ""),
            ("max_instances", ""),
            ("max_users", ""),
            ("plan_id", ""),
        ],
    );
    let saved = app
        .post_form(&format!("/tenants/{}/edit", t.acme.id), &form)
        .await;
    assert_eq!(status(&saved), 303);
    assert_eq!(updated_at(&app, "resolvers", resolver.0).await, resolver.1);
    assert_eq!(updated_at(&app, "tenants", t.acme.id).await, tenant);
    assert_eq!(events(&app, "resolver.update").await, 0);
    assert_eq!(events(&app, "tenant.update").await, 0);
}
