//! Test harness: a fresh database per test (copied from a migrated template),
//! the real app on a random port, and an HTTP client with a cookie jar.

use diesel_async::AsyncPgConnection;
use std::collections::HashMap;
use std::sync::Arc;
use tenantry::config::Settings;
use tenantry::db::models::tenant::TenantFields;
use tenantry::db::models::user::NewUser;
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::db::DbPool;
use tenantry::domain::{GrantRole, Scope};
use tenantry::startup::Application;
use tokio::sync::OnceCell;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const PASSWORD: &str = "user-password-123";
pub const BASE_DOMAIN: &str = "tenantry.test";

/// A hash of `PASSWORD`, computed once: Argon2 per fixture user would slow the suite.
static PASSWORD_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn password_hash() -> &'static str {
    PASSWORD_HASH.get_or_init(|| tenantry::auth::password::hash_blocking(PASSWORD).expect("hash"))
}

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `postgres://…/old` -> `postgres://…/new`
pub fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

async fn admin_client() -> tokio_postgres::Client {
    // Parallel tests may briefly use up the server's connection slots: wait for one.
    let mut tries = 0;
    loop {
        match tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                return client;
            }
            Err(e) if tries < 50 && e.to_string().contains("connection slots") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!(
                "TEST_DATABASE_URL must point at a PostgreSQL server whose role may create databases: {e}"
            ),
        }
    }
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A migrated database to copy from, made once per test binary.
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("tenantry_tpl_{}", std::process::id());
            let client = admin_client().await;
            // Leftovers of earlier runs whose process is gone (names carry the pid), so
            // two test runs at once never drop each other's databases.
            let old = client
                .query(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'tenantry\\_t%'",
                    &[],
                )
                .await
                .expect("list databases");
            for row in old {
                let db: String = row.get(0);
                let pid = db
                    .trim_start_matches("tenantry_tpl_")
                    .trim_start_matches("tenantry_t");
                let pid = pid.split('_').next().unwrap_or("");
                let alive =
                    !pid.is_empty() && std::path::Path::new(&format!("/proc/{pid}")).exists();
                if !alive {
                    let _ = client
                        .execute(
                            &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
                            &[],
                        )
                        .await;
                }
            }
            client
                .execute(&format!("CREATE DATABASE \"{name}\""), &[])
                .await
                .expect("create template");
            tenantry::db::run_migrations(&with_db(&admin_url(), &name))
                .await
                .expect("migrate template");
            name
        })
        .await
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub db_url: String,
    pub pool: DbPool,
    pub root: Tenant,
    pub admin: User,
    pub client: reqwest::Client,
    /// The app's time: tests advance it to reach expiry instead of rewriting rows.
    pub clock: tenantry::clock::Clock,
    /// Stops the server when the last browser of this app is dropped, so tests that
    /// build many apps do not pile up database connections.
    pub server: Arc<ServerGuard>,
}

pub struct ServerGuard {
    handle: actix_web::dev::ServerHandle,
    /// Dropped after the server is told to stop.
    _database: Option<DbGuard>,
}

/// Drops a test's database when its app is gone, so a run leaves none behind
/// (leftovers of interrupted runs go at the next run's start, or `make clean-db`).
pub struct DbGuard(String);

impl Drop for DbGuard {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.0);
        // Drop runs inside the test's runtime, which also serves the app: never block
        // it (a stalled runtime makes other servers drop connections). A thread of its
        // own does the work; one cut short at exit leaves a database that the next
        // run, or `make test`'s cleanup, drops.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(conn);
                client
                    .execute(
                        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                        &[],
                    )
                    .await
                    .ok()
            })
        });
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { handle.stop(false).await });
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(IDLE_BEFORE_SERVER_CLOSES)
        .build()
        .expect("client")
}

/// A test client drops an idle connection well before the server's keep-alive (5 s)
/// closes it: reusing one the server is closing at that moment fails the request
/// (`IncompleteMessage`), which long tests with one client per user ran into.
const IDLE_BEFORE_SERVER_CLOSES: std::time::Duration = std::time::Duration::from_secs(2);

