//! Fresh review of #14 (h14e): a move never leaves instances on a cloud their
//! tenants no longer see (single move, its preview and form, bulk with dry run,
//! batch), and the delete blockers of such instances say what to do.

use crate::api::{admin_api, Api};
use crate::helpers::*;
use crate::move_limits::vm;
use serde_json::json;
use tenantry::db::models::Tenant;

async fn parent_of(app: &TestApp, t: &Tenant) -> i64 {
    db(app)
        .await
        .query_one("SELECT parent_id FROM tenants WHERE id = $1", &[&t.id])
        .await
        .unwrap()
        .get(0)
}

/// A move of `t` under `parent` refused through the API (409), saying that
/// `instance` runs on `cloud` of acme, which it would no longer see.
async fn refused_move(api: &Api, t: &Tenant, parent: &Tenant, instance: &str, cloud: &str) {
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.id),
            json!({"parent_id": parent.id}),
        )
        .await;
    assert_eq!(s, 409, "{body}");
    let said = format!("{instance} runs on {cloud} (Tenant acme), which it would no longer see");
    assert!(body["detail"].as_str().unwrap().contains(&said), "{body}");
}

async fn cloud(api: &Api, owner: &Tenant, name: &str, body: serde_json::Value) -> i64 {
    let mut body = body;
    body["name"] = json!(name);
    body["provider"] = json!("aws");
    let (s, b) = api
        .post(&format!("/api/v1/tenants/{}/clouds", owner.id), body)
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_move_that_would_leave_instances_on_a_cloud_they_no_longer_see_is_refused() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    // acme's public cloud, used in a1x (under a1) and a2; the root's public one in a1.
    let xcloud = cloud(&api, &t.acme, "xcloud", json!({"visibility": "public"})).await;
    let root_cloud = cloud(
        &api,
        &app.root,
        "rootcloud",
        json!({"visibility": "public"}),
    )
    .await;
    assert_eq!(vm(&api, &t.a1x, xcloud, "yi", 1, 1).await.0, 201);
    assert_eq!(vm(&api, &t.a1, root_cloud, "ri", 1, 1).await.0, 201);
    let expected = format!(
        "yi of {} runs on xcloud ({}), which it would no longer see: move it to another cloud first.",
        t.a1x.name, t.acme.name
    );
    // The API: 409 naming the instance and the cloud; nothing moved.
    let path = format!("/api/v1/tenants/{}/move", t.a1.id);
    let (s, body) = api.post(&path, json!({"parent_id": t.globex.id})).await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains(&expected),
        "{body}"
    );
    assert_eq!(parent_of(&app, &t.a1).await, t.acme.id);
    // Moving a1x itself: the same words, without "of".
    refused_move(&api, &t.a1x, &t.globex, "yi", "xcloud").await;
    // Within acme's subtree the cloud stays seen: a1x moves under a2.
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.a1x.id),
            json!({"parent_id": t.a1.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // The preview lists it and offers no move; the form posted anyway refuses.
    app.login_admin().await;
    let page = app
        .get_html(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a1.id, t.globex.id
        ))
        .await;
    let clouds = between(&page, "id=\"impact-clouds\"", "</dd>");
    assert!(
        clouds.contains("Refused") && clouds.contains(&expected),
        "{clouds}"
    );
    assert!(
        !page.contains(&format!("Move under {}", t.globex.name)),
        "{page}"
    );
    let r = move_form(&app, &t.a1, &t.globex).await;
    assert_eq!(status(&r), 422);
    let page = r.text().await.unwrap();
    assert!(
        between(&page, "id=\"form-error\"", "</div>").contains(&expected),
        "{page}"
    );
    // The bulk move, dry run and applied: refused per tenant; the batch: 409.
    for dry_run in [true, false] {
        let (s, body) = api
            .post(
                "/api/v1/tenants/bulk",
                json!({"ids": [t.a1.id], "action": "move", "parent_id": t.globex.id,
                       "dry_run": dry_run}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["items"][0]["outcome"], "refused", "{body}");
        assert!(
            body["items"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&expected),
            "{body}"
        );
    }
    let (s, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": false,
                   "operations": [{"op": "move", "id": t.a1.id, "parent_id": t.globex.id}]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["results"][0]["status"], 409, "{body}");
    assert_eq!(parent_of(&app, &t.a1).await, t.acme.id);
    // Once the instance is on a cloud seen from there, the move goes.
    let (s, body) = api
        .patch(
            &format!(
                "/api/v1/tenants/{}/instances/{}",
                t.a1x.id,
                db(&app)
                    .await
                    .query_one("SELECT id FROM instances WHERE name = 'yi'", &[])
                    .await
                    .unwrap()
                    .get::<_, i64>(0)
            ),
            json!({"cloud_id": root_cloud}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.post(&path, json!({"parent_id": t.globex.id})).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn an_assigned_cloud_refuses_the_move_of_its_receiver_too() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let assigned = cloud(
        &api,
        &t.acme,
        "acloud",
        json!({"visibility": "assigned", "assigned_tenant_ids": [t.a2.id]}),
    )
    .await;
    assert_eq!(vm(&api, &t.a2, assigned, "ai", 1, 1).await.0, 201);
    refused_move(&api, &t.a2, &t.globex, "ai", "acloud").await;
    assert_eq!(parent_of(&app, &t.a2).await, t.acme.id);
}

#[tokio::test]
async fn instances_of_tenants_out_of_sight_on_a_cloud_say_whom_to_ask() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let xcloud = cloud(&api, &t.acme, "xcloud", json!({"visibility": "public"})).await;
    // An instance of g1 (outside acme) on acme's cloud, as a move before this
    // check could leave one.
    db(&app)
        .await
        .execute(
            "INSERT INTO instances (tenant_id, name, storage_gb, memory_gb, cloud_id, status) \
             VALUES ($1, 'gi', 1, 1, $2, 'running')",
            &[&t.g1.id, &xcloud],
        )
        .await
        .unwrap();
    // acme's administrator cannot see g1: told to ask someone above.
    let alice = subtree_admin(&app, &t.acme, "alice").await;
    let r = alice
        .post_form(
            &format!("/tenants/{}/clouds/{xcloud}/delete", t.acme.id),
            &[("confirm", "yes")],
        )
        .await;
    let page = r.text().await.unwrap();
    assert!(
        page.contains("1 instance runs on this cloud: it runs in tenants you cannot see: ask an administrator of a tenant above yours to move it to another cloud."),
        "{page}"
    );
    // The root's administrator sees g1: told where to go.
    let (s, body) = api
        .delete(&format!("/api/v1/tenants/{}/clouds/{xcloud}", t.acme.id))
        .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains(&format!(
            "move it to another cloud or delete it in {} first.",
            t.g1.name
        )),
        "{body}"
    );
    let (s, body) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", t.acme.id))
        .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body.to_string().contains(&format!(
            "Not even a force delete removes it: move it to another cloud or delete it in {} first.",
            t.g1.name
        )),
        "{body}"
    );
}

