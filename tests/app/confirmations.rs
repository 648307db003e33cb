//! Nothing destructive on one click: deleting a user, revoking a grant, an
//! invitation or an API token and disabling a tenant answer a POST without
//! `confirm=yes` with a confirmation (a page, or the dialog's fragment for htmx) and
//! change nothing; with it they act. Disabling a reseller offers "this tenant only"
//! or "and all its sub-tenants", and both do what they say to their users' logins.

use crate::api::token_for;
use crate::helpers::*;
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

const YES: &[(&str, &str)] = &[("confirm", "yes")];

/// One `SELECT count(*)` on the test database.
async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    db(app).await.query_one(sql, &[&id]).await.unwrap().get(0)
}

/// The confirmation of `path` (a POST without `confirm`): 200, a full page with the
/// question and a form that repeats the POST with `confirm=yes`; for htmx the same
/// without the page around it.
async fn asks(app: &TestApp, path: &str, question: &str) {
    let r = app.post_form(path, &[]).await;
    assert_eq!(status(&r), 200, "{path}");
    let html = r.text().await.unwrap();
    assert!(html.contains(question), "{question} in {html}");
    assert!(html.contains("<html"), "a full page: {html}");
    assert!(
        html.contains(&format!("action=\"{path}\"")),
        "the form posts again: {html}"
    );
    assert!(html.contains("name=\"confirm\" value=\"yes\""), "{html}");
    assert!(html.contains("name=\"csrf_token\""), "{html}");
    assert!(html.contains("id=\"confirm-cancel\""), "{html}");

    let token = app.csrf().await;
    let fragment = app
        .client
        .post(app.url(path))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &token)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&fragment), 200, "{path}");
    let html = fragment.text().await.unwrap();
    assert!(html.contains(question), "{html}");
    assert!(!html.contains("<html"), "a fragment for the dialog: {html}");
    assert!(html.contains("id=\"confirm-form\""), "{html}");
}

async fn admin(app: &TestApp) {
    app.login_admin().await;
}

#[tokio::test]
async fn deleting_a_user_asks_first() {
    let app = spawn_app().await;
    admin(&app).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let bob = app.user(&acme, "bob").await;
    db(&app)
        .await
        .execute(
            "UPDATE users SET email = 'bob@example.com' WHERE id = $1",
            &[&bob.id],
        )
        .await
        .unwrap();
    let path = format!("/tenants/{}/users/{}/delete", acme.id, bob.id);
    asks(
        &app,
        &path,
        "Delete user bob (bob@example.com) of Tenant acme?",
    )
    .await;
    let users = "SELECT count(*) FROM users WHERE id = $1";
    assert_eq!(count(&app, users, bob.id).await, 1, "nothing changed");
    assert_redirect_to(
        &app.post_form(&path, YES).await,
        &format!("/tenants/{}/users", acme.id),
    );
    assert_eq!(count(&app, users, bob.id).await, 0, "deleted");
}

#[tokio::test]
async fn revoking_a_grant_asks_first() {
    let app = spawn_app().await;
    admin(&app).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let bob = app.user(&acme, "bob").await;
    app.grant(&bob, &acme, GrantRole::Administrator, Scope::Tenant, false)
        .await;
    let grants = "SELECT count(*) FROM grants WHERE user_id = $1";
    let id: i64 = db(&app)
        .await
        .query_one("SELECT id FROM grants WHERE user_id = $1", &[&bob.id])
        .await
        .unwrap()
        .get(0);
    let path = format!("/tenants/{}/access/{id}/revoke", acme.id);
    asks(
        &app,
        &path,
        "Revoke the Administrator grant of acme\\bob on Tenant acme?",
    )
    .await;
    assert_eq!(count(&app, grants, bob.id).await, 1, "nothing changed");
    assert_redirect_to(
        &app.post_form(&path, YES).await,
        &format!("/tenants/{}/access", acme.id),
    );
    assert_eq!(count(&app, grants, bob.id).await, 0, "revoked");
}

#[tokio::test]
async fn revoking_an_invitation_asks_first() {
    let app = spawn_app().await;
    admin(&app).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let id = app.invitation(&acme, &app.admin, "carol@example.com").await;
    let path = format!("/tenants/{}/invitations/{id}/revoke", acme.id);
    asks(
        &app,
        &path,
        "Revoke the invitation of carol@example.com to Tenant acme?",
    )
    .await;
    let open = "SELECT count(*) FROM invitations WHERE id = $1 AND revoked_at IS NULL";
    assert_eq!(count(&app, open, id).await, 1, "nothing changed");
    let r = app.post_form(&path, YES).await;
    assert_eq!(status(&r), 303);
    assert_eq!(count(&app, open, id).await, 0, "revoked");
}

