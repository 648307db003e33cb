//! What a logged-in page costs in SQL statements, read from the `X-Db-Statements`
//! header that development mode adds: who is asking (session, user, grants, caps) in
//! one, the page's own queries, and no session write while the session is unchanged.

use crate::helpers::*;

/// Statements of one GET, as the app counted them.
async fn statements(app: &TestApp, path: &str) -> u32 {
    let r = app.get(path).await;
    assert_eq!(r.status().as_u16(), 200, "GET {path}");
    r.headers()
        .get(tenantry::db::statements::HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a statement count in development mode")
}

#[tokio::test]
async fn a_logged_in_page_costs_at_most_three_statements() {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    for i in 0..3 {
        app.tenant(&app.root, &format!("t{i}"), false).await;
    }
    app.login_admin().await;
    // Twice: the first view after login and a later one pay the same.
    for _ in 0..2 {
        let n = statements(&app, "/tenants").await;
        assert!(n <= 3, "GET /tenants ran {n} statements");
        let n = statements(&app, "/dashboard").await;
        assert!(n <= 3, "GET /dashboard ran {n} statements");
    }
}
