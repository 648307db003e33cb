//! #16 fresh review follow-ups (f16): limits in effect with their source, limit
//! refusals naming the plan, numbers and wording, support URL ports and hosts,
//! foreign SVG namespaces, the logo's OpenAPI body, Reply-To in mail, plan PUT and
//! PATCH, the per-plan tenant list's sorting, filter and pages, and a create racing
//! its parent's plan switch.

use crate::api::{admin_api, plan, put_on};
use crate::branding::text_of;
use crate::helpers::*;
use serde_json::json;
use tenantry::domain::{GrantRole, Scope};

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

#[tokio::test]
async fn numbers_are_grouped_and_a_plan_without_options_says_none() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let big = plan(
        &api,
        json!({"name": "Big", "monthly_query_quota": 2000000, "storage_limit_gb": 12000,
               "custom_branding": true}),
    )
    .await;
    let bare = plan(&api, json!({"name": "Bare", "max_users": 1500})).await;
    put_on(&api, &t.a1, big).await;
    let list = app.get_html("/plans").await;
    let row = between(&list, &format!("id=\"plan-{big}\""), "</tr>");
    assert!(
        row.contains(">2,000,000</td>") && row.contains(">12,000</td>"),
        "{row}"
    );
    assert!(row.contains(">branding "), "{row}");
    let row = between(&list, &format!("id=\"plan-{bare}\""), "</tr>");
    assert!(row.contains(">1,500</td>"), "{row}");
    assert!(
        row.contains("<td class=\"options\"><span class=\"hint\">none</span></td>"),
        "{row}"
    );
    // The plan's page: its tenants' quota.
    let page = app.get_html(&format!("/plans/{big}")).await;
    let row = between(&page, &format!("id=\"plan-tenant-{}\"", t.a1.id), "</tr>");
    assert!(row.contains(">2,000,000</td>"), "{row}");
    // A refusal and a form's hint.
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1x.id),
            json!({"monthly_query_quota": 2500000}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["monthly_query_quota"],
        "At most 2,000,000 queries a month on plan Big."
    );
    let form = app.get_html(&format!("/tenants/{}/edit", t.a1x.id)).await;
    assert_eq!(
        text_of(&form, "monthly_query_quota-empty").replace("&#39;", "'"),
        "Empty: plan Big's quota, 2,000,000 queries a month."
    );
}

#[tokio::test]
async fn names_ending_in_s_take_no_s_and_the_login_title_says_it_once() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"name": "Acme Managed Services"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let r =
        crate::branding::save(&app, &t.a2, &crate::branding::fields("Managed", "", "", "")).await;
    assert_eq!(status(&r), 303);
    let plus = plan(&api, json!({"name": "Plus", "storage_limit_gb": 10})).await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"plan_id": plus}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["warnings"],
        json!(["Acme Managed Services' own branding is kept but not shown while on Plus."])
    );
    let form = app.get_html(&format!("/tenants/{}/edit", t.a2.id)).await;
    assert_eq!(
        text_of(&form, "storage_limit_gb-empty").replace("&#39;", "'"),
        "Empty: plan Plus' limit, 10 GB."
    );

    // The login page's title: the heading, then the product unless it names it.
    let title = |html: &str| between(html, "<title>", "</title>")["<title>".len()..].to_string();
    let (client, base) = app.browser_for_host(&format!("acme.{BASE_DOMAIN}"));
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(title(&html), "Log in to Tenant acme · tenantry");
    let html = app.new_browser().get_html("/login").await;
    assert_eq!(title(&html), "Log in to tenantry");
}