/// The id of the only token of `user`.
async fn token_of(app: &TestApp, user: &User) -> i64 {
    db(app)
        .await
        .query_one("SELECT id FROM api_tokens WHERE user_id = $1", &[&user.id])
        .await
        .unwrap()
        .get(0)
}

const TOKEN_OPEN: &str = "SELECT count(*) FROM api_tokens WHERE id = $1 AND revoked_at IS NULL";

#[tokio::test]
async fn revoking_ones_own_token_asks_first() {
    let app = spawn_app().await;
    admin(&app).await;
    token_for(&app, &app.admin, false).await;
    let id = token_of(&app, &app.admin).await;
    let path = format!("/profile/tokens/{id}/revoke");
    asks(&app, &path, "Revoke the API token test?").await;
    assert_eq!(count(&app, TOKEN_OPEN, id).await, 1, "nothing changed");
    assert_redirect_to(&app.post_form(&path, YES).await, "/profile/tokens");
    assert_eq!(count(&app, TOKEN_OPEN, id).await, 0, "revoked");
}

#[tokio::test]
async fn revoking_a_users_token_asks_first() {
    let app = spawn_app().await;
    admin(&app).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let bob = app
        .user_with_role(&acme, "bob", Permissions::all(Level::Read))
        .await;
    token_for(&app, &bob, false).await;
    let id = token_of(&app, &bob).await;
    let path = format!("/tenants/{}/users/{}/tokens/{id}/revoke", acme.id, bob.id);
    asks(&app, &path, "Revoke the API token test of bob?").await;
    assert_eq!(count(&app, TOKEN_OPEN, id).await, 1, "nothing changed");
    let r = app.post_form(&path, YES).await;
    assert_eq!(status(&r), 303);
    assert_eq!(count(&app, TOKEN_OPEN, id).await, 0, "revoked");
}

#[tokio::test]
async fn disabling_a_tenant_asks_first() {
    let app = spawn_app().await;
    admin(&app).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let path = format!("/tenants/{}/disable", acme.id);
    asks(&app, &path, "Disable Tenant acme?").await;
    let html = app.post_form(&path, &[]).await.text().await.unwrap();
    assert!(
        !html.contains("name=\"scope\""),
        "no choice without sub-tenants"
    );
    assert!(app.reload(&acme).await.unwrap().enabled, "nothing changed");
    assert_redirect_to(
        &app.post_form(&path, YES).await,
        &format!("/tenants/{}", acme.id),
    );
    assert!(!app.reload(&acme).await.unwrap().enabled, "disabled");
    // Enabling is not destructive: no question.
    let r = app
        .post_form(&format!("/tenants/{}/enable", acme.id), &[])
        .await;
    assert_eq!(status(&r), 303);
    assert!(app.reload(&acme).await.unwrap().enabled);
    // The root cannot be disabled: said at once, not asked.
    let r = app
        .post_form(&format!("/tenants/{}/disable", app.root.id), &[])
        .await;
    assert_eq!(status(&r), 400);
}

#[tokio::test]
async fn those_without_the_right_are_refused_before_being_asked() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let bob = app.user(&acme, "bob").await;
    app.user_with_role(&acme, "reader", Permissions::all(Level::Read))
        .await;
    let reader = browser_as(&app, "acme\\reader").await;
    for path in [
        format!("/tenants/{}/users/{}/delete", acme.id, bob.id),
        format!("/tenants/{}/disable", acme.id),
    ] {
        assert_eq!(status(&reader.post_form(&path, &[]).await), 403, "{path}");
    }
    // Another user's token is not found, asked or not.
    token_for(&app, &bob, false).await;
    let id = token_of(&app, &bob).await;
    let path = format!("/profile/tokens/{id}/revoke");
    assert_eq!(status(&reader.post_form(&path, &[]).await), 404);
}

// ---------------------------------------------------------------- resellers

struct Reseller {
    app: TestApp,
    reseller: Tenant,
    customer: Tenant,
}

/// root ── reseller ── customer, with a user at home in each (`reseller\ru`,
/// `customer\cu`), and the admin logged in.
async fn reseller() -> Reseller {
    let app = spawn_app().await;
    admin(&app).await;
    let reseller = app.tenant(&app.root, "reseller", true).await;
    let customer = app.tenant(&reseller, "customer", false).await;
    app.user(&reseller, "ru").await;
    app.user(&customer, "cu").await;
    Reseller {
        app,
        reseller,
        customer,
    }
}

