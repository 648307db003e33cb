//! Tenants' user limits (#14 part B): `max_users` on the tenant form and in the
//! API; creating a user is refused at a tenant's or an ancestor's limit (equal
//! allowed, one over refused) with "Users N of N used", and parallel creates never
//! end above it. The Tenants list's user counts follow users created by the service.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::json;
use tenantry::db::models::role::UserRole;
use tenantry::db::models::Tenant;
use tenantry::domain::{Level, Permissions};

/// A role for users of `tenant`, its id as the form sends it.
pub(crate) async fn role_of(app: &TestApp, tenant: &Tenant) -> String {
    UserRole::insert(
        &mut *app.conn().await,
        tenant.id,
        "Operator",
        &Permissions::all(Level::Read),
        false,
    )
    .await
    .unwrap()
    .id
    .to_string()
}

pub(crate) fn user_fields<'a>(username: &'a str, role_id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("email", "someone@example.com"),
        ("first_name", ""),
        ("last_name", ""),
        ("password", PASSWORD),
        ("role_id", role_id),
        ("enabled_shown", "1"),
        ("enabled", "true"),
        ("storage_limit_gb", ""),
        ("memory_limit_gb", ""),
    ]
}

async fn users_in(app: &TestApp, tenant: &Tenant) -> i64 {
    db(app)
        .await
        .query_one(
            "SELECT count(*) FROM users WHERE tenant_id = $1",
            &[&tenant.id],
        )
        .await
        .unwrap()
        .get(0)
}

async fn set_limit(app: &TestApp, tenant: &Tenant, max: i32) {
    db(app)
        .await
        .execute(
            "UPDATE tenants SET max_users = $2 WHERE id = $1",
            &[&tenant.id, &max],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_api_and_the_form_set_and_clear_the_limit() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    let path = format!("/api/v1/tenants/{}", t.a1.id);
    let (s, got) = api.get(&path).await;
    assert_eq!((s, got["max_users"].is_null()), (200, true));
    let (s, got) = api.patch(&path, json!({"max_users": 50})).await;
    assert_eq!((s, got["max_users"].as_i64()), (200, Some(50)), "{got}");
    let (s, e) = api.patch(&path, json!({"max_users": -1})).await;
    assert_eq!(s, 422);
    assert!(e["errors"]["max_users"]
        .as_str()
        .unwrap()
        .contains("negative"));
    let (s, list) = api.get("/api/v1/tenants?limit=500").await;
    assert_eq!(s, 200);
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == t.a1.id)
        .unwrap()
        .clone();
    assert_eq!(listed["max_users"], 50);
    let (s, got) = api.patch(&path, json!({"max_users": null})).await;
    assert_eq!((s, got["max_users"].is_null()), (200, true));
    let (s, created) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "New", "subdomain": "newone", "max_users": 0}),
        )
        .await;
    assert_eq!(
        (s, created["max_users"].as_i64()),
        (201, Some(0)),
        "{created}"
    );

    // The edit form shows it and saves it; a bad value is a field error.
    app.login_admin().await;
    let edit = format!("/tenants/{}/edit", t.a2.id);
    let html = app.get_html(&edit).await;
    assert!(html.contains("name=\"max_users\""), "{html}");
    let mut fields = vec![
        ("name", "Tenant a2"),
        ("subdomain", "a2"),
        ("description", ""),
        ("custom_domain", ""),
        ("enabled", "true"),
        ("monthly_query_quota", ""),
        ("max_users", "ten"),
    ];
    let r = app.post_form(&edit, &fields).await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "max_users").is_some());
    fields.pop();
    fields.push(("max_users", "1,000"));
    let r = app.post_form(&edit, &fields).await;
    assert_eq!(status(&r), 303);
    let html = app.get_html(&format!("/tenants/{}", t.a2.id)).await;
    assert!(html.contains("id=\"tenant-max-users\">1,000 "), "{html}");
    assert!(app.get_html(&edit).await.contains("value=\"1000\""));
}

