//! #13's second black-box review: a failed migration whose source was deleted is
//! the target's to see and roll back (its own admin, an admin above it, the
//! starter; nobody who cannot see the target); htmx meeting a lock is sent to the
//! locked page; the locked page keeps the console's frame and, for a failed
//! migration, says what is left to do and who may; a retry meeting a locked source
//! is a 423; the form's mapping errors are the API's; the starter is mailed on
//! failure; half a versions comparison is a 400.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::migration_pages::{app, fail, run, setup};
use serde_json::json;
use tenantry::db::models::User;
use tenantry::domain::{GrantRole, Scope};
use tenantry::services::rule_migrations::Ran;

/// A user at home in `home` holding `grants`, logged in (browser) and with an API
/// token.
async fn person(
    app: &TestApp,
    home: &tenantry::db::models::Tenant,
    login: &str,
    grants: &[(&tenantry::db::models::Tenant, GrantRole, Scope)],
) -> (User, TestApp, Api) {
    let user = app.user(home, login).await;
    for (tenant, role, scope) in grants {
        app.grant(&user, tenant, *role, *scope, false).await;
    }
    let browser = browser_as(app, &format!("{}\\{login}", home.subdomain)).await;
    let api = Api::new(app, Some(&token_for(app, &user, false).await));
    (user, browser, api)
}

