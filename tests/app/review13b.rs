//! #13's second black-box review: the migration's starter named per reader on
//! every page and in the API, domains re-bound under rules, the versions diff of
//! applications and domains.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::migration_pages::{app, setup};
use serde_json::json;
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{GrantRole, Scope};

/// A user at home in `home` who administers each of `over` (subtrees).
async fn admin_of(app: &TestApp, home: &Tenant, name: &str, over: &[&Tenant]) -> (User, TestApp) {
    let user = app.user(home, name).await;
    for t in over {
        app.grant(&user, t, GrantRole::Administrator, Scope::Subtree, true)
            .await;
    }
    let browser = browser_as(app, &format!("{}\\{name}", home.subdomain)).await;
    (user, browser)
}

#[tokio::test]
async fn the_starter_is_named_per_reader_and_the_token_only_to_themself() {
    let app = app().await;
    let s = setup(&app).await;
    let dst = s.t.globex.id;
    let (_, v) = crate::migration_review::started(&app, &s).await;
    let mid = v["id"].as_i64().unwrap();
    assert!(
        v["started_by"]
            .as_str()
            .unwrap()
            .starts_with("root\\admin (API token "),
        "{v}"
    );

    // Sees both tenants (so the migration) but cannot find root's people.
    let (both, page) = admin_of(&app, &s.t.acme, "both", &[&s.t.acme, &s.t.globex]).await;
    for path in [format!("/migrations/{mid}"), "/migrations".to_string()] {
        let r = page.get(&path).await;
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(!html.contains("\\admin"), "{path}: {html}");
        assert!(html.contains("a user you cannot see"), "{path}: {html}");
    }
    let api = Api::new(&app, Some(&token_for(&app, &both, false).await));
    let (status, v) = api.get(&format!("/api/v1/migrations/{mid}")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["started_by"], "a user you cannot see", "{v}");
    let (status, v) = api.get("/api/v1/migrations").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["items"][0]["started_by"], "a user you cannot see", "{v}");

    // Who may find the starter is told their login, never the token they used.
    let (peer, page) = admin_of(&app, &app.root, "peer", &[&app.root]).await;
    let api = Api::new(&app, Some(&token_for(&app, &peer, false).await));
    let (status, v) = api.get(&format!("/api/v1/migrations/{mid}")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["started_by"], "root\\admin", "{v}");
    for path in [
        format!("/migrations/{mid}"),
        "/migrations".to_string(),
        format!("/tenants/{dst}/rules"),
    ] {
        let html = page.get_html(&path).await;
        assert!(html.contains("root\\admin"), "{path}: {html}");
        assert!(!html.contains("API token"), "{path}: {html}");
        // Who may open the migration is linked to it from the locked page.
        if path.ends_with("/rules") {
            assert!(
                html.contains(&format!("href=\"/migrations/{mid}\"")),
                "{html}"
            );
        }
    }
    assert_eq!(
        crate::migration_pages::run(&app).await,
        tenantry::services::rule_migrations::Ran::Done(mid)
    );
    let html = page
        .get_html(&format!("/tenants/{dst}/rules/versions"))
        .await;
    assert!(html.contains("<td class=\"by\">root\\admin</td>"), "{html}");
    assert!(!html.contains("API token"), "{html}");
}

#[tokio::test]
async fn a_domain_is_not_rebound_under_rules_of_another_application() {
    let app = app().await;
    let s = setup(&app).await;
    let src = s.t.acme.id;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let domain = format!("/api/v1/tenants/{src}/domains/{}", s.dom);
    // Four rules name shop.example.com with Shop.
    let (status, v) = api.patch(&domain, json!({"application_id": s.blog})).await;
    assert_eq!(status, 409, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("4 rules use it with another application"),
        "{detail}"
    );
    let (_, v) = api.get(&domain).await;
    assert_eq!(v["application_id"], s.shop, "{v}");

    // The console form says it at the application field, and changes nothing.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{src}/domains/{}", s.dom),
            &[
                ("name", "shop.example.com"),
                ("application_id", &s.blog.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("4 rules use it with another application"),
        "{html}"
    );
    let (_, v) = api.get(&domain).await;
    assert_eq!(v["application_id"], s.shop, "{v}");

    // Renaming it keeps its application: allowed. Unbinding it is too (the rules
    // keep Shop), and binding it to Blog then is still refused.
    let (status, v) = api
        .patch(&domain, json!({"name": "shop2.example.com"}))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api.patch(&domain, json!({"application_id": null})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["application_id"], serde_json::Value::Null, "{v}");
    let (status, v) = api.patch(&domain, json!({"application_id": s.blog})).await;
    assert_eq!(status, 409, "{v}");
    // Back to Shop: no rule names another application.
    let (status, v) = api.patch(&domain, json!({"application_id": s.shop})).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn the_versions_diff_shows_application_and_domain_changes() {
    let app = app().await;
    let s = setup(&app).await;
    let src = s.t.acme.id;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (status, v) = api
        .post(
            &format!("/api/v1/tenants/{src}/applications"),
            json!({"name": "Forum"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = api
        .patch(
            &format!("/api/v1/tenants/{src}/domains/{}", s.dom),
            json!({"application_id": null}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{src}/rules/versions"))
        .await;
    let current: i64 = html
        .split("data-version=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    let diff = |from: i64, to: i64| {
        let app = &app;
        async move {
            app.get_html(&format!(
                "/tenants/{src}/rules/versions?from={from}&to={to}"
            ))
            .await
        }
    };
    let html = diff(current - 1, current).await;
    assert!(!html.contains("No differences."), "{html}");
    assert!(
        html.contains("Changed domain shop.example.com (application Shop → no application)"),
        "{html}"
    );
    let html = diff(current, current - 2).await;
    assert!(html.contains("Created application Forum"), "{html}");
    assert!(html.contains("Changed domain shop.example.com"), "{html}");
    // A version that changed only rules lists no application or domain change.
    let html = diff(current - 3, current - 2).await;
    assert!(!html.contains("diff-objects"), "{html}");
}
