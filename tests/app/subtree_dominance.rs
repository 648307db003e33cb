//! A change of a tenant that reaches every user at home there — a force delete
//! (deletes them), disabling it (locks them out), a new subdomain (renames their
//! login), a move (puts them somewhere else in the tree) — takes dominating each of them, as acting on them directly does
//! (`authz::require_dominates_homed`). Regression tests of the finding that an
//! Owner of a partner could delete, lock out or rename a user of a sub-tenant who
//! holds an Owner grant on the root.

use crate::helpers::*;
use serde_json::json;
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::domain::{GrantRole, Scope};

/// root ─ acme ─ {law, other}. `acme\alice` is Owner of acme's subtree (may manage
/// sub-tenants); `law\bob` holds a grant given by `victim_grant`; `law\carol` is a
/// plain user; `other` is where law may be moved.
struct World {
    acme: Tenant,
    law: Tenant,
    other: Tenant,
    alice: User,
    bob: User,
}

async fn world(app: &TestApp, bob_grant: (Tenant, GrantRole, Scope)) -> World {
    let acme = app.tenant(&app.root, "acme", true).await;
    let law = app.tenant(&acme, "law", true).await;
    let other = app.tenant(&acme, "other", true).await;
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
        other,
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

/// One request of a change of law, as `acme\alice`.
enum Door {
    /// Through the API with alice's token, with this JSON body (`null`: none).
    Api(reqwest::Method, String, serde_json::Value),
    /// Through the console, a form posted from alice's browser.
    Page(String, Vec<(&'static str, String)>),
}

/// What a request must answer.
enum Answer {
    /// This status, its body saying this (the problem's strings, or the page).
    Status(u16, Option<String>),
    /// A 303 to this location.
    RedirectTo(String),
}

/// A request and what it must answer, and what law must look like after it.
struct Step {
    door: Door,
    answer: Answer,
    law_after: fn(Option<&Tenant>, &World) -> bool,
}

fn step(door: Door, answer: Answer, law_after: fn(Option<&Tenant>, &World) -> bool) -> Step {
    Step {
        door,
        answer,
        law_after,
    }
}

fn page(path: String, form: &[(&'static str, &str)]) -> Door {
    Door::Page(
        path,
        form.iter().map(|(k, v)| (*k, v.to_string())).collect(),
    )
}

fn refused(status: u16, why: impl Into<String>) -> Answer {
    Answer::Status(status, Some(why.into()))
}

/// Every string in a problem document, or the page.
fn said(body: &str) -> String {
    fn strings(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) => out.push_str(s),
            serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
        out.push('\n');
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => {
            let mut out = String::new();
            strings(&v, &mut out);
            out
        }
        Err(_) => body.to_string(),
    }
}

/// Runs `steps` as alice on `w`, checking each answer and law after it.
async fn run(app: &TestApp, w: &World, label: &str, steps: Vec<Step>) {
    let token = crate::api::token_for(app, &w.alice, false).await;
    let browser = browser_as(app, "acme\\alice").await;
    for (i, s) in steps.into_iter().enumerate() {
        let r = match &s.door {
            Door::Api(method, path, body) => {
                let request = app
                    .client
                    .request(method.clone(), app.url(path))
                    .bearer_auth(&token);
                let request = match body {
                    serde_json::Value::Null => request,
                    body => request.json(body),
                };
                request.send().await.unwrap()
            }
            Door::Page(path, form) => {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                browser.post_form(path, &form).await
            }
        };
        match &s.answer {
            Answer::RedirectTo(location) => assert_redirect_to(&r, location),
            Answer::Status(want, why) => {
                assert_eq!(status(&r), *want, "{label}, step {i}");
                let body = said(&r.text().await.unwrap());
                if let Some(why) = why {
                    assert!(body.contains(why.as_str()), "{label}, step {i}: {body}");
                }
            }
        }
        let law = app.reload(&w.law).await;
        assert!((s.law_after)(law.as_ref(), w), "{label}, step {i}: {law:?}");
    }
}

/// The changes of law that reach its users, each tried through every door it has
/// while bob outranks alice: every one refused, saying why.
fn refusals(w: &World) -> Vec<(&'static str, Vec<Step>)> {
    let law = w.law.id;
    let tenant = format!("/api/v1/tenants/{law}");
    let kept = |law: Option<&Tenant>, _: &World| law.is_some();
    let enabled = |law: Option<&Tenant>, _: &World| law.is_some_and(|t| t.enabled);
    let named_law = |law: Option<&Tenant>, _: &World| law.is_some_and(|t| t.subdomain == "law");
    let in_acme =
        |law: Option<&Tenant>, w: &World| law.is_some_and(|t| t.parent_id == Some(w.acme.id));
    let name = w.law.name.as_str();
    vec![
        (
            "force delete",
            vec![
                step(
                    Door::Api(
                        reqwest::Method::DELETE,
                        format!("{tenant}?force=true"),
                        json!(null),
                    ),
                    refused(
                        409,
                        format!("Deleting it would delete {REFUSED_ROOT_OWNER}"),
                    ),
                    kept,
                ),
                // The console's confirmed force delete.
                step(
                    page(
                        format!("/tenants/{law}/delete"),
                        &[("force", "true"), ("confirm", "law")],
                    ),
                    refused(409, "Deleting it would delete law\\bob"),
                    kept,
                ),
            ],
        ),
        (
            "disable",
            vec![
                step(
                    page(format!("/tenants/{law}/disable"), &[("confirm", "yes")]),
                    refused(409, "Disabling it would lock out law\\bob"),
                    enabled,
                ),
                // The edit form with "enabled" unticked.
                step(
                    page(
                        format!("/tenants/{law}/edit"),
                        &[
                            ("name", name),
                            ("subdomain", "law"),
                            ("can_have_subtenants", "true"),
                        ],
                    ),
                    Answer::Status(409, None),
                    enabled,
                ),
                step(
                    Door::Api(
                        reqwest::Method::PATCH,
                        tenant.clone(),
                        json!({"enabled": false}),
                    ),
                    Answer::Status(409, None),
                    enabled,
                ),
            ],
        ),
        (
            "new subdomain",
            vec![
                step(
                    page(
                        format!("/tenants/{law}/edit"),
                        &[
                            ("name", name),
                            ("subdomain", "law2"),
                            ("can_have_subtenants", "true"),
                            ("enabled", "true"),
                        ],
                    ),
                    refused(422, "A new subdomain would change the login of law\\bob"),
                    named_law,
                ),
                step(
                    Door::Api(
                        reqwest::Method::PATCH,
                        tenant.clone(),
                        json!({"subdomain": "law2"}),
                    ),
                    refused(422, REFUSED_ROOT_OWNER),
                    named_law,
                ),
                // Other fields still change.
                step(
                    Door::Api(
                        reqwest::Method::PATCH,
                        tenant.clone(),
                        json!({"name": "Law partners"}),
                    ),
                    Answer::Status(200, None),
                    named_law,
                ),
            ],
        ),
        (
            "move",
            vec![
                step(
                    Door::Api(
                        reqwest::Method::POST,
                        format!("{tenant}/move"),
                        json!({"parent_id": w.other.id}),
                    ),
                    refused(403, format!("Moving it would move {REFUSED_ROOT_OWNER}")),
                    in_acme,
                ),
                step(
                    page(
                        format!("/tenants/{law}/move"),
                        &[("parent_id", &w.other.id.to_string())],
                    ),
                    refused(403, "Moving it would move law\\bob"),
                    in_acme,
                ),
            ],
        ),
    ]
}

#[tokio::test]
async fn a_change_is_refused_while_a_user_there_outranks_the_actor() {
    for i in 0..4 {
        let app = spawn_app().await;
        let w = outranked_world(&app).await;
        let (label, steps) = refusals(&w).swap_remove(i);
        run(&app, &w, label, steps).await;
        // Bob is still there, with his grant, and still logs in.
        assert!(exists(&app, &w.bob).await, "{label}");
        assert_eq!(grants_of(&app, &w.bob).await.len(), 1, "{label}");
        browser_as(&app, "law\\bob").await;
    }
}

/// The same changes where alice dominates everyone at home in law: they go through.
fn successes(w: &World) -> Vec<(&'static str, Vec<Step>, Option<&'static str>)> {
    let law = w.law.id;
    let gone = |law: Option<&Tenant>, _: &World| law.is_none();
    vec![
        (
            "force delete",
            vec![
                // The safe delete still refuses while users are there.
                step(
                    page(format!("/tenants/{law}/delete"), &[]),
                    Answer::Status(409, None),
                    |law, _| law.is_some(),
                ),
                step(
                    page(
                        format!("/tenants/{law}/delete"),
                        &[("force", "true"), ("confirm", "law")],
                    ),
                    Answer::RedirectTo(format!("/tenants/{}", w.acme.id)),
                    gone,
                ),
            ],
            None,
        ),
        (
            "force delete through the API",
            vec![step(
                Door::Api(
                    reqwest::Method::DELETE,
                    format!("/api/v1/tenants/{law}?force=true"),
                    json!(null),
                ),
                Answer::Status(204, None),
                gone,
            )],
            None,
        ),
        (
            "disable",
            vec![
                step(
                    page(format!("/tenants/{law}/disable"), &[("confirm", "yes")]),
                    Answer::Status(303, None),
                    |law, _| law.is_some_and(|t| !t.enabled),
                ),
                // Enabling is never refused.
                step(
                    page(format!("/tenants/{law}/enable"), &[]),
                    Answer::Status(303, None),
                    |law, _| law.is_some_and(|t| t.enabled),
                ),
            ],
            Some("law\\bob"),
        ),
        (
            "new subdomain",
            vec![step(
                page(
                    format!("/tenants/{law}/edit"),
                    &[
                        ("name", w.law.name.as_str()),
                        ("subdomain", "law2"),
                        ("can_have_subtenants", "true"),
                        ("enabled", "true"),
                    ],
                ),
                Answer::Status(303, None),
                |law, _| law.is_some_and(|t| t.subdomain == "law2"),
            )],
            Some("law2\\bob"),
        ),
        (
            "move",
            vec![step(
                page(
                    format!("/tenants/{law}/move"),
                    &[("parent_id", &w.other.id.to_string())],
                ),
                Answer::RedirectTo(format!("/tenants/{law}")),
                |law, w| law.is_some_and(|t| t.parent_id == Some(w.other.id)),
            )],
            Some("law\\bob"),
        ),
    ]
}

#[tokio::test]
async fn a_change_goes_through_when_the_actor_dominates_everyone_there() {
    for i in 0..5 {
        let app = spawn_app().await;
        let w = dominated_world(&app).await;
        let (label, steps, bob_logs_in_as) = successes(&w).swap_remove(i);
        run(&app, &w, label, steps).await;
        match bob_logs_in_as {
            Some(login) => {
                browser_as(&app, login).await;
            }
            None => assert!(!exists(&app, &w.bob).await, "{label}"),
        }
    }
}

/// The root's Owner dominates bob: a force delete of acme (law with it) goes through.
#[tokio::test]
async fn the_root_owner_force_deletes_where_a_sub_owner_may_not() {
    let app = spawn_app().await;
    let w = outranked_world(&app).await;
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
