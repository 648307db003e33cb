//! Issue #11's black-box review findings: switching keeps every kind of tenant page
//! the target has (a page about one object leads to the target's list of that kind),
//! and paths no route takes answer in the console's frame.

use crate::helpers::*;
use tenantry::domain::{GrantRole, Scope};

async fn switch(browser: &TestApp, tenant_id: i64, return_to: &str) -> reqwest::Response {
    browser
        .post_form(
            "/switch",
            &[
                ("tenant_id", &tenant_id.to_string()),
                ("return_to", return_to),
            ],
        )
        .await
}

/// The switcher's hidden `return_to` on the page.
fn return_to(html: &str) -> String {
    let form = between(html, "<form id=\"switcher\"", "</form>");
    let start = form.find("name=\"return_to\" value=\"").expect("return_to") + 24;
    form[start..start + form[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn switching_from_every_tenant_page_kind_keeps_it_when_the_target_has_it() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let bob = app.user(&t.a1, "bob").await;
    app.login_admin().await;
    let (a1, a2) = (t.a1.id, t.a2.id);
    // (page on a1, its kind, where the switch to a2 leads)
    let cases = [
        ("rules".to_string(), "rules", "rules"),
        ("rules/new".to_string(), "rules", "rules"),
        (
            "rules/versions".to_string(),
            "rule-versions",
            "rules/versions",
        ),
        (
            "rules/migrate".to_string(),
            "rules-migrate",
            "rules/migrate",
        ),
        ("applications".to_string(), "applications", "applications"),
        (
            "applications/new".to_string(),
            "applications",
            "applications",
        ),
        ("domains".to_string(), "domains", "domains"),
        ("domains/new".to_string(), "domains", "domains"),
        (
            "credential-stuffing".to_string(),
            "credential-stuffing",
            "credential-stuffing",
        ),
        // A user's page is about someone of a1: the switch leads to a2's Users.
        (format!("users/{}", bob.id), "users", "users"),
        ("users/new".to_string(), "users", "users"),
        ("roles/new".to_string(), "roles", "roles"),
        ("invitations/new".to_string(), "invitations", "invitations"),
        ("stats".to_string(), "stats", "stats"),
        (
            "stats/reports".to_string(),
            "stats-reports",
            "stats/reports",
        ),
        ("activity".to_string(), "activity", "activity"),
    ];
    for (page, kind, lands) in &cases {
        let html = app.get_html(&format!("/tenants/{a1}/{page}")).await;
        assert_eq!(return_to(&html), *kind, "{page}");
        let r = switch(&app, a2, kind).await;
        let want = format!("/tenants/{a2}/{lands}");
        assert_redirect_to(&r, &want);
        assert_eq!(status(&app.get(&want).await), 200, "{want}");
        switch(&app, app.root.id, "").await;
    }

    // Only where the user may open it there: a Viewer reads the rules of a2 but may
    // not migrate them, so the migration form of A leads to a2's dashboard.
    let vic = app.user(&t.acme, "vic").await;
    app.grant(&vic, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let vic_browser = browser_as(&app, "acme\\vic").await;
    assert_redirect_to(
        &switch(&vic_browser, a2, "rules").await,
        &format!("/tenants/{a2}/rules"),
    );
    assert_redirect_to(
        &switch(&vic_browser, a2, "rules-migrate").await,
        "/dashboard",
    );
}

#[tokio::test]
async fn paths_no_route_takes_answer_in_the_frame_naming_nothing_unseen() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let alice = subtree_admin(&app, &t.acme, "alice").await;
    let globex = t.globex.id;
    for (path, code) in [
        ("/nonexistent".to_string(), 404),
        (format!("/tenants/{globex}/foo"), 404),
        (format!("/tenants/{}/foo", t.a1.id), 404),
        (format!("/tenants/{globex}/enable"), 405),
        (format!("/tenants/{}/enable", t.a1.id), 405),
        ("/tenants/bulk".to_string(), 405),
    ] {
        let r = alice.get(&path).await;
        assert_eq!(status(&r), code, "{path}");
        let html = r.text().await.unwrap();
        let nav = between(&html, "<nav class=\"mainnav\"", "</nav>");
        assert!(
            nav.contains(&format!("href=\"/tenants/{}/users\"", t.acme.id)),
            "{path}: {html}"
        );
        let crumbs = between(&html, "id=\"breadcrumb\"", "</nav>");
        assert!(crumbs.contains("Tenant acme"), "{path}: {crumbs}");
        for unseen in ["Tenant globex", "Tenant g1"] {
            assert!(!html.contains(unseen), "{path}: {html}");
        }
        assert!(html.contains(&format!("Error {code}.")), "{path}: {html}");
    }
    // Without a session they stay the plain pages; the API's stay problem documents.
    let anonymous = app.new_browser();
    let r = anonymous.get("/nonexistent").await;
    assert_eq!(status(&r), 404);
    assert!(!r.text().await.unwrap().contains("mainnav"));
    let r = alice.get("/api/v1/nothing").await;
    assert_eq!(status(&r), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
}

#[tokio::test]
async fn malformed_ids_are_400s_naming_the_parameter() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    for (path, name) in [
        (
            format!("/tenants/tree?parent={}&open=abc", t.acme.id),
            "The query parameter “open”",
        ),
        (
            "/users/search?q=a&grant_on=abc".to_string(),
            "The query parameter “grant_on”",
        ),
    ] {
        let r = app.get(&path).await;
        assert_eq!(status(&r), 400, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains(name), "{path}: {body}");
    }
    let r = switch(&app, 0, "").await;
    assert_eq!(status(&r), 400);
    let r = app
        .post_form("/switch", &[("tenant_id", "abc"), ("return_to", "")])
        .await;
    assert_eq!(status(&r), 400);
    assert!(r.text().await.unwrap().contains("“tenant_id”"));
    // An unseen or unknown tenant stays a 404.
    assert_eq!(status(&switch(&app, 99_999_999, "").await), 404);
    // The grant revocation says plainly what is lost.
    let bob = app.user(&t.a1, "bob").await;
    app.grant(&bob, &t.a1, GrantRole::Administrator, Scope::Tenant, false)
        .await;
    let id: i64 = db(&app)
        .await
        .query_one("SELECT id FROM grants WHERE user_id = $1", &[&bob.id])
        .await
        .unwrap()
        .get(0);
    let r = app
        .post_form(&format!("/tenants/{}/access/{id}/revoke", t.a1.id), &[])
        .await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "From now on they no longer have the rights this grant gives on Tenant a1 \
             (not its sub-tenants). Their home role and their other grants stay."
        ),
        "{html}"
    );
}