#[tokio::test]
async fn a_support_url_with_a_bad_port_or_host_label_is_a_field_error() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    for (url, why) in [
        ("https://a.example:99999/", "“99999” is not a port"),
        ("https://a.example:0", "“0” is not a port"),
        ("https://-a.example/", "“-a.example” is not a domain name"),
        (
            "https://a.b-.example/x",
            "“a.b-.example” is not a domain name",
        ),
    ] {
        let r =
            crate::branding::save(&app, &t.acme, &crate::branding::fields("", "", "", url)).await;
        assert_eq!(status(&r), 422, "{url}");
        let error = field_error(&r.text().await.unwrap(), "support_url").unwrap();
        assert!(error.contains(why), "{url}: {error}");
        let (s, body) = crate::api::put(
            &api,
            &format!("/api/v1/tenants/{}/branding", t.acme.id),
            json!({"product_name": null, "primary_color": null, "support_email": null,
                   "support_url": url}),
        )
        .await;
        assert_eq!(s, 422, "{url}: {body}");
        assert!(
            body["errors"]["support_url"]
                .as_str()
                .unwrap()
                .contains(why),
            "{body}"
        );
    }
    // Nothing was written.
    let (s, body) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.acme.id))
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(!body.to_string().contains("a.example"), "{body}");
    // A port in range and hyphens inside a label are fine.
    let r = crate::branding::save(
        &app,
        &t.acme,
        &crate::branding::fields("", "", "", "https://help-desk.a.example:8443/"),
    )
    .await;
    assert_eq!(status(&r), 303);
}

#[tokio::test]
async fn the_logo_upload_is_a_binary_body_in_the_openapi_document() {
    let app = spawn_app().await;
    let (s, doc) = crate::api::Api::new(&app, None)
        .get("/api/v1/openapi.json")
        .await;
    assert_eq!(s, 200);
    let content =
        &doc["paths"]["/api/v1/tenants/{id}/branding/logo"]["put"]["requestBody"]["content"];
    for media in ["image/png", "image/jpeg", "image/svg+xml"] {
        let mut schema = &content[media]["schema"];
        if let Some(r) = schema["$ref"].as_str() {
            schema = &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")];
        }
        assert_eq!(
            (&schema["type"], &schema["format"]),
            (&json!("string"), &json!("binary")),
            "{media}: {content}"
        );
    }
}

