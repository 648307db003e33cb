//! Issue #14 with #16, the third review: usage bars show the effective limit (a
//! plan's too) and where it comes from, read as the limit checks read it; a safe
//! delete's blockers name only resources the deleter may read; a committed user
//! create answers its redirect however busy the pool; the tenant form reports a
//! field it cannot read with the plan's refusals.

use crate::api::{admin_api, plan, put_on};
use crate::helpers::*;
use crate::move_limits::cloud as root_cloud;
use serde_json::json;
use tenantry::db::models::role::UserRole;
use tenantry::db::models::Tenant;
use tenantry::domain::{Feature, Level, Permissions};

/// The usage bar of `measure` ("Storage", "Users", …) on a page, as text.
fn bar(html: &str, measure: &str) -> String {
    let start = format!("data-measure=\"{measure}\"");
    let part = &between(html, &start, "</div>")[start.len()..];
    // Tags out, spaces folded: what a reader sees.
    let mut text = String::new();
    let mut in_tag = false;
    for c in part.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------- M1

#[tokio::test]
async fn a_tenant_limited_by_its_plan_alone_shows_n_of_m_on_its_page_and_the_dashboard() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    // g1 sets no limit of its own: its plan's are its limits.
    let basic = plan(
        &api,
        json!({"name": "Basic", "storage_limit_gb": 500, "max_instances": 3, "max_users": 5}),
    )
    .await;
    put_on(&api, &t.g1, basic).await;
    let cloud = root_cloud(&app, &api).await;
    let instances = format!("/api/v1/tenants/{}/instances", t.g1.id);
    let vm = |name: &str, gb: i64| json!({"name": name, "cloud_id": cloud, "storage_gb": gb, "memory_gb": 1});
    let (s, body) = api.post(&instances, vm("vm1", 40)).await;
    assert_eq!(s, 201, "{body}");
    app.login_admin().await;
    let page = app.get_html(&format!("/tenants/{}", t.g1.id)).await;
    assert_eq!(
        bar(&page, "Storage"),
        "Storage 8% 40 of 500 GB used limit: plan Basic",
        "{page}"
    );
    assert_eq!(
        bar(&page, "Instances"),
        "Instances 33% 1 of 3 used limit: plan Basic"
    );
    assert_eq!(bar(&page, "Memory"), "Memory 1 GB used, no limit");
    assert!(
        page.contains("id=\"tenant-max-users\">5 "),
        "the user limit is the plan's: {page}"
    );
    // The same on the dashboard, acting in g1.
    app.post_form("/switch", &[("tenant_id", &t.g1.id.to_string())])
        .await;
    let dashboard = app.get_html("/dashboard").await;
    assert_eq!(
        bar(&dashboard, "Storage"),
        "Storage 8% 40 of 500 GB used limit: plan Basic",
        "{dashboard}"
    );
    assert_eq!(
        bar(&dashboard, "Users"),
        "Users 0% 0 of 5 used limit: plan Basic"
    );
    // The bar and the check read the same budget: what the bar leaves is allowed,
    // one more is refused.
    let (s, body) = api.post(&instances, vm("vm2", 461)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_gb"],
        "Storage 40 of 500 GB used; this instance needs 461 GB; limit: plan Basic."
    );
    let (s, body) = api.post(&instances, vm("vm2", 460)).await;
    assert_eq!(s, 201, "{body}");
    let page = app.get_html(&format!("/tenants/{}", t.g1.id)).await;
    assert!(bar(&page, "Storage").contains("500 of 500 GB used limit: plan Basic"));

    // g1's instances bar with its own limit set to `own` (past the checks).
    let with_own = |own: i64| {
        let (app, g1) = (&app, &t.g1);
        async move {
            db(app)
                .await
                .execute(
                    "UPDATE tenants SET max_instances = $2 WHERE id = $1",
                    &[&g1.id, &own],
                )
                .await
                .unwrap();
            bar(
                &app.get_html(&format!("/tenants/{}", g1.id)).await,
                "Instances",
            )
        }
    };
    // Its own lower limit is the one shown, as its own.
    assert_eq!(with_own(2).await, "Instances 100% 2 of 2 used limit: own");
    // An own limit above the plan's does not lift it.
    assert_eq!(
        with_own(10).await,
        "Instances 66% 2 of 3 used limit: plan Basic"
    );
    let (s, body) = api.post(&instances, vm("vm3", 0)).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post(&instances, vm("vm4", 0)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["limit"],
        "Instances: 3 of 3 used; no more instances fit; limit: plan Basic."
    );

    // A limit above from that tenant's plan binds first: named with its subtree.
    // (g1 has no room left of its own: one above binds only when lowered below
    // what is used.)
    let reseller = plan(&api, json!({"name": "Reseller", "storage_limit_gb": 490})).await;
    put_on(&api, &t.globex, reseller).await;
    let page = app.get_html(&format!("/tenants/{}", t.g1.id)).await;
    let storage = bar(&page, "Storage");
    assert!(
        storage.contains("Tenant globex: 500 of 490 GB used (above the limit")
            && storage.ends_with("limit: Tenant globex subtree, plan Reseller"),
        "{storage}"
    );
}