#[tokio::test]
async fn the_usage_api_gives_use_limit_and_where_the_limit_comes_from() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let shared = cloud(&api, &app.root, "shared", json!({"visibility": "public"})).await;
    assert_eq!(vm(&api, &t.a1x, shared, "x", 30, 2).await.0, 201);
    assert_eq!(vm(&api, &t.a2, shared, "y", 50, 1).await.0, 201);
    // acme: 100 GB over its subtree; a1: 8 GB memory of its own.
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET storage_limit_gb = CASE id WHEN $1 THEN 100 END, \
             memory_limit_gb = CASE id WHEN $2 THEN 8 END WHERE id IN ($1, $2)",
            &[&t.acme.id, &t.a1.id],
        )
        .await
        .unwrap();
    let (s, body) = api.get(&format!("/api/v1/tenants/{}/usage", t.a1.id)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["tenant_id"], t.a1.id);
    assert_eq!(
        body["storage_gb"],
        json!({"used": 30, "limit": 100, "source": "ancestor", "tenant_id": t.acme.id,
               "plan": null, "limit_used": 80, "room": 20}),
        "{body}"
    );
    assert_eq!(
        body["memory_gb"],
        json!({"used": 2, "limit": 8, "source": "own", "tenant_id": null, "plan": null,
               "limit_used": 2, "room": 6}),
        "{body}"
    );
    assert_eq!(body["instances"]["used"], 1, "{body}");
    assert_eq!(body["instances"]["limit"], json!(null), "{body}");
    assert_eq!(body["instances"]["source"], json!(null), "{body}");
    assert!(body["users"]["used"].is_i64(), "{body}");
    // The tenant page shows the same bars.
    app.login_admin().await;
    let page = app.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert!(
        page.contains("30 of 100 GB") || page.contains("80 of 100"),
        "{page}"
    );
    // An administrator of a1 who cannot see acme: the ancestor's limit, not its id.
    let ann = app.user(&t.a1, "ann").await;
    app.grant(
        &ann,
        &t.a1,
        tenantry::domain::GrantRole::Administrator,
        tenantry::domain::Scope::Subtree,
        true,
    )
    .await;
    let theirs = Api::new(&app, Some(&crate::api::token_for(&app, &ann, true).await));
    let (s, body) = theirs
        .get(&format!("/api/v1/tenants/{}/usage", t.a1.id))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["storage_gb"]["source"], "ancestor", "{body}");
    assert_eq!(body["storage_gb"]["tenant_id"], json!(null), "{body}");
    assert_eq!(body["storage_gb"]["room"], 20, "{body}");
    // Another tenant's usage: 404.
    let (s, _) = theirs
        .get(&format!("/api/v1/tenants/{}/usage", t.globex.id))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_cloud_is_assigned_by_ticking_tenants_and_the_list_says_to_whom() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    // The form lists the tenants below acme as checkboxes, by name.
    let page = app
        .get_html(&format!("/tenants/{}/clouds/new", t.acme.id))
        .await;
    let picker = between(&page, "id=\"assigned-tenants\"", "</fieldset>");
    for below in [&t.a1, &t.a1x, &t.a2] {
        assert!(
            picker.contains(&format!(
                "name=\"assigned_tenant_ids\" value=\"{}\"> {}",
                below.id, below.name
            )),
            "{picker}"
        );
    }
    assert!(!picker.contains(&t.globex.name) && !picker.contains("type=\"text\""));
    // Ticking two: the cloud is assigned to them.
    let r = app
        .post_form(
            &format!("/tenants/{}/clouds/new", t.acme.id),
            &[
                ("name", "picked"),
                ("provider", "aws"),
                ("visibility", "assigned"),
                ("assigned_tenant_ids", &t.a1.id.to_string()),
                ("assigned_tenant_ids", &t.a2.id.to_string()),
            ],
        )
        .await;
    assert_eq!(status(&r), 303, "{}", r.text().await.unwrap());
    let api = admin_api(&app).await;
    let (_, body) = api
        .get(&format!("/api/v1/tenants/{}/clouds", t.acme.id))
        .await;
    let cloud = &body["items"][0];
    assert_eq!(
        cloud["assigned_tenant_ids"],
        json!([t.a1.id, t.a2.id]),
        "{body}"
    );
    // Its page shows them ticked, the other not.
    let id = cloud["id"].as_i64().unwrap();
    let page = app
        .get_html(&format!("/tenants/{}/clouds/{id}", t.acme.id))
        .await;
    assert!(
        page.contains(&format!("value=\"{}\" checked>", t.a1.id)),
        "{page}"
    );
    assert!(page.contains(&format!("value=\"{}\">", t.a1x.id)), "{page}");
    // The list says to whom.
    let list = app
        .get_html(&format!("/tenants/{}/clouds", t.acme.id))
        .await;
    assert!(
        list.contains(&format!("to {} and {}", t.a1.name, t.a2.name)),
        "{list}"
    );
}

