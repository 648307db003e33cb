//! #16 review findings (h16m): links in mail lead to the tenant's own address; a
//! deep link returns there after the login; what a plan lacks is shown and
//! answered as not available; the form's hints, the plan and its options in one
//! save; the branding page's reset keeps unsaved edits; support contacts as links;
//! a create naming the parent's plan; a reader's plan summary; warnings of moves
//! and batches.

use crate::api::{admin_api, plan, put_on};
use crate::api::{token_for, Api};
use crate::branding::{acme_branded_with, fields, save, text_of};
use crate::custom_domains::force_domain;
use crate::helpers::*;
use crate::invitations::{app_with_sink, invite_grant, Mail, SmtpSink, PUBLIC_URL};
use crate::usage_mail::{addr, person, set_clock};
use crate::usage_stats::{seed, set_quota};
use serde_json::json;
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Scope};

/// The address an invitation mail's link leads to: what comes before
/// `/invitations/` (the HTML part says the same).
fn invitation_base(mail: &Mail) -> String {
    let at = mail
        .body
        .find("/invitations/")
        .unwrap_or_else(|| panic!("no link in {}", mail.body));
    let start = mail.body[..at].rfind("http").unwrap();
    let base = mail.body[start..at].to_string();
    assert!(
        mail.html.contains(&format!("{base}/invitations/")),
        "{}",
        mail.html
    );
    base
}