#[tokio::test]
async fn mail_replies_go_to_the_branded_support_address() {
    use crate::invitations::{app_with_sink, invite_grant};
    use crate::usage_mail::{addr, person, set_clock};
    let (app, sink) = app_with_sink(&[]).await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let r = crate::branding::save(
        &app,
        &t.acme,
        &crate::branding::fields("Acme Cloud", "", "help@acme.example", ""),
    )
    .await;
    assert_eq!(status(&r), 303);
    // An invitation into a1: acme's support address, inherited.
    let r = invite_grant(&app, &t.a1, "one@example.com", "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303);
    let mail = sink.wait_for("one@example.com", 1).await;
    assert!(
        mail.reply_to_header.contains("help@acme.example"),
        "{mail:?}"
    );
    // globex has no support address anywhere on its path: no Reply-To.
    let r = invite_grant(&app, &t.g1, "two@example.com", "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303);
    let mail = sink.wait_for("two@example.com", 1).await;
    assert_eq!(mail.reply_to_header, "", "{mail:?}");
    // A notice (a quota alert) to an Owner homed in a1x: acme's address too.
    set_clock(&app, "2026-01-20T12:00:00Z");
    crate::usage_stats::set_quota(&app, &t.a1x, 1000).await;
    person(&app, "owner", &t.a1x, GrantRole::Owner, Scope::Tenant).await;
    crate::usage_stats::seed(&app, &[(t.a1x.id, "2026-01-04T00:00:00Z", 800, 0)]).await;
    let mail = sink.wait_for(&addr("owner"), 1).await;
    assert!(
        mail.reply_to_header.contains("help@acme.example"),
        "{mail:?}"
    );
}

#[tokio::test]
async fn an_uploaded_svg_loses_elements_of_another_namespace() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let file = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><g xmlns="http://www.w3.org/1999/xhtml"><rect width="9" height="9"/><p>html</p></g><rect width="1" height="1"/></svg>"#;
    let (s, body) = crate::api::send(
        api.request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/branding/logo", t.acme.id),
        )
        .header("content-type", "image/svg+xml")
        .body(file),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let r = app
        .new_browser()
        .get(body["logo"]["value"].as_str().unwrap())
        .await;
    assert_eq!(status(&r), 200);
    let served = r.text().await.unwrap();
    assert!(
        !served.contains("xhtml") && !served.contains("html<") && !served.contains("<g"),
        "{served}"
    );
    assert_eq!(served.matches("<rect").count(), 1, "{served}");
    // Script inside one still refuses the file, as anywhere.
    let (s, body) = crate::api::send(
        api.request(
            reqwest::Method::PUT,
            &format!("/api/v1/tenants/{}/branding/logo", t.acme.id),
        )
        .body(file.replace("<p>html</p>", "<script>alert(1)</script>")),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(
        body["errors"]["logo"]
            .as_str()
            .unwrap()
            .contains("<script>"),
        "{body}"
    );
}

#[tokio::test]
async fn a_plan_put_names_every_field_and_a_patch_changes_only_those_sent() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let id = plan(
        &api,
        json!({"name": "Basic", "storage_limit_gb": 500, "max_users": 10,
               "custom_branding": true, "sub_tenants": true}),
    )
    .await;
    let path = format!("/api/v1/plans/{id}");
    // A PUT leaving fields out: 422 naming each, nothing saved.
    let (s, body) = crate::api::put(&api, &path, json!({"name": "Basic", "max_users": 5})).await;
    assert_eq!(s, 422, "{body}");
    let missing: Vec<&str> = body["errors"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        missing,
        [
            "api_access",
            "custom_branding",
            "custom_domain",
            "memory_limit_gb",
            "monthly_query_quota",
            "max_instances",
            "storage_limit_gb",
            "sub_tenants"
        ]
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>(),
        "{body}"
    );
    assert!(body["errors"]["storage_limit_gb"]
        .as_str()
        .unwrap()
        .contains(
            "Required in a PUT, which replaces the whole plan: send it (null for unlimited)"
        ));
    // An option is no limit: never "null for unlimited", which it refuses.
    assert!(body["errors"]["custom_domain"]
        .as_str()
        .unwrap()
        .contains("Required in a PUT, which replaces the whole plan: send true or false,"));
    let (_, stored) = api.get(&path).await;
    assert_eq!(
        (&stored["storage_limit_gb"], &stored["max_users"]),
        (&json!(500), &json!(10))
    );

    // PATCH: only what is sent.
    put_on(&api, &t.acme, id).await;
    let (s, body) = api.patch(&path, json!({"storage_limit_gb": 300})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["storage_limit_gb"], 300);
    assert_eq!(body["max_users"], 10);
    assert_eq!(body["custom_branding"], true);
    assert_eq!(body["name"], "Basic");
    assert_eq!(body["warnings"], json!([]));
    let (s, body) = api.patch(&path, json!({"max_users": null})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["max_users"], json!(null));
    assert_eq!(body["storage_limit_gb"], 300);
    // The same checks as a PUT: a bad value, a null name or option, a limit below
    // a tenant's own — 422, nothing saved.
    let (s, body) = api
        .patch(
            &path,
            json!({"storage_limit_gb": -1, "name": null, "api_access": null}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    for field in ["storage_limit_gb", "name", "api_access"] {
        assert!(body["errors"][field].is_string(), "{field}: {body}");
    }
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"storage_limit_gb": 200}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.patch(&path, json!({"storage_limit_gb": 100})).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_limit_gb"],
        "Tenant a1 has its own limit above 100 GB: lower theirs first."
    );
    // An option dropped: saved, with the warning a PUT gives.
    let (s, body) = api.patch(&path, json!({"sub_tenants": false})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["storage_limit_gb"], 300);
    assert!(
        body["warnings"][0]
            .as_str()
            .unwrap()
            .contains("sub-tenants"),
        "{body}"
    );
    // Audited per field: the last change names sub_tenants alone.
    let (s, page) = api
        .get(&format!(
            "/api/v1/tenants/{}/activity?action=plan.update",
            app.root.id
        ))
        .await;
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    assert_eq!(
        items[0]["before"],
        json!({"plan_id": id, "name": "Basic", "sub_tenants": true}),
        "{page}"
    );
    // An unchanged PATCH writes nothing.
    let (s, _) = api.patch(&path, json!({"storage_limit_gb": 300})).await;
    assert_eq!(s, 200);
    let (_, page) = api
        .get(&format!(
            "/api/v1/tenants/{}/activity?action=plan.update",
            app.root.id
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
}

/// The tenants a plan's page lists, in its order.
fn plan_rows(html: &str, tenants: &[&tenantry::db::models::Tenant]) -> Vec<String> {
    let mut at: Vec<(usize, String)> = tenants
        .iter()
        .filter_map(|t| {
            html.find(&format!("id=\"plan-tenant-{}\"", t.id))
                .map(|i| (i, t.subdomain.clone()))
        })
        .collect();
    at.sort();
    at.into_iter().map(|(_, s)| s).collect()
}

#[tokio::test]
async fn a_plans_tenants_sort_by_quota_use_filter_near_the_quota_and_page_past_the_end() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(
        &api,
        json!({"name": "Basic", "sub_tenants": true, "monthly_query_quota": 1000}),
    )
    .await;
    put_on(&api, &t.acme, basic).await;
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a2.id),
            json!({"monthly_query_quota": 500}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // acme 0 %, a1 85 % (near), a1x 10 %, a2 120 % of its own 500 (over).
    queries_this_month(&app, &t.a1, 850).await;
    queries_this_month(&app, &t.a1x, 100).await;
    queries_this_month(&app, &t.a2, 600).await;
    let all = [&t.acme, &t.a1, &t.a1x, &t.a2];
    let page = |q: &'static str| {
        let app = &app;
        async move { app.get_html(&format!("/plans/{basic}{q}")).await }
    };
    let html = page("").await;
    assert_eq!(plan_rows(&html, &all), ["a1", "a1x", "a2", "acme"]);
    // The headers link to the orders, from page 1.
    assert!(
        html.contains(&format!(
            "href=\"/plans/{basic}?sort=quota_use&#38;dir=asc\""
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"/plans/{basic}?sort=name&#38;dir=desc\"")),
        "{html}"
    );
    let html = page("?sort=quota_use&dir=desc").await;
    assert_eq!(plan_rows(&html, &all), ["a2", "a1", "a1x", "acme"]);
    assert!(html.contains("aria-sort=\"descending\""), "{html}");
    let html = page("?sort=quota_use&dir=asc").await;
    assert_eq!(plan_rows(&html, &all), ["acme", "a1x", "a1", "a2"]);
    let html = page("?sort=name&dir=desc").await;
    assert_eq!(plan_rows(&html, &all), ["acme", "a2", "a1x", "a1"]);
    // Near or over the quota: a1 and a2, in the order asked, the filter kept by the
    // headers.
    let html = page("?quota=near").await;
    assert_eq!(plan_rows(&html, &all), ["a1", "a2"]);
    assert!(html.contains("near or over their quota (2)"), "{html}");
    assert!(
        html.contains(&format!(
            "href=\"/plans/{basic}?quota=near&#38;sort=quota_use&#38;dir=asc\""
        )),
        "{html}"
    );
    let html = page("?quota=near&sort=quota_use&dir=desc").await;
    assert_eq!(plan_rows(&html, &all), ["a2", "a1"]);
    // A column it does not sort by: said, the default order.
    let html = page("?sort=colour").await;
    assert!(html.contains("id=\"sort-notice\""), "{html}");
    assert_eq!(plan_rows(&html, &all), ["a1", "a1x", "a2", "acme"]);
    assert_eq!(
        status(&app.get(&format!("/plans/{basic}?quota=lots")).await),
        400
    );
    // A page past the end: the last page, as the Tenants list shows it.
    let html = page("?page=999").await;
    assert_eq!(plan_rows(&html, &all), ["a1", "a1x", "a2", "acme"]);
    assert!(!html.contains("Page 999"), "{html}");
}

/// Creates a sub-tenant of `parent` and switches `parent` to plan `to` at once,
/// one of them held up by a lock on plan `held` (FOR UPDATE in another transaction)
/// until both are in flight: the create's status and body, the switch's body.
async fn create_racing_switch(
    app: &TestApp,
    parent: &tenantry::db::models::Tenant,
    held: i64,
    to: i64,
    sub: &str,
) -> ((u16, serde_json::Value), serde_json::Value) {
    let api = admin_api(app).await;
    let blocker = db(app).await;
    let watcher = db(app).await;
    blocker
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM plans WHERE id = {held} FOR UPDATE"
        ))
        .await
        .unwrap();
    let waiting_for = |n: i64| {
        let watcher = &watcher;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while lock_waiters(watcher).await < n {
                assert!(std::time::Instant::now() < deadline, "never {n} waiting");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };
    let switch = async {
        api.patch(
            &format!("/api/v1/tenants/{}", parent.id),
            json!({"plan_id": to}),
        )
        .await
    };
    let create = async {
        api.post(
            "/api/v1/tenants",
            json!({"parent_id": parent.id, "name": sub, "subdomain": sub}),
        )
        .await
    };
    // The one that takes the held plan goes first and waits there; the other then
    // starts and waits behind it; then the plan is let go.
    let first_switch = held == to;
    let (switched, created, ()) = tokio::join!(
        async {
            if !first_switch {
                waiting_for(1).await;
            }
            switch.await
        },
        async {
            if first_switch {
                waiting_for(1).await;
            }
            create.await
        },
        async {
            waiting_for(2).await;
            blocker.batch_execute("COMMIT").await.unwrap();
        }
    );
    assert_eq!(switched.0, 200, "{}", switched.1);
    (created, switched.1)
}

