//! What a logged-in page costs in SQL statements, read from the `X-Db-Statements`
//! header that development mode adds: who is asking (session, user, grants, caps,
//! acting tenant, breadcrumb names) in one, the page's own queries, and no session
//! write while the session is unchanged.

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

/// Every page in `paths` costs at most three statements, on the first view and a later one.
async fn at_most_three(browser: &TestApp, who: &str, paths: &[&str]) {
    for _ in 0..2 {
        for path in paths {
            let n = statements(browser, path).await;
            assert!(n <= 3, "GET {path} as {who} ran {n} statements");
        }
    }
}

/// Switches into `tenant` and views the page the switch leads to (taking its flash).
async fn switch_to(browser: &TestApp, tenant: &tenantry::db::models::Tenant) {
    let r = browser
        .post_form("/switch", &[("tenant_id", &tenant.id.to_string())])
        .await;
    assert_redirect_to(&r, "/dashboard");
    browser.get("/dashboard").await;
}

const PAGES: [&str; 3] = ["/tenants", "/dashboard", "/switch"];

/// The root administrator, logged in, with three tenants below the root (development
/// mode, which counts statements).
async fn root_admin_with_three_tenants() -> TestApp {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    for i in 0..3 {
        app.tenant(&app.root, &format!("t{i}"), false).await;
    }
    app.login_admin().await;
    app
}

#[tokio::test]
async fn a_logged_in_page_costs_at_most_three_statements() {
    let app = root_admin_with_three_tenants().await;
    at_most_three(&app, "the root administrator", &PAGES).await;
}

#[tokio::test]
async fn the_tenants_page_is_who_is_asking_plus_one_list_statement() {
    let app = root_admin_with_three_tenants().await;
    // Count and rows come in one statement whenever the page has rows, whatever the
    // sort or filter.
    for path in [
        "/tenants",
        "/tenants?sort=role&dir=desc",
        "/tenants?q=t1&sort=users",
        "/tenants?per_page=2&page=2",
    ] {
        for _ in 0..2 {
            let n = statements(&app, path).await;
            assert!(n <= 2, "GET {path} ran {n} statements");
        }
    }
}

