//! Login throttling that strangers cannot turn against the real user (failures
//! counted per account and address, device cookies, the per-account and
//! per-address limits, the window's length), and anonymous pages that leave no
//! server state (signed CSRF tokens on the login and invitation forms).

use crate::helpers::*;
use std::net::IpAddr;
use tenantry::auth::csrf;
use tenantry::db::models::Tenant;

const FAILED: &str = "Invalid username or password.";
const THROTTLED: &str = "Too many failed attempts";
const REFUSED: &str = "This form has expired or did not come from this site";
/// The secret key of the test settings (see `helpers::settings`).
fn secret_key() -> Vec<u8> {
    "t".repeat(64).into_bytes()
}

/// A browser (own cookie jar) connecting from `ip`: every 127.0.0.0/8 address
/// reaches the app's listener on 127.0.0.1, and the app sees it as the client's.
struct Browser {
    client: reqwest::Client,
    base: String,
    /// Sent as `X-Forwarded-For`, as a reverse proxy would.
    forwarded_for: Option<String>,
}

impl Browser {
    fn from(app: &TestApp, ip: &str) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(ip.parse::<IpAddr>().expect("ip"))
            .build()
            .expect("client");
        Self {
            client,
            base: app.address.clone(),
            forwarded_for: None,
        }
    }

    /// A browser behind the proxy at 127.0.0.1, which says the client is `client_ip`.
    fn behind_proxy(app: &TestApp, client_ip: &str) -> Self {
        Self {
            forwarded_for: Some(client_ip.into()),
            ..Self::from(app, "127.0.0.1")
        }
    }

    /// Loads the login form (for its token) and posts it.
    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        let html = self
            .client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .expect("GET /login")
            .text()
            .await
            .expect("body");
        let token = csrf_from(&html).expect("csrf token on /login");
        let mut post = self.client.post(format!("{}/login", self.base));
        if let Some(ip) = &self.forwarded_for {
            post = post.header("x-forwarded-for", ip);
        }
        post.form(&[
            ("username", username),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("POST /login")
    }

    /// Asserts the answer to a login attempt: 303 to the dashboard, 401 or 429.
    async fn expect_login(&self, username: &str, password: &str, expected: u16, what: &str) {
        let r = self.login(username, password).await;
        let got = status(&r);
        let body = r.text().await.expect("body");
        assert_eq!(got, expected, "{what}: {body}");
        match expected {
            401 => assert!(body.contains(FAILED), "{what}: {body}"),
            429 => assert!(body.contains(THROTTLED), "{what}: {body}"),
            _ => {}
        }
    }
}

async fn acme_with_alice_and_bob(app: &TestApp) -> Tenant {
    let acme = app.tenant(&app.root, "acme", true).await;
    app.user(&acme, "alice").await;
    app.user(&acme, "bob").await;
    acme
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

async fn sessions(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) FROM sessions").await
}

// ------------------------------------------------------------------ throttling

#[tokio::test]
async fn a_strangers_guesses_do_not_lock_out_the_user_at_their_own_address() {
    let app = spawn_app().await;
    acme_with_alice_and_bob(&app).await;
    let stranger = Browser::from(&app, "127.0.0.2");
    for i in 0..5 {
        stranger
            .expect_login("acme\\alice", "guess", 401, &format!("guess {i}"))
            .await;
    }
    // The stranger's pair is locked, even against the right password and another spelling.
    for _ in 0..10 {
        stranger
            .expect_login("acme\\alice", "guess", 429, "locked pair")
            .await;
    }
    stranger
        .expect_login("ACME\\Alice", PASSWORD, 429, "locked pair, right password")
        .await;
    // Other accounts from the stranger's address are not locked.
    stranger
        .expect_login(
            "acme\\bob",
            PASSWORD,
            303,
            "bob from the stranger's address",
        )
        .await;

    // Alice, on a browser that never logged in before, from her own address.
    let alice = Browser::from(&app, "127.0.0.1");
    alice
        .expect_login("acme\\alice", PASSWORD, 303, "alice at home")
        .await;
    // Her success does not unlock the stranger.
    stranger
        .expect_login("acme\\alice", PASSWORD, 429, "still locked")
        .await;
}

