//! Health endpoints, the 404 page, security headers and static assets.

use crate::helpers::*;
use tenantry::startup::Application;

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The PostgreSQL server the test databases live on.
fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn server() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&server_url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn healthz_and_readyz_answer_on_a_migrated_database() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "ok\n");
    let r = app.get("/readyz").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "ready\n");
}

#[tokio::test]
async fn readyz_is_unavailable_on_a_database_without_migrations() {
    // Not named `tenantry_t…`: the harness drops those while it makes its template.
    let name = format!("tenantry_empty_{}", uuid::Uuid::new_v4().simple());
    let admin = server().await;
    admin
        .execute(&format!("CREATE DATABASE \"{name}\""), &[])
        .await
        .expect("create database");

    let app = Application::build(settings(&with_db(&server_url(), &name))).expect("build app");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let base = format!("http://127.0.0.1:{port}");
    let http = client();

    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    // Liveness does not depend on the database.
    let live = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();

    admin
        .execute(
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            &[],
        )
        .await
        .expect("drop database");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
    assert_eq!(live, 200);
}

#[tokio::test]
async fn unknown_routes_get_the_404_page() {
    let app = spawn_app().await;
    for path in [
        "/no-such-page",
        "/tenants/1/nothing",
        "/static/css/missing.css",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), 404, "{path}");
        assert!(
            header(&r, "content-type")
                .unwrap_or_default()
                .starts_with("text/html"),
            "{path}"
        );
        let html = r.text().await.unwrap();
        assert!(html.contains("<h1>Not found</h1>"), "{path}: {html}");
    }
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = spawn_app().await;
    let login = app.get("/login").await;
    let not_found = app.get("/no-such-page").await;
    let refused = app.client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let redirect = app.get("/dashboard").await;
    assert_eq!(redirect.status().as_u16(), 303);
    for (what, r) in [
        ("login", &login),
        ("404", &not_found),
        ("403", &refused),
        ("303", &redirect),
    ] {
        assert_eq!(header(r, "x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(
            header(r, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        let csp = header(r, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{what}: {csp}"
        );
    }
}

#[tokio::test]
async fn static_assets_are_served_with_their_types() {
    let app = spawn_app().await;
    let r = app.get("/static/css/app.css").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(header(&r, "content-type")
        .unwrap_or_default()
        .starts_with("text/css"));
    assert!(!r.text().await.unwrap().is_empty());

    let r = app.get("/static/js/htmx.min.js").await;
    assert_eq!(r.status().as_u16(), 200);
    let ct = header(&r, "content-type").unwrap_or_default().to_string();
    assert!(
        ct.starts_with("text/javascript") || ct.starts_with("application/javascript"),
        "{ct}"
    );
    assert!(r.text().await.unwrap().contains("htmx"));
}

/// Every answer carries a request id (a usable one from the proxy is kept), and error
/// pages and problem documents show the same id, to be found in the server log.
#[tokio::test]
async fn every_request_has_an_id_shown_on_errors() {
    let app = spawn_app().await;
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .expect("X-Request-Id on every answer")
    };
    let a = app.get("/login").await;
    let b = app.get("/login").await;
    assert_ne!(id(&a), id(&b), "a new id per request");
    let kept = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "proxy-id-12345")
        .send()
        .await
        .unwrap();
    assert_eq!(id(&kept), "proxy-id-12345");
    let replaced = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id <script>")
        .send()
        .await
        .unwrap();
    assert_ne!(id(&replaced), "bad id <script>");
    // The 404 page names it.
    let r = app.get("/no-such-page").await;
    assert_eq!(r.status().as_u16(), 404);
    let rid = id(&r);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("<code id=\"request-id\">{rid}</code>")),
        "{html}"
    );
    // So does a problem document.
    let r = app.get("/api/v1/tenants").await;
    assert_eq!(r.status().as_u16(), 401);
    let rid = id(&r);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["request_id"], serde_json::json!(rid));
}
