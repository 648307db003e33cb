//! Anonymous pages that leave no server state (signed CSRF tokens on the login
//! and invitation forms).

use crate::helpers::*;
use tenantry::auth::csrf;
use tenantry::db::models::Tenant;

const REFUSED: &str = "This form has expired or did not come from this site";
/// The secret key of the test settings (see `helpers::settings`).
fn secret_key() -> Vec<u8> {
    "t".repeat(64).into_bytes()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

async fn sessions(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) FROM sessions").await
}

// ------------------------------------------------------- anonymous server state

/// An invitation into `tenant` (new account as Viewer) and the token of its link.
async fn invitation_link(app: &TestApp, tenant: &Tenant) -> String {
    use tenantry::db::models::invitation::NewInvitation;
    use tenantry::domain::invitation::{InvitationToken, Offer};
    use tenantry::domain::{GrantRole, Scope};
    let token = InvitationToken::derive(b"test", "seed");
    NewInvitation {
        tenant_id: tenant.id,
        email: "new@example.net",
        token_hash: &token.hash(),
        offer: Offer::grant(GrantRole::Viewer, Scope::Tenant, false).unwrap(),
        inviter_user_id: app.admin.id,
        inviter_login: "admin",
        expires_at: chrono::Utc::now() + chrono::Duration::days(7),
    }
    .insert(&mut *app.conn().await)
    .await
    .unwrap();
    format!("/invitations/{}", token.as_str())
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
    let now = chrono::Utc::now();
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