/// Behind a trusted proxy (`TENANTRY_TRUSTED_PROXIES`), the client address comes from
/// `X-Forwarded-For`: a stranger's guesses lock only the stranger. Without the
/// setting, the header is ignored (anyone could send one).
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let app = spawn_app_with_env(&[("TENANTRY_TRUSTED_PROXIES", "127.0.0.1")]).await;
    acme_with_alice_and_bob(&app).await;
    let stranger = Browser::behind_proxy(&app, "198.51.100.7");
    for i in 0..5 {
        stranger
            .expect_login("acme\\alice", "guess", 401, &format!("guess {i}"))
            .await;
    }
    stranger
        .expect_login("acme\\alice", PASSWORD, 429, "the stranger is locked")
        .await;
    let alice = Browser::behind_proxy(&app, "203.0.113.5");
    alice
        .expect_login("acme\\alice", PASSWORD, 303, "alice through the same proxy")
        .await;
    // The audit trail records the real client.
    let addr: Option<String> = db(&app)
        .await
        .query_one(
            "SELECT client_addr FROM audit_events WHERE action = 'login.success' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(addr.as_deref(), Some("203.0.113.5"));

    // Not trusted: the header is ignored, and the proxy's address is what counts.
    let app = spawn_app().await;
    acme_with_alice_and_bob(&app).await;
    for i in 0..5 {
        Browser::behind_proxy(&app, &format!("198.51.100.{i}"))
            .expect_login("acme\\alice", "guess", 401, &format!("guess {i}"))
            .await;
    }
    Browser::behind_proxy(&app, "203.0.113.5")
        .expect_login(
            "acme\\alice",
            PASSWORD,
            429,
            "one address behind the header",
        )
        .await;
}

#[tokio::test]
async fn past_the_account_limit_only_browsers_that_know_the_account_get_in() {
    let app = spawn_app_with_env(&[("TENANTRY_LOGIN_MAX_FAILURES_PER_ACCOUNT", "6")]).await;
    acme_with_alice_and_bob(&app).await;
    // Alice's own browser, from before the attack: it holds her device cookie.
    let laptop = Browser::from(&app, "127.0.0.1");
    laptop
        .expect_login("acme\\alice", PASSWORD, 303, "alice before the attack")
        .await;
    // Bob's browser knows bob, not alice.
    let bobs = Browser::from(&app, "127.0.0.1");
    bobs.expect_login("acme\\bob", PASSWORD, 303, "bob").await;

    // Three addresses, three guesses each: no pair reaches 5, the account passes 6.
    let mut answers = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let stranger = Browser::from(&app, ip);
        for _ in 0..3 {
            answers.push(status(&stranger.login("acme\\alice", "guess").await));
        }
    }
    assert_eq!(answers, [401, 401, 401, 401, 401, 401, 429, 429, 429]);

    // Unknown browsers are refused now, from any address, right password or not.
    let new_browser = Browser::from(&app, "127.0.0.5");
    new_browser
        .expect_login("acme\\alice", PASSWORD, 429, "alice on a new browser")
        .await;
    bobs.expect_login("acme\\alice", PASSWORD, 429, "bob's browser for alice")
        .await;
    // A forged device cookie is no device cookie.
    let token = csrf::issue_anonymous(&secret_key(), chrono::Utc::now());
    let forged_device = format!(
        "abc.{}.1-2-3-4-5-6.{}",
        chrono::Utc::now().timestamp(),
        "A".repeat(43)
    );
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/login"))
        .header(
            "Cookie",
            format!("tenantry_csrf={token}; tenantry_device={forged_device}"),
        )
        .form(&[
            ("username", "acme\\alice"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 429);

    // Alice's own browser still gets in; other accounts are untouched.
    laptop
        .expect_login("acme\\alice", PASSWORD, 303, "alice on her laptop")
        .await;
    new_browser
        .expect_login("acme\\bob", PASSWORD, 303, "bob on a new browser")
        .await;

    // A known browser has its own allowance: five wrong passwords lock that browser only.
    for i in 0..5 {
        laptop
            .expect_login("acme\\alice", "typo", 401, &format!("typo {i}"))
            .await;
    }
    laptop
        .expect_login("acme\\alice", PASSWORD, 429, "laptop locked")
        .await;
    let desktop = Browser::from(&app, "127.0.0.1");
    // (The desktop never logged in before the attack: it is an unknown browser.)
    desktop
        .expect_login("acme\\alice", PASSWORD, 429, "unknown desktop")
        .await;
}

#[tokio::test]
async fn the_address_limit_still_holds_but_not_against_a_known_device() {
    let app = spawn_app_with_env(&[("TENANTRY_LOGIN_MAX_FAILURES_PER_ADDRESS", "6")]).await;
    acme_with_alice_and_bob(&app).await;
    let alice = Browser::from(&app, "127.0.0.2");
    alice
        .expect_login("acme\\alice", PASSWORD, 303, "alice before")
        .await;

    // Someone behind the same address guesses six different accounts.
    let neighbour = Browser::from(&app, "127.0.0.2");
    for i in 0..6 {
        neighbour
            .expect_login(&format!("acme\\ghost{i}"), "guess", 401, "ghost")
            .await;
    }
    // The address is locked for unknown browsers, whatever the account…
    neighbour
        .expect_login("acme\\bob", PASSWORD, 429, "bob from the locked address")
        .await;
    Browser::from(&app, "127.0.0.2")
        .expect_login("acme\\alice", PASSWORD, 429, "alice on a new browser there")
        .await;
    // …but not elsewhere, and not for alice's own browser.
    Browser::from(&app, "127.0.0.3")
        .expect_login("acme\\bob", PASSWORD, 303, "bob elsewhere")
        .await;
    alice
        .expect_login("acme\\alice", PASSWORD, 303, "alice's browser")
        .await;
}

#[tokio::test]
async fn failures_older_than_fifteen_minutes_no_longer_count() {
    let app = spawn_app().await;
    acme_with_alice_and_bob(&app).await;
    let browser = Browser::from(&app, "127.0.0.2");
    for _ in 0..5 {
        browser
            .expect_login("acme\\alice", "guess", 401, "guess")
            .await;
    }
    browser
        .expect_login("acme\\alice", PASSWORD, 429, "locked")
        .await;

    // Let the minutes pass on the app's clock.
    app.clock
        .advance(chrono::Duration::minutes(14) + chrono::Duration::seconds(50));
    browser
        .expect_login("acme\\alice", PASSWORD, 429, "after 14:50")
        .await;
    app.clock.advance(chrono::Duration::seconds(15));
    browser
        .expect_login("acme\\alice", PASSWORD, 303, "after 15:05")
        .await;

    // The periodic clean-up removes exactly the counters whose window has ended.
    let client = db(&app).await;
    let now = app.clock.now();
    client
        .execute("DELETE FROM login_throttle", &[])
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO login_throttle (key, failures, window_start) VALUES \
             ('inside', 3, $1::text::timestamptz - interval '14 minutes 50 seconds'), \
             ('outside', 3, $1::text::timestamptz - interval '15 minutes 5 seconds')",
            &[&now.to_rfc3339()],
        )
        .await
        .unwrap();
    let deleted = tenantry::db::models::throttle::delete_stale(&mut *app.conn().await, now)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let left: Vec<String> = client
        .query("SELECT key FROM login_throttle", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["inside"]);
}