pub fn settings(db_url: &str) -> Settings {
    settings_with(db_url, &[])
}

/// A fresh database with a root tenant and its administrator, and the app serving it.
pub async fn spawn_app() -> TestApp {
    let db_url = test_database().await;
    spawn_app_with(settings(&db_url)).await
}

/// A fresh, migrated, empty database; returns its URL.
pub async fn test_database() -> String {
    let tpl = template().await;
    let name = format!(
        "tenantry_t{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let client = admin_client().await;
    let mut tries = 0;
    // Copies from one template can collide briefly; retry.
    while let Err(e) = client
        .execute(
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\""),
            &[],
        )
        .await
    {
        tries += 1;
        assert!(tries < 20, "create test database: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    with_db(&admin_url(), &name)
}

/// The guard that drops the test database `db_url` names when the test ends.
fn guard_for(db_url: &str) -> Option<DbGuard> {
    db_url
        .rsplit('/')
        .next()
        .and_then(|rest| rest.split('?').next())
        .filter(|n| n.starts_with("tenantry_t"))
        .map(|n| DbGuard(n.to_string()))
}

/// A fresh bootstrapped database with no app on it (so no background job: folder,
/// outbox, migration runner), for tests that must know everything that touches
/// it: a pool, the root tenant, and the guard that drops it.
pub async fn bare_database() -> (DbPool, Tenant, Option<DbGuard>) {
    let db_url = test_database().await;
    let pool = tenantry::db::pool(&db_url, 2).expect("pool");
    let mut conn = pool.get().await.expect("conn");
    tenantry::services::bootstrap::run(&mut conn, "root", ADMIN_USER, password_hash())
        .await
        .expect("bootstrap");
    let root = Tenant::root(&mut conn)
        .await
        .expect("root")
        .expect("root exists");
    drop(conn);
    (pool, root, guard_for(&db_url))
}

/// Starts the app with these settings on an already-migrated database and bootstraps it.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_on(settings, None).await
}

/// A fresh database and the app serving its requests from a pool of `size`
/// connections that the test holds a handle of too (to take them all, as other
/// requests would), returned beside it.
pub async fn spawn_app_sharing_pool(extra: &[(&str, &str)], size: usize) -> (TestApp, DbPool) {
    let db_url = test_database().await;
    let pool = tenantry::db::pool(&db_url, size).expect("pool");
    let app = spawn_app_on(settings_with(&db_url, extra), Some(pool.clone())).await;
    (app, pool)
}

/// [`spawn_app_with`], the app's requests served from `app_pool` when given.
async fn spawn_app_on(settings: Settings, app_pool: Option<DbPool>) -> TestApp {
    let db_url = settings.database_url().to_string();
    let pool = tenantry::db::pool(&db_url, 4).expect("pool");
    let (root, admin) = {
        let mut conn = pool.get().await.expect("conn");
        let admin_hash = tenantry::auth::password::hash_blocking(ADMIN_PASSWORD).expect("hash");
        tenantry::services::bootstrap::run(&mut conn, "root", ADMIN_USER, &admin_hash)
            .await
            .expect("bootstrap");
        let root = Tenant::root(&mut conn)
            .await
            .expect("root")
            .expect("root exists");
        let (admin, _) = User::find_for_login(&mut conn, "root", ADMIN_USER)
            .await
            .expect("q")
            .expect("admin");
        (root, admin)
    };
    let app = match app_pool {
        Some(pool) => Application::build_with_pool(settings, pool),
        None => Application::build(settings),
    }
    .expect("build app");
    let port = app.port();
    let clock = app.clock().clone();
    let db_name = guard_for(&db_url);
    let server = Arc::new(ServerGuard {
        handle: app.handle(),
        _database: db_name,
    });
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        db_url,
        pool,
        root,
        admin,
        client: client(),
        clock,
        server,
    }
}

