//! Logging in and out: login names, tenant hosts, uniform failures, throttling,
//! session renewal and cookie flags, and sessions that end when the user, the
//! tenant or the password changes.

use crate::helpers::*;
use tenantry::db::models::{Tenant, User};

const FAILED: &str = "Invalid username or password.";
const THROTTLED: &str = "Too many failed attempts";
const COOKIE: &str = "tenantry_session";

/// A client without a cookie jar: sends exactly the cookies it is given.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The `Set-Cookie` line of cookie `name`, if the response sets it.
fn set_cookie_line(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The `Set-Cookie` line of the session cookie, if the response sets it.
fn session_set_cookie(response: &reqwest::Response) -> Option<String> {
    set_cookie_line(response, COOKIE)
}

/// The value of the session cookie set by this response.
fn session_cookie_value(response: &reqwest::Response) -> String {
    let line = session_set_cookie(response).expect("response sets the session cookie");
    let pair = line.split(';').next().unwrap_or_default();
    pair.trim_start_matches(&format!("{COOKIE}=")).to_string()
}

/// GET `path` presenting only this session cookie value.
async fn get_with_cookie(app: &TestApp, path: &str, value: &str) -> reqwest::Response {
    bare_client()
        .get(app.url(path))
        .header("Cookie", format!("{COOKIE}={value}"))
        .send()
        .await
        .expect("GET")
}

/// POSTs the login form with a token fetched earlier (saves a page load per attempt).
async fn login_with_token(
    app: &TestApp,
    token: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf_token", token),
        ])
        .send()
        .await
        .expect("POST /login")
}

/// A browser on a tenant's own host.
struct HostBrowser {
    client: reqwest::Client,
    base: String,
}

impl HostBrowser {
    fn new(app: &TestApp, host: &str) -> Self {
        let (client, base) = app.browser_for_host(host);
        Self { client, base }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        let html = self.get("/login").await.text().await.expect("body");
        let token = csrf_from(&html).expect("csrf token");
        self.client
            .post(format!("{}/login", self.base))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .expect("POST /login")
    }
}

/// Replaces the contents of the attribute value that follows `marker` with `X`.
fn blank_value_after(html: &str, marker: &str) -> String {
    match html.find(marker) {
        Some(i) => {
            let start = i + marker.len();
            let end = html[start..].find('"').map_or(html.len(), |e| start + e);
            format!("{}X{}", &html[..start], &html[end..])
        }
        None => html.to_string(),
    }
}

/// The login page without what legitimately differs between attempts.
fn normalized_login_page(html: &str) -> String {
    let html = blank_value_after(html, "name=\"csrf_token\" value=\"");
    blank_value_after(&html, "name=\"username\" type=\"text\" value=\"")
}

fn error_block(html: &str) -> Option<&str> {
    let start = html.find("<div class=\"flash error\"")?;
    let end = html[start..].find("</div>")? + start;
    Some(&html[start..end])
}

async fn acme_with_alice(app: &TestApp) -> (Tenant, User) {
    let acme = app.tenant(&app.root, "acme", true).await;
    let alice = app.user(&acme, "alice").await;
    (acme, alice)
}