/// Can `login` log in (a fresh browser)?
async fn logs_in(app: &TestApp, login: &str) -> bool {
    let b = app.new_browser();
    let r = b.login(login, PASSWORD).await;
    r.headers().get("location").and_then(|l| l.to_str().ok()) == Some("/dashboard")
}

/// Is the session of this browser still alive?
async fn session_alive(b: &TestApp) -> bool {
    status(&b.get("/profile").await) == 200
}

#[tokio::test]
async fn disabling_a_reseller_offers_both_scopes_and_says_what_they_mean() {
    let w = reseller().await;
    let path = format!("/tenants/{}/disable", w.reseller.id);
    let html = w.app.post_form(&path, &[]).await.text().await.unwrap();
    assert!(
        html.contains("name=\"scope\" value=\"tenant\" checked"),
        "{html}"
    );
    assert!(html.contains("name=\"scope\" value=\"subtree\""), "{html}");
    assert!(html.contains("This tenant only"), "{html}");
    assert!(
        html.contains("This tenant and all its 1 sub-tenant"),
        "{html}"
    );
    assert!(
        html.contains("users of its 1 sub-tenant still can log in"),
        "{html}"
    );
    assert!(
        html.contains("every user at home in any of them cannot log in"),
        "{html}"
    );
    assert!(w.app.reload(&w.reseller).await.unwrap().enabled);
    // A scope that is neither: refused, nothing changed.
    let r = w
        .app
        .post_form(&path, &[("confirm", "yes"), ("scope", "all")])
        .await;
    assert_eq!(status(&r), 400);
    assert!(w.app.reload(&w.reseller).await.unwrap().enabled);
}