#[tokio::test]
async fn a_user_is_created_up_to_the_limit_and_refused_one_over() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    // a1 allows 2 users (its subtree: a1 and a1x); acme allows 3 in all.
    set_limit(&app, &t.a1, 2).await;
    set_limit(&app, &t.acme, 3).await;
    let a1_role = role_of(&app, &t.a1).await;
    let a1x_role = role_of(&app, &t.a1x).await;
    let a2_role = role_of(&app, &t.a2).await;
    let create = async |tenant: &Tenant, name: &str, role: &str| {
        app.post_form(
            &format!("/tenants/{}/users/new", tenant.id),
            &user_fields(name, role),
        )
        .await
    };
    assert_eq!(status(&create(&t.a1, "u1", &a1_role).await), 303);
    // Equal to the limit: allowed (below a1, counted in its subtree).
    assert_eq!(status(&create(&t.a1x, "u2", &a1x_role).await), 303);
    // One over: refused, naming the limit and its use; nothing written.
    let r = create(&t.a1x, "u3", &a1x_role).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let message = between(&html, "id=\"user-limit\">", "</div>");
    assert!(
        message.contains("Users 2 of 2 used in Tenant a1 (its limit covers every tenant below it)"),
        "{message}"
    );
    assert!(html.contains("value=\"u3\""), "the input is kept");
    assert_eq!(users_in(&app, &t.a1x).await, 1);
    // At a1 itself the message names it plainly.
    let r = create(&t.a1, "u3", &a1_role).await;
    assert_eq!(status(&r), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Users 2 of 2 used in Tenant a1:"));
    // a2 is under acme's limit only: one more fits (3 of 3), then none.
    assert_eq!(status(&create(&t.a2, "u3", &a2_role).await), 303);
    let r = create(&t.a2, "u4", &a2_role).await;
    assert_eq!(status(&r), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Users 3 of 3 used in Tenant acme"));
    // A limit raised: room again.
    set_limit(&app, &t.acme, 4).await;
    assert_eq!(status(&create(&t.a2, "u4", &a2_role).await), 303);
    // Deleting a user makes room too; globex has no limit at all.
    let g_role = role_of(&app, &t.g1).await;
    for i in 0..3 {
        assert_eq!(status(&create(&t.g1, &format!("g{i}"), &g_role).await), 303);
    }
}

/// A limit seen from below: the limit above is not named to someone who cannot see
/// the tenant it is set on.
#[tokio::test]
async fn a_limit_above_what_the_creator_sees_is_not_named() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    set_limit(&app, &t.acme, 0).await;
    let role = role_of(&app, &t.a2).await;
    // Its only user, made before the limit (directly): 1 of 0.
    app.user_with_role(&t.a2, "boss", Permissions::all(Level::Full))
        .await;
    let b = browser_as(&app, "a2\\boss").await;
    let r = b
        .post_form(
            &format!("/tenants/{}/users/new", t.a2.id),
            &user_fields("newbie", &role),
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Users 1 of 0 used in a tenant above this one"),
        "{html}"
    );
    assert!(!html.contains("Tenant acme"));
}