#[tokio::test]
async fn below_the_root_and_switched_a_page_costs_at_most_three_statements() {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    let t = partner_tree(&app).await;
    // At home in a1, under acme: a breadcrumb of three names.
    let alice_browser = subtree_admin(&app, &t.a1, "alice").await;
    at_most_three(&alice_browser, "a tenant administrator", &PAGES).await;

    let vic = app.user(&t.a1, "vic").await;
    app.grant(&vic, &t.a1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let vic_browser = browser_as(&app, "a1\\vic").await;
    at_most_three(&vic_browser, "a Viewer", &PAGES).await;

    // Switched: the acting tenant comes with the session too. The first page after
    // the switch takes its flash message, which writes the session: one more.
    switch_to(&alice_browser, &t.a1x).await;
    at_most_three(&alice_browser, "a switched tenant administrator", &PAGES).await;
    app.login_admin().await;
    switch_to(&app, &t.a2).await;
    at_most_three(&app, "a switched root administrator", &PAGES).await;
}

/// Statements of `path` on its second view (the first may write the session).
async fn settled_statements(app: &TestApp, path: &str) -> u32 {
    statements(app, path).await;
    statements(app, path).await
}

#[tokio::test]
async fn the_breadcrumb_of_a_page_about_another_tenant_comes_with_who_is_asking() {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let pages = [
        format!("/tenants/{}", t.a1x.id),
        format!("/tenants/{}/users", t.a1x.id),
        format!("/tenants/{}/access", t.a1x.id),
        format!("/tenants/{}/activity", t.a1x.id),
        format!("/tenants/{}/edit", t.a1x.id),
    ];
    // From the root, each page is about a1x, three levels down: its breadcrumb is a1x's
    // path. Acting in a1x, the same page's breadcrumb is the acting path, which the
    // session load always brought. Neither costs a statement of its own.
    let mut from_root = Vec::new();
    for page in &pages {
        let body = app.get(page).await.text().await.unwrap();
        assert!(
            body.contains(&t.a1.name) && body.contains(&t.a1x.name),
            "{page}: breadcrumb of a1x's path"
        );
        from_root.push(settled_statements(&app, page).await);
    }
    switch_to(&app, &t.a1x).await;
    for (page, root_n) in pages.iter().zip(from_root) {
        let acting_n = settled_statements(&app, page).await;
        assert_eq!(
            root_n, acting_n,
            "{page}: {root_n} statements about a1x from the root, {acting_n} acting in it"
        );
    }
}

/// Statements of one GET with extra headers (an htmx fragment).
async fn statements_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> u32 {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let r = request.send().await.expect("GET");
    assert_eq!(r.status().as_u16(), 200, "GET {path}");
    r.headers()
        .get(tenantry::db::statements::HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a statement count in development mode")
}

/// The pages of the #11 benchmark — the dashboard, the Tenants list filtered by
/// subtree, status and label, the tree with a node opened and a node's children
/// fragment, the activity of a subtree — at most three statements each, for the root
/// administrator, an administrator of a subtree at home, and a user who sees only
/// parts of the tree (single tenants and a subtree below the acting tenant: the
/// dashboard's totals, the tree's hidden children and the list's hidden sub-tenants
/// are counted for them).
#[tokio::test]
async fn the_benchmarked_pages_cost_at_most_three_statements() {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    let t = partner_tree(&app).await;
    let (acme, a1) = (t.acme.id, t.a1.id);
    // Disabled tenants below acme, so that its disabled list has pages (an empty page
    // costs a statement more, to count what is not there).
    {
        let mut conn = app.conn().await;
        for id in [t.a1x.id, t.a2.id] {
            tenantry::db::models::Tenant::set_enabled(&mut conn, id, false)
                .await
                .unwrap();
        }
    }
    let alice = app.user(&t.acme, "alice").await;
    app.grant(
        &alice,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let vic = app.user(&t.g1, "vic").await;
    app.grant(&vic, &app.root, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    app.grant(&vic, &t.a1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    app.grant(&vic, &t.acme, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    // `activity`: a tenant whose activity the user reads and acts in (a page about
    // another tenant than the acting one costs one more, for its breadcrumb: #11).
    let pages = |activity: i64, parent: i64, open: i64| {
        vec![
            "/dashboard".to_string(),
            format!("/tenants?within={parent}"),
            "/tenants?status=disabled".to_string(),
            format!("/tenants?status=enabled&within={parent}"),
            // A subtree's disabled tenants: their page may come from walking them by
            // name (decided inside the list statement from the totals).
            format!("/tenants?status=disabled&within={parent}"),
            format!("/tenants?status=disabled&within={parent}&dir=desc&per_page=1"),
            // The plain list: for vic, also how many sub-tenants he cannot see.
            "/tenants".to_string(),
            "/tenants?label=tier:gold".to_string(),
            "/tenants?sort=users&dir=desc".to_string(),
            "/tenants/tree".to_string(),
            format!("/tenants/tree?parent={parent}"),
            format!("/tenants/tree?parent={parent}&open={open}"),
            format!("/tenants/{activity}/activity?scope=subtree"),
        ]
    };
    app.login_admin().await;
    let alice_browser = browser_as(&app, "acme\\alice").await;
    let vic_browser = browser_as(&app, "g1\\vic").await;
    // Vic acts in the root, where he sees single tenants and a1's subtree.
    let r = vic_browser
        .post_form("/switch", &[("tenant_id", &app.root.id.to_string())])
        .await;
    assert_redirect_to(&r, "/dashboard");
    vic_browser.get("/dashboard").await;
    let mut vic_pages = pages(app.root.id, acme, a1);
    vic_pages.retain(|p| !p.contains("/activity"));
    let mut over = Vec::new();
    for (browser, who, paths, node) in [
        (
            &app,
            "the root administrator",
            pages(app.root.id, acme, a1),
            a1,
        ),
        (
            &alice_browser,
            "a subtree administrator",
            pages(acme, acme, a1),
            a1,
        ),
        (&vic_browser, "a user who sees parts", vic_pages, a1),
    ] {
        for path in &paths {
            for _ in 0..2 {
                let n = statements(browser, path).await;
                if n > 3 {
                    over.push(format!("GET {path} as {who}: {n}"));
                }
            }
        }
        let path = format!("/tenants/{node}/children");
        let n = statements_with(browser, &path, &[("HX-Request", "true")]).await;
        if n > 3 {
            over.push(format!("GET {path} (fragment) as {who}: {n}"));
        }
    }
    assert!(over.is_empty(), "more than three statements: {over:#?}");
}

/// The app's connections run without PostgreSQL's JIT, whose start-up cost
/// (triggered by cost estimates, not by work) dwarfed the pages' own.
#[tokio::test]
async fn pooled_connections_run_without_jit() {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        jit: String,
    }
    let app = spawn_app().await;
    let setting: Setting = diesel::sql_query("SHOW jit")
        .get_result(&mut *app.conn().await)
        .await
        .expect("SHOW jit");
    assert_eq!(setting.jit, "off");
}

/// The API's answers carry the count too (the instance-create benchmark reads it):
/// a create in a tenant at depth 1 and at depth 3 costs the same, however deep
/// (every query on the path takes it whole), and no more than it does today.
#[tokio::test]
async fn an_api_create_says_its_statements_and_they_do_not_grow_with_depth() {
    use crate::api::{token_for, Api};
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    let tree = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let ids =
        crate::resources::create_clouds(&api, &[(&app.root, "public", "public", vec![])]).await;
    let mut counts = Vec::new();
    for tenant in [&tree.acme, &tree.a1x] {
        // Owned, as the benchmark's: the owner's checks are counted too.
        let owner = app.user(tenant, &format!("owner-{}", tenant.id)).await;
        for n in 0..2 {
            let r = api
                .request(
                    reqwest::Method::POST,
                    &format!("/api/v1/tenants/{}/instances", tenant.id),
                )
                .json(
                    &serde_json::json!({"name": format!("vm{n}"), "cloud_id": ids["public"],
                    "storage_gb": 1, "memory_gb": 1, "owner_id": owner.id}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
            let count: u32 = r
                .headers()
                .get(tenantry::db::statements::HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .expect("a statement count on the API's answer");
            counts.push(count);
        }
    }
    eprintln!("statements per create (depth 1, 1, 3, 3): {counts:?}");
    assert_eq!(counts[1], counts[3], "{counts:?}");
    assert!(counts.iter().all(|n| *n <= CREATE_STATEMENTS), "{counts:?}");
}

/// An instance create's statements are prepared once per connection and kept
/// (`db::prepared`): `diesel::sql_query` is prepared anew on every call (a round
/// trip and a plan of its own), and was a third of a create (docs/PERFORMANCE.md,
/// session 17). After three creates on one connection, each statement written in
/// SQL is among the connection's prepared statements, once.
#[tokio::test]
async fn an_instance_creates_sql_statements_are_prepared_once_per_connection() {
    use crate::api::{token_for, Api};
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let tree = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let ids =
        crate::resources::create_clouds(&api, &[(&app.root, "public", "public", vec![])]).await;
    let mut conn = app.conn().await;
    for n in 0..3 {
        crate::resources::create_on(&mut conn, &app, &tree.a1x, ids["public"], &format!("vm{n}"))
            .await
            .expect("created");
    }
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
    }
    let kept: Vec<Kept> = diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load(&mut *conn)
        .await
        .expect("prepared statements");
    // The guarded path lock, the cloud, the insert with its event, the check.
    for part in [
        "pg_try_advisory_xact_lock_shared",
        "AS sees_root_public",
        "WITH i AS (INSERT INTO instances",
        "AS owner_storage_gb",
    ] {
        let n = kept.iter().filter(|k| k.statement.contains(part)).count();
        assert_eq!(n, 1, "{part}: {n} prepared statements");
    }
}

/// What an owned instance create costs in statements (docs/PERFORMANCE.md, issue
/// #14, session 17): the token with its user and plan; the tenant; BEGIN; the
/// path's delete guards, lock timeout and locks in one statement, pipelined with
/// the cloud (with the tenant role's `public_clouds`) and the owner's lock; the
/// instance with its audit event; the path's totals with what the owner owns;
/// COMMIT.
const CREATE_STATEMENTS: u32 = 9;