// ---------------------------------------------------------------- L3

#[tokio::test]
async fn a_safe_delete_names_no_resource_the_deleter_may_not_read() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let resolver = |tenant: &Tenant, name: &str| {
        let path = format!("/api/v1/tenants/{}/resolvers", tenant.id);
        let body = json!({"name": name, "address": "192.0.2.53"});
        let api = &api;
        async move {
            let (s, r) = api.post(&path, body).await;
            assert_eq!(s, 201, "{r}");
            r["id"].as_i64().unwrap()
        }
    };
    resolver(&t.a1, "a1-dns").await;
    let a1x_dns = resolver(&t.a1x, "a1x-dns").await;
    resolver(&t.a1x, "a1x-dns-2").await;
    let device = json!({"name": "a1x-box", "identifier": "box-1", "resolver_id": a1x_dns});
    let (s, body) = api
        .post(&format!("/api/v1/tenants/{}/devices", t.a1x.id), device)
        .await;
    assert_eq!(s, 201, "{body}");
    // a1x's tenant role takes Resources away: nobody below the root reads them,
    // the root's administrators included (a cap holds for every user in it).
    let mut perms = Permissions::all(Level::Full);
    perms.set(Feature::Resources, Level::None);
    capped(&app, &t.a1x, "No resources", &perms).await;

    let expected = "3 resolvers: a1-dns (Tenant a1) and 2 more in tenants you cannot see.";
    app.login_admin().await;
    let html = app.get_html(&format!("/tenants/{}/delete", t.a1.id)).await;
    let blockers = between(&html, "id=\"blockers\"", "</div>");
    assert!(blockers.contains(expected), "{blockers}");
    assert!(!blockers.contains("a1x-dns"), "{blockers}");
    assert!(
        blockers.contains("1 device in tenants you cannot see."),
        "{blockers}"
    );
    // The refusal says the same, and the delete stays refused.
    let (s, e) = api.delete(&format!("/api/v1/tenants/{}", t.a1.id)).await;
    assert_eq!(s, 409, "{e}");
    let messages: Vec<&str> = e["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["message"].as_str())
        .collect();
    assert!(messages.contains(&expected), "{e}");
    assert!(!e.to_string().contains("a1x-dns"), "{e}");
    let left: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM resolvers WHERE tenant_id = ANY($1)",
            &[&vec![t.a1.id, t.a1x.id]],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 3);
}

// ---------------------------------------------------------------- L5