fn hx_redirect(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("hx-redirect")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn a_migration_whose_source_was_deleted_is_seen_and_rolled_back_from_the_target() {
    let app = app().await;
    let t = partner_tree(&app).await;
    let (src, dst) = (t.a2.clone(), t.g1.clone());
    let admin = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    for v in ["10.0.0.0/24", "10.0.1.0/24"] {
        let (s, body) = admin
            .post(
                &format!("/api/v1/tenants/{}/rules", src.id),
                json!({"kind": "block_ip", "value": v, "action": "block"}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let before = crate::rule_migrations::checksum(&app, &dst).await;

    // The starter: Administrator of both tenants alone (no global administrator).
    let (_, starter_page, starter) = person(
        &app,
        &t.globex,
        "starter",
        &[
            (&src, GrantRole::Administrator, Scope::Tenant),
            (&dst, GrantRole::Administrator, Scope::Tenant),
        ],
    )
    .await;
    // The target's own Administrator, an Owner above it, a Viewer of it, and an
    // Owner elsewhere (who does not see the target).
    let (_, own_page, own) = person(
        &app,
        &dst,
        "own",
        &[(&dst, GrantRole::Administrator, Scope::Tenant)],
    )
    .await;
    let (_, above_page, above) = person(
        &app,
        &t.globex,
        "above",
        &[(&t.globex, GrantRole::Owner, Scope::Subtree)],
    )
    .await;
    let (_, viewer_page, viewer) = person(
        &app,
        &dst,
        "viewer",
        &[(&dst, GrantRole::Viewer, Scope::Tenant)],
    )
    .await;
    let (_, outsider_page, outsider) = person(
        &app,
        &t.acme,
        "outsider",
        &[(&t.acme, GrantRole::Owner, Scope::Subtree)],
    )
    .await;

    let (s, m) = starter
        .post(
            &format!("/api/v1/tenants/{}/rules/migrate", src.id),
            json!({"target": dst.id}),
        )
        .await;
    assert_eq!(s, 202, "{m}");
    let mid = m["id"].as_i64().unwrap();
    fail(&app, mid, "the database went away").await;
    // The failed migration's source is unlocked: a forced delete removes it.
    let (s, body) = admin
        .delete(&format!("/api/v1/tenants/{}?force=true", src.id))
        .await;
    assert_eq!(s, 204, "{body}");
    assert!(app.reload(&src).await.is_none());

    let one = format!("/api/v1/migrations/{mid}");
    // Whoever reads the target's rules sees it, the source unnamed unless they
    // started it (or are a global administrator).
    for (who, api, source_name) in [
        ("the target's admin", &own, "a tenant you cannot see"),
        ("an owner above", &above, "a tenant you cannot see"),
        ("the target's viewer", &viewer, "a tenant you cannot see"),
        ("the starter", &starter, src.name.as_str()),
        ("the root's admin", &admin, src.name.as_str()),
    ] {
        let (s, v) = api.get(&one).await;
        assert_eq!(s, 200, "{who}: {v}");
        assert_eq!(v["source_tenant_id"], serde_json::Value::Null, "{who}");
        assert_eq!(v["source_name"], source_name, "{who}");
        let (s, list) = api.get("/api/v1/migrations").await;
        assert_eq!(s, 200);
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == mid),
            "{who}: {list}"
        );
    }
    for (who, page) in [
        ("the target's admin", &own_page),
        ("an owner above", &above_page),
        ("the starter", &starter_page),
    ] {
        let r = page.get(&format!("/migrations/{mid}")).await;
        assert_eq!(status(&r), 200, "{who}");
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"rollback\""), "{who}: {html}");
        assert!(html.contains("id=\"migration-source-deleted\""), "{who}");
        assert!(!html.contains("id=\"retry\""), "{who}");
        let html = page.get_html("/migrations").await;
        assert!(html.contains(&format!("data-migration=\"{mid}\"")), "{who}");
        // Its Rollback asks first (and then would roll back).
        let r = page
            .post_form(&format!("/migrations/{mid}/rollback"), &[])
            .await;
        assert_eq!(status(&r), 200, "{who}");
        assert!(r
            .text()
            .await
            .unwrap()
            .contains(&format!("Roll back migration #{mid}?")));
    }
    // The target's admin's locked page links it and sends them there.
    let html = own_page
        .get_html(&format!("/tenants/{}/rules", dst.id))
        .await;
    assert!(
        html.contains(&format!("href=\"/migrations/{mid}\"")),
        "{html}"
    );
    assert!(html.contains("id=\"locked-resolve\""), "{html}");
    // A Viewer sees it but may not roll it back, and is told who may.
    let html = viewer_page
        .get_html(&format!("/tenants/{}/rules", dst.id))
        .await;
    assert!(
        html.contains(
            "Owners or Administrators with Rules full over this tenant can roll it back."
        ),
        "{html}"
    );
    let html = viewer_page.get_html(&format!("/migrations/{mid}")).await;
    assert!(!html.contains("id=\"rollback\""), "{html}");
    let (s, _) = viewer.post(&format!("{one}/rollback"), json!({})).await;
    assert_eq!(s, 403);
    // Who cannot see the target: 404 everywhere, and not listed.
    let (s, _) = outsider.get(&one).await;
    assert_eq!(s, 404);
    let (s, _) = outsider.post(&format!("{one}/rollback"), json!({})).await;
    assert_eq!(s, 404);
    let (_, list) = outsider.get("/api/v1/migrations").await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
    assert_eq!(
        status(&outsider_page.get(&format!("/migrations/{mid}")).await),
        404
    );
    let r = outsider_page
        .post_form(
            &format!("/migrations/{mid}/rollback"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 404);
    assert!(!outsider_page
        .get_html("/migrations")
        .await
        .contains(&format!("data-migration=\"{mid}\"")));

    // A retry cannot be: the source is gone (named as the reader may be told).
    let (s, v) = own.post(&format!("{one}/retry"), json!({})).await;
    assert_eq!(s, 409, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("can no longer be retried"), "{detail}");
    assert!(!detail.contains(&src.name), "{detail}");

    // The target's own admin rolls it back: exactly as before, unlocked.
    let (s, v) = own.post(&format!("{one}/rollback"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "rolled_back");
    assert_eq!(crate::rule_migrations::checksum(&app, &dst).await, before);
    assert!(!crate::rule_migrations::locked(&app, &dst).await);
}

#[tokio::test]
async fn htmx_meeting_a_lock_is_sent_to_the_locked_page_in_the_frame() {
    let app = app().await;
    let s = setup(&app).await;
    crate::migration_review::started(&app, &s).await;
    let dst = s.t.globex.id;
    let rid: i64 = db(&app)
        .await
        .query_one(
            "SELECT rule_id FROM rules WHERE tenant_id = $1 AND valid_to IS NULL LIMIT 1",
            &[&dst],
        )
        .await
        .unwrap()
        .get(0);
    app.login_admin().await;
    let locked_page = format!("/tenants/{dst}/rules");

    // A write through htmx (the Delete rule dialog's post), a filter of the list
    // (its target is `main`): 423 telling htmx to go to the locked page.
    let r = app
        .post_hx(&format!("/tenants/{dst}/rules/{rid}/delete"), &[])
        .await;
    assert_eq!(status(&r), 423);
    assert_eq!(hx_redirect(&r).as_deref(), Some(locked_page.as_str()));
    let r = app
        .post_hx(
            &format!("/tenants/{dst}/rules/{rid}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 423);
    assert_eq!(hx_redirect(&r).as_deref(), Some(locked_page.as_str()));
    let r = app.get_hx(&format!("{locked_page}?kind=block_ip")).await;
    assert_eq!(status(&r), 423);
    assert_eq!(hx_redirect(&r).as_deref(), Some(locked_page.as_str()));
    // Nothing was deleted.
    let alive: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM rules WHERE rule_id = $1 AND valid_to IS NULL",
            &[&rid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(alive, 1);

    // Without htmx: no such header, and the page is the locked view in the
    // console's frame (navigation, breadcrumb).
    let r = app.get(&locked_page).await;
    assert_eq!(status(&r), 423);
    assert!(hx_redirect(&r).is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"locked\""), "{html}");
    assert!(html.contains("class=\"mainnav\""), "{html}");
    assert!(html.contains("id=\"breadcrumb\""), "{html}");
    assert!(html.contains("id=\"migration-progress\""), "{html}");
    // Still refreshed without JavaScript while it runs.
    assert!(
        html.contains("<meta http-equiv=\"refresh\" content=\"3\">"),
        "{html}"
    );
    assert!(
        html.contains("cannot be read or changed until it ends"),
        "{html}"
    );
}

#[tokio::test]
async fn a_failed_migrations_locked_page_says_what_is_left_and_who_may_do_it() {
    let app = app().await;
    let s = setup(&app).await;
    let (_, v) = crate::migration_review::started(&app, &s).await;
    let mid = v["id"].as_i64().unwrap();
    fail(&app, mid, "the database went away").await;
    let dst = s.t.globex.id;

    // Who may act is sent to the migration's page.
    app.login_admin().await;
    let r = app.get(&format!("/tenants/{dst}/rules")).await;
    assert_eq!(status(&r), 423);
    let html = r.text().await.unwrap();
    assert!(!html.contains("until it ends"), "{html}");
    assert!(html.contains("id=\"locked-failed\""), "{html}");
    assert!(
        html.contains("until it is rolled back or retried"),
        "{html}"
    );
    assert!(html.contains("id=\"locked-resolve\""), "{html}");
    assert!(
        html.contains(&format!("href=\"/migrations/{mid}\"")),
        "{html}"
    );

    // A reader who may not is told who may: on the page and in the API's 423.
    let (_, page, api) = person(
        &app,
        &s.t.globex,
        "reader",
        &[(&s.t.globex, GrantRole::Viewer, Scope::Tenant)],
    )
    .await;
    let html = page.get_html(&format!("/tenants/{dst}/rules")).await;
    assert!(
        html.contains("until it is rolled back or retried"),
        "{html}"
    );
    assert!(!html.contains("id=\"locked-resolve\""), "{html}");
    let who = "Owners or Administrators with Rules full over both of its tenants can roll it back or retry it.";
    assert!(
        html.contains(&format!("<p id=\"locked-who\">{who}</p>")),
        "{html}"
    );
    let (status, v) = api.get(&format!("/api/v1/tenants/{dst}/rules")).await;
    assert_eq!(status, 423, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("which failed"), "{detail}");
    assert!(
        detail.contains("until the migration is rolled back or retried"),
        "{detail}"
    );
    assert!(detail.contains(who), "{detail}");
}

#[tokio::test]
async fn a_retry_meeting_a_locked_source_is_423_naming_the_migration() {
    let app = app().await;
    let s = setup(&app).await;
    let (admin, v) = crate::migration_review::started(&app, &s).await;
    let first = v["id"].as_i64().unwrap();
    fail(&app, first, "the database went away").await;
    // The unlocked source is migrated elsewhere meanwhile: it is locked again.
    let (status, v) = admin
        .post(
            &format!("/api/v1/tenants/{}/rules/migrate", s.t.acme.id),
            json!({"target": s.t.a1.id}),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let second = v["id"].as_i64().unwrap();

    let (status, v) = admin
        .post(&format!("/api/v1/migrations/{first}/retry"), json!({}))
        .await;
    assert_eq!(status, 423, "{v}");
    assert!(v["type"].as_str().unwrap().ends_with(":locked"), "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("Migration #{second} of the rules")),
        "{detail}"
    );
    // The console's Retry, confirmed: the source's locked page.
    app.login_admin().await;
    let r = app
        .post_form(&format!("/migrations/{first}/retry"), &[("confirm", "yes")])
        .await;
    assert_eq!(r.status().as_u16(), 423);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("href=\"/migrations/{second}\"")),
        "{html}"
    );
    // Nothing changed: the first is still failed.
    assert_eq!(crate::migration_pages::state(&app, first).await, "failed");
    assert_eq!(run(&app).await, Ran::Done(second));
    let (status, v) = admin
        .post(&format!("/api/v1/migrations/{first}/retry"), json!({}))
        .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn the_forms_mapping_errors_are_the_apis() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let form = format!("/tenants/{}/rules/migrate", s.t.acme.id);
    let target = s.t.globex.id.to_string();
    let app_field = format!("map_application_{}", s.shop);
    let dom_field = format!("map_domain_{}", s.dom);
    let g1_app = s.g1_app.to_string();
    let r = app
        .post_form(
            &form,
            &[
                ("target", &target),
                (&app_field, &g1_app),
                (&dom_field, &g1_app),
                ("map_application_77", ""),
                ("map_domain_99", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    // The API's words for the same mapping.
    let admin = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (status, v) = admin
        .post(
            &format!("/api/v1/tenants/{}/rules/migrate", s.t.acme.id),
            json!({"target": s.t.globex.id,
                   "applications": {s.shop.to_string(): s.g1_app, "77": null},
                   "domains": {s.dom.to_string(): s.g1_app, "99": null}}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let escape = |m: &str| m.replace('\'', "&#x27;");
    let app_error = v["errors"][&app_field].as_str().unwrap();
    assert_eq!(
        app_error,
        "Choose one of the applications of Tenant globex, or none."
    );
    // (The API reports the unknown ids before the mapped ones.)
    assert_eq!(
        v["errors"]["mappings"],
        "The source tenant has no application 77, domain 99; reload the page."
    );
    let (status, v) = admin
        .post(
            &format!("/api/v1/tenants/{}/rules/migrate", s.t.acme.id),
            json!({"target": s.t.globex.id,
                   "applications": {s.shop.to_string(): s.g1_app},
                   "domains": {s.dom.to_string(): s.g1_app}}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    for field in [&app_field, &dom_field] {
        let api = v["errors"][field].as_str().unwrap();
        let shown = field_error(&html, field).unwrap_or_default();
        assert!(
            shown == api || shown == escape(api) || shown == api.replace('\'', "&#39;"),
            "{field}: {shown} vs {api}"
        );
    }
    assert!(
        html.contains(
            "<li>The source tenant has no application 77, domain 99; reload the page.</li>"
        ),
        "{html}"
    );
    assert!(!html.contains("map_application_77:"), "{html}");
}

#[tokio::test]
async fn the_starter_is_mailed_when_a_migration_fails() {
    let app = app().await;
    let s = setup(&app).await;
    app.admin_with_email().await;
    let (_, v) = crate::migration_review::started(&app, &s).await;
    let mid = v["id"].as_i64().unwrap();
    fail(&app, mid, "the database went away").await;
    let row = db(&app)
        .await
        .query_one(
            "SELECT recipient, subject, body_text FROM outbox WHERE subject LIKE 'Migration #%'",
            &[],
        )
        .await
        .unwrap();
    let (to, subject, body): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(to, "admin@example.com");
    assert_eq!(subject, format!("Migration #{mid} of the rules failed"));
    assert!(body.contains("failed: the database went away"), "{body}");
    assert!(
        body.contains(&s.t.acme.name) && body.contains(&s.t.globex.name),
        "{body}"
    );
    assert!(body.contains("rolled back"), "{body}");
    let link = format!(
        "{}/migrations/{mid}",
        tenantry::mail::PUBLIC_URL_PLACEHOLDER
    );
    assert!(body.contains(&link), "{body}");
}

#[tokio::test]
async fn half_a_versions_comparison_is_a_400_naming_the_missing_one() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let page = format!("/tenants/{}/rules/versions", s.t.acme.id);
    for (query, missing) in [("from=1", "to"), ("to=2", "from"), ("from=1&to=", "to")] {
        let r = app.get(&format!("{page}?{query}")).await;
        assert_eq!(status(&r), 400, "{query}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("The query parameter “{missing}” is missing")),
            "{query}: {html}"
        );
    }
    assert_eq!(status(&app.get(&format!("{page}?from=1&to=2")).await), 200);
    assert_eq!(status(&app.get(&format!("{page}?from=&to=")).await), 200);
}