/// Dozens of creates at once against one limited reseller's subtree end exactly at
/// the limit: each create locks the limited tenants on its path before counting.
#[tokio::test]
async fn parallel_creates_never_end_above_the_limit() {
    // A connection for each request: they wait on the limit's lock, not on the pool.
    let app = spawn_app_with_env(&[("TENANTRY_DB_POOL_SIZE", "32")]).await;
    let t = partner_tree(&app).await;
    const LIMIT: i32 = 7;
    set_limit(&app, &t.acme, LIMIT).await;
    let roles = [
        (t.a1.clone(), role_of(&app, &t.a1).await),
        (t.a1x.clone(), role_of(&app, &t.a1x).await),
        (t.a2.clone(), role_of(&app, &t.a2).await),
    ];
    app.login_admin().await;
    let token = app.csrf().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (tenant, role) = &roles[i % roles.len()];
        let name = format!("user{i}");
        let mut fields: Vec<(String, String)> = user_fields(&name, role)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        fields.push(("csrf_token".into(), token.clone()));
        let req = app
            .client
            .post(app.url(&format!("/tenants/{}/users/new", tenant.id)))
            .form(&fields);
        tasks.push(tokio::spawn(async move { req.send().await.unwrap() }));
    }
    let (mut created, mut busy) = (0, 0);
    for task in tasks {
        let r = task.await.unwrap();
        match status(&r) {
            303 => created += 1,
            422 => {
                let html = r.text().await.unwrap();
                assert!(
                    html.contains(&format!("of {LIMIT} used in Tenant acme")),
                    "{html}"
                );
            }
            // A lock wait that ran out: nothing was created.
            409 => busy += 1,
            s => panic!("{s}: {}", r.text().await.unwrap()),
        }
    }
    let total: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM users u JOIN tenant_paths p ON p.tenant_id = u.tenant_id \
             WHERE p.path @> ARRAY[$1]::bigint[]",
            &[&t.acme.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, created, "every 303 is a user, nothing else is");
    assert!(
        total <= i64::from(LIMIT),
        "{total} users over a limit of {LIMIT}"
    );
    if busy == 0 {
        assert_eq!(
            total,
            i64::from(LIMIT),
            "every create that fit went through"
        );
    }
    // The maintained totals agree with the rows.
    let kept: i64 = db(&app)
        .await
        .query_one(
            "SELECT user_count FROM tenant_subtree_totals WHERE tenant_id = $1",
            &[&t.acme.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, i64::from(LIMIT));
}

/// The Tenants list's user counts are the rows the users service creates (kept by
/// triggers), not a figure of their own.
#[tokio::test]
async fn users_created_by_the_service_move_the_tenants_counts() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let role = role_of(&app, &t.a1x).await;
    app.login_admin().await;
    for name in ["c1", "c2"] {
        let r = app
            .post_form(
                &format!("/tenants/{}/users/new", t.a1x.id),
                &user_fields(name, &role),
            )
            .await;
        assert_eq!(status(&r), 303);
    }
    let a1x = app.reload(&t.a1x).await.unwrap();
    assert_eq!(a1x.user_count, 2);
    let html = app
        .get_html(&format!("/tenants?within={}&q=a1x", t.acme.id))
        .await;
    let row = between(&html, &format!("data-tenant-id=\"{}\"", t.a1x.id), "</tr>");
    assert!(row.contains(">2<"), "{row}");
    let totals: i64 = db(&app)
        .await
        .query_one(
            "SELECT user_count FROM tenant_subtree_totals WHERE tenant_id = $1",
            &[&t.acme.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(totals, 2);
}

/// The invitee at a tenant that is full is told what to do, not the tenant's usage
/// (internal to it): the acceptance form's error, nothing written.
#[tokio::test]
async fn an_invitee_at_a_full_tenant_is_told_what_to_do_not_its_usage() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.user(&t.a2, "only").await;
    set_limit(&app, &t.a2, 1).await;
    set_limit(&app, &t.acme, 1).await;
    let (_, link) = app
        .invitation_with_link(&t.a2, &app.admin, "new@example.net")
        .await;
    let invitee = app.new_browser();
    assert_eq!(status(&invitee.get(&link).await), 200);
    let r = invitee
        .post_form(
            &link,
            &[
                ("username", "newbie"),
                ("password", crate::invitations::NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let open = "id=\"user-limit\">";
    let told = &between(&html, open, "</div>")[open.len()..];
    assert_eq!(told, tenantry::services::invitations::TENANT_FULL, "{html}");
    for usage in ["1 of 1", "Users ", " used in ", "its limit covers"] {
        assert!(!html.contains(usage), "{usage}: {html}");
    }
    assert_eq!(users_in(&app, &t.a2).await, 1);
}
