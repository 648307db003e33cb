//! #16 M1: a downgrade is allowed. A tenant switched (API, form) to a plan that
//! lacks an option it uses, or a plan saved without one, keeps what it has, dormant
//! while on that plan, and the save says so: branding kept, not shown; a custom
//! domain kept, not served; users' API tokens refused at request time; sub-tenants
//! kept, no new ones. Own limits above the new plan's stay refused.

use crate::api::{admin_api, plan, put, put_on, token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;

async fn brand(api: &Api, tenant: &Tenant, name: &str) {
    let (s, body) = put(
        api,
        &format!("/api/v1/tenants/{}/branding", tenant.id),
        json!({"product_name": name, "primary_color": null, "support_email": null, "support_url": null}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
}

/// The login page's heading on `host`.
async fn login_heading(app: &TestApp, host: &str) -> String {
    let (client, base) = app.browser_for_host(host);
    let r = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    let at = html.find("<h1").unwrap();
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find("</h1>").unwrap();
    html[start..end].trim().to_string()
}

#[tokio::test]
async fn a_downgrade_keeps_what_the_plan_lacks_dormant_and_says_so() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    // Under no plan a1 has it all: branding, a serving custom domain, a user's
    // token, a sub-tenant (a1x).
    brand(&api, &t.a1, "A1 Cloud").await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET custom_domain = 'console.a1.example', custom_domain_status = \
             'approved', custom_domain_token = 'token', custom_domain_verified_at = now() \
             WHERE id = $1",
            &[&t.a1.id],
        )
        .await
        .unwrap();
    let user = app.user(&t.a1, "a1user").await;
    let theirs = Api::new(&app, Some(&token_for(&app, &user, false).await));
    assert_eq!(theirs.get("/api/v1/tenants").await.0, 200);
    assert_eq!(
        login_heading(&app, "console.a1.example").await,
        "Log in to Tenant a1"
    );

    // The API switch: saved, each dormant option said.
    let basic = plan(&api, json!({"name": "Basic", "storage_limit_gb": 100})).await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"plan_id": basic}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["plan_id"], basic);
    assert_eq!(
        body["warnings"],
        json!([
            "1 API token of Tenant a1 stops working while on Basic.",
            "Tenant a1's own branding is kept but not shown while on Basic.",
            "Tenant a1's custom domain is kept but neither served nor verified while on Basic.",
            "Tenant a1 has 1 sub-tenant: it stays, no new ones while on Basic.",
        ])
    );
    // Dormant: the token is refused at request time, the domain is not served,
    // the branding is kept, not shown; the sub-tenant stays.
    let (s, body) = theirs.get("/api/v1/tenants").await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["type"], "urn:tenantry:problem:not-in-plan");
    assert_ne!(
        login_heading(&app, "console.a1.example").await,
        "Log in to Tenant a1"
    );
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.a1.id))
        .await;
    assert_eq!(b["product_name"]["kept"]["value"], "A1 Cloud", "{b}");
    assert_eq!(b["product_name"]["set_here"], false, "{b}");
    let (s, _) = api.get(&format!("/api/v1/tenants/{}", t.a1x.id)).await;
    assert_eq!(s, 200);
    // An own limit above the new plan's is still refused.
    let small = plan(&api, json!({"name": "Small", "storage_limit_gb": 10})).await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"storage_limit_gb": 50}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"plan_id": small}),
        )
        .await;
    assert_eq!(s, 422, "{body}");

    // A plan saved without an option its tenants use: saved, said (API and page).
    let rich = plan(
        &api,
        json!({"name": "Rich", "custom_branding": true, "api_access": true}),
    )
    .await;
    put_on(&api, &t.a2, rich).await;
    brand(&api, &t.a2, "A2 Cloud").await;
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{rich}"),
        crate::api::whole_plan(json!({"name": "Rich", "api_access": true})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["warnings"],
        json!(["Tenant a2's own branding is kept but not shown while on Rich."])
    );
    assert_eq!(body["custom_branding"], Value::Bool(false));
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/plans/{rich}"),
            &[("name", "Rich"), ("custom_branding", "true")],
        )
        .await;
    assert_eq!(status(&r), 303);
    let r = app
        .post_form(&format!("/plans/{rich}"), &[("name", "Rich")])
        .await;
    let flash = flash_after(&app, r).await;
    assert_eq!(
        flash,
        "Saved plan Rich. Note: Tenant a2&#39;s own branding is kept but not shown while on Rich."
    );
    // The tenant form's switch: acme keeps its sub-tenants, said in the flash.
    let basic = basic.to_string();
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", t.acme.id),
            &tenant_edit_form(&t.acme, &[("plan_id", &basic)]),
        )
        .await;
    let flash = flash_after(&app, r).await;
    assert_eq!(
        flash,
        "Saved Tenant acme. Note: Tenant acme has 2 sub-tenants: they stay, no new ones while on Basic."
    );
}
