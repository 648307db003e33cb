//! CSRF: every state-changing request needs the session's token, as the
//! `csrf_token` form field or the `X-CSRF-Token` header.

use crate::helpers::*;
use tenantry::db::models::Tenant;

async fn tenant_exists(app: &TestApp, subdomain: &str) -> bool {
    let mut conn = app.conn().await;
    Tenant::by_subdomain(&mut conn, subdomain)
        .await
        .unwrap()
        .is_some()
}

fn tenant_form(subdomain: &str, parent: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", format!("Tenant {subdomain}")),
        ("subdomain", subdomain.to_string()),
        ("description", String::new()),
        ("parent_id", parent.to_string()),
        ("can_have_subtenants", "true".to_string()),
    ]
}

fn assert_refused(status: u16, html: &str) {
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("Request refused"), "{html}");
}

fn assert_unreadable(status: u16, html: &str) {
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("The form could not be read"), "{html}");
}

async fn send(request: reqwest::RequestBuilder) -> (u16, String) {
    let r = request.send().await.expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test]
async fn creating_a_tenant_needs_the_right_token() {
    let app = spawn_app().await;
    app.login_admin().await;
    let root = app.root.id.to_string();

    // No token at all.
    let form = tenant_form("no-token", &root);
    let (status, html) = send(app.client.post(app.url("/tenants")).form(&form)).await;
    assert_refused(status, &html);
    assert!(!tenant_exists(&app, "no-token").await);

    // A real token, but another session's.
    let other = app.new_browser();
    let foreign = other.csrf().await;
    let mut form = tenant_form("foreign-token", &root);
    form.push(("csrf_token", foreign));
    let (status, html) = send(app.client.post(app.url("/tenants")).form(&form)).await;
    assert_refused(status, &html);
    assert!(!tenant_exists(&app, "foreign-token").await);

    // A made-up token, in the field or in the header.
    let mut form = tenant_form("made-up", &root);
    form.push(("csrf_token", "x".repeat(43)));
    let (status, html) = send(app.client.post(app.url("/tenants")).form(&form)).await;
    assert_refused(status, &html);
    let form = tenant_form("made-up", &root);
    let (status, html) = send(
        app.client
            .post(app.url("/tenants"))
            .header("X-CSRF-Token", "x".repeat(43))
            .form(&form),
    )
    .await;
    assert_refused(status, &html);
    assert!(!tenant_exists(&app, "made-up").await);

    // The right token as the htmx header, without a form field: accepted.
    let token = app.csrf().await;
    let form = tenant_form("by-header", &root);
    let r = app
        .client
        .post(app.url("/tenants"))
        .header("X-CSRF-Token", &token)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(tenant_exists(&app, "by-header").await);

    // And as the form field.
    let mut form = tenant_form("by-field", &root);
    form.push(("csrf_token", token));
    let r = app
        .client
        .post(app.url("/tenants"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(tenant_exists(&app, "by-field").await);
}

#[tokio::test]
async fn logout_without_token_is_refused_and_the_session_survives() {
    let app = spawn_app().await;
    app.login_admin().await;
    let (status, html) = send(app.client.post(app.url("/logout")).form(&[("x", "y")])).await;
    assert_refused(status, &html);
    let (status, html) = send(app.client.post(app.url("/logout"))).await;
    assert_refused(status, &html);
    assert_eq!(app.get("/dashboard").await.status().as_u16(), 200);
}

#[tokio::test]
async fn login_without_token_is_refused() {
    let app = spawn_app().await;
    let creds = [("username", ADMIN_USER), ("password", ADMIN_PASSWORD)];

    // A browser that never loaded the form has no token in its session at all.
    let (status, html) = send(app.client.post(app.url("/login")).form(&creds)).await;
    assert_refused(status, &html);

    // One that did, but does not send it back.
    let _ = app.csrf().await;
    let (status, html) = send(app.client.post(app.url("/login")).form(&creds)).await;
    assert_refused(status, &html);
    assert_redirect_to(&app.get("/dashboard").await, "/login");
}

#[tokio::test]
async fn the_token_from_before_login_is_dead_after_login() {
    let app = spawn_app().await;
    let before = app.csrf().await;
    app.login_admin().await;
    let after = app.csrf().await;
    assert_ne!(before, after);
    let (status, html) = send(
        app.client
            .post(app.url("/logout"))
            .form(&[("csrf_token", &before)]),
    )
    .await;
    assert_refused(status, &html);
    assert_eq!(app.get("/dashboard").await.status().as_u16(), 200);
    let r = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", &after)])
        .send()
        .await
        .unwrap();
    assert_redirect_to(&r, "/login");
}

#[tokio::test]
async fn non_form_posts_need_the_header() {
    let app = spawn_app().await;
    app.login_admin().await;
    let token = app.csrf().await;
    let root = app.root.id;

    let json = format!(
        r#"{{"name":"Json","subdomain":"json-sub","parent_id":"{root}","csrf_token":"{token}"}}"#
    );
    let (status, html) = send(
        app.client
            .post(app.url("/tenants"))
            .header("Content-Type", "application/json")
            .body(json),
    )
    .await;
    assert_unreadable(status, &html);

    // The token in a body that is not a urlencoded form is not looked at: the form
    // cannot be read (400, said so rather than that it expired); refused either way.
    let body = format!("name=Plain&subdomain=plain-sub&parent_id={root}&csrf_token={token}");
    let (status, html) = send(
        app.client
            .post(app.url("/tenants"))
            .header("Content-Type", "text/plain")
            .body(body),
    )
    .await;
    assert_unreadable(status, &html);
    let (status, html) = send(app.client.post(app.url(&format!("/tenants/{root}/edit")))).await;
    assert_refused(status, &html);

    assert!(!tenant_exists(&app, "json-sub").await);
    assert!(!tenant_exists(&app, "plain-sub").await);
}