#[tokio::test]
async fn a_create_under_a_parent_switching_to_a_plan_without_sub_tenants_sees_the_switch() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let full = plan(&api, json!({"name": "Full", "sub_tenants": true})).await;
    let bare = plan(&api, json!({"name": "Bare"})).await;
    let children = |id: i64| {
        let app = &app;
        async move {
            db(app)
                .await
                .query_one("SELECT count(*) FROM tenants WHERE parent_id = $1", &[&id])
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };

    // The switch first (holding globex, waiting for plan Bare), the create behind
    // it: the create reads Bare once the switch commits, and is refused.
    put_on(&api, &t.globex, full).await;
    let ((s, body), switched) = create_racing_switch(&app, &t.globex, bare, bare, "late").await;
    assert_eq!(s, 422, "{body}");
    assert!(
        body["errors"]["parent_id"]
            .as_str()
            .unwrap()
            .contains("Not in plan Bare."),
        "{body}"
    );
    assert_eq!(
        switched["warnings"],
        json!(["Tenant globex has 1 sub-tenant: it stays, no new ones while on Bare."])
    );
    assert_eq!(children(t.globex.id).await, 1);

    // The create first (holding acme's path, waiting for plan Full), the switch
    // behind it: the child is there before the switch, which counts it.
    put_on(&api, &t.acme, full).await;
    let ((s, body), switched) = create_racing_switch(&app, &t.acme, full, bare, "early").await;
    assert_eq!(s, 201, "{body}");
    let warned = switched["warnings"].to_string();
    assert!(warned.contains("Tenant acme (3)"), "{warned}");
    assert_eq!(children(t.acme.id).await, 3);
}