impl TestApp {
    pub async fn conn(
        &self,
    ) -> diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection> {
        self.pool.get().await.expect("conn")
    }

    /// Folds every pending usage delta into the subtree totals, as the folder of
    /// `serve` does every `TENANTRY_USAGE_FOLD_INTERVAL_MS`; returns how many.
    pub async fn fold_usage(&self) -> usize {
        tenantry::services::usage::fold(&mut *self.conn().await, self.clock.now())
            .await
            .expect("fold")
            .deltas
    }

    /// `user` as authorization sees them, to call a service as them.
    pub async fn principal(&self, user: &User) -> tenantry::auth::Principal {
        tenantry::auth::Principal::load(&mut *self.conn().await, user.id)
            .await
            .expect("principal")
            .expect("user exists")
    }

    /// Another browser: same app, empty cookie jar.
    pub fn new_browser(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            port: self.port,
            db_url: self.db_url.clone(),
            pool: self.pool.clone(),
            root: self.root.clone(),
            admin: self.admin.clone(),
            client: client(),
            clock: self.clock.clone(),
            server: self.server.clone(),
        }
    }

    /// A browser that reaches the app under `host` (e.g. a tenant's subdomain).
    pub fn browser_for_host(&self, host: &str) -> (reqwest::Client, String) {
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", self.port).parse().expect("addr");
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(IDLE_BEFORE_SERVER_CLOSES)
            .resolve(host, addr)
            .build()
            .expect("client");
        (client, format!("http://{host}:{}", self.port))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET as htmx asks for a fragment (`HX-Request: true`).
    pub async fn get_hx(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("HX-Request", "true")
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// The CSRF token of this browser's session (from the login page or any page).
    pub async fn csrf(&self) -> String {
        let html = self.get_html("/login").await;
        csrf_from(&html).expect("csrf token on /login")
    }

    /// Posts a form with this browser's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST")
    }

    /// Posts `fields` as htmx does (`HX-Request: true`), with this browser's CSRF token.
    pub async fn post_hx(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .header("HX-Request", "true")
            .form(&all)
            .send()
            .await
            .expect("POST")
    }

    /// Gives the bootstrap admin the address `admin@example.com` (it has none), so
    /// that notices to them are queued.
    pub async fn admin_with_email(&self) {
        db(self)
            .await
            .execute(
                "UPDATE users SET email = 'admin@example.com' WHERE id = $1",
                &[&self.admin.id],
            )
            .await
            .expect("the admin's address");
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("username", username), ("password", password)])
            .await
    }

    pub async fn login_admin(&self) {
        let r = self.login(ADMIN_USER, ADMIN_PASSWORD).await;
        assert_redirect_to(&r, "/dashboard");
    }

    /// Creates a tenant under `parent` directly in the database.
    pub async fn tenant(
        &self,
        parent: &Tenant,
        subdomain: &str,
        can_have_subtenants: bool,
    ) -> Tenant {
        let mut conn = self.conn().await;
        let fields = TenantFields {
            name: format!("Tenant {subdomain}"),
            subdomain: subdomain.into(),
            description: String::new(),
            custom_domain: None,
            tenant_role_id: None,
            labels: None,
            monthly_query_quota: None,
            limits: Default::default(),
            max_users: None,
            plan_id: None,
            can_have_subtenants,
            enabled: true,
        };
        let child = tenantry::db::models::tenant::NewChild {
            parent,
            tenant_role_id: parent.tenant_role_id,
            fields: &fields,
        };
        Tenant::insert_children(&mut conn, &[child])
            .await
            .expect("insert tenant")
            .remove(0)
    }

    /// Creates a user (password `PASSWORD`) in `tenant`.
    pub async fn user(&self, tenant: &Tenant, username: &str) -> User {
        let mut conn = self.conn().await;
        NewUser {
            tenant_id: tenant.id,
            username,
            email: "",
            first_name: "",
            last_name: "",
            password_hash: password_hash(),
        }
        .insert(&mut conn)
        .await
        .expect("insert user")
    }

    pub async fn grant(
        &self,
        user: &User,
        tenant: &Tenant,
        role: GrantRole,
        scope: Scope,
        manage: bool,
    ) {
        let mut conn = self.conn().await;
        Grant::insert(&mut conn, user.id, tenant.id, role, scope, manage)
            .await
            .expect("grant");
    }

    pub async fn reload(&self, tenant: &Tenant) -> Option<Tenant> {
        let mut conn = self.conn().await;
        Tenant::find(&mut conn, tenant.id).await.ok()
    }

    /// The user as stored now.
    pub async fn reload_user(&self, user: &User) -> User {
        User::find_with_tenant(&mut *self.conn().await, user.id)
            .await
            .expect("load user")
            .expect("user exists")
            .0
    }
}

