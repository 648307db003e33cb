//! #16 fresh review follow-ups (f16): limits in effect with their source, limit
//! refusals naming the plan, numbers and wording, support URL ports and hosts,
//! foreign SVG namespaces, the logo's OpenAPI body, Reply-To in mail, plan PUT and
//! PATCH, the per-plan tenant list's sorting, filter and pages, and a create racing
//! its parent's plan switch.

use crate::api::{admin_api, plan, put_on};
use crate::branding::text_of;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn the_tenant_page_and_json_show_each_limit_in_effect_and_its_source() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(
        &api,
        json!({"name": "Basic", "sub_tenants": true, "monthly_query_quota": 500000,
               "max_users": 50, "storage_limit_gb": 100}),
    )
    .await;
    put_on(&api, &t.acme, basic).await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"max_users": 10, "memory_limit_gb": 8}),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    // a1 follows Basic through acme: the quota is the plan's, the user limit its own.
    let html = app.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert_eq!(
        text_of(&html, "tenant-quota"),
        "500,000 queries a month (limit: plan Basic)"
    );
    let users = text_of(&html, "tenant-max-users");
    assert!(
        users.starts_with("10 ") && users.contains("limit: own"),
        "{users}"
    );
    // Its own quota, lower than the plan's, is its own.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"monthly_query_quota": 1200}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let html = app.get_html(&format!("/tenants/{}", t.a2.id)).await;
    assert_eq!(
        text_of(&html, "tenant-quota"),
        "1,200 queries a month (limit: own)"
    );
    // No plan, no quota: none.
    let html = app.get_html(&format!("/tenants/{}", t.g1.id)).await;
    assert_eq!(text_of(&html, "tenant-quota"), "none");

    let (s, a1) = api.get(&format!("/api/v1/tenants/{}", t.a1.id)).await;
    assert_eq!(s, 200, "{a1}");
    let e = &a1["effective_limits"];
    assert_eq!(
        e["monthly_query_quota"],
        json!({"value": 500000, "source": "plan", "plan": "Basic"})
    );
    assert_eq!(
        e["max_users"],
        json!({"value": 10, "source": "own", "plan": null})
    );
    assert_eq!(
        e["storage_limit_gb"],
        json!({"value": 100, "source": "plan", "plan": "Basic"})
    );
    assert_eq!(
        e["memory_limit_gb"],
        json!({"value": 8, "source": "own", "plan": null})
    );
    assert_eq!(
        e["max_instances"],
        json!({"value": null, "source": null, "plan": null})
    );
    // Its own fields stay its own.
    assert_eq!(a1["monthly_query_quota"], json!(null));
    assert_eq!(a1["max_users"], json!(10));
    // The list says the same.
    let (s, page) = api
        .get(&format!("/api/v1/tenants?parent={}", t.acme.id))
        .await;
    assert_eq!(s, 200, "{page}");
    let listed = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == t.a2.id)
        .unwrap();
    assert_eq!(
        listed["effective_limits"]["monthly_query_quota"],
        json!({"value": 1200, "source": "own", "plan": null})
    );
    assert_eq!(
        listed["effective_limits"]["max_users"],
        json!({"value": 50, "source": "plan", "plan": "Basic"})
    );
}

#[tokio::test]
async fn a_move_over_a_plans_limit_names_the_plan() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(
        &api,
        json!({"name": "Basic", "sub_tenants": true, "max_instances": 1}),
    )
    .await;
    put_on(&api, &t.globex, basic).await;
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", app.root.id),
            json!({"name": "c", "provider": "aws", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let vm = json!({"name": "vm", "cloud_id": body["id"], "storage_gb": 1, "memory_gb": 1});
    for tenant in [&t.g1, &t.a2] {
        let path = format!("/api/v1/tenants/{}/instances", tenant.id);
        let (s, body) = api.post(&path, vm.clone()).await;
        assert_eq!(s, 201, "{body}");
    }
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.a2.id),
            json!({"parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(s, 409, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.ends_with(
            "Instances 1 of 1 used in Tenant globex; the move brings 1 more (2, over the \
             limit); limit: plan Basic."
        ),
        "{detail}"
    );
}