async fn set_user_enabled(app: &TestApp, user: &User, enabled: bool) {
    let (client, conn) = tokio_postgres::connect(&app.db_url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let n = client
        .execute(
            "UPDATE users SET enabled = $1 WHERE id = $2",
            &[&enabled, &user.id],
        )
        .await
        .expect("update user");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn root_user_logs_in_with_bare_or_prefixed_username() {
    let app = spawn_app().await;
    let r = app.login(ADMIN_USER, ADMIN_PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    let r = app.get("/dashboard").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("<h1>Dashboard</h1>"));

    let other = app.new_browser();
    let r = other.login("root\\admin", ADMIN_PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    assert_eq!(other.get("/dashboard").await.status().as_u16(), 200);
}

#[tokio::test]
async fn tenant_user_logs_in_with_prefix_but_not_bare_on_the_main_host() {
    let app = spawn_app().await;
    acme_with_alice(&app).await;

    let r = app.login("acme\\alice", PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    let html = app.get_html("/dashboard").await;
    assert!(html.contains("Tenant acme"), "{html}");

    let other = app.new_browser();
    let r = other.login("alice", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains(FAILED));
    assert_redirect_to(&other.get("/dashboard").await, "/login");
}

#[tokio::test]
async fn tenant_host_names_the_tenant_and_takes_bare_usernames() {
    let app = spawn_app().await;
    acme_with_alice(&app).await;

    let acme_host = HostBrowser::new(&app, &format!("acme.{BASE_DOMAIN}"));
    let html = acme_host.get("/login").await.text().await.unwrap();
    assert!(html.contains("<h1>Log in to Tenant acme</h1>"), "{html}");

    // A bare name on acme's host means acme\name, not root\name.
    let r = acme_host.login(ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status().as_u16(), 401);
    let r = acme_host.login("alice", PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    assert_eq!(acme_host.get("/dashboard").await.status().as_u16(), 200);

    let unknown = HostBrowser::new(&app, &format!("nope.{BASE_DOMAIN}"));
    let html = unknown.get("/login").await.text().await.unwrap();
    assert!(html.contains("<h1>Log in to tenantry</h1>"), "{html}");
    assert!(!html.contains("Tenant acme"));
}

#[tokio::test]
async fn login_failures_are_indistinguishable() {
    let app = spawn_app().await;
    acme_with_alice(&app).await;

    let attempts = [
        ("nope\\alice", PASSWORD),
        ("acme\\mallory", PASSWORD),
        ("acme\\alice", "wrong-password"),
    ];
    let mut pages = Vec::new();
    for (username, password) in attempts {
        let r = app.login(username, password).await;
        assert_eq!(r.status().as_u16(), 401, "{username}");
        let html = r.text().await.unwrap();
        assert!(html.contains(FAILED), "{username}: {html}");
        pages.push((username, html));
    }
    let (first_name, first) = &pages[0];
    for (name, html) in &pages[1..] {
        assert_eq!(
            error_block(html),
            error_block(first),
            "{name} vs {first_name}"
        );
        assert_eq!(
            normalized_login_page(html),
            normalized_login_page(first),
            "{name} vs {first_name}"
        );
    }
    // The name typed is given back, so the form need not be retyped.
    assert!(
        pages[1].1.contains("value=\"acme\\mallory\""),
        "{}",
        pages[1].1
    );
}

#[tokio::test]
async fn an_account_is_throttled_after_five_failures() {
    let app = spawn_app().await;
    let (acme, _) = acme_with_alice(&app).await;
    app.user(&acme, "bob").await;

    // Four failures do not lock the account, and a success starts the count again.
    let token = app.csrf().await;
    for _ in 0..4 {
        assert_eq!(
            login_with_token(&app, &token, "acme\\alice", "wrong")
                .await
                .status()
                .as_u16(),
            401
        );
    }
    assert_redirect_to(
        &login_with_token(&app, &token, "acme\\alice", PASSWORD).await,
        "/dashboard",
    );

    let browser = app.new_browser();
    let token = browser.csrf().await;
    for i in 0..5 {
        let r = login_with_token(&browser, &token, "acme\\alice", "wrong").await;
        assert_eq!(r.status().as_u16(), 401, "attempt {i}");
    }
    let r = login_with_token(&browser, &token, "acme\\alice", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.text().await.unwrap().contains(THROTTLED));
    // Case and prefix spelling do not give a fresh counter.
    let r = login_with_token(&browser, &token, "ACME\\Alice", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 429);
    assert_redirect_to(&browser.get("/dashboard").await, "/login");

    // Another account from the same client is not affected.
    let r = login_with_token(&browser, &token, "acme\\bob", PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
}

#[tokio::test]
async fn a_client_address_is_throttled_after_fifty_failures() {
    let app = spawn_app().await;
    let (acme, _) = acme_with_alice(&app).await;
    app.user(&acme, "carol").await;
    app.user(&acme, "dave").await;

    // 49 failures, each for a different account: below both limits.
    let token = app.csrf().await;
    for i in 0..49 {
        let r = login_with_token(&app, &token, &format!("acme\\ghost{i}"), "wrong").await;
        assert_eq!(r.status().as_u16(), 401, "attempt {i}");
    }
    let r = login_with_token(&app, &token, "acme\\carol", PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");

    // The 50th failure reaches the per-address limit: even a correct login of an
    // untouched account is refused now.
    let browser = app.new_browser();
    let token = browser.csrf().await;
    let r = login_with_token(&browser, &token, "acme\\ghost49", "wrong").await;
    assert_eq!(r.status().as_u16(), 401);
    let r = login_with_token(&browser, &token, "acme\\dave", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.text().await.unwrap().contains(THROTTLED));
    assert_redirect_to(&browser.get("/dashboard").await, "/login");

    // The address is the socket's: headers a client may set do not reset it.
    let r = browser
        .client
        .post(browser.url("/login"))
        .header("X-Forwarded-For", "203.0.113.7")
        .header("Forwarded", "for=203.0.113.7")
        .header("X-Real-IP", "203.0.113.7")
        .form(&[
            ("username", "acme\\dave"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
}

#[tokio::test]
async fn concurrent_guesses_cannot_exceed_the_account_limit() {
    let app = spawn_app().await;
    acme_with_alice(&app).await;
    let token = app.csrf().await;
    let guesses = (0..20).map(|i| {
        let password = format!("guess-{i}");
        let request = app.client.post(app.url("/login")).form(&[
            ("username", "acme\\alice"),
            ("password", password.as_str()),
            ("csrf_token", token.as_str()),
        ]);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let tried = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(tried <= 5, "{tried} of 20 concurrent guesses were checked against the password (limit 5): {statuses:?}");
}

#[tokio::test]
async fn a_nul_byte_in_the_login_name_is_an_ordinary_failure() {
    let app = spawn_app().await;
    acme_with_alice(&app).await;
    for username in ["acme\\al\0ice", "ac\0me\\alice", "\0"] {
        let r = app.login(username, PASSWORD).await;
        assert_eq!(r.status().as_u16(), 401, "{username:?}");
        assert!(r.text().await.unwrap().contains(FAILED));
    }
}

#[tokio::test]
async fn login_renews_the_session_id_and_cookies_have_safe_flags() {
    let app = spawn_app().await;
    // An anonymous visit starts no session: the form's token travels in its own cookie.
    let r = app.get("/login").await;
    assert!(
        session_set_cookie(&r).is_none(),
        "GET /login must not start a session"
    );
    let csrf_line = set_cookie_line(&r, "tenantry_csrf").expect("GET /login sets the CSRF cookie");

    let r = app.login(ADMIN_USER, ADMIN_PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    let before_line = session_set_cookie(&r).expect("login sets the session cookie");
    let before = session_cookie_value(&r);
    let device_line = set_cookie_line(&r, "tenantry_device").expect("login sets the device cookie");

    // Logging in again from the same browser (a session an attacker could have planted
    // by logging the victim in to their own account) gives a new session id.
    let r = app.login(ADMIN_USER, ADMIN_PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    let after_line = session_set_cookie(&r).expect("login sets the session cookie");
    let after = session_cookie_value(&r);
    assert_ne!(before, after, "the session id must change at login");

    for (line, same_site) in [
        (&csrf_line, "samesite=lax"),
        (&before_line, "samesite=lax"),
        (&after_line, "samesite=lax"),
        (&device_line, "samesite=strict"),
    ] {
        let attrs: Vec<String> = line
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        assert!(attrs.iter().any(|a| a == "httponly"), "{line}");
        assert!(attrs.iter().any(|a| a == same_site), "{line}");
        assert!(!attrs.iter().any(|a| a == "secure"), "plain http: {line}");
    }

    // The new cookie is the logged-in session; the earlier one is not.
    assert_eq!(
        get_with_cookie(&app, "/dashboard", &after)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_redirect_to(
        &get_with_cookie(&app, "/dashboard", &before).await,
        "/login",
    );
}

#[tokio::test]
async fn sessions_slide_with_use_and_page_views_do_not_rewrite_them() {
    let app = spawn_app().await;
    app.login_admin().await;
    let client = db(&app).await;
    let row = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap() }
    };
    // About to run out (12 hours after login): the next request pushes it a full
    // term ahead.
    app.clock
        .advance(chrono::Duration::hours(12) - chrono::Duration::minutes(5));
    assert_eq!(app.get("/tenants").await.status(), 200);
    let left: f64 = client
        .query_one(
            "SELECT extract(epoch FROM min(expires_at) - $1::text::timestamptz)::float8 FROM sessions",
            &[&app.clock.now().to_rfc3339()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        left > 11.0 * 3600.0,
        "expiry pushed to ~12 h ahead, is {left} s"
    );

    // Fresh: page views read the session and leave the row as it is.
    let version = || row("SELECT xmin::text, expires_at::text FROM sessions");
    let before = version().await;
    for path in ["/tenants", "/dashboard", "/profile"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    let after = version().await;
    assert_eq!(
        (before.get::<_, String>(0), before.get::<_, String>(1)),
        (after.get::<_, String>(0), after.get::<_, String>(1)),
        "no session write for a plain page view"
    );
    // A flash message still arrives once.
    let acme = app.tenant(&app.root, "acme", true).await;
    let r = app
        .post_form(
            &format!("/tenants/{}/disable", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let page = app.get_html(&format!("/tenants/{}", acme.id)).await;
    assert!(page.contains("class=\"flash"), "{page}");
    let again = app.get_html(&format!("/tenants/{}", acme.id)).await;
    assert!(!again.contains("class=\"flash"), "shown once: {again}");
}

#[tokio::test]
async fn logout_ends_the_session_everywhere() {
    let app = spawn_app().await;
    let r = app.login(ADMIN_USER, ADMIN_PASSWORD).await;
    assert_redirect_to(&r, "/dashboard");
    let cookie = session_cookie_value(&r);
    assert_eq!(
        get_with_cookie(&app, "/dashboard", &cookie)
            .await
            .status()
            .as_u16(),
        200
    );

    let r = app.post_form("/logout", &[]).await;
    assert_redirect_to(&r, "/login");
    assert_redirect_to(&app.get("/dashboard").await, "/login");
    // A copy of the old cookie is worthless too: the server forgot the session.
    assert_redirect_to(
        &get_with_cookie(&app, "/dashboard", &cookie).await,
        "/login",
    );
}

#[tokio::test]
async fn disabling_a_tenant_ends_its_sessions_and_blocks_login() {
    let app = spawn_app().await;
    let (acme, _) = acme_with_alice(&app).await;
    let alice = app.new_browser();
    assert_redirect_to(&alice.login("acme\\alice", PASSWORD).await, "/dashboard");
    assert_eq!(alice.get("/dashboard").await.status().as_u16(), 200);

    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/disable", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", acme.id));

    assert_redirect_to(&alice.get("/dashboard").await, "/login");
    let r = alice.login("acme\\alice", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains(FAILED));

    let r = app
        .post_form(&format!("/tenants/{}/enable", acme.id), &[])
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", acme.id));
    assert_redirect_to(&alice.login("acme\\alice", PASSWORD).await, "/dashboard");
    assert_eq!(alice.get("/dashboard").await.status().as_u16(), 200);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_blocks_login() {
    let app = spawn_app().await;
    let (_, alice_user) = acme_with_alice(&app).await;
    assert_redirect_to(&app.login("acme\\alice", PASSWORD).await, "/dashboard");
    assert_eq!(app.get("/dashboard").await.status().as_u16(), 200);

    set_user_enabled(&app, &alice_user, false).await;
    assert_redirect_to(&app.get("/dashboard").await, "/login");
    let r = app.login("acme\\alice", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains(FAILED));

    set_user_enabled(&app, &alice_user, true).await;
    assert_redirect_to(&app.login("acme\\alice", PASSWORD).await, "/dashboard");
}

#[tokio::test]
async fn changing_the_password_ends_existing_sessions() {
    let app = spawn_app().await;
    let (_, alice_user) = acme_with_alice(&app).await;
    assert_redirect_to(&app.login("acme\\alice", PASSWORD).await, "/dashboard");
    assert_eq!(app.get("/dashboard").await.status().as_u16(), 200);

    let new_password = "a-new-password-456";
    let hash = tenantry::auth::password::hash_blocking(new_password).unwrap();
    let changed = User::set_password(&mut *app.conn().await, alice_user.id, &hash)
        .await
        .unwrap();
    assert_eq!(changed, 1);

    assert_redirect_to(&app.get("/dashboard").await, "/login");
    assert_eq!(
        app.login("acme\\alice", PASSWORD).await.status().as_u16(),
        401
    );
    assert_redirect_to(&app.login("acme\\alice", new_password).await, "/dashboard");
}

#[tokio::test]
async fn pages_redirect_anonymous_visitors_to_login() {
    let app = spawn_app().await;
    let root = app.root.id;
    for path in [
        "/",
        "/dashboard",
        "/tenants",
        "/tenants/new",
        "/tenants/tree",
        &format!("/tenants/{root}"),
        "/switch",
    ] {
        let r = app.get(path).await;
        // A page other than the landing one is returned to after the login.
        let login = match path {
            "/" | "/dashboard" => "/login".to_string(),
            _ => format!(
                "/login?{}",
                serde_urlencoded::to_string([("next", path)]).unwrap()
            ),
        };
        assert_redirect_to(&r, &login);
    }
    // Logged in, the same pages answer.
    app.login_admin().await;
    for path in [
        "/dashboard",
        "/tenants",
        "/tenants/new",
        &format!("/tenants/{root}"),
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 200, "{path}");
    }
}
