//! #14 M3: a tenant's own limit lowered below what its subtree uses is saved with a
//! warning (API `warnings`, the form's flash), growth refused; an own limit above a
//! limit of a tenant above it is saved with a note that that limit still applies.

use crate::api::admin_api;
use crate::helpers::*;
use crate::move_limits::{cloud, vm};
use serde_json::json;
use tenantry::domain::{Level, Permissions};

#[tokio::test]
async fn own_limits_below_use_or_above_a_parents_are_saved_and_said() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let cloud = cloud(&app, &api).await;
    assert_eq!(vm(&api, &t.a1, cloud, "big", 400, 4).await.0, 201);
    let patch = |id: i64, body: serde_json::Value| {
        let api = &api;
        async move { api.patch(&format!("/api/v1/tenants/{id}"), body).await }
    };
    // Below use: saved, said; growth refused.
    let (s, body) = patch(
        t.a1.id,
        json!({"storage_limit_gb": 100, "max_instances": 0}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["storage_limit_gb"], 100);
    assert_eq!(
        body["warnings"],
        json!([
            "Storage 400 GB in use is above the new limit of 100 GB: growth is refused until it is below.",
            "Instances 1 instance in use is above the new limit of 0 instances: growth is refused until it is below.",
        ])
    );
    let (s, _) = vm(&api, &t.a1, cloud, "more", 1, 1).await;
    assert!((400..500).contains(&s));
    // A save that leaves the limits alone says nothing.
    let (s, body) = patch(t.a1.id, json!({"description": "x"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["warnings"], json!([]));
    // Above the parent's: saved, with the note that the parent's still applies.
    let (s, body) = patch(t.acme.id, json!({"storage_limit_gb": 3000})).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = patch(
        t.a1.id,
        json!({"storage_limit_gb": 5000, "max_instances": null}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["warnings"],
        json!(["Storage limit 5,000 GB is above the 3,000 GB of Tenant acme: the limit of Tenant acme still applies."])
    );
    // The form: the same words in the flash after the save.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", t.a1.id),
            &tenant_edit_form(&t.a1, &[("storage_limit_gb", "50")]),
        )
        .await;
    assert_eq!(
        flash_after(&app, r).await,
        "Saved Tenant a1. Note: Storage 400 GB in use is above the new limit of 50 GB: \
         growth is refused until it is below."
    );
}

/// A user's own storage and memory limits lowered below what their instances use
/// are saved with the same words in the form's flash; growth is refused.
#[tokio::test]
async fn a_users_limits_below_what_they_own_are_saved_and_said() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let cloud = cloud(&app, &api).await;
    let olga = app
        .user_with_role(&t.a1, "olga", Permissions::all(Level::Read))
        .await;
    let (s, big) = api
        .post(
            &format!("/api/v1/tenants/{}/instances", t.a1.id),
            json!({"name": "big", "cloud_id": cloud, "owner_id": olga.id,
                   "storage_gb": 400, "memory_gb": 16}),
        )
        .await;
    assert_eq!(s, 201, "{big}");
    app.login_admin().await;
    let path = format!("/tenants/{}/users/{}", t.a1.id, olga.id);
    let role = olga.role_id.unwrap().to_string();
    let save = |storage: &'static str, memory: &'static str| {
        let (app, path, role, olga) = (&app, &path, &role, &olga);
        async move {
            let r = app
                .post_form(
                    path,
                    &[
                        ("username", olga.username.as_str()),
                        ("email", olga.email.as_str()),
                        ("first_name", olga.first_name.as_str()),
                        ("last_name", olga.last_name.as_str()),
                        ("role_id", role),
                        ("enabled_shown", "1"),
                        ("enabled", "true"),
                        ("storage_limit_gb", storage),
                        ("memory_limit_gb", memory),
                    ],
                )
                .await;
            assert_redirect_to(&r, path);
            flash_after(app, r).await
        }
    };
    assert_eq!(
        save("100", "8").await,
        "Saved olga. Note: Storage 400 GB in use is above the new limit of 100 GB: growth \
         is refused until it is below. Memory 16 GB in use is above the new limit of 8 GB: \
         growth is refused until it is below."
    );
    let saved = app.reload_user(&olga).await;
    assert_eq!(
        (saved.storage_limit_gb, saved.memory_limit_gb),
        (Some(100), Some(8))
    );
    // Growth is refused; the same limits saved again say nothing more, nor do limits
    // at what is used.
    let (s, _) = api
        .patch(
            &format!("/api/v1/tenants/{}/instances/{}", t.a1.id, big["id"]),
            json!({"storage_gb": 401}),
        )
        .await;
    assert!((400..500).contains(&s), "{s}");
    assert_eq!(save("100", "8").await, "Saved olga.");
    assert_eq!(save("400", "").await, "Saved olga.");
}