// ------------------------------------------------------- anonymous server state

/// An invitation into `tenant` (new account as Viewer): its link.
async fn invitation_link(app: &TestApp, tenant: &Tenant) -> String {
    app.invitation_with_link(tenant, &app.admin, "new@example.net")
        .await
        .1
}

#[tokio::test]
async fn anonymous_visits_write_no_session_rows() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let link = invitation_link(&app, &acme).await;
    assert_eq!(sessions(&app).await, 0);

    let acme_host = format!("acme.{BASE_DOMAIN}");
    let (host_client, host_base) = app.browser_for_host(&acme_host);
    let returning = app.new_browser();
    for _ in 0..20 {
        // A fresh browser (empty cookie jar) each time, and one that comes back.
        for browser in [&app.new_browser(), &returning] {
            for path in [
                "/login",
                "/",
                "/dashboard",
                link.as_str(),
                "/invitations/not-a-real-token",
                "/no-such-page",
                "/healthz",
            ] {
                let r = browser.get(path).await;
                assert!(status(&r) < 500, "{path}: {}", status(&r));
            }
        }
        let r = host_client
            .get(format!("{host_base}/login"))
            .send()
            .await
            .unwrap();
        assert_eq!(status(&r), 200);
    }
    // Failed logins write no session either.
    let browser = app.new_browser();
    for _ in 0..3 {
        assert_eq!(status(&browser.login("admin", "wrong").await), 401);
    }
    assert_eq!(sessions(&app).await, 0, "anonymous requests wrote sessions");

    // The login form carries a token and sets its cookie; the page of an
    // invitation too, and a browser keeps its token across page loads.
    let r = app.get("/login").await;
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("tenantry_csrf=")));
    let first = csrf_from(&r.text().await.unwrap()).unwrap();
    let again = csrf_from(&app.get_html("/login").await).unwrap();
    let on_invitation = csrf_from(&app.get_html(&link).await).unwrap();
    assert_eq!(first, again);
    assert_eq!(first, on_invitation);
    // Another browser gets another token.
    assert_ne!(first, app.new_browser().csrf().await);

    // Logging in writes exactly one session row.
    assert_redirect_to(&browser.login("admin", ADMIN_PASSWORD).await, "/dashboard");
    assert_eq!(sessions(&app).await, 1);
}

