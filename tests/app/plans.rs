//! Plans (#16, point 3): `/plans` and `/api/v1/plans` for root Owners and
//! Administrators (everyone else 404: the matrices); a tenant's `plan_id` set by them
//! only; its own limits at most its plan's; the effective limit (own, else the
//! plan's) refusing a user or instance create at the edge; every option the plan
//! lacks refused on the form and in the API.

use crate::api::{admin_api, plan, put, put_on, send, token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Scope};

#[tokio::test]
async fn plans_are_created_listed_changed_and_deleted_on_the_pages() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    // Bad input: every field's error at once, the input kept (422, never 500).
    let r = app
        .post_form(
            "/plans/new",
            &[
                ("name", " "),
                ("storage_limit_gb", "lots"),
                ("max_users", "-3"),
                ("api_access", "maybe"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    for field in ["name", "storage_limit_gb", "max_users", "api_access"] {
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{field}");
    }
    assert!(html.contains("value=\"lots\""), "the input is kept");
    // A plan: empty limits are unlimited.
    let r = app
        .post_form(
            "/plans/new",
            &[
                ("name", "Basic"),
                ("storage_limit_gb", "500"),
                ("monthly_query_quota", "1000"),
                ("custom_branding", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.trim_start_matches("/plans/").parse().unwrap();
    // The same name in another case is taken.
    let r = app.post_form("/plans", &[("name", "BASIC")]).await;
    assert_eq!(status(&r), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("A plan with this name exists."));
    // A tenant on it: the list counts it, the plan's page lists it with its use.
    put_on(&admin_api(&app).await, &t.a2, id).await;
    let list = app.get_html("/plans").await;
    let row = between(&list, &format!("id=\"plan-{id}\""), "</tr>");
    assert!(
        row.contains(">Basic</a>") && row.contains(">1</td>"),
        "{row}"
    );
    let page = app.get_html(&location).await;
    let tenants = between(&page, "id=\"tenants-on-plan\"", "</table>");
    assert!(tenants.contains(">Tenant a2</a>"), "{page}");
    assert!(
        tenants.contains(">1,000</td>"),
        "the plan's quota is a2's: {tenants}"
    );
    // Edited: the page shows what was saved.
    let r = app
        .post_form(&location, &[("name", "Basic+"), ("sub_tenants", "true")])
        .await;
    assert_eq!(status(&r), 303);
    let page = app.get_html(&location).await;
    assert!(page.contains("value=\"Basic+\""));
    assert!(page.contains("name=\"sub_tenants\" id=\"sub_tenants\" value=\"true\" checked"));
    // Deleting is refused while a tenant is on it, naming how many.
    let r = app.post_form(&format!("/plans/{id}/delete"), &[]).await;
    assert_eq!(status(&r), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("1 tenant is on plan Basic+"));
    let api = admin_api(&app).await;
    let (s, _) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": null}),
        )
        .await;
    assert_eq!(s, 200);
    let r = app
        .post_form(&format!("/plans/{id}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(status(&app.get(&location).await), 404);
}

#[tokio::test]
async fn plans_in_the_api_take_integral_numbers_and_refuse_bad_input() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let id = plan(
        &api,
        json!({"name": "Pro", "max_users": 10.0, "storage_limit_gb": 500, "api_access": true}),
    )
    .await;
    let (s, body) = api.get(&format!("/api/v1/plans/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(body["max_users"], 10);
    assert_eq!(body["memory_limit_gb"], Value::Null);
    assert_eq!(body["api_access"], true);
    for bad in [
        json!({"name": ""}),
        json!({"name": "X", "max_users": -1}),
        json!({"name": "X", "max_users": 4294967296i64}),
        json!({"name": "X", "storage_limit_gb": 1e300}),
        json!({"name": "pro"}),
    ] {
        let (s, body) = api.post("/api/v1/plans", bad.clone()).await;
        assert!(s == 422 || s == 400, "{bad}: {s} {body}");
    }
    let (s, _) = api.post("/api/v1/plans", json!({"names": "X"})).await;
    assert_eq!(s, 400);
    // PUT replaces the whole plan: every field named (null: unlimited).
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{id}"),
        crate::api::whole_plan(json!({"name": "Pro 2"})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["max_users"], Value::Null);
    assert_eq!(body["api_access"], false);
    let (s, body) = api.get("/api/v1/plans?limit=1").await;
    assert_eq!(s, 200);
    assert_eq!(body["items"][0]["name"], "Pro 2");
    // Someone who is not a root Owner or Administrator finds no plans at all.
    let owner = app.user(&t.acme, "acmeowner").await;
    app.grant(&owner, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let theirs = Api::new(&app, Some(&token_for(&app, &owner, false).await));
    assert_eq!(theirs.get("/api/v1/plans").await.0, 404);
    assert_eq!(theirs.get(&format!("/api/v1/plans/{id}")).await.0, 404);
    // Nor may they put a tenant on a plan (403), though they may edit it otherwise.
    let (s, body) = theirs
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": id}),
        )
        .await;
    assert_eq!(s, 403, "{body}");
    let (s, body) = theirs
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": null, "description": "x"}),
        )
        .await;
    assert_eq!(
        s, 200,
        "sending the current (no) plan changes nothing: {body}"
    );
    // An unknown plan is the field's error.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": 999999}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"]["plan_id"], "Choose a plan from the list.");
    assert_eq!(api.delete(&format!("/api/v1/plans/{id}")).await.0, 204);
}

#[tokio::test]
async fn a_tenants_own_limits_stay_within_its_plans() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(
        &api,
        json!({"name": "Basic", "storage_limit_gb": 500, "max_users": 10, "sub_tenants": true}),
    )
    .await;
    put_on(&api, &t.acme, basic).await;
    let acme = format!("/api/v1/tenants/{}", t.acme.id);
    // Above the plan: a field error naming it; equal or lower: fine.
    let (s, body) = api.patch(&acme, json!({"storage_limit_gb": 501})).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_limit_gb"],
        "At most 500 GB on plan Basic."
    );
    let (s, body) = api
        .patch(&acme, json!({"storage_limit_gb": 500, "max_users": 4}))
        .await;
    assert_eq!(s, 200, "{body}");
    // The same on the form.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", t.acme.id),
            &tenant_edit_form(&t.acme, &[("max_users", "11")]),
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("At most 10 users on plan Basic."), "{html}");
    // Lowering the plan below acme's own limit is refused, naming acme.
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{basic}"),
        crate::api::whole_plan(
            json!({"name": "Basic", "storage_limit_gb": 400, "max_users": 10, "sub_tenants": true}),
        ),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_limit_gb"],
        "Tenant acme has its own limit above 400 GB: lower theirs first."
    );
    // A new tenant takes its parent's plan, and its limits are held to it.
    let (s, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "New", "subdomain": "new-one", "max_users": 11}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["max_users"],
        "At most 10 users on plan Basic."
    );
    let (s, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "New", "subdomain": "new-one"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    // It follows acme's plan rather than holding a copy of it.
    assert!(body["plan_id"].is_null(), "{body}");
}

#[tokio::test]
async fn the_effective_limit_comes_from_the_plan() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    // Users: the plan allows one user in g1's subtree (g1 sets none of its own).
    let one = plan(&api, json!({"name": "One user", "max_users": 1})).await;
    put_on(&api, &t.g1, one).await;
    let users = format!("/tenants/{}/users/new", t.g1.id);
    app.login_admin().await;
    let role = tenantry::db::models::role::UserRole::insert(
        &mut *app.conn().await,
        t.g1.id,
        "Operator",
        &tenantry::domain::Permissions::all(tenantry::domain::Level::Read),
        false,
    )
    .await
    .unwrap()
    .id
    .to_string();
    let fields = |name: &'static str| {
        vec![
            ("username", name),
            ("email", "someone@example.com"),
            ("first_name", ""),
            ("last_name", ""),
            ("password", PASSWORD),
            ("role_id", role.as_str()),
            ("enabled_shown", "1"),
            ("enabled", "true"),
            ("storage_limit_gb", ""),
            ("memory_limit_gb", ""),
        ]
    };
    assert_eq!(status(&app.post_form(&users, &fields("u1")).await), 303);
    let r = app.post_form(&users, &fields("u2")).await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains(
        "Users 1 of 1 used in Tenant g1: no more users can be created here until some are \
             deleted or the limit is raised; limit: plan One user."
    ));
    // Its own lower limit wins over the plan's.
    let small = plan(&api, json!({"name": "Small", "max_instances": 1})).await;
    put_on(&api, &t.a2, small).await;
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", t.acme.id),
            json!({"name": "c", "provider": "aws", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let cloud = body["id"].as_i64().unwrap();
    let instances = format!("/api/v1/tenants/{}/instances", t.a2.id);
    let vm = |name: &str| json!({"name": name, "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1});
    let (s, body) = api.post(&instances, vm("a")).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post(&instances, vm("b")).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["limit"],
        "Instances: 1 of 1 used; no more instances fit; limit: plan Small."
    );
    // Taken off the plan: no limit at all.
    let (s, _) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": null}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(api.post(&instances, vm("b")).await.0, 201);
}

#[tokio::test]
async fn options_the_plan_lacks_are_refused_on_every_path() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let bare = plan(&api, json!({"name": "Bare"})).await;
    // Sub-tenants: a2 on Bare may not turn its switch on, nor have a child.
    put_on(&api, &t.a2, bare).await;
    let a2 = format!("/api/v1/tenants/{}", t.a2.id);
    let (s, body) = api.patch(&a2, json!({"can_have_subtenants": true})).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"]["can_have_subtenants"], "Not in plan Bare.");
    // acme (which has sub-tenants) put on Bare keeps them, but gets no new one.
    put_on(&api, &t.acme, bare).await;
    let (s, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "N", "subdomain": "n-one"}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["parent_id"],
        "Tenant acme may not have sub-tenants: Not in plan Bare."
    );
    app.login_admin().await;
    let r = app
        .post_form(
            "/tenants/new",
            &[
                ("name", "N"),
                ("subdomain", "n-one"),
                ("parent_id", &t.acme.id.to_string()),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("Not in plan Bare."));
    // The form shows the switch not available, with the reason.
    let html = app.get_html(&format!("/tenants/{}/edit", t.a2.id)).await;
    assert!(
        html.contains("id=\"can_have_subtenants-refusal\">Not available: Not in plan Bare."),
        "{html}"
    );
    assert!(html.contains("Custom domain: Not in plan Bare."));
    // Custom domain: neither set in the API nor on the form.
    let (s, body) = api
        .patch(&a2, json!({"custom_domain": "console.a2.example"}))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"]["custom_domain"], "Not in plan Bare.");
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", t.a2.id),
            &tenant_edit_form(&t.a2, &[("custom_domain", "console.a2.example")]),
        )
        .await;
    assert_eq!(status(&r), 422);
    // API access: a user homed in a2 gets no token and their token stops working.
    let user = app.user(&t.a2, "a2user").await;
    let before = token_for(&app, &user, false).await;
    let theirs = Api::new(&app, Some(&before));
    let (s, body) = theirs.get("/api/v1/tenants").await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["type"], "urn:tenantry:problem:not-in-plan");
    let browser = browser_as(&app, "a2\\a2user").await;
    let r = browser
        .post_form("/profile/tokens", &[("name", "ci"), ("expires_at", "")])
        .await;
    assert_eq!(status(&r), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("API access: Not in plan Bare."));
    // A plan with every option: all of it goes through.
    let all = plan(
        &api,
        json!({"name": "All", "custom_domain": true, "sub_tenants": true, "api_access": true, "custom_branding": true}),
    )
    .await;
    put_on(&api, &t.a2, all).await;
    assert_eq!(theirs.get("/api/v1/tenants").await.0, 200);
    let (s, body) = api
        .patch(
            &a2,
            json!({"custom_domain": "console.a2.example", "can_have_subtenants": true}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn plan_allows_custom_branding_only_when_the_plan_includes_it() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let bare = plan(&api, json!({"name": "Bare"})).await;
    let branded = plan(&api, json!({"name": "Branded", "custom_branding": true})).await;
    put_on(&api, &t.a1, bare).await;
    put_on(&api, &t.a2, branded).await;
    let mut conn = app.conn().await;
    let allows = async |conn: &mut _, t: &Tenant| {
        let t = Tenant::find(conn, t.id).await.unwrap();
        tenantry::services::plans::allows(
            conn,
            &t,
            tenantry::domain::plan::PlanOption::CustomBranding,
        )
        .await
        .unwrap()
    };
    assert!(!allows(&mut conn, &t.a1).await);
    assert!(allows(&mut conn, &t.a2).await);
    // Without a plan: every option.
    assert!(allows(&mut conn, &t.g1).await);
}

/// `custom_branding` on every path: a tenant on a plan without it sets no branding
/// value (API 409, page: fields disabled with the reason, a direct POST 409), may
/// still reset what it set before, and inherits its parent's; on a plan with it,
/// the same changes go through.
#[tokio::test]
async fn custom_branding_is_refused_on_every_path_when_the_plan_lacks_it() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let branding = |id: i64| format!("/api/v1/tenants/{id}/branding");
    let named = |name: &str| json!({"product_name": name, "primary_color": null, "support_email": null, "support_url": null});
    // Set before any plan: a1 names itself.
    let (s, body) = put(&api, &branding(t.a1.id), named("A1 Cloud")).await;
    assert_eq!(s, 200, "{body}");
    let bare = plan(&api, json!({"name": "Bare"})).await;
    // Switching it to a plan without the option is allowed (#16 M1), saying that
    // what it has is kept, not shown.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"plan_id": bare}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["warnings"],
        json!([
            "Tenant a1's own branding is kept but not shown while on Bare.",
            "Tenant a1 has 1 sub-tenant: it stays, no new ones while on Bare.",
        ])
    );
    // API: a new value is refused and nothing changes.
    let (s, body) = put(&api, &branding(t.a1.id), named("Other")).await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Not in plan Bare."),
        "{body}"
    );
    // What it set before is kept, not in effect (review M1).
    let (_, body) = api.get(&branding(t.a1.id)).await;
    assert_eq!(body["product_name"]["value"], Value::Null);
    assert_eq!(body["product_name"]["kept"]["value"], "A1 Cloud");
    // The logo upload too.
    let (s, _) = send(
        api.request(reqwest::Method::PUT, &format!("{}/logo", branding(t.a1.id)))
            .header("content-type", "image/svg+xml")
            .body(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>"#),
    )
    .await;
    assert_eq!(s, 409);
    // The page: the reason, the fields disabled, no save or upload; reset offered.
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/branding", t.a1.id))
        .await;
    assert!(
        html.contains("Custom branding: Not in plan Bare."),
        "{html}"
    );
    assert!(!html.contains("id=\"save-branding\""), "{html}");
    assert!(!html.contains("id=\"upload-logo\""), "{html}");
    assert!(html.contains("id=\"reset-product_name\""), "{html}");
    // A direct POST of the form is refused the same way.
    let r = app
        .post_form(
            &format!("/tenants/{}/branding", t.a1.id),
            &[
                ("product_name", "Other"),
                ("primary_color", ""),
                ("support_email", ""),
                ("support_url", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 409);
    // Resetting what it set goes through: a1 shows what it inherits again.
    let (s, body) = put(
        &api,
        &branding(t.a1.id),
        json!({"product_name": null, "primary_color": null, "support_email": null, "support_url": null}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["product_name"]["value"], Value::Null);
    // On a plan with the option the same change goes through.
    let branded = plan(&api, json!({"name": "Branded", "custom_branding": true})).await;
    put_on(&api, &t.a1, branded).await;
    let (s, body) = put(&api, &branding(t.a1.id), named("Other")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["product_name"]["value"], "Other");
}

#[tokio::test]
async fn a_move_gives_no_sub_tenants_to_a_tenant_whose_plan_lacks_them() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let tiny = plan(&api, json!({"name": "Tiny"})).await;
    // a1 may have sub-tenants by its switch (it has a1x), not by its plan.
    put_on(&api, &t.a1, tiny).await;
    let refusal = "Tenant a1 may not have sub-tenants: Not in plan Tiny.";
    // The API's move, as a create under it is refused.
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.g1.id),
            json!({"parent_id": t.a1.id}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"]["parent_id"], refusal);
    // A batch's move.
    let (s, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": false, "operations": [
                {"op": "move", "id": t.g1.id, "parent_id": t.a1.id},
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["results"][0]["status"], 422, "{body}");
    assert_eq!(body["results"][0]["error"]["errors"]["parent_id"], refusal);
    // A bulk move, its preview as well.
    for dry_run in [true, false] {
        let (_, body) = api
            .post(
                "/api/v1/tenants/bulk",
                json!({"ids": [t.g1.id], "action": "move", "parent_id": t.a1.id, "dry_run": dry_run}),
            )
            .await;
        assert_eq!(body["items"][0]["outcome"], "refused", "{body}");
        assert_eq!(body["items"][0]["message"], refusal, "{body}");
    }
    // The console's move form, and its picker offers no such destination.
    app.login_admin().await;
    let r = move_form(&app, &t.g1, &t.a1).await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains(refusal));
    let fragment = app
        .get_hx(&format!("/tenants/{}/move?q=Tenant", t.g1.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        fragment.contains(&format!("value=\"{}\"", t.acme.id)),
        "{fragment}"
    );
    assert!(
        !fragment.contains(&format!("value=\"{}\"", t.a1.id)),
        "{fragment}"
    );
    assert_eq!(
        Tenant::find(&mut *app.conn().await, t.g1.id)
            .await
            .unwrap()
            .parent_id,
        Some(t.globex.id)
    );
    // With the option, the move goes through.
    let all = plan(&api, json!({"name": "Subs", "sub_tenants": true})).await;
    put_on(&api, &t.a1, all).await;
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.g1.id),
            json!({"parent_id": t.a1.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn a_tenant_without_a_plan_is_under_its_nearest_ancestors() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    // acme on Tiny; a1 and a1x below it have no plan of their own.
    let tiny = plan(&api, json!({"name": "Tiny", "max_users": 1})).await;
    put_on(&api, &t.acme, tiny).await;
    // Options: no new tenant under a1, no API for a user homed in a1x.
    let (s, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.a1.id, "name": "N", "subdomain": "n-one"}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["parent_id"],
        "Tenant a1 may not have sub-tenants: Not in plan Tiny."
    );
    let user = app.user(&t.a1x, "a1xuser").await;
    let theirs = Api::new(&app, Some(&token_for(&app, &user, false).await));
    let (s, body) = theirs.get("/api/v1/tenants").await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["type"], "urn:tenantry:problem:not-in-plan");
    // Limits: a1x's own limit may not be above its governing plan's.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1x.id),
            json!({"max_users": 5}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"]["max_users"], "At most 1 user on plan Tiny.");
    // A plan of its own (or none anywhere on its path) decides instead.
    let all = plan(
        &api,
        json!({"name": "All", "sub_tenants": true, "api_access": true}),
    )
    .await;
    put_on(&api, &t.a1, all).await;
    assert_eq!(theirs.get("/api/v1/tenants").await.0, 200);
    let (s, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.a1.id, "name": "N", "subdomain": "n-one"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

#[tokio::test]
async fn plan_changes_and_a_tenants_plan_are_in_the_roots_activity() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let id = plan(&api, json!({"name": "Basic"})).await;
    let (s, body) = put(
        &api,
        &format!("/api/v1/plans/{id}"),
        crate::api::whole_plan(json!({"name": "Basic+"})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    put_on(&api, &t.a2, id).await;
    let (s, _) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": null}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = api.delete(&format!("/api/v1/plans/{id}")).await;
    assert_eq!(s, 204, "{body}");
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/activity", app.root.id))
        .await;
    for action in ["plan.create", "plan.update", "plan.delete"] {
        assert!(
            html.contains(&format!("data-action=\"{action}\"")),
            "{action}: {html}"
        );
    }
    let html = app
        .get_html(&format!("/tenants/{}/activity", t.a2.id))
        .await;
    let rows: Vec<&str> = html.split("<tr class=\"event\"").skip(1).collect();
    let updates: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains("data-action=\"tenant.update\""))
        .collect();
    assert_eq!(updates.len(), 2, "on the plan, then off it: {html}");
    for row in updates {
        assert!(row.contains("field-name\">plan_id</span>"), "{row}");
    }
}

#[tokio::test]
async fn options_the_plan_lacks_show_disabled_with_the_reason() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let bare = plan(&api, json!({"name": "Bare"})).await;
    // a2 has a pending custom domain, then goes on Bare.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"custom_domain": "console.a2.example"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    put_on(&api, &t.a2, bare).await;
    // The profile's token form of a user homed in a2: disabled, the reason shown.
    app.user(&t.a2, "a2user").await;
    let browser = browser_as(&app, "a2\\a2user").await;
    let html = browser.get_html("/profile/tokens").await;
    assert!(
        html.contains("id=\"token-plan-refusal\">API access: Not in plan Bare."),
        "{html}"
    );
    assert!(
        html.contains("disabled aria-describedby=\"token-plan-refusal\""),
        "{html}"
    );
    // The root's admin (no plan) gets the form as before.
    app.login_admin().await;
    let html = app.get_html("/profile/tokens").await;
    assert!(!html.contains("token-plan-refusal"), "{html}");
    // "Check now" and "Approve" on a2's page: disabled with the reason.
    let html = app.get_html(&format!("/tenants/{}", t.a2.id)).await;
    assert!(
        html.contains("id=\"custom-domain-plan\">Custom domain: Not in plan Bare."),
        "{html}"
    );
    let check = between(&html, "custom-domain/check", "</form>");
    assert!(check.contains("disabled"), "{check}");
}

#[tokio::test]
async fn non_root_editors_see_the_plans_limits_and_may_not_choose_it() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(
        &api,
        json!({"name": "Basic", "storage_limit_gb": 500, "max_users": 1, "sub_tenants": true, "api_access": true}),
    )
    .await;
    put_on(&api, &t.acme, basic).await;
    let other = plan(&api, json!({"name": "Other"})).await;
    let ron_user = app.user(&t.acme, "ron").await;
    app.grant(
        &ron_user,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let ron = browser_as(&app, "acme\\ron").await;
    // The form's hints say what empty means on the plan, field by field.
    let html = ron.get_html(&format!("/tenants/{}/edit", t.a2.id)).await;
    assert!(
        html.contains("id=\"storage_limit_gb-empty\">Empty: plan Basic&#39;s limit, 500 GB."),
        "{html}"
    );
    assert!(
        html.contains("id=\"max_users-empty\">Empty: plan Basic&#39;s limit, 1 user."),
        "{html}"
    );
    assert!(
        html.contains("id=\"memory_limit_gb-empty\">Empty: unlimited (plan Basic sets no limit)."),
        "{html}"
    );
    // Choosing a plan: the API's 403 says who may; the form names the field.
    let user = Api::new(&app, Some(&token_for(&app, &ron_user, false).await));
    let (s, body) = user
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": other}),
        )
        .await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(
        body["detail"],
        "Only the root's Owners and Administrators choose a tenant's plan."
    );
    let other = other.to_string();
    let r = ron
        .post_form(
            &format!("/tenants/{}/edit", t.a2.id),
            &tenant_edit_form(&t.a2, &[("plan_id", &other)]),
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let error = between(&html, "id=\"plan_id-error\">", "</p>");
    assert!(
        error.contains("Owners and Administrators choose a tenant"),
        "{html}"
    );
}

#[tokio::test]
async fn the_plan_pages_refuse_unknown_parameters_and_repeated_fields() {
    let app = spawn_app().await;
    app.login_admin().await;
    for bad in ["/plans?foo=1", "/plans?cursor=zz", "/plans?page=-1"] {
        let r = app.get(bad).await;
        assert_eq!(status(&r), 400, "{bad}");
        let name = bad.split(['?', '=']).nth(1).unwrap();
        assert!(
            r.text().await.unwrap().contains(&format!("“{name}”")),
            "{bad}"
        );
    }
    let r = app
        .post_form("/plans/new", &[("name", "A"), ("name", "B")])
        .await;
    assert_eq!(status(&r), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The field “name” is given more than once: give it once."));
    let r = app
        .post_form(
            "/plans/new",
            &[("name", "A"), ("max_instances", "99999999999999999999")],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("At most "));
}

/// Gives `tenant` a custom domain that serves (approved), in the database.
async fn serving_domain(app: &TestApp, tenant: &Tenant, domain: &str) {
    db(app)
        .await
        .execute(
            "UPDATE tenants SET custom_domain = $1, custom_domain_status = 'approved', \
             custom_domain_token = 'token', custom_domain_verified_at = now() WHERE id = $2",
            &[&domain, &tenant.id],
        )
        .await
        .unwrap();
}

fn parent_of(app: &TestApp, tenant: &Tenant) -> impl std::future::Future<Output = Option<i64>> {
    let id = tenant.id;
    let pool = app.pool.clone();
    async move {
        let mut conn = pool.get().await.unwrap();
        Tenant::find(&mut conn, id).await.unwrap().parent_id
    }
}

/// A subtree moved under a plan (#16): its tenants without a plan of their own come
/// under the destination's, so their own limits above it refuse the move on every
/// path — API, batch, bulk and its preview, the console's preview and form —
/// naming them; the options it lacks that they use (a custom domain, branding
/// values, users' API tokens) go dormant, said by the previews (M1); a tenant with
/// a plan of its own takes it along; once they fit, the move goes through.
#[tokio::test]
async fn a_subtree_moved_under_a_plan_must_fit_it() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let small = plan(
        &api,
        json!({"name": "Small", "storage_limit_gb": 100, "sub_tenants": true}),
    )
    .await;
    put_on(&api, &t.globex, small).await;
    // Under no plan: a1 limits itself above Small, a1x brands itself, a2 serves a
    // domain and one of its users holds a token.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"storage_limit_gb": 200}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = put(
        &api,
        &format!("/api/v1/tenants/{}/branding", t.a1x.id),
        json!({"product_name": "A1x Cloud", "primary_color": null, "support_email": null, "support_url": null}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    serving_domain(&app, &t.a2, "console.a2.example").await;
    let user = app.user(&t.a2, "a2user").await;
    token_for(&app, &user, false).await;

    let refusal = "Tenant a1 cannot move under Tenant globex (plan Small): Tenant a1 has its \
                   own storage limit above 100 GB.";
    let move_a1 = format!("/api/v1/tenants/{}/move", t.a1.id);
    let (s, body) = api.post(&move_a1, json!({"parent_id": t.globex.id})).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["detail"], refusal);
    // What a2 has that Small lacks goes dormant: the previews say so.
    let (_, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [t.a2.id], "action": "move", "parent_id": t.globex.id, "dry_run": true}),
        )
        .await;
    assert_eq!(body["items"][0]["outcome"], "changed", "{body}");
    assert_eq!(
        body["items"][0]["message"],
        "1 API token of Tenant a2 stops working while on Small. Tenant a2's custom domain \
         is kept but neither served nor verified while on Small.",
        "{body}"
    );
    // A batch's move.
    let (s, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": false, "operations": [
                {"op": "move", "id": t.a1.id, "parent_id": t.globex.id},
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["results"][0]["status"], 409, "{body}");
    assert_eq!(body["results"][0]["error"]["detail"], refusal, "{body}");
    // A bulk move, its preview as well.
    for dry_run in [true, false] {
        let (_, body) = api
            .post(
                "/api/v1/tenants/bulk",
                json!({"ids": [t.a1.id], "action": "move", "parent_id": t.globex.id, "dry_run": dry_run}),
            )
            .await;
        assert_eq!(body["items"][0]["outcome"], "refused", "{body}");
        assert_eq!(body["items"][0]["message"], refusal, "{body}");
    }
    // The console: the preview names them and offers no move; the form refuses it.
    app.login_admin().await;
    let preview = format!("/tenants/{}/move?parent_id={}", t.a1.id, t.globex.id);
    let html = app.get_html(&preview).await;
    assert!(
        html.contains(&format!(
            "<dd id=\"impact-plan\"><strong>Refused:</strong> {refusal}</dd>"
        )),
        "{html}"
    );
    assert!(!html.contains("Move under Tenant globex"), "{html}");
    let r = move_form(&app, &t.a1, &t.globex).await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains(refusal));
    assert_eq!(parent_of(&app, &t.a1).await, Some(t.acme.id));

    // A tenant on a plan of its own takes it along: nothing of its subtree changes.
    let all = plan(
        &api,
        json!({"name": "All", "custom_domain": true, "api_access": true, "custom_branding": true}),
    )
    .await;
    put_on(&api, &t.a2, all).await;
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.a2.id),
            json!({"parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // Once they fit, the move goes through: the preview says which plan they join.
    let (s, body) = put(
        &api,
        &format!("/api/v1/tenants/{}/branding", t.a1x.id),
        json!({"product_name": null, "primary_color": null, "support_email": null, "support_url": null}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"storage_limit_gb": 100}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let html = app.get_html(&preview).await;
    assert!(
        html.contains("come under plan <strong>Small</strong> (until now no plan)"),
        "{html}"
    );
    let (s, body) = api.post(&move_a1, json!({"parent_id": t.globex.id})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(parent_of(&app, &t.a1).await, Some(t.globex.id));
}

/// Lowering a plan (#16) sees the tenants that inherit it (no plan of their own
/// below a tenant on it) as it sees those on it: a limit below their own, or an
/// option they use taken away, is refused naming them; a save that takes nothing
/// away goes through. A tenant switching plan (API and form) is refused likewise
/// for itself and those inheriting from it.
#[tokio::test]
async fn lowering_a_plan_sees_the_tenants_that_inherit_it() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = json!({"name": "Basic", "storage_limit_gb": 500, "sub_tenants": true,
                       "custom_branding": true, "api_access": true});
    let id = plan(&api, basic.clone()).await;
    put_on(&api, &t.acme, id).await;
    // a1 and a1x inherit Basic from acme: a1 limits itself to 400 GB, a1x brands
    // itself, a user of a1x holds a token.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"storage_limit_gb": 400}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = put(
        &api,
        &format!("/api/v1/tenants/{}/branding", t.a1x.id),
        json!({"product_name": "A1x Cloud", "primary_color": null, "support_email": null, "support_url": null}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let user = app.user(&t.a1x, "a1xuser").await;
    token_for(&app, &user, false).await;
    let path = format!("/api/v1/plans/{id}");
    let with = |changes: Value| {
        let mut body = basic.clone();
        body.as_object_mut()
            .unwrap()
            .extend(changes.as_object().unwrap().clone());
        crate::api::whole_plan(body)
    };
    let (s, body) = put(
        &api,
        &path,
        with(json!({"storage_limit_gb": 300, "custom_branding": false, "api_access": false})),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_limit_gb"],
        "Tenant a1 has its own limit above 300 GB: lower theirs first."
    );
    // Options dropped refuse nothing (#16 M1: they go dormant, see
    // `a_downgrade_keeps_what_the_plan_lacks_dormant_and_says_so`).
    assert!(body["errors"].get("custom_branding").is_none(), "{body}");
    assert!(body["errors"].get("api_access").is_none(), "{body}");
    // The plan's page says the same.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/plans/{id}"),
            &[
                ("name", "Basic"),
                ("storage_limit_gb", "300"),
                ("sub_tenants", "true"),
                ("custom_branding", "true"),
                ("api_access", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Tenant a1 has its own limit above 300 GB: lower theirs first."));
    // What takes nothing away goes through: a new name, a higher limit.
    let (s, body) = put(
        &api,
        &path,
        with(json!({"name": "Basic 2", "storage_limit_gb": 600})),
    )
    .await;
    assert_eq!(s, 200, "{body}");

    // acme switching to a plan they do not fit: refused, naming them.
    let tiny = plan(
        &api,
        json!({"name": "Tiny", "storage_limit_gb": 100, "sub_tenants": true}),
    )
    .await;
    let refusal = "Plan Tiny does not fit: Tenant a1 has its own storage limit above 100 GB.";
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.acme.id),
            json!({"plan_id": tiny}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"]["plan_id"], refusal);
    let tiny_id = tiny.to_string();
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", t.acme.id),
            &tenant_edit_form(&t.acme, &[("plan_id", &tiny_id)]),
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert_eq!(
        field_error(&html, "plan_id").as_deref(),
        Some(refusal),
        "{html}"
    );
    // A tenant on a plan of its own below is not the switch's concern.
    put_on(&api, &t.a1, id).await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.acme.id),
            json!({"plan_id": tiny}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

/// Only the root's Owners and Administrators choose plans: a tenant someone else
/// creates follows its ancestors' plan (no copy of its own), so a move cannot carry
/// a better plan below a customer on a lesser one.
#[tokio::test]
async fn a_tenant_created_below_a_plan_follows_it_and_takes_no_plan_along() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let rich = plan(
        &api,
        json!({"name": "Rich", "custom_branding": true, "sub_tenants": true, "api_access": true}),
    )
    .await;
    let poor = plan(
        &api,
        json!({"name": "Poor", "sub_tenants": true, "api_access": true}),
    )
    .await;
    put_on(&api, &t.acme, rich).await;
    put_on(&api, &t.a1, poor).await;
    let owner = app.user(&t.acme, "acmeowner").await;
    app.grant(&owner, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let owner_api = Api::new(&app, Some(&token_for(&app, &owner, false).await));
    let (s, n) = owner_api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "N", "subdomain": "n-one"}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    assert!(n["plan_id"].is_null(), "{n}");
    let id = n["id"].as_i64().unwrap();
    let (s, body) = owner_api
        .post(
            &format!("/api/v1/tenants/{id}/move"),
            json!({"parent_id": t.a1.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = put(
        &owner_api,
        &format!("/api/v1/tenants/{id}/branding"),
        json!({"product_name": "Escaped", "primary_color": null, "support_email": null, "support_url": null}),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Not in plan Poor."),
        "{body}"
    );
}

/// Review M3: a plan's page lists the tenants that follow it through an ancestor
/// (marked "via" it) with their quota use, and counts them; paging stays whole.
#[tokio::test]
async fn a_plans_page_lists_tenants_that_follow_it_through_an_ancestor() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(&api, json!({"name": "Basic", "monthly_query_quota": 1000})).await;
    let other = plan(&api, json!({"name": "Other"})).await;
    put_on(&api, &t.a1, basic).await;
    // a2 (sibling of a1) is on another plan: not listed; a1x follows a1's.
    put_on(&api, &t.a2, other).await;
    queries_this_month(&app, &t.a1x, 77).await;
    app.login_admin().await;
    let page = app.get_html(&format!("/plans/{basic}")).await;
    assert!(page.contains("Tenants on Basic (2)"), "{page}");
    let row = between(&page, &format!("id=\"plan-tenant-{}\"", t.a1x.id), "</tr>");
    assert!(row.contains(">Tenant a1x</a>"), "{row}");
    assert!(row.contains(">via <a href=\"/tenants/"), "{row}");
    assert!(row.contains(">Tenant a1</a>"), "{row}");
    assert!(
        row.contains(">77</td>") && row.contains(">1,000</td>"),
        "{row}"
    );
    let row = between(&page, &format!("id=\"plan-tenant-{}\"", t.a1.id), "</tr>");
    assert!(!row.contains("via"), "{row}");
    assert!(!page.contains(">Tenant a2</a>"), "{page}");
    // The list counts both, with their queries.
    let list = app.get_html("/plans").await;
    let row = between(&list, &format!("id=\"plan-{basic}\""), "</tr>");
    assert!(row.contains(">2</td>") && row.contains(">77</td>"), "{row}");
}
