//! A change of a tenant that reaches every user at home there — a force delete
//! (deletes them), disabling it (locks them out), a new subdomain (renames their
//! login) — takes dominating each of them, as acting on them directly does
//! (`authz::require_dominates_homed`). Regression tests of the finding that an
//! Owner of a partner could delete, lock out or rename a user of a sub-tenant who
//! holds an Owner grant on the root.

use crate::helpers::*;
use serde_json::json;
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::domain::{GrantRole, Scope};

/// root ─ acme ─ law. `acme\alice` is Owner of acme's subtree (may manage
/// sub-tenants); `law\bob` holds a grant given by `victim_grant`; `law\carol` is a
/// plain user.
struct World {
    acme: Tenant,
    law: Tenant,
    alice: User,
    bob: User,
}

async fn world(app: &TestApp, bob_grant: (Tenant, GrantRole, Scope)) -> World {
    let acme = app.tenant(&app.root, "acme", true).await;
    let law = app.tenant(&acme, "law", true).await;
    let alice = app.user(&acme, "alice").await;
    app.grant(&alice, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let bob = app.user(&law, "bob").await;
    app.user(&law, "carol").await;
    let (on, role, scope) = bob_grant;
    let on = if on.id == 0 { law.clone() } else { on };
    app.grant(&bob, &on, role, scope, true).await;
    World {
        acme,
        law,
        alice,
        bob,
    }
}

/// Bob holds Owner over the root's whole tree: acme's Owner does not dominate him.
async fn outranked_world(app: &TestApp) -> World {
    world(app, (app.root.clone(), GrantRole::Owner, Scope::Subtree)).await
}

/// Bob holds Administrator over law only: acme's Owner dominates everyone there.
async fn dominated_world(app: &TestApp) -> World {
    let placeholder = Tenant {
        id: 0,
        ..app.root.clone()
    };
    world(app, (placeholder, GrantRole::Administrator, Scope::Subtree)).await
}

async fn grants_of(app: &TestApp, user: &User) -> Vec<Grant> {
    Grant::for_user(&mut *app.conn().await, user.id)
        .await
        .unwrap()
}

async fn exists(app: &TestApp, user: &User) -> bool {
    User::find_with_tenant(&mut *app.conn().await, user.id)
        .await
        .unwrap()
        .is_some()
}

const REFUSED_ROOT_OWNER: &str =
    "law\\bob, whom you may not change: they are Owner of a tenant you cannot see and its sub-tenants";

#[tokio::test]
async fn a_force_delete_is_refused_while_a_user_there_outranks_the_actor() {
    let app = spawn_app().await;
    let w = outranked_world(&app).await;
    let token = crate::api::token_for(&app, &w.alice, false).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/{}?force=true", w.law.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("Deleting it would delete {REFUSED_ROOT_OWNER}")),
        "{body}"
    );
    // The console's confirmed force delete.
    let b = browser_as(&app, "acme\\alice").await;
    let r = b
        .post_form(
            &format!("/tenants/{}/delete", w.law.id),
            &[("force", "true"), ("confirm", "law")],
        )
        .await;
    assert_eq!(status(&r), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("Deleting it would delete law\\bob"), "{html}");

    assert!(app.reload(&w.law).await.is_some());
    assert!(exists(&app, &w.bob).await);
    assert_eq!(grants_of(&app, &w.bob).await.len(), 1);
    browser_as(&app, "law\\bob").await;

    // The root's Owner dominates bob: the force delete goes through.
    let admin_token = crate::api::token_for(&app, &app.admin, false).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/{}?force=true", w.acme.id)))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 204);
    assert!(!exists(&app, &w.bob).await);
}

