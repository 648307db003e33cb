//! Review of #14, finding 1: a move keeps the limits of the tenants it joins (a
//! limit covers the whole subtree): exactly at a limit it goes, one over it is
//! refused (409 in the API naming the limit and the use, a form error on the page,
//! the previews say so, the bulk move refuses per tenant), and moves racing creates
//! never end above a limit.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;

async fn one(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

/// Sets a tenant's four limits (`None`: none).
async fn limit(
    app: &TestApp,
    t: &Tenant,
    storage: Option<i64>,
    memory: Option<i64>,
    max: Option<i64>,
    users: Option<i32>,
) {
    db(app)
        .await
        .execute(
            "UPDATE tenants SET storage_limit_gb = $1, memory_limit_gb = $2, max_instances = $3, \
             max_users = $4 WHERE id = $5",
            &[&storage, &memory, &max, &users, &t.id],
        )
        .await
        .unwrap();
}

/// A public cloud of the root, which every tenant sees.
pub(crate) async fn cloud(app: &TestApp, api: &Api) -> i64 {
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", app.root.id),
            json!({"name": "shared", "provider": "aws", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_i64().unwrap()
}

pub(crate) async fn vm(
    api: &Api,
    tenant: &Tenant,
    cloud: i64,
    name: &str,
    storage: i64,
    memory: i64,
) -> (u16, Value) {
    api.post(
        &format!("/api/v1/tenants/{}/instances", tenant.id),
        json!({"name": name, "cloud_id": cloud, "storage_gb": storage, "memory_gb": memory}),
    )
    .await
}

async fn parent_of(app: &TestApp, t: &Tenant) -> i64 {
    one(
        app,
        &format!("SELECT parent_id FROM tenants WHERE id = {}", t.id),
    )
    .await
}

async fn subtree(app: &TestApp, t: &Tenant, column: &str) -> i64 {
    one(
        app,
        &format!(
            "SELECT {column}::bigint FROM tenant_subtree_totals WHERE tenant_id = {}",
            t.id
        ),
    )
    .await
}

#[tokio::test]
async fn a_move_fits_exactly_at_each_limit_and_is_refused_one_over() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let cloud = cloud(&app, &api).await;
    // a1's subtree: 30 GB storage, 4 GB memory, 2 instances; g1 (under globex) 80 GB.
    assert_eq!(vm(&api, &t.a1, cloud, "a", 10, 1).await.0, 201);
    assert_eq!(vm(&api, &t.a1x, cloud, "b", 20, 3).await.0, 201);
    assert_eq!(vm(&api, &t.g1, cloud, "g", 80, 2).await.0, 201);
    app.user(&t.a1x, "ann").await;
    let (gu, au) = (
        subtree(&app, &t.globex, "user_count").await,
        subtree(&app, &t.a1, "user_count").await,
    );
    assert!(au > 0);
    let users = i32::try_from(gu + au).unwrap();
    let path = format!("/api/v1/tenants/{}/move", t.a1.id);
    let exact = (Some(110), Some(6), Some(3), Some(users));
    // One over on each limit in turn: refused, naming the limit and the use.
    for (measure, over) in [
        (
            "Storage 80 of 109 GB used".to_string(),
            (Some(109), exact.1, exact.2, exact.3),
        ),
        (
            "Memory 2 of 5 GB used".to_string(),
            (exact.0, Some(5), exact.2, exact.3),
        ),
        (
            "Instances 1 of 2 used".to_string(),
            (exact.0, exact.1, Some(2), exact.3),
        ),
        (
            format!("Users {gu} of {} used", users - 1),
            (exact.0, exact.1, exact.2, Some(users - 1)),
        ),
    ] {
        limit(&app, &t.globex, over.0, over.1, over.2, over.3).await;
        let (s, body) = api.post(&path, json!({"parent_id": t.globex.id})).await;
        assert_eq!(s, 409, "{measure}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&measure)
                && detail.contains(&t.globex.name)
                && detail.contains("the move brings"),
            "{measure}: {detail}"
        );
        assert_eq!(parent_of(&app, &t.a1).await, t.acme.id, "nothing moved");
        assert_eq!(subtree(&app, &t.globex, "storage_gb").await, 80);
    }
    // Exactly at every limit: the move goes.
    limit(&app, &t.globex, exact.0, exact.1, exact.2, exact.3).await;
    let (s, body) = api.post(&path, json!({"parent_id": t.globex.id})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(parent_of(&app, &t.a1).await, t.globex.id);
    assert_eq!(subtree(&app, &t.globex, "storage_gb").await, 110);
    // A limit on a tenant further up counts too, and one both paths share does not:
    // back under acme (the root, shared, has a limit at its use).
    limit(&app, &app.root, Some(110), None, None, None).await;
    limit(&app, &t.acme, Some(29), None, None, None).await;
    let (s, body) = api.post(&path, json!({"parent_id": t.acme.id})).await;
    assert_eq!(s, 409, "{body}");
    limit(&app, &t.acme, Some(30), None, None, None).await;
    let (s, body) = api.post(&path, json!({"parent_id": t.acme.id})).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn the_move_page_and_the_bulk_move_say_which_limit_refuses() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let cloud = cloud(&app, &api).await;
    assert_eq!(vm(&api, &t.a2, cloud, "a", 40, 1).await.0, 201);
    assert_eq!(vm(&api, &t.g1, cloud, "g", 70, 1).await.0, 201);
    limit(&app, &t.globex, Some(100), None, None, None).await;
    app.login_admin().await;
    let refusal = "Storage 70 of 100 GB used in";
    // The preview says so and offers no move.
    let page = app
        .get(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a2.id, t.globex.id
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"impact-limits\"") && page.contains(refusal),
        "{page}"
    );
    assert!(
        !page.contains(&format!("Move under {}", t.globex.name)),
        "{page}"
    );
    // Posted anyway: the form again, with the refusal as its error; nothing moved.
    let r = move_form(&app, &t.a2, &t.globex).await;
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("id=\"form-error\"") && page.contains(refusal),
        "{page}"
    );
    assert_eq!(parent_of(&app, &t.a2).await, t.acme.id);
    // The bulk move: a2 refused with the same words, a1 (nothing used) moved.
    for dry_run in [true, false] {
        let (s, body) = api
            .post(
                "/api/v1/tenants/bulk",
                json!({"ids": [t.a2.id, t.a1.id], "action": "move", "parent_id": t.globex.id,
                       "dry_run": dry_run}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["items"][0]["outcome"], "refused", "{body}");
        assert!(
            body["items"][0]["message"]
                .as_str()
                .unwrap()
                .contains(refusal),
            "{body}"
        );
        assert_eq!(body["items"][1]["outcome"], "changed", "{body}");
    }
    assert_eq!(parent_of(&app, &t.a2).await, t.acme.id);
    assert_eq!(parent_of(&app, &t.a1).await, t.globex.id);
}

#[tokio::test]
async fn moves_racing_creates_never_end_above_a_limit() {
    let app = spawn_app_with_env(&[("TENANTRY_DB_POOL_SIZE", "24")]).await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let cloud = cloud(&app, &api).await;
    // Six tenants under acme with 15 GB each, to be moved under globex (100 GB)
    // while twenty creates of 10 GB run in g1, below globex.
    let mut movers = Vec::new();
    for i in 0..6 {
        let m = app.tenant(&t.acme, &format!("m{i}"), false).await;
        assert_eq!(vm(&api, &m, cloud, "vm", 15, 1).await.0, 201);
        movers.push(m);
    }
    limit(&app, &t.globex, Some(100), None, None, None).await;
    let mut tasks = Vec::new();
    for i in 0..26 {
        let api = Api::new(&app, api.token.as_deref());
        let (g1, globex) = (t.g1.clone(), t.globex.id);
        let mover = movers.get(i / 4).filter(|_| i % 4 == 0).cloned();
        tasks.push(tokio::spawn(async move {
            match mover {
                Some(m) => {
                    api.post(
                        &format!("/api/v1/tenants/{}/move", m.id),
                        json!({"parent_id": globex}),
                    )
                    .await
                }
                None => vm(&api, &g1, cloud, &format!("c{i}"), 10, 1).await,
            }
        }));
    }
    let mut done = 0;
    for task in tasks {
        let (s, body) = task.await.unwrap();
        // 409: a limit refused (or a lock wait ran out), 422: a create refused,
        // 503: no connection in time; nothing was written.
        assert!(matches!(s, 200 | 201 | 409 | 422 | 503), "{s}: {body}");
        done += usize::from(s == 200 || s == 201);
    }
    assert!(done > 0);
    let used = one(
        &app,
        &format!(
            "SELECT coalesce(sum(i.storage_gb), 0)::bigint FROM instances i JOIN tenant_paths p \
             ON p.tenant_id = i.tenant_id WHERE p.path @> ARRAY[{}::bigint]",
            t.globex.id
        ),
    )
    .await;
    assert!(used <= 100, "globex's subtree uses {used} GB of 100");
    assert_eq!(
        subtree(&app, &t.globex, "storage_gb").await,
        used,
        "totals exact"
    );
}
