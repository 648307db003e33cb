//! #14 M3: a tenant's own limit lowered below what its subtree uses is saved with a
//! warning (API `warnings`, the form's flash), growth refused; an own limit above a
//! limit of a tenant above it is saved with a note that that limit still applies.

use crate::helpers::*;
use crate::move_limits::{cloud, vm};
use crate::plans::admin_api;
use serde_json::json;

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
        json!(["Storage limit 5000 GB is above Tenant acme's 3000 GB: Tenant acme's limit still applies."])
    );
    // The form: the same words in the flash after the save.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", t.a1.id),
            &[
                ("name", "Tenant a1"),
                ("subdomain", "a1"),
                ("description", ""),
                ("custom_domain", ""),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
                ("storage_limit_gb", "50"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let html = app.get_html(&location).await;
    assert!(
        html.contains(
            "Saved Tenant a1. Note: Storage 400 GB in use is above the new limit of 50 GB: \
             growth is refused until it is below."
        ),
        "{html}"
    );
}