/// Invites `email` into `tenant` as the admin (`app`'s browser) and reads where the
/// mail's link leads.
async fn invitation_link_base(
    app: &TestApp,
    sink: &SmtpSink,
    tenant: &Tenant,
    email: &str,
) -> String {
    let r = invite_grant(app, tenant, email, "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303, "{}", r.text().await.unwrap());
    invitation_base(&sink.wait_for(email, 1).await)
}

#[tokio::test]
async fn invitation_links_lead_to_the_invited_tenants_own_address() {
    let (app, sink) = app_with_sink(&[]).await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    force_domain(&app, &t.a1, "console.a1.example", "approved").await;
    force_domain(&app, &t.a2, "pending.a2.example", "pending").await;
    // A custom domain that serves (no plan: every option).
    assert_eq!(
        invitation_link_base(&app, &sink, &t.a1, "one@example.com").await,
        "http://console.a1.example"
    );
    // A pending one is not served: the tenant's host under the base domain, with
    // the public URL's scheme.
    assert_eq!(
        invitation_link_base(&app, &sink, &t.a2, "two@example.com").await,
        format!("http://a2.{BASE_DOMAIN}")
    );
    // The root's address is the console's.
    assert_eq!(
        invitation_link_base(&app, &sink, &app.root, "three@example.com").await,
        PUBLIC_URL
    );
    // A plan without custom domains leaves a1's dormant: its host instead.
    let api = admin_api(&app).await;
    let basic = plan(&api, json!({"name": "Basic", "sub_tenants": true})).await;
    put_on(&api, &t.a1, basic).await;
    assert_eq!(
        invitation_link_base(&app, &sink, &t.a1, "four@example.com").await,
        format!("http://a1.{BASE_DOMAIN}")
    );
}

#[tokio::test]
async fn without_a_base_domain_mail_links_to_the_public_url() {
    let (app, sink) = app_with_sink(&[("TENANTRY_BASE_DOMAIN", "")]).await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    assert_eq!(
        invitation_link_base(&app, &sink, &t.a2, "two@example.com").await,
        PUBLIC_URL
    );
}

#[tokio::test]
async fn quota_alerts_link_to_each_recipients_home_tenant() {
    let (app, sink) = app_with_sink(&[]).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    let t = partner_tree(&app).await;
    set_quota(&app, &t.a1x, 1000).await;
    person(&app, "owner", &t.a1x, GrantRole::Owner, Scope::Tenant).await;
    let (_, above) = person(&app, "above", &t.acme, GrantRole::Owner, Scope::Subtree).await;
    crate::usage_mail::opt_in(&above).await;
    force_domain(&app, &t.acme, "cloud.acme.example", "verified").await;
    seed(&app, &[(t.a1x.id, "2026-01-04T00:00:00Z", 800, 0)]).await;
    // a1x's Owner: a1x's host; acme's Owner above: acme's verified domain.
    for (to, base) in [
        ("owner", format!("http://a1x.{BASE_DOMAIN}")),
        ("above", "http://cloud.acme.example".to_string()),
    ] {
        let mail = sink.wait_for(&addr(to), 1).await;
        for link in [
            format!("{base}/tenants/{}/stats?from=2026-01&to=2026-01", t.a1x.id),
            format!("{base}/profile#quota-alerts"),
        ] {
            assert!(mail.body.contains(&link), "{link} in {}", mail.body);
        }
        assert!(!mail.body.contains(PUBLIC_URL), "{}", mail.body);
    }
}

// ------------------------------------------------------------ deep links

/// The login form's hidden `next`, if it has one.
fn next_field(html: &str) -> Option<String> {
    hidden_fields(html, "/login")
        .into_iter()
        .find(|(name, _)| name == "next")
        .map(|(_, value)| value.replace("&amp;", "&"))
}

/// Posts the login form of `client` at `base` with `next`.
async fn log_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let html = text_at(client, format!("{base}/login")).await;
    let token = csrf_from(&html).unwrap();
    client
        .post(format!("{base}/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("next", next),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_deep_link_returns_there_after_the_login() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let deep = format!("/tenants/{}/stats?from=2026-01", t.a1.id);
    // Logged out: to the login page, the page to return to carried along.
    let browser = app.new_browser();
    let r = browser.get(&deep).await;
    let login = format!(
        "/login?next=%2Ftenants%2F{}%2Fstats%3Ffrom%3D2026-01",
        t.a1.id
    );
    assert_redirect_to(&r, &login);
    let html = browser.get_html(&login).await;
    assert_eq!(next_field(&html).as_deref(), Some(deep.as_str()));
    // A failed attempt shows the form again with it.
    let (client, base) = (browser.client.clone(), browser.address.clone());
    let r = log_in(&client, &base, ADMIN_USER, "wrong", &deep).await;
    assert_eq!(status(&r), 401);
    assert_eq!(
        next_field(&r.text().await.unwrap()).as_deref(),
        Some(deep.as_str())
    );
    // Then the login returns there.
    let r = log_in(&client, &base, ADMIN_USER, ADMIN_PASSWORD, &deep).await;
    assert_redirect_to(&r, &deep);
    assert_eq!(status(&browser.get(&deep).await), 200);

    // Anything but a path on this host lands on the dashboard, and the form does
    // not carry it.
    for bad in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/\\/evil.example",
        "/a\r\nSet-Cookie: x=1",
        "/\t/evil.example",
        "javascript:alert(1)",
        "tenants/1",
        "/login",
    ] {
        let b = app.new_browser();
        let query = serde_urlencoded::to_string([("next", bad)]).unwrap();
        let html = b.get_html(&format!("/login?{query}")).await;
        assert_eq!(next_field(&html), None, "{bad:?}");
        let r = log_in(&b.client, &b.address, ADMIN_USER, ADMIN_PASSWORD, bad).await;
        assert_redirect_to(&r, "/dashboard");
    }

    // An htmx request of a page's fragment returns to that page, not the fragment.
    let b = app.new_browser();
    let r = b
        .client
        .get(b.url(&format!("/tenants/{}/children", t.acme.id)))
        .header("HX-Request", "true")
        .header(
            "HX-Current-URL",
            format!("{}/tenants/{}", b.address, t.acme.id),
        )
        .send()
        .await
        .unwrap();
    let to = format!("/login?next=%2Ftenants%2F{}", t.acme.id);
    assert_eq!(r.headers()["hx-redirect"].to_str().unwrap(), to);

    // A tenant's user on the tenant's own host, with a bare username.
    let user = app.user(&t.a1, "alice").await;
    app.grant(&user, &t.a1, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let (client, base) = app.browser_for_host(&format!("a1.{BASE_DOMAIN}"));
    let page = format!("/tenants/{}", t.a1.id);
    let r = client.get(format!("{base}{page}")).send().await.unwrap();
    assert_eq!(status(&r), 303);
    let login = location(&r);
    assert_eq!(login, format!("/login?next=%2Ftenants%2F{}", t.a1.id));
    let r = log_in(&client, &base, "alice", PASSWORD, &page).await;
    assert_redirect_to(&r, &page);
}

// ------------------------------------------------------------ plans on the pages

/// acme on plan Basic (API access, no sub-tenants or custom domain), Pro with both;
/// acme's subtree administrator `ron`, logged in, and his API client.
struct Plans {
    app: TestApp,
    t: PartnerTree,
    admin: Api,
    basic: i64,
    pro: i64,
    ron: TestApp,
    ron_api: Api,
}

async fn plans() -> Plans {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let admin = admin_api(&app).await;
    let basic = plan(
        &admin,
        json!({"name": "Basic", "api_access": true, "storage_limit_gb": 500, "monthly_query_quota": 1000}),
    )
    .await;
    let pro = plan(
        &admin,
        json!({"name": "Pro", "api_access": true, "sub_tenants": true, "custom_domain": true}),
    )
    .await;
    put_on(&admin, &t.acme, basic).await;
    let user = app.user(&t.acme, "ron").await;
    app.grant(
        &user,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let ron = browser_as(&app, "acme\\ron").await;
    let ron_api = Api::new(&app, Some(&token_for(&app, &user, false).await));
    Plans {
        app,
        t,
        admin,
        basic,
        pro,
        ron,
        ron_api,
    }
}

#[tokio::test]
async fn sub_tenants_a_plan_lacks_are_not_available_on_the_page_and_in_the_api() {
    let Plans {
        app,
        t,
        admin,
        basic,
        ron,
        ron_api,
        ..
    } = plans().await;
    app.login_admin().await;
    // acme may have sub-tenants by its own setting, but not on Basic.
    let html = app.get_html(&format!("/tenants/{}", t.acme.id)).await;
    let shown = text_of(&html, "tenant-subtenants");
    assert!(
        shown.starts_with("Not available: Not in plan Basic."),
        "{shown}"
    );
    let html = app.get_html(&format!("/tenants/{}", t.globex.id)).await;
    assert_eq!(text_of(&html, "tenant-subtenants"), "Yes");
    let (s, body) = admin.get(&format!("/api/v1/tenants/{}", t.acme.id)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["can_have_subtenants"], true);
    assert_eq!(body["effective_can_have_subtenants"], false);
    // A reseller's script reads what its customers' plan gives them (a1 follows
    // acme's), nothing of the plan's other tenants or its limits.
    let (s, body) = ron_api.get(&format!("/api/v1/tenants/{}", t.a1.id)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["plan"],
        json!({
            "id": basic, "name": "Basic", "inherited": true, "custom_branding": false,
            "custom_domain": false, "sub_tenants": false, "api_access": true,
        })
    );
    assert_eq!(body["plan_id"], json!(null));
    let (_, body) = ron_api.get(&format!("/api/v1/tenants/{}", t.acme.id)).await;
    assert_eq!(body["plan"]["inherited"], false, "{body}");
    let (_, list) = ron_api.get("/api/v1/tenants").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["plan"]["name"] == "Basic"),
        "{list}"
    );
    let (_, body) = admin.get(&format!("/api/v1/tenants/{}", t.globex.id)).await;
    assert_eq!(body["plan"], json!(null));
    assert_eq!(body["effective_can_have_subtenants"], true);
    // ron's edit form of a1: the box not available, its own setting kept.
    let html = ron.get_html(&format!("/tenants/{}/edit", t.a1.id)).await;
    let field = between(&html, "id=\"can_have_subtenants\"", "</div>");
    assert!(
        field.contains("disabled") && !field.contains("checked"),
        "{field}"
    );
    assert!(
        field.contains("<input type=\"hidden\" name=\"can_have_subtenants\" value=\"true\">"),
        "{field}"
    );
    assert!(
        text_of(&html, "can_have_subtenants-refusal")
            .starts_with("Not available: Not in plan Basic."),
        "{html}"
    );
}

#[tokio::test]
async fn a_new_tenant_under_a_parent_whose_plan_has_no_sub_tenants_says_why() {
    let Plans { app, t, .. } = plans().await;
    let owner = app.user(&t.acme, "acmeowner").await;
    app.grant(&owner, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let acme_owner = browser_as(&app, "acme\\acmeowner").await;
    // Every parent acme's Owner could choose is on Basic: the page says why.
    let r = acme_owner
        .get(&format!("/tenants/new?parent_id={}", t.acme.id))
        .await;
    assert_eq!(status(&r), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Tenant acme may not have sub-tenants: Not in plan Basic."),
        "{html}"
    );
    // Someone who may not create there at all is still refused as before.
    let viewer = app.user(&t.acme, "viewer").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let viewer = browser_as(&app, "acme\\viewer").await;
    let r = viewer
        .get(&format!("/tenants/new?parent_id={}", t.acme.id))
        .await;
    assert_eq!(status(&r), 403);
}

#[tokio::test]
async fn limit_hints_say_what_empty_means_field_by_field() {
    let Plans { app, t, ron, .. } = plans().await;
    let html = ron.get_html(&format!("/tenants/{}/edit", t.a2.id)).await;
    for (id, hint) in [
        (
            "storage_limit_gb-empty",
            "Empty: plan Basic's limit, 500 GB.",
        ),
        (
            "memory_limit_gb-empty",
            "Empty: unlimited (plan Basic sets no limit).",
        ),
        (
            "max_users-empty",
            "Empty: unlimited (plan Basic sets no limit).",
        ),
        (
            "monthly_query_quota-empty",
            "Empty: plan Basic's quota, 1,000 queries a month.",
        ),
    ] {
        assert_eq!(text_of(&html, id).replace("&#39;", "'"), hint, "{id}");
    }
    assert!(!html.contains("leave empty for no"), "{html}");
    // Without a plan: unlimited, no quota.
    app.login_admin().await;
    let html = app.get_html(&format!("/tenants/{}/edit", t.g1.id)).await;
    assert_eq!(
        text_of(&html, "storage_limit_gb-empty"),
        "Empty: unlimited."
    );
    assert_eq!(
        text_of(&html, "monthly_query_quota-empty"),
        "Empty: no quota."
    );
}

/// The root administrator's edit form of `tenant` as sent back, with `changes`.
fn edit_fields<'a>(tenant: &'a Tenant, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", tenant.name.as_str()),
        ("subdomain", tenant.subdomain.as_str()),
        ("description", tenant.description.as_str()),
        ("enabled", "true"),
    ];
    fields.extend_from_slice(changes);
    fields
}