pub fn csrf_from(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

pub fn assert_redirect_to(response: &reqwest::Response, location: &str) {
    assert_eq!(
        response.status().as_u16(),
        303,
        "expected a redirect to {location}"
    );
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(location)
    );
}

/// The id in a `/tenants/{id}` redirect.
pub fn redirected_tenant_id(response: &reqwest::Response) -> i64 {
    let loc = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location");
    loc.trim_start_matches("/tenants/")
        .parse()
        .expect("tenant id in location")
}

impl TestApp {
    /// Creates a user (password `PASSWORD`) in `tenant` holding a new user role of
    /// that tenant with these permissions (named after the user).
    pub async fn user_with_role(
        &self,
        tenant: &Tenant,
        username: &str,
        permissions: tenantry::domain::Permissions,
    ) -> User {
        let user = self.user(tenant, username).await;
        let mut conn = self.conn().await;
        let role = tenantry::db::models::role::UserRole::insert(
            &mut conn,
            tenant.id,
            &format!("Role of {username}"),
            &permissions,
            false,
        )
        .await
        .expect("insert role");
        tenantry::db::models::role::UserRole::assign(&mut conn, user.id, role.id)
            .await
            .expect("assign role");
        User::find_with_tenant(&mut conn, user.id)
            .await
            .expect("reload user")
            .expect("user exists")
            .0
    }
}