/// POSTs the login form presenting exactly this CSRF cookie and field.
async fn post_login(app: &TestApp, cookie: Option<&str>, field: Option<&str>) -> reqwest::Response {
    let mut form = vec![("username", ADMIN_USER), ("password", ADMIN_PASSWORD)];
    if let Some(f) = field {
        form.push(("csrf_token", f));
    }
    let mut request = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/login"))
        .form(&form);
    if let Some(c) = cookie {
        request = request.header("Cookie", format!("tenantry_csrf={c}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_login_form_needs_a_genuine_unexpired_token_of_the_same_browser() {
    let app = spawn_app().await;
    let key = secret_key();
    let now = app.clock.now();
    let hours = chrono::Duration::hours;
    let fresh = csrf::issue_anonymous(&key, now);
    let other = csrf::issue_anonymous(&key, now);
    let expired = csrf::issue_anonymous(&key, now - hours(12) - chrono::Duration::seconds(30));
    let wrong_key = csrf::issue_anonymous(&b"w".repeat(64), now);
    let tampered = {
        // The same token with a later time: the signature no longer fits.
        let (nonce, rest) = fresh.split_once('.').unwrap();
        let (_, mac) = rest.split_once('.').unwrap();
        format!("{nonce}.{}.{mac}", now.timestamp() + 3600)
    };
    let made_up = "x".repeat(98);

    let cases: [(&str, Option<&str>, Option<&str>); 9] = [
        ("no token, no cookie", None, None),
        ("cookie but no field", Some(&fresh), None),
        ("field but no cookie", None, Some(&fresh)),
        ("field from another browser", Some(&fresh), Some(&other)),
        ("expired", Some(&expired), Some(&expired)),
        (
            "signed with another key",
            Some(&wrong_key),
            Some(&wrong_key),
        ),
        ("tampered", Some(&tampered), Some(&tampered)),
        ("made up", Some(&made_up), Some(&made_up)),
        ("garbage", Some("a.b.c"), Some("a.b.c")),
    ];
    for (what, cookie, field) in cases {
        let r = post_login(&app, cookie, field).await;
        assert_eq!(status(&r), 403, "{what}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Request refused") && html.contains(REFUSED),
            "{what}: {html}"
        );
    }
    assert_eq!(sessions(&app).await, 0);

    // Genuine, and near the end of its life: accepted; one session row.
    let old = csrf::issue_anonymous(&key, now - hours(11) - chrono::Duration::minutes(50));
    assert_redirect_to(
        &post_login(&app, Some(&old), Some(&old)).await,
        "/dashboard",
    );
    assert_eq!(sessions(&app).await, 1);
    assert_redirect_to(
        &post_login(&app, Some(&fresh), Some(&fresh)).await,
        "/dashboard",
    );
    assert_eq!(sessions(&app).await, 2);
}

#[tokio::test]
async fn an_invitation_is_accepted_with_the_anonymous_token() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let link = invitation_link(&app, &acme).await;
    let invitee = app.new_browser();
    let page = invitee.get_html(&link).await;
    let token = csrf_from(&page).expect("token on the invitation page");
    assert_eq!(sessions(&app).await, 0);
    let fields = [("username", "newbie"), ("password", "invitee-password-123")];

    // Someone else's page (or a forged form) cannot accept it for this browser.
    let forged = csrf::issue_anonymous(&secret_key(), chrono::Utc::now());
    let mut form = fields.to_vec();
    form.push(("csrf_token", &forged));
    let r = invitee
        .client
        .post(invitee.url(&link))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    assert_eq!(sessions(&app).await, 0);

    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    let r = invitee
        .client
        .post(invitee.url(&link))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_redirect_to(&r, "/dashboard");
    assert_eq!(sessions(&app).await, 1);
    assert_eq!(status(&invitee.get("/dashboard").await), 200);
}