#[tokio::test]
async fn a_force_delete_goes_through_when_the_actor_dominates_everyone_there() {
    let app = spawn_app().await;
    let w = dominated_world(&app).await;
    let b = browser_as(&app, "acme\\alice").await;
    // The safe delete still refuses while users are there.
    let r = b
        .post_form(&format!("/tenants/{}/delete", w.law.id), &[])
        .await;
    assert_eq!(status(&r), 409);
    assert!(app.reload(&w.law).await.is_some());
    let r = b
        .post_form(
            &format!("/tenants/{}/delete", w.law.id),
            &[("force", "true"), ("confirm", "law")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", w.acme.id));
    assert!(app.reload(&w.law).await.is_none());
    assert!(!exists(&app, &w.bob).await);
}

#[tokio::test]
async fn the_api_force_delete_goes_through_when_the_actor_dominates_everyone_there() {
    let app = spawn_app().await;
    let w = dominated_world(&app).await;
    let token = crate::api::token_for(&app, &w.alice, false).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/{}?force=true", w.law.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 204);
    assert!(app.reload(&w.law).await.is_none());
}

#[tokio::test]
async fn disabling_is_refused_while_a_user_there_outranks_the_actor() {
    let app = spawn_app().await;
    let w = outranked_world(&app).await;
    let b = browser_as(&app, "acme\\alice").await;
    let r = b
        .post_form(&format!("/tenants/{}/disable", w.law.id), &[])
        .await;
    assert_eq!(status(&r), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Disabling it would lock out law\\bob"),
        "{html}"
    );
    // The edit form with "enabled" unticked.
    let r = b
        .post_form(
            &format!("/tenants/{}/edit", w.law.id),
            &[
                ("name", w.law.name.as_str()),
                ("subdomain", "law"),
                ("can_have_subtenants", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 409);
    let token = crate::api::token_for(&app, &w.alice, false).await;
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/tenants/{}", w.law.id)))
        .bearer_auth(&token)
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 409);
    assert!(app.reload(&w.law).await.is_some_and(|t| t.enabled));
    // Bob still logs in.
    browser_as(&app, "law\\bob").await;
}

#[tokio::test]
async fn disabling_goes_through_when_the_actor_dominates_everyone_there() {
    let app = spawn_app().await;
    let w = dominated_world(&app).await;
    let b = browser_as(&app, "acme\\alice").await;
    let r = b
        .post_form(&format!("/tenants/{}/disable", w.law.id), &[])
        .await;
    assert_eq!(status(&r), 303);
    assert!(app.reload(&w.law).await.is_some_and(|t| !t.enabled));
    // Enabling is never refused.
    let r = b
        .post_form(&format!("/tenants/{}/enable", w.law.id), &[])
        .await;
    assert_eq!(status(&r), 303);
    assert!(app.reload(&w.law).await.is_some_and(|t| t.enabled));
}

#[tokio::test]
async fn a_new_subdomain_is_refused_while_a_user_there_outranks_the_actor() {
    let app = spawn_app().await;
    let w = outranked_world(&app).await;
    let b = browser_as(&app, "acme\\alice").await;
    let r = b
        .post_form(
            &format!("/tenants/{}/edit", w.law.id),
            &[
                ("name", w.law.name.as_str()),
                ("subdomain", "law2"),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("A new subdomain would change the login of law\\bob"),
        "{html}"
    );
    let token = crate::api::token_for(&app, &w.alice, false).await;
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/tenants/{}", w.law.id)))
        .bearer_auth(&token)
        .json(&json!({"subdomain": "law2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["errors"]["subdomain"]
            .as_str()
            .is_some_and(|m| m.contains(REFUSED_ROOT_OWNER)),
        "{body}"
    );
    assert_eq!(
        app.reload(&w.law).await.map(|t| t.subdomain).as_deref(),
        Some("law")
    );
    // Other fields still change.
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/tenants/{}", w.law.id)))
        .bearer_auth(&token)
        .json(&json!({"name": "Law partners"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 200);
    browser_as(&app, "law\\bob").await;
}

#[tokio::test]
async fn a_new_subdomain_goes_through_when_the_actor_dominates_everyone_there() {
    let app = spawn_app().await;
    let w = dominated_world(&app).await;
    let b = browser_as(&app, "acme\\alice").await;
    let r = b
        .post_form(
            &format!("/tenants/{}/edit", w.law.id),
            &[
                ("name", w.law.name.as_str()),
                ("subdomain", "law2"),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(
        app.reload(&w.law).await.map(|t| t.subdomain).as_deref(),
        Some("law2")
    );
    browser_as(&app, "law2\\bob").await;
}

/// Users without grants hold their home role's rights alone: an Owner of the
/// subtree holds at least as much there, so they never block a force delete.
#[tokio::test]
async fn plain_users_with_every_right_do_not_block_a_force_delete() {
    use tenantry::domain::{Level, Permissions};
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let law = app.tenant(&acme, "law", true).await;
    let sub = app.tenant(&law, "sub", false).await;
    let alice = app.user(&acme, "alice").await;
    app.grant(&alice, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    app.user_with_role(&law, "dave", Permissions::all(Level::Full))
        .await;
    app.user_with_role(&sub, "erin", Permissions::all(Level::Full))
        .await;
    app.user(&sub, "frank").await;
    let token = crate::api::token_for(&app, &alice, false).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/{}?force=true", law.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 204);
    assert!(app.reload(&sub).await.is_none());
}

/// A user deep in the subtree who outranks the actor blocks deleting an ancestor.
#[tokio::test]
async fn a_user_below_the_deleted_tenant_blocks_it_too() {
    let app = spawn_app().await;
    let w = outranked_world(&app).await;
    let mid = app.tenant(&w.acme, "mid", true).await;
    let token = crate::api::token_for(&app, &w.alice, false).await;
    // gina, at home two levels down, holds a grant on the root acme's Owner
    // could not give.
    let deep = app.tenant(&mid, "deep", false).await;
    let gina = app.user(&deep, "gina").await;
    app.grant(&gina, &app.root, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/{}?force=true", mid.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("deep\\gina")),
        "{body}"
    );
    assert!(app.reload(&deep).await.is_some());
}

/// A refusal to act on a user does not name a tenant the actor cannot see.
#[tokio::test]
async fn a_refusal_does_not_name_a_tenant_the_actor_cannot_see() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let northwind = app.tenant(&app.root, "northwind", false).await;
    let alice = app.user(&acme, "alice").await;
    app.grant(&alice, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let hank = app.user(&acme, "hank").await;
    app.grant(&hank, &northwind, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let b = browser_as(&app, "acme\\alice").await;
    assert_eq!(
        status(&b.get(&format!("/tenants/{}", northwind.id)).await),
        404
    );
    let html = b
        .get_html(&format!("/tenants/{}/users/{}", acme.id, hank.id))
        .await;
    assert!(
        html.contains("This user is Viewer of a tenant you cannot see"),
        "{html}"
    );
    assert!(!html.contains(&northwind.name), "{html}");
}