/// Settings of `settings(db_url)` with more variables set (e.g. `TENANTRY_SMTP_URL`).
pub fn settings_with(db_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("DATABASE_URL".into(), db_url.into());
    env.insert("TENANTRY_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("TENANTRY_BASE_DOMAIN".into(), BASE_DOMAIN.into());
    env.insert("TENANTRY_SECRET_KEY".into(), "t".repeat(64));
    env.insert("TENANTRY_DB_POOL_SIZE".into(), "4".into());
    // Mail without a mail server goes to files: keep them out of the working tree.
    let mail_dir = std::env::temp_dir().join(format!(
        "tenantry-test-mail-{}",
        uuid::Uuid::new_v4().simple()
    ));
    env.insert("TENANTRY_MAIL_DIR".into(), mail_dir.display().to_string());
    // Tests run the monthly report job themselves, for the date they choose.
    env.insert("TENANTRY_REPORT_POLL_SECS".into(), "0".into());
    // Tests fold pending usage themselves (`TestApp::fold_usage`), so they know
    // what is pending when; the background folder waits an hour.
    env.insert("TENANTRY_USAGE_FOLD_INTERVAL_MS".into(), "3600000".into());
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Settings::from_map(&env).expect("settings")
}

/// A fresh database and the app with these extra settings.
pub async fn spawn_app_with_env(extra: &[(&str, &str)]) -> TestApp {
    let db_url = test_database().await;
    spawn_app_with(settings_with(&db_url, extra)).await
}

impl TestApp {
    /// A pending invitation into `tenant` offering a Viewer grant on it, made
    /// directly in the database by `inviter` (for `{invitation_id}` in route tests).
    pub async fn invitation(&self, tenant: &Tenant, inviter: &User, email: &str) -> i64 {
        self.invitation_with_link(tenant, inviter, email).await.0
    }

    /// [`TestApp::invitation`], and the link the invitee opens
    /// (`/invitations/{token}`: a new account there, as `email` has none).
    pub async fn invitation_with_link(
        &self,
        tenant: &Tenant,
        inviter: &User,
        email: &str,
    ) -> (i64, String) {
        use tenantry::auth::tokens::InvitationToken;
        use tenantry::db::models::invitation::NewInvitation;
        use tenantry::domain::invitation::Offer;
        let mut conn = self.conn().await;
        let seed = tenantry::auth::tokens::random_token();
        let token = InvitationToken::derive(b"fixture", &seed);
        let id = NewInvitation {
            tenant_id: tenant.id,
            email,
            token_hash: &token.hash(),
            offer: Offer::grant(GrantRole::Viewer, Scope::Tenant, false).expect("offer"),
            inviter_user_id: inviter.id,
            inviter_login: &inviter.username,
            expires_at: self.clock.now() + chrono::Duration::days(7),
        }
        .insert(&mut conn)
        .await
        .expect("insert invitation")
        .id;
        (id, format!("/invitations/{}", token.as_str()))
    }
}

/// The status code as a number.
pub fn status(r: &reqwest::Response) -> u16 {
    r.status().as_u16()
}

/// A new browser logged in as `login` with the fixture password.
pub async fn browser_as(app: &TestApp, login: &str) -> TestApp {
    let browser = app.new_browser();
    assert_redirect_to(&browser.login(login, PASSWORD).await, "/dashboard");
    browser
}

/// `username`, a new user at home in `tenant` who administers its subtree (managing
/// its sub-tenants), logged in.
pub async fn subtree_admin(app: &TestApp, tenant: &Tenant, username: &str) -> TestApp {
    let user = app.user(tenant, username).await;
    app.grant(
        &user,
        tenant,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    browser_as(app, &format!("{}\\{username}", tenant.subdomain)).await
}

/// A plain SQL client on the test database (for checks the app offers no query for).
pub async fn db(app: &TestApp) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&app.db_url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

/// root ─┬─ acme (partner) ─┬─ a1 (partner) ── a1x
///       │                   └─ a2
///       └─ globex (partner) ── g1
pub struct PartnerTree {
    pub acme: Tenant,
    pub a1: Tenant,
    pub a1x: Tenant,
    pub a2: Tenant,
    pub globex: Tenant,
    pub g1: Tenant,
}

pub async fn partner_tree(app: &TestApp) -> PartnerTree {
    let acme = app.tenant(&app.root, "acme", true).await;
    let a1 = app.tenant(&acme, "a1", true).await;
    let a1x = app.tenant(&a1, "a1x", false).await;
    let a2 = app.tenant(&acme, "a2", false).await;
    let globex = app.tenant(&app.root, "globex", true).await;
    let g1 = app.tenant(&globex, "g1", false).await;
    PartnerTree {
        acme,
        a1,
        a1x,
        a2,
        globex,
        g1,
    }
}

/// A new tenant role (cap) named `name` giving `permissions`, made `tenant`'s cap
/// (directly in the database).
pub async fn capped(
    app: &TestApp,
    tenant: &Tenant,
    name: &str,
    permissions: &tenantry::domain::Permissions,
) -> tenantry::db::models::role::TenantRole {
    let mut conn = app.conn().await;
    let cap = tenantry::db::models::role::TenantRole::insert(&mut conn, name, permissions)
        .await
        .expect("insert tenant role");
    drop(conn);
    db(app)
        .await
        .execute(
            "UPDATE tenants SET tenant_role_id = $1 WHERE id = $2",
            &[&cap.id, &tenant.id],
        )
        .await
        .expect("set the cap");
    cap
}

/// A page's HTML with its per-request id blanked, to compare two answers (an
/// invisible tenant's 404 must read exactly like a missing one's).
pub fn without_request_id(html: &str) -> String {
    const OPEN: &str = "<code id=\"request-id\">";
    match html.find(OPEN) {
        Some(start) => {
            let from = start + OPEN.len();
            let end = html[from..]
                .find("</code>")
                .map_or(html.len(), |e| from + e);
            format!("{}{}", &html[..from], &html[end..])
        }
        None => html.to_string(),
    }
}

/// Posts a form that must be refused field by field (422, the form shown again):
/// the page, and the error shown at `field`.
pub async fn refused_form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    field: &str,
) -> (String, Option<String>) {
    let r = app.post_form(path, fields).await;
    assert_eq!(status(&r), 422, "{path} {fields:?}");
    let html = r.text().await.expect("body");
    let error = field_error(&html, field);
    (html, error)
}

/// The text of a form field's error (`<p class="field-error" id="{field}-error">`).
pub fn field_error(html: &str, field: &str) -> Option<String> {
    let marker = format!("<p class=\"field-error\" id=\"{field}-error\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find("</p>")? + start;
    Some(html[start..end].to_string())
}

/// The hidden fields of the form in `html` that posts to `action` (not the token).
pub fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action} in {html}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    form.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"")?;
            let (value, _) = rest.split_once('"')?;
            Some((name.to_string(), value.to_string()))
        })
        .filter(|(name, _)| name != "csrf_token")
        .collect()
}