/// Logs in the reseller's and the customer's user, then disables the reseller with
/// `scope` (confirmed): their browsers.
async fn disable_with_users_logged_in(w: &Reseller, scope: &str) -> (TestApp, TestApp) {
    let ru = browser_as(&w.app, "reseller\\ru").await;
    let cu = browser_as(&w.app, "customer\\cu").await;
    let r = w
        .app
        .post_form(
            &format!("/tenants/{}/disable", w.reseller.id),
            &[("confirm", "yes"), ("scope", scope)],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", w.reseller.id));
    assert!(!w.app.reload(&w.reseller).await.unwrap().enabled);
    (ru, cu)
}

#[tokio::test]
async fn disabling_a_reseller_alone_keeps_its_customers_users_logging_in() {
    let w = reseller().await;
    let (app, customer) = (&w.app, &w.customer);
    let (ru, cu) = disable_with_users_logged_in(&w, "tenant").await;
    assert!(app.reload(customer).await.unwrap().enabled);
    assert!(
        !session_alive(&ru).await,
        "the reseller's user is logged out"
    );
    assert!(!logs_in(app, "reseller\\ru").await);
    assert!(
        session_alive(&cu).await,
        "the customer's user keeps working"
    );
    assert!(logs_in(app, "customer\\cu").await);
}

#[tokio::test]
async fn disabling_a_reseller_with_its_subtree_stops_every_login_there() {
    let w = reseller().await;
    let (app, reseller, customer) = (&w.app, &w.reseller, &w.customer);
    let (ru, cu) = disable_with_users_logged_in(&w, "subtree").await;
    assert!(!app.reload(customer).await.unwrap().enabled);
    assert!(!session_alive(&ru).await);
    assert!(!session_alive(&cu).await, "sessions below end too");
    assert!(!logs_in(app, "reseller\\ru").await);
    assert!(!logs_in(app, "customer\\cu").await);
    // Each tenant's change is audited on its own.
    let events =
        "SELECT count(*) FROM audit_events WHERE action = 'tenant.disable' AND tenant_id = $1";
    assert_eq!(count(app, events, reseller.id).await, 1);
    assert_eq!(count(app, events, customer.id).await, 1);

    // Enabling mirrors it: the reseller alone, then with everything below.
    let enable = format!("/tenants/{}/enable", reseller.id);
    assert_eq!(status(&app.post_form(&enable, &[]).await), 303);
    assert!(logs_in(app, "reseller\\ru").await);
    assert!(!logs_in(app, "customer\\cu").await, "still disabled below");
    let r = app.post_form(&enable, &[("scope", "subtree")]).await;
    assert_eq!(status(&r), 303);
    assert!(app.reload(customer).await.unwrap().enabled);
    assert!(logs_in(app, "customer\\cu").await);
}

#[tokio::test]
async fn a_subtree_disable_takes_the_right_over_every_tenant_in_it() {
    let w = reseller().await;
    let (app, reseller, customer) = (&w.app, &w.reseller, &w.customer);
    // An Administrator over everything may disable the reseller, but not lock out
    // an Owner of the root who is at home in its customer: the subtree disable
    // judges every user at home in the subtree, all or nothing.
    let boss = app.user(customer, "boss").await;
    app.grant(&boss, &app.root, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let manager = app.user(&app.root, "manager").await;
    app.grant(
        &manager,
        &app.root,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let b = browser_as(app, "manager").await;
    let path = format!("/tenants/{}/disable", reseller.id);
    let r = b
        .post_form(&path, &[("confirm", "yes"), ("scope", "subtree")])
        .await;
    assert_eq!(
        status(&r),
        409,
        "the customer's Owner of the root is protected"
    );
    assert!(
        app.reload(reseller).await.unwrap().enabled,
        "all or nothing"
    );
    assert!(app.reload(customer).await.unwrap().enabled);
    // Alone: the reseller has no user who outranks the manager.
    let r = b
        .post_form(&path, &[("confirm", "yes"), ("scope", "tenant")])
        .await;
    assert_eq!(status(&r), 303);
    assert!(!app.reload(reseller).await.unwrap().enabled);
}

/// Disabling a disabled tenant (or enabling an enabled one) changes nothing, so the
/// trail records nothing: on the page, alone or with the subtree, and through the API.
#[tokio::test]
async fn a_change_that_changes_nothing_is_not_audited() {
    let w = reseller().await;
    let (app, customer) = (&w.app, &w.customer);
    let events = "SELECT count(*) FROM audit_events WHERE tenant_id = $1";
    let before = count(app, events, customer.id).await;
    let disable = format!("/tenants/{}/disable", customer.id);
    let r = app.post_form(&disable, YES).await;
    assert_eq!(status(&r), 303);
    assert_eq!(count(app, events, customer.id).await, before + 1);

    for scope in ["tenant", "subtree"] {
        let r = app
            .post_form(&disable, &[("confirm", "yes"), ("scope", scope)])
            .await;
        assert_eq!(status(&r), 303, "{scope}");
    }
    assert_eq!(
        count(app, events, customer.id).await,
        before + 1,
        "already disabled"
    );

    let token = token_for(app, &app.admin, false).await;
    let api = crate::api::Api::new(app, Some(&token));
    let path = format!("/api/v1/tenants/{}", customer.id);
    let (s, body) = api
        .patch(&path, serde_json::json!({"enabled": false}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        count(app, events, customer.id).await,
        before + 1,
        "API, no change"
    );

    let enable = format!("/tenants/{}/enable", customer.id);
    assert_eq!(status(&app.post_form(&enable, &[]).await), 303);
    assert_eq!(status(&app.post_form(&enable, &[]).await), 303);
    assert_eq!(
        count(app, events, customer.id).await,
        before + 2,
        "one enable"
    );
    let (s, _) = api
        .patch(&path, serde_json::json!({"enabled": false}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        count(app, events, customer.id).await,
        before + 3,
        "a change is"
    );
}

/// Confirmed without a scope, disabling a reseller does not guess "this tenant only":
/// the confirmation comes again (422) asking to choose, and nothing changes. A tenant
/// without sub-tenants has nothing to choose and is disabled.
#[tokio::test]
async fn disabling_a_reseller_without_a_scope_asks_to_choose() {
    let w = reseller().await;
    let (app, reseller, customer) = (&w.app, &w.reseller, &w.customer);
    let events = "SELECT count(*) FROM audit_events WHERE tenant_id = $1";
    let before = count(app, events, reseller.id).await;
    let path = format!("/tenants/{}/disable", reseller.id);
    let r = app.post_form(&path, YES).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"scope-error\""), "{html}");
    assert!(html.contains("Choose whether to disable"), "{html}");
    assert!(html.contains("name=\"confirm\" value=\"yes\""), "{html}");
    assert!(
        !html.contains(" checked"),
        "nothing chosen for them: {html}"
    );
    assert!(app.reload(reseller).await.unwrap().enabled);
    assert!(app.reload(customer).await.unwrap().enabled);
    assert_eq!(count(app, events, reseller.id).await, before);

    let r = app
        .post_form(&format!("/tenants/{}/disable", customer.id), YES)
        .await;
    assert_eq!(status(&r), 303);
    assert!(!app.reload(customer).await.unwrap().enabled);
}
