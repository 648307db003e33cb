//! Issue #9, findings 4 and 5: invitations are bound to the invited address (an
//! existing account must have it, a new account gets it, one acceptance wins a
//! race) and their tokens never reach the request log; API tokens die with an
//! administrator's password reset, a disable (for good) and "log out everywhere",
//! and administrators who may change a user see and revoke that user's tokens.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::invitations::{actions, app_with_sink, invite_grant, link_in, user_named, NEW_PASSWORD};
use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};

// ---------------------------------------------------------------- helpers

async fn set_email(app: &TestApp, user: &User, email: &str) {
    db(app)
        .await
        .execute(
            "UPDATE users SET email = $1 WHERE id = $2",
            &[&email, &user.id],
        )
        .await
        .unwrap();
}

async fn pending(app: &TestApp) -> i64 {
    db(app)
        .await
        .query_one(
            "SELECT count(*) FROM invitations WHERE status = 'pending'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

fn user_page(tenant: &Tenant, user: &User) -> String {
    format!("/tenants/{}/users/{}", tenant.id, user.id)
}

async fn token_id(app: &TestApp, secret: &str) -> i64 {
    db(app)
        .await
        .query_one(
            "SELECT id FROM api_tokens WHERE token_hash = $1",
            &[&tenantry::auth::tokens::stored_hash(secret)],
        )
        .await
        .unwrap()
        .get(0)
}

async fn revoked_reason(app: &TestApp, secret: &str) -> Option<String> {
    db(app)
        .await
        .query_one(
            "SELECT revoked_reason FROM api_tokens WHERE token_hash = $1",
            &[&tenantry::auth::tokens::stored_hash(secret)],
        )
        .await
        .unwrap()
        .get(0)
}

/// 200 while the token works, 401 once it does not.
async fn api_status(app: &TestApp, secret: &str, tenant: &Tenant) -> u16 {
    Api::new(app, Some(secret))
        .get(&format!("/api/v1/tenants/{}", tenant.id))
        .await
        .0
}

/// A tenant with a user (Read on everything, so the API answers them) holding a token.
async fn user_with_token(app: &TestApp, tenant: &Tenant, username: &str) -> (User, String) {
    let user = app
        .user_with_role(tenant, username, Permissions::all(Level::Read))
        .await;
    let secret = token_for(app, &user, false).await;
    assert_eq!(
        api_status(app, &secret, tenant).await,
        200,
        "the token works"
    );
    (user, secret)
}

// ---------------------------------------------------------------- invitations

#[tokio::test]
async fn a_grant_invitation_goes_only_into_the_account_of_the_invited_address() {
    let (app, sink) = app_with_sink(&[]).await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let branch = app.tenant(&app.root, "branch", false).await;
    app.login_admin().await;
    let r = invite_grant(
        &app,
        &acme,
        "Invitee@Example.com",
        "administrator",
        "subtree",
        false,
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", acme.id));
    let link = link_in(&sink.wait_for("Invitee@Example.com", 1).await);

    // A user of an unrelated branch, with another address, holding the link.
    let mallory = app.user(&branch, "mallory").await;
    set_email(&app, &mallory, "mallory@evil.example").await;
    let b = browser_as(&app, "branch\\mallory").await;
    let page = b.get_html(&link).await;
    assert!(!page.contains("Accept as"), "no accept button:\n{page}");
    assert!(page.contains("id=\"other-address\""), "{page}");
    assert!(
        page.contains("I***@E***.com"),
        "the address, masked:\n{page}"
    );
    assert!(
        !page.to_lowercase().contains("invitee@example.com"),
        "the address is not shown in full:\n{page}"
    );
    let r = b.post_form(&format!("{link}/accept"), &[]).await;
    assert_eq!(status(&r), 403);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Invitation sent to another address")
            && text.contains("I***@E***.com")
            && text.contains("branch\\mallory")
            && text.contains("stays open"),
        "{text}"
    );
    assert!(
        !text.to_lowercase().contains("invitee@example.com"),
        "{text}"
    );
    assert!(
        Grant::existing(&mut *app.conn().await, mallory.id, acme.id)
            .await
            .unwrap()
            .is_none(),
        "no grant for the wrong account"
    );
    assert_eq!(pending(&app).await, 1, "the invitation stays pending");
    assert!(actions(&app, &acme)
        .await
        .contains(&"invitation.fail".to_string()));

    // An account without any address is refused the same way.
    let blank = app.user(&branch, "blank").await;
    let b2 = browser_as(&app, "branch\\blank").await;
    let r = b2.post_form(&format!("{link}/accept"), &[]).await;
    assert_eq!(status(&r), 403);
    assert_eq!(pending(&app).await, 1);
    assert!(Grant::existing(&mut *app.conn().await, blank.id, acme.id)
        .await
        .unwrap()
        .is_none());

    // The addressee's account (another case, same mailbox) accepts it.
    let invitee = app.user(&branch, "invitee").await;
    set_email(&app, &invitee, "invitee@EXAMPLE.com").await;
    let b3 = browser_as(&app, "branch\\invitee").await;
    assert!(b3
        .get_html(&link)
        .await
        .contains("Accept as branch\\invitee"));
    let r = b3.post_form(&format!("{link}/accept"), &[]).await;
    assert_redirect_to(&r, "/dashboard");
    let grant = Grant::existing(&mut *app.conn().await, invitee.id, acme.id)
        .await
        .unwrap()
        .expect("the addressee got the grant");
    assert_eq!(grant.role.as_str(), "administrator");
    assert_eq!(pending(&app).await, 0);
}

#[tokio::test]
async fn a_new_account_gets_the_invited_address_whatever_the_form_sends() {
    let (app, sink) = app_with_sink(&[]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    invite_grant(&app, &acme, "newbie@example.com", "viewer", "tenant", false).await;
    let link = link_in(&sink.wait_for("newbie@example.com", 1).await);

    let b = app.new_browser();
    let page = b.get_html(&link).await;
    assert!(
        page.contains("id=\"invited-email\"") && page.contains("readonly"),
        "the address is shown, read-only:\n{page}"
    );
    assert!(
        !page.contains("name=\"email\""),
        "no email field is submitted"
    );
    assert!(page.contains("n***@e***.com"), "{page}");
    let r = b
        .post_form(
            &link,
            &[
                ("username", "newbie"),
                ("password", NEW_PASSWORD),
                ("email", "attacker@evil.example"),
            ],
        )
        .await;
    assert_redirect_to(&r, "/dashboard");
    let newbie = user_named(&app, &acme, "newbie").await.expect("created");
    assert_eq!(newbie.email, "newbie@example.com");
}

#[tokio::test]
async fn of_concurrent_acceptances_of_one_invitation_exactly_one_succeeds() {
    let (app, sink) = app_with_sink(&[]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let home = app.tenant(&app.root, "home", false).await;
    app.login_admin().await;
    invite_grant(&app, &acme, "race@example.com", "viewer", "tenant", false).await;
    let link = link_in(&sink.wait_for("race@example.com", 1).await);

    // Three browsers create accounts, one existing account accepts into itself.
    let racer = app.user(&home, "racer").await;
    set_email(&app, &racer, "race@example.com").await;
    let existing = browser_as(&app, "home\\racer").await;
    let mut creators = Vec::new();
    for _ in 0..3 {
        let b = app.new_browser();
        assert_eq!(status(&b.get(&link).await), 200);
        creators.push(b);
    }
    // Each request with its CSRF token ready, then all at once.
    let mut requests = Vec::new();
    for (i, b) in creators.iter().enumerate() {
        let csrf = b.csrf().await;
        let username = format!("racer{i}");
        requests.push(
            b.client
                .post(b.url(&link))
                .form(&[
                    ("username", username.as_str()),
                    ("password", NEW_PASSWORD),
                    ("csrf_token", csrf.as_str()),
                ])
                .send(),
        );
    }
    let csrf = existing.csrf().await;
    requests.push(
        existing
            .client
            .post(existing.url(&format!("{link}/accept")))
            .form(&[("csrf_token", csrf.as_str())])
            .send(),
    );
    let answers: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.expect("answer").status().as_u16())
        .collect();
    assert_eq!(
        answers.iter().filter(|s| **s == 303).count(),
        1,
        "exactly one acceptance: {answers:?}"
    );
    assert!(
        answers.iter().all(|s| *s == 303 || *s == 410),
        "the others are told the link was used: {answers:?}"
    );

    let client = db(&app).await;
    let created: i64 = client
        .query_one(
            "SELECT count(*) FROM users WHERE username LIKE 'racer_'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let grants: i64 = client
        .query_one(
            "SELECT count(*) FROM grants WHERE tenant_id = $1",
            &[&acme.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(grants, 1, "one grant given");
    assert!(created <= 1, "at most one account made");
    let accepted: i64 = client
        .query_one(
            "SELECT count(*) FROM invitations WHERE status = 'accepted' AND accepted_user_id IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(accepted, 1);
}

// ---------------------------------------------------------------- the request log

/// Every line the app logs through `log` (the request log among them), the newest
/// 20 000 kept: other tests log at the same time in this binary.
struct Capture(Mutex<VecDeque<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record) {
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() >= 20_000 {
                lines.pop_front();
            }
            lines.push_back(format!("{} {}", record.target(), record.args()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();

fn captured() -> &'static Capture {
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(VecDeque::new()))));
        log::set_logger(capture).expect("no other logger in the test binary");
        log::set_max_level(log::LevelFilter::Info);
        capture
    })
}

fn lines() -> Vec<String> {
    captured().0.lock().unwrap().iter().cloned().collect()
}

#[tokio::test]
async fn invitation_tokens_never_reach_the_request_log() {
    captured();
    let (app, sink) = app_with_sink(&[]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    invite_grant(&app, &acme, "logged@example.com", "viewer", "tenant", false).await;
    let link = link_in(&sink.wait_for("logged@example.com", 1).await);
    let token = link.trim_start_matches("/invitations/").to_string();

    // The page, a failed form, a mistyped link (no route) and the acceptance.
    let b = app.new_browser();
    assert_eq!(status(&b.get(&link).await), 200);
    assert_eq!(
        status(
            &b.post_form(&link, &[("username", "logged"), ("password", "short")])
                .await
        ),
        422
    );
    assert_eq!(status(&b.get(&format!("{link}/typo")).await), 404);
    assert_eq!(status(&b.get(&format!("{link}?token={token}")).await), 200);
    let r = b
        .post_form(&link, &[("username", "logged"), ("password", NEW_PASSWORD)])
        .await;
    assert_redirect_to(&r, "/dashboard");

    // The access log line is written when the response is done: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let logged = lines();
        let ours = logged
            .iter()
            .filter(|l| l.contains("\"POST /invitations/{token} HTTP/1.1\" 303"))
            .count();
        if ours >= 1 || std::time::Instant::now() > deadline {
            assert!(ours >= 1, "the request log has the route's pattern");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let logged = lines();
    let leaks: Vec<&String> = logged.iter().filter(|l| l.contains(&token)).collect();
    assert!(leaks.is_empty(), "the token is in the log: {leaks:?}");
    assert!(
        logged
            .iter()
            .any(|l| l.contains("\"GET /invitations/{redacted}/typo HTTP/1.1\" 404")),
        "an unmatched link is logged without its token"
    );
    assert!(
        logged
            .iter()
            .any(|l| l.contains("\"GET /invitations/{token}?token={redacted} HTTP/1.1\" 200")),
        "a token in the query string is redacted"
    );
}

// ---------------------------------------------------------------- API tokens die with the account's credentials

#[tokio::test]
async fn an_administrators_password_reset_revokes_the_users_tokens() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let (alice, secret) = user_with_token(&app, &acme, "alice").await;

    let r = app
        .post_form(
            &format!("{}/password", user_page(&acme, &alice)),
            &[("password", "a-brand-new-password")],
        )
        .await;
    assert_redirect_to(&r, &user_page(&acme, &alice));
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
    assert_eq!(
        revoked_reason(&app, &secret).await.as_deref(),
        Some("password_reset")
    );
    assert!(actions(&app, &acme)
        .await
        .contains(&"api_token.revoke_all".to_string()));
    let page = app.get_html(&user_page(&acme, &alice)).await;
    assert!(
        page.contains("password reset by an administrator"),
        "{page}"
    );

    // Her own password change keeps her (new) tokens working, as the profile says.
    let fresh = token_for(&app, &alice, false).await;
    let b = app.new_browser();
    assert_redirect_to(
        &b.login("acme\\alice", "a-brand-new-password").await,
        "/dashboard",
    );
    let profile = b.get_html("/profile").await;
    assert!(
        profile.contains("your API tokens keep working"),
        "{profile}"
    );
    let r = b
        .post_form(
            "/profile/password",
            &[
                ("current_password", "a-brand-new-password"),
                ("new_password", "yet-another-password"),
                ("confirm_password", "yet-another-password"),
            ],
        )
        .await;
    assert_redirect_to(&r, "/profile");
    assert_eq!(api_status(&app, &fresh, &acme).await, 200);
}

#[tokio::test]
async fn disabling_revokes_tokens_and_enabling_does_not_bring_them_back() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", false).await;

    // The disable button.
    let (bob, secret) = user_with_token(&app, &acme, "bob").await;
    let r = app
        .post_form(&format!("{}/disable", user_page(&acme, &bob)), &[])
        .await;
    assert_redirect_to(&r, &user_page(&acme, &bob));
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
    let r = app
        .post_form(&format!("{}/enable", user_page(&acme, &bob)), &[])
        .await;
    assert_redirect_to(&r, &user_page(&acme, &bob));
    assert_eq!(
        api_status(&app, &secret, &acme).await,
        401,
        "re-enabling does not revive the token"
    );
    assert_eq!(
        revoked_reason(&app, &secret).await.as_deref(),
        Some("disabled")
    );

    // The edit form's "enabled" box.
    let (carl, secret) = user_with_token(&app, &acme, "carl").await;
    let form = |enabled: bool| {
        let mut fields = vec![
            ("username", "carl".to_string()),
            ("email", "carl@example.com".to_string()),
            ("role_id", carl.role_id.unwrap().to_string()),
            ("enabled_shown", "1".to_string()),
        ];
        if enabled {
            fields.push(("enabled", "true".to_string()));
        }
        fields
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        let path = user_page(&acme, &carl);
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(&path, &refs).await
        }
    };
    let r = post(form(false)).await;
    assert_redirect_to(&r, &user_page(&acme, &carl));
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
    let r = post(form(true)).await;
    assert_redirect_to(&r, &user_page(&acme, &carl));
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
    // A token made after re-enabling works.
    let again = token_for(&app, &carl, true).await;
    assert_eq!(api_status(&app, &again, &acme).await, 200);
}

#[tokio::test]
async fn log_out_everywhere_ends_every_session_and_revokes_every_token() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let (dora, secret) = user_with_token(&app, &acme, "dora").await;
    let second = token_for(&app, &dora, true).await;
    let here = browser_as(&app, "acme\\dora").await;
    let elsewhere = browser_as(&app, "acme\\dora").await;

    let profile = here.get_html("/profile").await;
    assert!(
        profile.contains("action=\"/profile/logout-everywhere\"")
            && profile.contains("including this one")
            && profile.contains("all 2 of your API tokens"),
        "{profile}"
    );
    // Without the confirmation box: nothing happens.
    let r = here.post_form("/profile/logout-everywhere", &[]).await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("confirm-error"));
    assert_eq!(status(&elsewhere.get("/dashboard").await), 200);
    assert_eq!(api_status(&app, &secret, &acme).await, 200);

    let r = here
        .post_form("/profile/logout-everywhere", &[("confirm", "true")])
        .await;
    assert_redirect_to(&r, "/login");
    let login = here.get_html("/login").await;
    assert!(
        login.contains("logged out everywhere") && login.contains("2 API tokens were revoked"),
        "{login}"
    );
    assert_redirect_to(&here.get("/dashboard").await, "/login");
    assert_redirect_to(&elsewhere.get("/dashboard").await, "/login");
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
    assert_eq!(api_status(&app, &second, &acme).await, 401);
    assert_eq!(
        revoked_reason(&app, &secret).await.as_deref(),
        Some("logout_everywhere")
    );
    assert!(actions(&app, &acme)
        .await
        .contains(&"user.logout_everywhere".to_string()));
    // The password still works: a new session, and the old tokens stay dead.
    let back = browser_as(&app, "acme\\dora").await;
    assert_eq!(status(&back.get("/dashboard").await), 200);
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
}

// ---------------------------------------------------------------- administrators and other users' tokens

#[tokio::test]
async fn an_administrator_sees_and_revokes_a_users_tokens() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let (erin, secret) = user_with_token(&app, &acme, "erin").await;
    let (frank, franks) = user_with_token(&app, &acme, "frank").await;
    let id = token_id(&app, &secret).await;
    let franks_id = token_id(&app, &franks).await;

    let page = app.get_html(&user_page(&acme, &erin)).await;
    assert!(page.contains("id=\"api-tokens\""), "{page}");
    assert!(page.contains(&secret[..10]), "the prefix is shown");
    assert!(!page.contains(&secret), "never the secret");
    let revoke = format!("{}/tokens/{id}/revoke", user_page(&acme, &erin));
    assert!(page.contains(&format!("action=\"{revoke}\"")), "{page}");
    for column in ["Created", "Last used", "Expires", "State"] {
        assert!(page.contains(column), "{column}");
    }

    // Frank's token through Erin's path: not found, and it keeps working.
    let r = app
        .post_form(
            &format!("{}/tokens/{franks_id}/revoke", user_page(&acme, &erin)),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 404);
    assert_eq!(api_status(&app, &franks, &acme).await, 200);
    for bad in ["abc", "0", "-1", "99999999999999999999"] {
        let r = app
            .post_form(
                &format!("{}/tokens/{bad}/revoke", user_page(&acme, &erin)),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(status(&r), 404, "{bad}");
    }

    let r = app.post_form(&revoke, &[("confirm", "yes")]).await;
    assert_redirect_to(&r, &format!("{}#api-tokens", user_page(&acme, &erin)));
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
    assert_eq!(
        revoked_reason(&app, &secret).await.as_deref(),
        Some("administrator")
    );
    let page = app.get_html(&user_page(&acme, &erin)).await;
    assert!(
        page.contains("Revoked the API token test of erin") && page.contains("by an administrator"),
        "{page}"
    );
    assert!(
        !page.contains(&format!("action=\"{revoke}\"")),
        "no button for a revoked token"
    );
    // Again: nothing more to do, said plainly.
    let r = app.post_form(&revoke, &[("confirm", "yes")]).await;
    assert_eq!(status(&r), 303);
    assert!(app
        .get_html(&user_page(&acme, &erin))
        .await
        .contains("was already revoked"));
    assert!(actions(&app, &acme)
        .await
        .contains(&"api_token.revoke".to_string()));
    // Erin sees why on her own page.
    let b = browser_as(&app, "acme\\erin").await;
    assert!(b
        .get_html("/profile/tokens")
        .await
        .contains("by an administrator"));
    let _ = frank;
}

#[tokio::test]
async fn only_those_who_may_change_a_user_see_or_revoke_their_tokens() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let globex = app.tenant(&app.root, "globex", false).await;
    let (gwen, secret) = user_with_token(&app, &acme, "gwen").await;
    let id = token_id(&app, &secret).await;
    let revoke = format!("{}/tokens/{id}/revoke", user_page(&acme, &gwen));

    // Users Read: sees the user, not the tokens; may not revoke.
    app.user_with_role(&acme, "reader", Permissions::all(Level::Read))
        .await;
    // Users Full but fewer rights than the target holds: may not change her.
    let mut some = Permissions::none();
    some.set(Feature::Users, Level::Full);
    app.user_with_role(&acme, "junior", some).await;
    for login in ["acme\\reader", "acme\\junior"] {
        let b = browser_as(&app, login).await;
        let page = b.get(&user_page(&acme, &gwen)).await;
        assert_eq!(status(&page), 200, "{login} sees the user");
        let page = page.text().await.unwrap();
        assert!(!page.contains("id=\"api-tokens\""), "{login}: {page}");
        assert!(!page.contains(&secret[..10]), "{login}");
        assert_eq!(
            status(&b.post_form(&revoke, &[("confirm", "yes")]).await),
            403,
            "{login}"
        );
    }
    // An Administrator of another tenant does not see acme at all.
    let other = app.user(&globex, "gadmin").await;
    app.grant(
        &other,
        &globex,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    let b = browser_as(&app, "globex\\gadmin").await;
    assert_eq!(
        status(&b.post_form(&revoke, &[("confirm", "yes")]).await),
        404
    );
    // Anonymous: the login page.
    let anonymous = app.new_browser();
    anonymous.csrf().await;
    assert_redirect_to(
        &anonymous.post_form(&revoke, &[("confirm", "yes")]).await,
        "/login",
    );

    assert_eq!(api_status(&app, &secret, &acme).await, 200, "still works");
    assert!(revoked_reason(&app, &secret).await.is_none());

    // An Administrator of acme may: sees and revokes.
    let admin = app.user(&acme, "aadmin").await;
    app.grant(
        &admin,
        &acme,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;
    let b = browser_as(&app, "acme\\aadmin").await;
    assert!(b
        .get_html(&user_page(&acme, &gwen))
        .await
        .contains("id=\"api-tokens\""));
    assert_eq!(
        status(&b.post_form(&revoke, &[("confirm", "yes")]).await),
        303
    );
    assert_eq!(api_status(&app, &secret, &acme).await, 401);
}