/// Fields as `post_form` takes them (`hidden_fields`' pairs, borrowed).
pub fn as_pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The body of a GET of `url` by `client` (a browser of `TestApp::browser_for_host`).
pub async fn text_at(client: &reqwest::Client, url: String) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body")
}

/// The part of `html` from `from` to the next `to` (or the end).
pub fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} not in {html}"));
    let end = html[start..].find(to).map_or(html.len(), |e| start + e);
    &html[start..end]
}

/// The flash the page after the redirect `r` shows.
pub async fn flash_after(app: &TestApp, r: reqwest::Response) -> String {
    assert_eq!(status(&r), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let html = app.get_html(&location).await;
    let open = "<div class=\"flash success\" role=\"status\">";
    between(&html, open, "</div>")[open.len()..].to_string()
}

/// The tenant edit form of `t` (made by `TestApp::tenant`) as posted with its values
/// unchanged, and `more` fields set (replacing its own of the same name).
pub fn tenant_edit_form<'a>(
    t: &'a Tenant,
    more: &[(&'static str, &'a str)],
) -> Vec<(&'static str, &'a str)> {
    let mut form = vec![
        ("name", t.name.as_str()),
        ("subdomain", t.subdomain.as_str()),
        ("description", t.description.as_str()),
        ("custom_domain", ""),
        ("enabled", "true"),
    ];
    if t.can_have_subtenants {
        form.push(("can_have_subtenants", "true"));
    }
    for (key, value) in more {
        match form.iter_mut().find(|(k, _)| k == key) {
            Some(field) => field.1 = value,
            None => form.push((key, value)),
        }
    }
    form
}

/// `t`'s move form posted with `parent` as the new parent.
pub async fn move_form(app: &TestApp, t: &Tenant, parent: &Tenant) -> reqwest::Response {
    app.post_form(
        &format!("/tenants/{}/move", t.id),
        &[("parent_id", &parent.id.to_string())],
    )
    .await
}

/// `queries` this month of `t`'s usage (directly in the database).
pub async fn queries_this_month(app: &TestApp, t: &Tenant, queries: i64) {
    db(app)
        .await
        .execute(
            "INSERT INTO usage_monthly (tenant_id, month, queries) \
             VALUES ($1, date_trunc('month', now())::date, $2)",
            &[&t.id, &queries],
        )
        .await
        .unwrap();
}

/// How many sessions of the test database wait on a lock now (`watcher`: a plain
/// client on it, `db`).
pub async fn lock_waiters(watcher: &tokio_postgres::Client) -> i64 {
    watcher
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}
