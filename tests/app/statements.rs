//! What a logged-in page costs in SQL statements, read from the `X-Db-Statements`
//! header that development mode adds: who is asking (session, user, grants, caps),
//! the page's own query, and no session write while the session is unchanged.

use crate::helpers::*;
use tenantry::domain::{GrantRole, Scope};

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

#[tokio::test]
async fn a_tenant_administrators_page_costs_at_most_three_statements() {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.tenant(&acme, "site", false).await;
    let alice = app.user(&acme, "alice").await;
    app.grant(
        &alice,
        &acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let r = app.login("acme\\alice", PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    // Below the root the page also shows the path (breadcrumb): still three in all.
    for path in ["/tenants", "/dashboard"] {
        let n = statements(&app, path).await;
        assert!(n <= 3, "GET {path} ran {n} statements");
    }
}