#[tokio::test]
async fn the_tenant_form_reports_a_field_it_cannot_read_with_the_plans_refusals() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let basic = plan(&api, json!({"name": "Basic", "storage_limit_gb": 500})).await;
    put_on(&api, &t.g1, basic).await;
    app.login_admin().await;
    let edit = format!("/tenants/{}/edit", t.g1.id);
    let fields = |name: &'static str, max_users: &'static str| {
        tenant_edit_form(
            &t.g1,
            &[
                ("name", name),
                ("monthly_query_quota", ""),
                ("storage_limit_gb", "600"),
                ("memory_limit_gb", ""),
                ("max_instances", ""),
                ("max_users", max_users),
            ],
        )
    };
    for (name, max_users, unreadable) in [
        ("Tenant g1", "abc", vec!["max_users"]),
        (" ", "abc", vec!["max_users", "name"]),
    ] {
        let r = app.post_form(&edit, &fields(name, max_users)).await;
        assert_eq!(status(&r), 422);
        let html = r.text().await.unwrap();
        for field in &unreadable {
            assert!(field_error(&html, field).is_some(), "{field}: {html}");
        }
        assert_eq!(
            field_error(&html, "storage_limit_gb").as_deref(),
            Some("At most 500 GB on plan Basic."),
            "{html}"
        );
        assert!(html.contains("value=\"abc\""), "the input is kept");
    }
    // Nothing was written.
    let row = db(&app)
        .await
        .query_one(
            "SELECT name, storage_limit_gb, max_users FROM tenants WHERE id = $1",
            &[&t.g1.id],
        )
        .await
        .unwrap();
    let (name, storage, users): (String, Option<i64>, Option<i32>) =
        (row.get(0), row.get(1), row.get(2));
    assert_eq!((name.as_str(), storage, users), ("Tenant g1", None, None));

    // A new tenant under a parent on the plan: the same, all at once.
    let r = app
        .post_form(
            "/tenants",
            &[
                ("parent_id", &t.globex.id.to_string()),
                ("name", "New"),
                ("subdomain", "Bad_Sub"),
                ("description", ""),
                ("custom_domain", ""),
                ("monthly_query_quota", "many"),
                ("storage_limit_gb", "600"),
                ("max_users", "abc"),
            ],
        )
        .await;
    // globex is on no plan yet: only the fields that cannot be read.
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    for field in ["subdomain", "monthly_query_quota", "max_users"] {
        assert!(field_error(&html, field).is_some(), "{field}: {html}");
    }
    assert!(field_error(&html, "storage_limit_gb").is_none(), "{html}");
    put_on(&api, &t.globex, basic).await;
    let r = app
        .post_form(
            "/tenants",
            &[
                ("parent_id", &t.globex.id.to_string()),
                ("name", "New"),
                ("subdomain", "Bad_Sub"),
                ("description", ""),
                ("custom_domain", ""),
                ("storage_limit_gb", "600"),
                ("max_users", "abc"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    for field in ["subdomain", "max_users"] {
        assert!(field_error(&html, field).is_some(), "{field}: {html}");
    }
    assert_eq!(
        field_error(&html, "storage_limit_gb").as_deref(),
        Some("At most 500 GB on plan Basic."),
        "{html}"
    );
    let created: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM tenants WHERE name = 'New'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(created, 0);
}

// ---------------------------------------------------------------- L4

/// A tenant under the root with a user role; the role's id.
async fn tenant_with_role(app: &TestApp, subdomain: &str) -> (Tenant, String) {
    let tenant = app.tenant(&app.root, subdomain, false).await;
    let role = UserRole::insert(
        &mut *app.conn().await,
        tenant.id,
        "Operator",
        &Permissions::all(Level::Read),
        false,
    )
    .await
    .unwrap();
    (tenant, role.id.to_string())
}

/// The user create form's fields.
fn new_user<'a>(username: &'a str, email: &'a str, role_id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("email", email),
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

async fn user_exists(app: &TestApp, tenant: &Tenant, username: &str) -> bool {
    db(app)
        .await
        .query_one(
            "SELECT count(*) FROM users WHERE tenant_id = $1 AND username = $2",
            &[&tenant.id, &username],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
        == 1
}

/// Waits (polling) until `ready` holds; panics after 20 s.
async fn until<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..2000 {
        if ready().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

#[tokio::test]
async fn a_committed_user_create_answers_its_redirect_while_every_connection_is_taken() {
    let (app, app_pool) = spawn_app_sharing_pool(&[], 2).await;
    app.login_admin().await;
    let (tenant, role) = tenant_with_role(&app, "pool").await;
    let path = format!("/tenants/{}/users/new", tenant.id);
    let token = app.csrf().await;
    // One of the requests' two connections is taken from the start.
    let first = app_pool.get().await.expect("a connection");
    // The create's transaction waits on the tenant's row, locked here, holding the
    // other connection.
    let mut locker = db(&app).await;
    let lock = locker.transaction().await.unwrap();
    lock.execute(
        "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE",
        &[&tenant.id],
    )
    .await
    .unwrap();
    let mut fields = new_user("pooled", "pooled@example.com", &role);
    fields.push(("csrf_token", &token));
    let form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let post = tokio::spawn(app.client.post(app.url(&path)).form(&form).send());
    let watcher = db(&app).await;
    until("the create to wait on the lock", || async {
        lock_waiters(&watcher).await >= 1
    })
    .await;
    // Queued for the create's connection: it is this test's once the create
    // returns it, as it would be another request's.
    let waiting = app_pool.clone();
    let second = tokio::spawn(async move {
        let timeouts = deadpool::managed::Timeouts {
            wait: None,
            ..waiting.timeouts()
        };
        waiting.timeout_get(&timeouts).await.expect("a connection")
    });
    until("the queued checkout", || async {
        app_pool.status().waiting >= 1
    })
    .await;
    lock.commit().await.unwrap();
    // Committed, then its session (the flash) is saved with no request connection
    // free: the redirect, not a 503.
    let r = post.await.unwrap().expect("POST");
    assert_eq!(status(&r), 303, "{:?}", r.text().await);
    assert!(user_exists(&app, &tenant, "pooled").await);
    let second = second.await.unwrap();
    drop((first, second));
    // The flash was saved with the session: the next page says it.
    let page = app.get_html(&format!("/tenants/{}/users", tenant.id)).await;
    assert!(page.contains("Created pooled."), "{page}");
}

#[tokio::test]
async fn parallel_user_creates_answer_an_error_only_for_what_they_did_not_create() {
    // Few connections for thirty requests: most wait for one.
    let app = spawn_app_with_env(&[("TENANTRY_DB_POOL_SIZE", "2")]).await;
    app.login_admin().await;
    let (tenant, role) = tenant_with_role(&app, "burst").await;
    let path = format!("/tenants/{}/users/new", tenant.id);
    let token = app.csrf().await;
    let posts: Vec<_> = (0..30)
        .map(|i| {
            let name = format!("burst{i}");
            let email = format!("burst{i}@example.com");
            let mut form: Vec<(String, String)> = new_user(&name, &email, &role)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            form.push(("csrf_token".into(), token.clone()));
            let request = app.client.post(app.url(&path)).form(&form);
            tokio::spawn(async move { (name, request.send().await.expect("POST")) })
        })
        .collect();
    let mut created = 0;
    for post in posts {
        let (name, r) = post.await.unwrap();
        let code = status(&r);
        let exists = user_exists(&app, &tenant, &name).await;
        match code {
            303 => {
                assert!(exists, "{name}: 303 without the user");
                created += 1;
            }
            // Refused before any work: nothing of it was written.
            503 => assert!(!exists, "{name}: 503 although the user was created"),
            other => panic!("{name}: {other} {:?}", r.text().await),
        }
    }
    assert!(created > 0, "no create went through");
}