#[tokio::test]
async fn the_root_changes_a_plan_and_its_options_in_one_save() {
    let Plans {
        app,
        t,
        admin,
        basic,
        pro,
        ..
    } = plans().await;
    put_on(&admin, &t.a2, basic).await;
    app.login_admin().await;
    let edit = format!("/tenants/{}/edit", t.a2.id);
    // The options Basic lacks stay in the form (no JavaScript needed), saying why.
    let html = app.get_html(&edit).await;
    let field = between(&html, "id=\"can_have_subtenants\"", "</div>");
    assert!(
        field.contains("name=\"can_have_subtenants\"") && !field.contains("disabled"),
        "{field}"
    );
    let domain = between(&html, "id=\"custom_domain\"", ">");
    assert!(!domain.contains("readonly"), "{domain}");
    // Judged against the plan the save chooses: Basic refuses them …
    let basic = basic.to_string();
    let (html, error) = refused_form(
        &app,
        &edit,
        &edit_fields(
            &t.a2,
            &[
                ("plan_id", &basic),
                ("can_have_subtenants", "true"),
                ("custom_domain", "admin.a2.example"),
            ],
        ),
        "can_have_subtenants",
    )
    .await;
    assert!(error.unwrap().contains("Not in plan Basic"), "{html}");
    assert!(field_error(&html, "custom_domain").is_some(), "{html}");
    // … Pro takes them, all in one save.
    let pro = pro.to_string();
    let r = app
        .post_form(
            &edit,
            &edit_fields(
                &t.a2,
                &[
                    ("plan_id", &pro),
                    ("can_have_subtenants", "true"),
                    ("custom_domain", "admin.a2.example"),
                ],
            ),
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", t.a2.id));
    let a2 = app.reload(&t.a2).await.unwrap();
    assert_eq!(a2.plan_id.map(|p| p.to_string()), Some(pro));
    assert!(a2.can_have_subtenants);
    assert_eq!(a2.custom_domain.as_deref(), Some("admin.a2.example"));
}

#[tokio::test]
async fn a_create_naming_the_parents_plan_or_none_inherits_it() {
    let Plans {
        t,
        basic,
        pro,
        ron,
        ron_api,
        admin,
        ..
    } = plans().await;
    // Basic with sub-tenants, so acme takes new ones.
    let (s, body) = crate::api::put(
        &admin,
        &format!("/api/v1/plans/{basic}"),
        crate::api::whole_plan(json!({"name": "Basic", "api_access": true, "sub_tenants": true})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let create = |sub: &'static str, parent: i64, plan_id: serde_json::Value| {
        let ron_api = &ron_api;
        async move {
            ron_api
                .post(
                    "/api/v1/tenants",
                    json!({"parent_id": parent, "name": sub, "subdomain": sub, "plan_id": plan_id}),
                )
                .await
        }
    };
    // acme's own plan, null, and the plan a1 follows (a1 has none of its own).
    for (sub, parent, plan_id) in [
        ("n1", t.acme.id, json!(basic)),
        ("n2", t.acme.id, json!(null)),
        ("n3", t.a1.id, json!(basic)),
        ("n4", t.a1.id, json!(null)),
    ] {
        let (s, body) = create(sub, parent, plan_id).await;
        assert_eq!(s, 201, "{sub}: {body}");
        assert_eq!(body["plan_id"], json!(null), "{body}");
        assert_eq!(body["plan"]["name"], "Basic", "{body}");
        assert_eq!(body["plan"]["inherited"], true, "{body}");
    }
    // Another plan is the root's to choose.
    let (s, body) = create("n5", t.acme.id, json!(pro)).await;
    assert_eq!(s, 403, "{body}");
    // The form alike.
    let basic = basic.to_string();
    for (sub, plan_id) in [("f1", basic.as_str()), ("f2", "")] {
        let parent = t.a1.id.to_string();
        let r = ron
            .post_form(
                "/tenants",
                &[
                    ("name", sub),
                    ("subdomain", sub),
                    ("parent_id", &parent),
                    ("plan_id", plan_id),
                ],
            )
            .await;
        assert_eq!(status(&r), 303, "{sub}: {}", r.text().await.unwrap());
    }
}

// ------------------------------------------------------------ moves and batches

#[tokio::test]
async fn moves_and_batch_changes_answer_what_goes_dormant() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    for tenant in [&t.a2, &t.g1, &t.a1x] {
        let (s, body) = crate::api::put(
            &api,
            &format!("/api/v1/tenants/{}/branding", tenant.id),
            json!({"product_name": format!("{} Cloud", tenant.subdomain),
                   "primary_color": null, "support_email": null, "support_url": null}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
    }
    let bare = plan(&api, json!({"name": "Bare", "sub_tenants": true})).await;
    put_on(&api, &t.globex, bare).await;
    // The single move: the tenant, and its branding kept but not shown on Bare.
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.a2.id),
            json!({"parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["parent_id"], t.globex.id);
    assert_eq!(
        body["warnings"],
        json!(["Tenant a2's own branding is kept but not shown while on Bare."])
    );
    // Back under acme (no plan): nothing to say.
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.a2.id),
            json!({"parent_id": t.acme.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["warnings"], json!([]));
    // A batch: each update and move says what it warns of; a create does not.
    let (s, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"operations": [
                {"op": "move", "id": t.a2.id, "parent_id": t.globex.id},
                {"op": "update", "id": t.a1x.id, "data": {"plan_id": bare}},
                {"op": "update", "id": t.a1.id, "data": {"description": "partner"}},
                {"op": "create", "data": {"parent_id": t.acme.id, "name": "New", "subdomain": "new"}},
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(
        results[0]["warnings"],
        json!(["Tenant a2's own branding is kept but not shown while on Bare."]),
        "{body}"
    );
    assert_eq!(
        results[1]["warnings"],
        json!(["Tenant a1x's own branding is kept but not shown while on Bare."]),
        "{body}"
    );
    assert_eq!(results[2]["warnings"], json!([]), "{body}");
    assert!(results[3].get("warnings").is_none(), "{body}");
    // The move form's flash says it too.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/move", t.g1.id),
            &[("parent_id", &t.acme.id.to_string())],
        )
        .await;
    assert_eq!(status(&r), 303);
    let r = app
        .post_form(
            &format!("/tenants/{}/move", t.g1.id),
            &[("parent_id", &t.globex.id.to_string())],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", t.g1.id));
    let html = app.get_html(&format!("/tenants/{}", t.g1.id)).await;
    assert!(
        html.contains("Moved Tenant g1 under Tenant globex. Note: Tenant g1&#39;s own branding is kept but not shown while on Bare."),
        "{html}"
    );
}

// ------------------------------------------------------------ the branding page

#[tokio::test]
async fn resetting_one_branding_field_keeps_the_others_unsaved_edits() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let r = save(&app, &t.a1, &fields("A1 Cloud", "#0f766e", "", "")).await;
    assert_eq!(status(&r), 303);
    // The product name's reset button posts the whole form: the colour and the
    // email were edited, not saved.
    let r = app
        .post_form(
            &format!("/tenants/{}/branding/reset", t.a1.id),
            &[
                ("field", "product_name"),
                ("product_name", "A1 Cloud"),
                ("primary_color", "#123456"),
                ("support_email", "help@a1.example"),
                ("support_url", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Reset to inherited. Your other changes are not saved yet"),
        "{html}"
    );
    assert!(
        html.contains("id=\"product_name\" name=\"product_name\" type=\"text\" value=\"\""),
        "{html}"
    );
    assert!(html.contains("value=\"#123456\""), "{html}");
    assert!(html.contains("value=\"help@a1.example\""), "{html}");
    // The reset is done; the edits wait for Save.
    let api = admin_api(&app).await;
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.a1.id))
        .await;
    assert_eq!(b["product_name"]["set_here"], false, "{b}");
    assert_eq!(b["primary_color"]["value"], "#0f766e", "{b}");
    assert_eq!(b["support_email"]["value"], json!(null), "{b}");
    // Nothing else edited: back to the page as before.
    let r = app
        .post_form(
            &format!("/tenants/{}/branding/reset", t.a1.id),
            &[
                ("field", "primary_color"),
                ("product_name", ""),
                ("primary_color", "#0f766e"),
                ("support_email", ""),
                ("support_url", ""),
            ],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}/branding", t.a1.id));
}

#[tokio::test]
async fn login_and_error_pages_link_both_support_contacts() {
    let (app, t) = acme_branded_with("", "https://help.acme.example").await;
    let links = [
        "<a class=\"support-email\" href=\"mailto:help@acme.example\">help@acme.example</a>",
        " or ",
        "<a class=\"support-url\" href=\"https://help.acme.example\" rel=\"noopener noreferrer\">https://help.acme.example</a>",
    ];
    let (client, base) = app.browser_for_host(&format!("acme.{BASE_DOMAIN}"));
    let login = text_at(&client, format!("{base}/login")).await;
    let anonymous_error = text_at(&client, format!("{base}/no-such-page")).await;
    for (html, id) in [
        (&login, "login-support"),
        (&anonymous_error, "error-support"),
    ] {
        let p = between(html, &format!("id=\"{id}\""), "</p>");
        for part in links {
            assert!(p.contains(part), "{part} in {p}");
        }
    }
    // A logged-in user's error page in the frame.
    let user = app.user(&t.acme, "alice").await;
    app.grant(&user, &t.acme, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let alice = browser_as(&app, "acme\\alice").await;
    let html = alice.get_html("/no-such-page").await;
    let p = between(&html, "id=\"error-support\"", "</p>");
    for part in links {
        assert!(p.contains(part), "{part} in {p}");
    }
}
