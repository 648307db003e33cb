//! Gaps a review of the suite found, where a one-line bug would have passed every
//! test: a tenant-only grant read as a subtree grant in lists, an idle session
//! revived by disable → enable, tenant-only Owners counted as Owners of the root,
//! racing revocations of the last root Owners, and an `Idempotency-Key` replayed
//! on another path.

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tenantry::db::models::grant::GrantRow;
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};
use tenantry::error::AppError;
use tenantry::services::Actor;

// ---------------------------------------------------------------- helpers

/// The texts between each `open` marker and the next `close`.
fn texts_between(html: &str, open: &str, close: &str) -> Vec<String> {
    html.split(open)
        .skip(1)
        .filter_map(|rest| rest.find(close).map(|end| rest[..end].to_string()))
        .collect()
}

/// Tenant names in the rows of the Tenants table.
fn row_names(html: &str) -> BTreeSet<String> {
    html.split("<td><a href=\"/tenants/")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find("\">")? + 2;
            let end = rest.find("</a>")?;
            Some(rest[start..end].to_string())
        })
        .collect()
}

/// Tenant names of the nodes of a tree page or children fragment.
fn node_names(html: &str) -> BTreeSet<String> {
    html.split("<ul class=\"tree\">")
        .skip(1)
        .flat_map(|tree| {
            let tree = tree.split("</ul>").next().unwrap_or("");
            tree.split("<li>")
                .skip(1)
                .filter_map(|li| {
                    let link = li.split("<a href=\"/tenants/").nth(1)?;
                    let start = link.find("\">")? + 2;
                    let end = link.find("</a>")?;
                    Some(link[start..end].to_string())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Tenant names in the switcher's results.
fn switch_names(html: &str) -> BTreeSet<String> {
    texts_between(html, "<span class=\"name\">", "</span>")
        .into_iter()
        .collect()
}

/// The numbers on the dashboard cards: sub-tenants, disabled, users, instances.
fn dashboard_numbers(html: &str) -> Vec<i64> {
    texts_between(html, "<span class=\"num\">", "<")
        .iter()
        .map(|n| n.trim().parse().expect("a number"))
        .collect()
}

/// A page that must answer 200; its body.
async fn page(browser: &TestApp, path: &str) -> String {
    answer_200(path, browser.get(path).await).await
}

/// An htmx fragment that must answer 200; its body.
async fn fragment(browser: &TestApp, path: &str) -> String {
    answer_200(path, browser.get_hx(path).await).await
}

async fn answer_200(path: &str, r: reqwest::Response) -> String {
    let code = status(&r);
    let html = r.text().await.unwrap();
    assert_eq!(code, 200, "GET {path}: {html}");
    html
}

/// Names of the tenants in an API list answer.
fn api_names(body: &Value) -> BTreeSet<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Notes a difference in `wrong` instead of stopping at the first one.
fn check<T: PartialEq + std::fmt::Debug>(wrong: &mut Vec<String>, what: &str, got: &T, want: &T) {
    if got != want {
        wrong.push(format!("{what}: got {got:?}, want {want:?}"));
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn actor_for(user: &User, tenant: &Tenant) -> Actor {
    Actor {
        user_id: Some(user.id),
        login: tenantry::domain::login_name(&tenant.subdomain, &user.username),
        acting_tenant_id: Some(tenant.id),
        client_addr: None,
    }
}

async fn is_enabled(app: &TestApp, user: &User) -> bool {
    let mut conn = app.conn().await;
    let found = User::find_with_tenant(&mut conn, user.id).await;
    found.unwrap().expect("the user exists").0.enabled
}

async fn parent_id_of(app: &TestApp, tenant: &Tenant) -> Option<i64> {
    app.reload(tenant)
        .await
        .expect("the tenant exists")
        .parent_id
}

async fn grant_of(app: &TestApp, user: &User, tenant: &Tenant) -> Option<GrantRow> {
    Grant::existing(&mut *app.conn().await, user.id, tenant.id)
        .await
        .unwrap()
}

/// Enabled users holding Owner with sub-tenant scope on the root: who keeps the
/// root administrable.
async fn root_subtree_owners(app: &TestApp) -> Vec<i64> {
    db(app)
        .await
        .query(
            "SELECT g.user_id FROM grants g JOIN tenants t ON t.id = g.tenant_id \
             JOIN users u ON u.id = g.user_id \
             WHERE t.parent_id IS NULL AND g.role = 'owner' AND g.scope = 'subtree' AND u.enabled \
             ORDER BY g.user_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn give(
    browser: &TestApp,
    tenant: &Tenant,
    user: &User,
    role: &str,
    scope: &str,
    manage: bool,
) -> reqwest::Response {
    let user_id = user.id.to_string();
    let mut fields = vec![
        ("user_id", user_id.as_str()),
        ("role", role),
        ("scope", scope),
    ];
    if manage {
        fields.push(("manage_subtenants", "true"));
    }
    browser
        .post_form(&format!("/tenants/{}/access", tenant.id), &fields)
        .await
}

async fn revoke(browser: &TestApp, tenant: &Tenant, grant_id: i64) -> reqwest::Response {
    browser
        .post_form(
            &format!("/tenants/{}/access/{grant_id}/revoke", tenant.id),
            &[("confirm", "yes")],
        )
        .await
}

/// A transaction on its own connection holding `FOR UPDATE` locks on these users'
/// rows until dropped or released, so that requests touching them queue up behind it.
struct RowBlocker {
    client: tokio_postgres::Client,
    /// Another connection, to watch the waiters: inside the blocker's transaction
    /// `pg_stat_activity` would stay as it was at its first read.
    watcher: tokio_postgres::Client,
    db_name: String,
}

impl RowBlocker {
    async fn hold(app: &TestApp, user_ids: &[i64]) -> RowBlocker {
        let client = db(app).await;
        client.batch_execute("BEGIN").await.unwrap();
        client
            .query(
                "SELECT id FROM users WHERE id = ANY($1) FOR UPDATE",
                &[&user_ids],
            )
            .await
            .unwrap();
        let db_name: String = client
            .query_one("SELECT current_database()", &[])
            .await
            .unwrap()
            .get(0);
        RowBlocker {
            client,
            watcher: db(app).await,
            db_name,
        }
    }

    /// Waits until `n` other sessions of the test database wait on a lock (queued
    /// behind this blocker or behind each other), or until `done()` says the
    /// contenders finished without queueing.
    async fn wait_for_waiters(&self, n: i64, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting: i64 = self
                .watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = $1 AND wait_event_type = 'Lock'",
                    &[&self.db_name],
                )
                .await
                .unwrap()
                .get(0);
            if waiting >= n || done() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {waiting} of {n} contenders ever waited on a lock"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn release(self) {
        self.client.batch_execute("COMMIT").await.unwrap();
    }
}

// ---------------------------------------------------------------- 1. tenant-only grants in lists

/// What one user is shown of the tenants, on every page and the API that lists them.
#[derive(Debug)]
struct Seen {
    list: BTreeSet<String>,
    list_filtered: BTreeSet<String>,
    tree_under_acme: BTreeSet<String>,
    children_of_acme: BTreeSet<String>,
    acme_page_nodes: BTreeSet<String>,
    switcher: BTreeSet<String>,
    switcher_page: BTreeSet<String>,
    dashboard: Vec<i64>,
    api: BTreeSet<String>,
    api_subtree: BTreeSet<String>,
    api_children: BTreeSet<String>,
}

async fn seen(browser: &TestApp, api: &Api, acme: &Tenant) -> Seen {
    let acme_id = acme.id;
    let (code, list) = api.get("/api/v1/tenants").await;
    assert_eq!(code, 200, "{list}");
    let (code, subtree) = api.get(&format!("/api/v1/tenants?subtree={acme_id}")).await;
    assert_eq!(code, 200, "{subtree}");
    let (code, children) = api.get(&format!("/api/v1/tenants?parent={acme_id}")).await;
    assert_eq!(code, 200, "{children}");
    Seen {
        list: row_names(&page(browser, "/tenants").await),
        list_filtered: row_names(&page(browser, "/tenants?q=Tenant+a").await),
        tree_under_acme: node_names(
            &page(browser, &format!("/tenants/tree?parent={acme_id}")).await,
        ),
        children_of_acme: node_names(
            &fragment(browser, &format!("/tenants/{acme_id}/children")).await,
        ),
        acme_page_nodes: node_names(&page(browser, &format!("/tenants/{acme_id}")).await),
        switcher: switch_names(&page(browser, "/switch/search?q=Tenant").await),
        switcher_page: switch_names(&page(browser, "/switch?q=Tenant+a").await),
        dashboard: dashboard_numbers(&page(browser, "/dashboard").await),
        api: api_names(&list),
        api_subtree: api_names(&subtree),
        api_children: api_names(&children),
    }
}

/// A user of the root whose home role reads tenants, holding `scope` Owner on acme
/// (with "may manage sub-tenants", which a tenant-only grant must not stretch).
async fn holder_of_acme(app: &TestApp, acme: &Tenant, name: &str, scope: Scope) -> User {
    let mut read_tenants = Permissions::none();
    read_tenants.set(Feature::Tenants, Level::Read);
    let user = app.user_with_role(&app.root, name, read_tenants).await;
    app.grant(&user, acme, GrantRole::Owner, scope, true).await;
    user
}

#[tokio::test]
async fn a_tenant_only_grant_shows_its_tenant_but_none_of_its_sub_tenants() {
    let app = spawn_app().await;
    // root ─┬─ acme ─┬─ a1 ── a1x
    //       │        └─ a2
    //       └─ globex ── g1
    let t = partner_tree(&app).await;
    for (tenant, name) in [(&t.a1, "u1"), (&t.a1x, "u2"), (&t.a2, "u3")] {
        app.user(tenant, name).await;
    }
    let tina = holder_of_acme(&app, &t.acme, "tina", Scope::Tenant).await;
    let sam = holder_of_acme(&app, &t.acme, "sam", Scope::Subtree).await;
    let tina_browser = browser_as(&app, "tina").await;
    let sam_browser = browser_as(&app, "sam").await;
    let tina_api = Api::new(&app, Some(&token_for(&app, &tina, false).await));
    let sam_api = Api::new(&app, Some(&token_for(&app, &sam, false).await));

    let below_acme = ["Tenant a1", "Tenant a1x", "Tenant a2"];
    let acme_only = names(&["Tenant acme"]);

    // "This tenant only": acme, never a name below it, on every list.
    // Every check runs and every difference is reported, so that a leak shows on
    // which pages it shows.
    let mut wrong = Vec::new();
    let tina_sees = seen(&tina_browser, &tina_api, &t.acme).await;
    let none = BTreeSet::new();
    check(&mut wrong, "Tenants list", &tina_sees.list, &acme_only);
    check(
        &mut wrong,
        "filtered list",
        &tina_sees.list_filtered,
        &acme_only,
    );
    check(
        &mut wrong,
        "tree below acme",
        &tina_sees.tree_under_acme,
        &none,
    );
    check(
        &mut wrong,
        "tree fragment",
        &tina_sees.children_of_acme,
        &none,
    );
    check(&mut wrong, "acme's page", &tina_sees.acme_page_nodes, &none);
    check(
        &mut wrong,
        "switcher search",
        &tina_sees.switcher,
        &acme_only,
    );
    check(
        &mut wrong,
        "switcher page",
        &tina_sees.switcher_page,
        &acme_only,
    );
    // acme, nothing below it; no users: the Users card counts the people she may
    // find (tests/app/dashboard.rs), and her home role does not read the root's.
    check(
        &mut wrong,
        "dashboard",
        &tina_sees.dashboard,
        &vec![1, 0, 0, 0],
    );
    check(
        &mut wrong,
        "API list",
        &tina_sees.api,
        &names(&["Root", "Tenant acme"]),
    );
    check(
        &mut wrong,
        "API subtree",
        &tina_sees.api_subtree,
        &acme_only,
    );
    check(&mut wrong, "API children", &tina_sees.api_children, &none);
    // Nor does a search by their names find them, nor do their pages exist for her.
    check(
        &mut wrong,
        "list searched for a1",
        &row_names(&page(&tina_browser, "/tenants?q=a1").await),
        &none,
    );
    for q in ["a1", "a2", "Tenant+a1x"] {
        let html = page(&tina_browser, &format!("/switch/search?q={q}")).await;
        check(
            &mut wrong,
            &format!("switcher q={q}"),
            &switch_names(&html),
            &none,
        );
    }
    let (code, body) = tina_api.get("/api/v1/tenants?name=a1").await;
    check(
        &mut wrong,
        "API name=a1",
        &(code, api_names(&body)),
        &(200, none.clone()),
    );
    for below in [&t.a1, &t.a1x, &t.a2] {
        let path = format!("/tenants/{}", below.id);
        check(
            &mut wrong,
            &path,
            &status(&tina_browser.get(&path).await),
            &404,
        );
        let api_path = format!("/api/v1{path}");
        check(
            &mut wrong,
            &api_path,
            &tina_api.get(&api_path).await.0,
            &404,
        );
    }

    // Switched into acme, the pages about acme show nothing below it either.
    let r = tina_browser
        .post_form("/switch", &[("tenant_id", &t.acme.id.to_string())])
        .await;
    assert_redirect_to(&r, "/dashboard");
    let dashboard = page(&tina_browser, "/dashboard").await;
    check(
        &mut wrong,
        "dashboard in acme",
        &dashboard_numbers(&dashboard),
        &vec![0, 0, 0, 0],
    );
    check(
        &mut wrong,
        "Tenants list in acme",
        &row_names(&page(&tina_browser, "/tenants").await),
        &none,
    );
    check(
        &mut wrong,
        "tree in acme",
        &node_names(&page(&tina_browser, "/tenants/tree").await),
        &none,
    );
    for path in [
        "/dashboard",
        "/tenants",
        "/tenants/tree",
        "/switch?q=Tenant",
    ] {
        let html = page(&tina_browser, path).await;
        for name in below_acme {
            if html.contains(name) {
                wrong.push(format!("{path} in acme names {name}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a tenant-only grant showed what lies below its tenant:\n{}",
        wrong.join("\n")
    );

    // The same pages for an Owner of acme's whole subtree show all of it.
    let all_of_acme = names(&["Tenant acme", "Tenant a1", "Tenant a1x", "Tenant a2"]);
    let sam_sees = seen(&sam_browser, &sam_api, &t.acme).await;
    assert_eq!(sam_sees.list, all_of_acme, "{sam_sees:?}");
    assert_eq!(sam_sees.list_filtered, all_of_acme);
    let acme_children = names(&["Tenant a1", "Tenant a2"]);
    assert_eq!(sam_sees.tree_under_acme, acme_children);
    assert_eq!(sam_sees.children_of_acme, acme_children);
    assert_eq!(sam_sees.acme_page_nodes, acme_children);
    assert_eq!(sam_sees.switcher, all_of_acme);
    assert_eq!(sam_sees.switcher_page, all_of_acme);
    // The people below acme; not the root's, whom his home role does not read.
    assert_eq!(sam_sees.dashboard, [4, 0, 3, 0]);
    let mut api_all = all_of_acme.clone();
    api_all.insert("Root".into());
    assert_eq!(sam_sees.api, api_all);
    assert_eq!(sam_sees.api_subtree, all_of_acme);
    assert_eq!(sam_sees.api_children, acme_children);
    for below in [&t.a1, &t.a1x, &t.a2] {
        let path = format!("/tenants/{}", below.id);
        assert_eq!(status(&sam_browser.get(&path).await), 200, "{path}");
    }
}

// ---------------------------------------------------------------- 3. disable → enable

#[tokio::test]
async fn an_idle_session_stays_dead_after_disable_then_enable() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let ivy = app
        .user_with_role(&acme, "ivy", Permissions::all(Level::Read))
        .await;
    let user_path = format!("/tenants/{}/users/{}", acme.id, ivy.id);
    // With the Disable and Enable buttons.
    let idle = browser_as(&app, "acme\\ivy").await;
    page(&idle, "/dashboard").await;
    let r = app.post_form(&format!("{user_path}/disable"), &[]).await;
    assert_redirect_to(&r, &user_path);
    assert!(!is_enabled(&app, &ivy).await);
    let r = app.post_form(&format!("{user_path}/enable"), &[]).await;
    assert_redirect_to(&r, &user_path);
    assert!(is_enabled(&app, &ivy).await);
    // The session that slept through both is over, not revived.
    assert_redirect_to(&idle.get("/dashboard").await, "/login");
    assert_redirect_to(&idle.get("/tenants").await, "/login?next=%2Ftenants");
    // Ivy herself may log in again, in a new session.
    let fresh = browser_as(&app, "acme\\ivy").await;
    page(&fresh, "/dashboard").await;

    // With the edit form's "enabled" box: unchecked, saved, checked, saved.
    let idle = browser_as(&app, "acme\\ivy").await;
    page(&idle, "/dashboard").await;
    let mut form = vec![
        ("username", "ivy"),
        ("email", "ivy@example.com"),
        ("enabled_shown", "1"),
    ];
    let r = app.post_form(&user_path, &form).await;
    assert_redirect_to(&r, &user_path);
    assert!(!is_enabled(&app, &ivy).await);
    form.push(("enabled", "true"));
    let r = app.post_form(&user_path, &form).await;
    assert_redirect_to(&r, &user_path);
    assert!(is_enabled(&app, &ivy).await);
    assert_redirect_to(&idle.get("/dashboard").await, "/login");
    let fresh = browser_as(&app, "acme\\ivy").await;
    page(&fresh, "/dashboard").await;
}

/// The same for a tenant: disabling it ends its users' sessions, so enabling it
/// again does not bring an idle session back.
#[tokio::test]
async fn an_idle_session_stays_dead_after_its_tenant_is_disabled_then_enabled() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.user_with_role(&acme, "ivy", Permissions::all(Level::Read))
        .await;
    let idle = browser_as(&app, "acme\\ivy").await;
    page(&idle, "/dashboard").await;
    for action in ["disable", "enable"] {
        let r = app
            .post_form(
                &format!("/tenants/{}/{action}", acme.id),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303, "{action}");
    }
    assert_redirect_to(&idle.get("/dashboard").await, "/login");
    let fresh = browser_as(&app, "acme\\ivy").await;
    page(&fresh, "/dashboard").await;
}

// ---------------------------------------------------------------- 4. tenant-only Owners of the root

/// The root with its first administrator (Owner of the whole tree) and `bob`, an
/// enabled user of the root whose Owner grant on it says "this tenant only", and whose
/// home role is full everywhere at home.
async fn root_with_a_tenant_only_owner(app: &TestApp) -> User {
    let bob = app
        .user_with_role(&app.root, "bob", Permissions::all(Level::Full))
        .await;
    app.grant(&bob, &app.root, GrantRole::Owner, Scope::Tenant, false)
        .await;
    bob
}

#[tokio::test]
async fn the_last_root_owner_over_the_whole_tree_is_not_narrowed_or_revoked() {
    let app = spawn_app().await;
    let bob = root_with_a_tenant_only_owner(&app).await;
    app.login_admin().await;
    let admin_grant = grant_of(&app, &app.admin, &app.root).await.unwrap();
    let admin = app.admin.clone();

    // Narrowing to "this tenant only" or to Administrator, or revoking: each would
    // leave the root without an Owner of its sub-tenants. bob's tenant-only grant is
    // no such Owner.
    for (role, scope) in [
        ("owner", "tenant"),
        ("administrator", "subtree"),
        ("viewer", "tenant"),
    ] {
        let r = give(&app, &app.root, &admin, role, scope, false).await;
        assert_eq!(status(&r), 409, "{role}/{scope}");
        let body = r.text().await.unwrap();
        assert!(body.contains("last Owner of the root tenant"), "{body}");
    }
    let r = revoke(&app, &app.root, admin_grant.id).await;
    assert_eq!(status(&r), 409);
    assert!(r.text().await.unwrap().contains("last Owner"));
    let g = grant_of(&app, &admin, &app.root).await.unwrap();
    assert_eq!((g.role.as_str(), g.scope.as_str()), ("owner", "subtree"));
    assert_eq!(root_subtree_owners(&app).await, vec![admin.id]);

    // The tenant-only Owner grant itself is no last Owner: it may be narrowed and revoked.
    let r = give(&app, &app.root, &bob, "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303, "narrowing bob's tenant-only grant");
    let r = give(&app, &app.root, &bob, "owner", "tenant", false).await;
    assert_eq!(status(&r), 303);
    let bob_grant = grant_of(&app, &bob, &app.root).await.unwrap();
    let r = revoke(&app, &app.root, bob_grant.id).await;
    assert_eq!(status(&r), 303, "revoking bob's tenant-only grant");
    assert!(grant_of(&app, &bob, &app.root).await.is_none());

    // Once bob owns the whole tree too, the first administrator may step down.
    app.grant(&bob, &app.root, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let r = give(&app, &app.root, &admin, "owner", "tenant", false).await;
    assert_eq!(status(&r), 303);
    assert_eq!(root_subtree_owners(&app).await, vec![bob.id]);
}

#[tokio::test]
async fn the_last_root_owner_over_the_whole_tree_is_not_disabled_or_deleted() {
    let app = spawn_app().await;
    let bob = root_with_a_tenant_only_owner(&app).await;
    let admin_id = app.admin.id;
    let (admin, root) = (app.admin.clone(), app.root.clone());

    // The services themselves refuse, whoever the handler let through: even a
    // disabled Owner of the whole tree (who may act on the admin, and is no other
    // enabled Owner) cannot remove the last one.
    let dormant = app.user(&app.root, "dormant").await;
    app.grant(&dormant, &app.root, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let mut conn = app.conn().await;
    User::set_enabled(&mut conn, dormant.id, false)
        .await
        .unwrap();
    let (as_dormant, dormant_actor) = (app.principal(&dormant).await, actor_for(&dormant, &root));
    let refused = tenantry::services::users::set_enabled(
        &mut conn,
        &as_dormant,
        &dormant_actor,
        &root,
        &admin,
        false,
    )
    .await
    .expect_err("disabling the last Owner of the whole tree");
    assert!(
        matches!(&refused, AppError::Conflict(m) if m.contains("last Owner of the root tenant")),
        "{refused:?}"
    );
    let refused =
        tenantry::services::users::delete(&mut conn, &as_dormant, &dormant_actor, &root, &admin)
            .await
            .expect_err("deleting the last Owner of the whole tree");
    assert!(
        matches!(&refused, AppError::Conflict(m) if m.contains("last Owner of the root tenant")),
        "{refused:?}"
    );
    drop(conn);
    assert_eq!(root_subtree_owners(&app).await, vec![admin_id]);

    // Through the Users page as well (403 would also keep him: bob does not own the tree).
    let bob_browser = browser_as(&app, "bob").await;
    let admin_path = format!("/tenants/{}/users/{admin_id}", app.root.id);
    for action in ["disable", "delete"] {
        let r = bob_browser
            .post_form(&format!("{admin_path}/{action}"), &[])
            .await;
        let code = status(&r);
        assert!(code == 409 || code == 403, "{action}: {code}");
    }
    assert_eq!(root_subtree_owners(&app).await, vec![admin_id]);

    // The tenant-only Owner is no last Owner: the administrator may disable bob.
    let principal = app.principal(&app.admin).await;
    let mut conn = app.conn().await;
    let as_admin = actor_for(&app.admin, &app.root);
    let bob_after = tenantry::services::users::set_enabled(
        &mut conn, &principal, &as_admin, &root, &bob, false,
    )
    .await
    .expect("disabling a tenant-only Owner");
    assert!(!bob_after.enabled);
    tenantry::services::users::delete(&mut conn, &principal, &as_admin, &root, &bob_after)
        .await
        .expect("deleting a tenant-only Owner");
}

// ---------------------------------------------------------------- 5. racing removals of the last two Owners

/// Makes `users` the root's Owners over the whole tree (again), each with a fresh
/// grant; returns their grants on the root.
async fn owners_again(app: &TestApp, users: &[&User]) -> Vec<GrantRow> {
    let mut grants = Vec::new();
    for user in users {
        app.grant(user, &app.root, GrantRole::Owner, Scope::Subtree, true)
            .await;
        grants.push(grant_of(app, user, &app.root).await.unwrap());
    }
    grants
}

/// `revoke`, counting finished requests in `finished`.
async fn revoke_counted(
    browser: &TestApp,
    tenant: &Tenant,
    grant_id: i64,
    finished: &AtomicUsize,
) -> u16 {
    let code = status(&revoke(browser, tenant, grant_id).await);
    finished.fetch_add(1, Ordering::SeqCst);
    code
}

/// Two Owners of the root, each in their own browser, revoke each other's grant at
/// once: one wins, the other is told it would remove the last Owner. Some rounds hold
/// both users' rows locked until both requests queue behind the lock, so that the
/// two decisions overlap for certain; the others just fire together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_revoking_each_other_at_once_leave_one() {
    let app = spawn_app().await;
    let second = app.user(&app.root, "second").await;
    let admin = app.admin.clone();
    let admin_browser = app.new_browser();
    admin_browser.login_admin().await;
    let second_browser = browser_as(&app, "second").await;

    for round in 0..6 {
        let grants = owners_again(&app, &[&admin, &second]).await;
        let blocker = if round % 2 == 0 {
            Some(RowBlocker::hold(&app, &[admin.id, second.id]).await)
        } else {
            None
        };
        let finished = AtomicUsize::new(0);
        let release = async {
            if let Some(blocker) = blocker {
                blocker
                    .wait_for_waiters(2, || finished.load(Ordering::SeqCst) == 2)
                    .await;
                blocker.release().await;
            }
        };
        // The administrator revokes the second Owner while the second revokes him.
        let (first, other, ()) = tokio::join!(
            revoke_counted(&admin_browser, &app.root, grants[1].id, &finished),
            revoke_counted(&second_browser, &app.root, grants[0].id, &finished),
            release
        );
        let mut codes = [first, other];
        codes.sort_unstable();
        // The loser is told it would remove the last Owner (409) or, when the winner
        // committed before the loser's request began, that it is no longer an Owner (403).
        assert!(
            codes == [303, 409] || codes == [303, 403],
            "round {round}: {codes:?}"
        );
        assert_eq!(
            root_subtree_owners(&app).await.len(),
            1,
            "round {round}: the root keeps exactly one Owner"
        );
    }
}

/// One revocation and one disable, of the two last Owners, at once (the services,
/// as every handler calls them): exactly one goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoking_one_owner_while_disabling_the_other_leaves_one() {
    let app = spawn_app().await;
    let second = app.user(&app.root, "second").await;
    let admin = app.admin.clone();
    let pool = tenantry::db::pool(&app.db_url, 4).unwrap();

    for round in 0..6 {
        db(&app)
            .await
            .execute(
                "UPDATE users SET enabled = true WHERE id = ANY($1)",
                &[&vec![admin.id, second.id]],
            )
            .await
            .unwrap();
        let grants = owners_again(&app, &[&admin, &second]).await;
        // Alternate who is revoked and who is disabled.
        let (revoked, disabled) = if round % 2 == 0 {
            (grants[1].clone(), admin.clone())
        } else {
            (grants[0].clone(), second.clone())
        };
        // Each acts as the other Owner: both may, and only the guard can refuse.
        let other = if disabled.id == admin.id {
            &second
        } else {
            &admin
        };
        let (as_disabled, as_other) = (app.principal(&disabled).await, app.principal(other).await);
        let blocker = RowBlocker::hold(&app, &[admin.id, second.id]).await;
        let (p1, p2, root) = (pool.clone(), pool.clone(), app.root.clone());
        let root2 = root.clone();
        let actor = Actor::system("test");
        let actor2 = actor.clone();
        let revoke = tokio::spawn(async move {
            let mut conn = p1.get().await.unwrap();
            tenantry::services::grants::revoke(&mut conn, &as_disabled, &actor, &root, &revoked)
                .await
        });
        let disable = tokio::spawn(async move {
            let mut conn = p2.get().await.unwrap();
            tenantry::services::users::set_enabled(
                &mut conn, &as_other, &actor2, &root2, &disabled, false,
            )
            .await
        });
        blocker
            .wait_for_waiters(2, || revoke.is_finished() && disable.is_finished())
            .await;
        blocker.release().await;
        let outcomes = [
            revoke.await.unwrap().map(|_| ()),
            disable.await.unwrap().map(|_| ()),
        ];
        let won = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Ok(()) | Err(AppError::Conflict(_)))),
            "round {round}: {outcomes:?}"
        );
        assert_eq!(
            root_subtree_owners(&app).await.len(),
            1,
            "round {round}: the root keeps one enabled Owner"
        );
    }
}

// ---------------------------------------------------------------- 6. one Idempotency-Key, another request

#[tokio::test]
async fn an_idempotency_key_is_not_replayed_for_another_path() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let post = |path: String, key: &'static str, body: Value| {
        send(
            api.request(reqwest::Method::POST, &path)
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    let reused = |what: &str, (code, body): (u16, Value)| {
        assert_eq!(code, 422, "{what}: {body}");
        assert_eq!(
            body["type"], "urn:tenantry:problem:idempotency-key-reused",
            "{what}: {body}"
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("different request")),
            "{what}: {body}"
        );
    };
    // The same body to another tenant's move: not a replay of the first move.
    let to_globex = json!({"parent_id": t.globex.id});
    let (code, body) = post(
        format!("/api/v1/tenants/{}/move", t.a2.id),
        "k",
        to_globex.clone(),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(parent_id_of(&app, &t.a2).await, Some(t.globex.id));
    reused(
        "same key and body, another tenant's move",
        post(
            format!("/api/v1/tenants/{}/move", t.a1x.id),
            "k",
            to_globex.clone(),
        )
        .await,
    );
    assert_eq!(parent_id_of(&app, &t.a1x).await, Some(t.a1.id), "a1x stays");
    // … nor the same path with another query string …
    reused(
        "same key, path and body, another query",
        post(
            format!("/api/v1/tenants/{}/move?dry_run=true", t.a2.id),
            "k",
            to_globex.clone(),
        )
        .await,
    );
    // … nor another endpoint, with a body that endpoint takes.
    reused(
        "same key, the create endpoint",
        post(
            "/api/v1/tenants".into(),
            "k",
            json!({"parent_id": t.globex.id, "name": "Made", "subdomain": "made"}),
        )
        .await,
    );
    reused(
        "same key, the batch endpoint",
        post(
            "/api/v1/tenants/batch".into(),
            "k",
            json!({"operations": [{"op": "move", "id": t.a1x.id, "parent_id": t.globex.id}]}),
        )
        .await,
    );
    assert_eq!(parent_id_of(&app, &t.a1x).await, Some(t.a1.id), "a1x stays");
    let made: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM tenants WHERE subdomain = 'made'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(made, 0);
    // The original request still replays its first answer.
    let replay = api
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/tenants/{}/move", t.a2.id),
        )
        .header("Idempotency-Key", "k")
        .json(&to_globex)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&replay), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");

    // A create's key reused for a batch holding the same create: refused, nothing made.
    let create = json!({"parent_id": t.acme.id, "name": "Once", "subdomain": "once"});
    let (code, body) = post("/api/v1/tenants".into(), "c", create.clone()).await;
    assert_eq!(code, 201, "{body}");
    reused(
        "a create's key on a batch",
        post(
            "/api/v1/tenants/batch".into(),
            "c",
            json!({"operations": [{"op": "create", "data": {"parent_id": t.acme.id, "name": "Twice", "subdomain": "twice"}}]}),
        )
        .await,
    );
    let made: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM tenants WHERE subdomain IN ('once', 'twice')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(made, 1);
}