#[tokio::test]
async fn with_many_tenants_below_the_picker_searches_without_javascript() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let ops: Vec<serde_json::Value> = (0..200)
        .map(|i| {
            json!({"op": "create", "data": {"parent_id": t.acme.id, "name": format!("Kid {i:03}"),
                   "subdomain": format!("kid{i}")}})
        })
        .collect();
    let (s, body) = api
        .post(
            "/api/v1/tenants/batch",
            json!({"atomic": true, "operations": ops}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    app.login_admin().await;
    let form = format!("/tenants/{}/clouds/new", t.acme.id);
    let page = app.get_html(&form).await;
    let picker = between(&page, "id=\"assigned-tenants\"", "</fieldset>");
    assert!(
        picker.contains("form=\"assign-search\"") && !picker.contains("Kid 000"),
        "{picker}"
    );
    assert!(page.contains("<form id=\"assign-search\""), "{page}");
    // The search (a GET of the form page) lists the matches as checkboxes.
    let page = app.get_html(&format!("{form}?assign_q=kid+01")).await;
    let picker = between(&page, "id=\"assign-matches\"", "</div>");
    assert!(
        picker.contains("> Kid 010") && picker.contains("> Kid 019"),
        "{picker}"
    );
    assert!(!picker.contains("Kid 020"), "{picker}");
    // A ticked tenant sent along (htmx does) stays ticked past another search.
    let page = app
        .get_html(&format!(
            "{form}?assign_q=kid+02&assigned_tenant_ids={}",
            t.a1.id
        ))
        .await;
    let picker = between(&page, "id=\"assign-matches\"", "</div>");
    assert!(
        picker.contains(&format!("value=\"{}\" checked> {}", t.a1.id, t.a1.name))
            && picker.contains("Kid 020"),
        "{picker}"
    );
}

#[tokio::test]
async fn resolvers_devices_and_subnets_say_their_tenant() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let base = format!("/api/v1/tenants/{}", t.a1.id);
    let (s, r) = api
        .post(
            &format!("{base}/resolvers"),
            json!({"name": "dns", "address": "192.0.2.53"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["tenant_id"], t.a1.id, "{r}");
    let (s, d) = api
        .post(
            &format!("{base}/devices"),
            json!({"name": "box", "identifier": "box-1", "resolver_id": r["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["tenant_id"], t.a1.id, "{d}");
    let (s, n) = api
        .post(
            &format!("{base}/subnets"),
            json!({"cidr": "10.0.0.0/24", "resolver_id": r["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    assert_eq!(n["tenant_id"], t.a1.id, "{n}");
}

#[tokio::test]
async fn a_resize_says_how_much_more_and_an_unchosen_cloud_says_choose() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let shared = cloud(&api, &app.root, "shared", json!({"visibility": "public"})).await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET storage_limit_gb = 250 WHERE id = $1",
            &[&t.a2.id],
        )
        .await
        .unwrap();
    let (s, vm) = vm(&api, &t.a2, shared, "big", 240, 1).await;
    assert_eq!(s, 201, "{vm}");
    let (s, body) = api
        .patch(
            &format!("/api/v1/tenants/{}/instances/{}", t.a2.id, vm["id"]),
            json!({"storage_gb": 251}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_gb"],
        "Storage 240 of 250 GB used; this instance needs 11 GB more."
    );
    app.login_admin().await;
    let (_, error) = refused_form(
        &app,
        &format!("/tenants/{}/instances/new", t.a2.id),
        &[
            ("name", "x"),
            ("cloud_id", ""),
            ("storage_gb", "1"),
            ("memory_gb", "1"),
            ("status", "running"),
        ],
        "cloud_id",
    )
    .await;
    assert_eq!(error.as_deref(), Some("Choose a cloud."));
}

#[tokio::test]
async fn a_user_delete_confirmation_counts_the_instances_they_own() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let shared = cloud(&api, &app.root, "shared", json!({"visibility": "public"})).await;
    let dev = app.user(&t.a2, "dev").await;
    for name in ["one", "two"] {
        let (s, body) = api
            .post(
                &format!("/api/v1/tenants/{}/instances", t.a2.id),
                json!({"name": name, "cloud_id": shared, "owner_id": dev.id,
                       "storage_gb": 1, "memory_gb": 1}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/users/{}/delete", t.a2.id, dev.id),
            &[],
        )
        .await;
    let page = r.text().await.unwrap();
    assert!(
        page.contains("They own 2 instances: those stay, without an owner."),
        "{page}"
    );
}

#[tokio::test]
async fn an_invitation_into_a_full_tenant_warns_the_inviter() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.user(&t.a2, "only").await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET max_users = 1 WHERE id = $1",
            &[&t.a2.id],
        )
        .await
        .unwrap();
    app.login_admin().await;
    let r =
        crate::invitations::invite_grant(&app, &t.a2, "new@example.com", "viewer", "tenant", false)
            .await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", t.a2.id));
    let list = app
        .get_html(&format!("/tenants/{}/invitations", t.a2.id))
        .await;
    assert!(
        list.contains(&format!(
            "Users 1 of 1 used in {}: it cannot be accepted until a user is removed or the limit is raised.",
            t.a2.name
        )),
        "{list}"
    );
}

#[tokio::test]
async fn an_empty_patch_changes_nothing_not_even_updated_at() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let c = cloud(&api, &t.acme, "mine", json!({"visibility": "public"})).await;
    let (s, vm) = vm(&api, &t.a1, c, "v", 1, 1).await;
    assert_eq!(s, 201, "{vm}");
    for path in [
        format!("/api/v1/tenants/{}/clouds/{c}", t.acme.id),
        format!("/api/v1/tenants/{}/instances/{}", t.a1.id, vm["id"]),
    ] {
        let (_, before) = api.get(&path).await;
        let (s, after) = api.patch(&path, json!({})).await;
        assert_eq!(s, 200, "{after}");
        assert_eq!(after["updated_at"], before["updated_at"], "{path}");
        // A real change still moves it.
        let (s, changed) = api.patch(&path, json!({"name": "renamed"})).await;
        assert_eq!(s, 200, "{changed}");
        assert_ne!(changed["updated_at"], before["updated_at"], "{path}");
    }
}
