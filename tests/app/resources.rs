//! Resources (#14 part A): clouds shared down the tree (public, assigned, the tenant
//! role's `public_clouds`), read-only sharing on every path, instances on visible
//! clouds with owners of their tenant, limits at their edges (tenant, ancestor,
//! owner), limits under concurrency, and subtree sums that stay exact through moves.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tenantry::auth::authz::CloudAccess;
use tenantry::db::models::cloud::Cloud;
use tenantry::db::models::Tenant;

// ---------------------------------------------------------------- helpers

/// The partner tree with clouds:
/// - root: `root-public` (public)
/// - acme: `acme-public` (public), `acme-a1` (assigned to a1), `acme-private`
/// - a1: `a1-private`; a1 is a reseller, so `a1-public` (public) too
/// - g1: `g1-private`
struct Clouds {
    tree: PartnerTree,
    ids: std::collections::BTreeMap<&'static str, i64>,
    api: Api,
}

async fn clouds(app: &TestApp) -> Clouds {
    let tree = partner_tree(app).await;
    let api = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let ids = create_clouds(
        &api,
        &[
            (&app.root, "root-public", "public", vec![]),
            (&tree.acme, "acme-public", "public", vec![]),
            (&tree.acme, "acme-a1", "assigned", vec![tree.a1.id]),
            (&tree.acme, "acme-private", "private", vec![]),
            (&tree.a1, "a1-private", "private", vec![]),
            (&tree.a1, "a1-public", "public", vec![]),
            (&tree.g1, "g1-private", "private", vec![]),
        ],
    )
    .await;
    Clouds { tree, ids, api }
}

/// Creates each `(owner, name, visibility, assigned tenants)` cloud (provider aws)
/// through the API: their ids by name.
pub(crate) async fn create_clouds(
    api: &Api,
    clouds: &[(&Tenant, &'static str, &str, Vec<i64>)],
) -> std::collections::BTreeMap<&'static str, i64> {
    let mut ids = std::collections::BTreeMap::new();
    for (tenant, name, visibility, assigned) in clouds {
        let (status, body) = api
            .post(
                &format!("/api/v1/tenants/{}/clouds", tenant.id),
                json!({"name": name, "provider": "aws", "visibility": visibility,
                       "assigned_tenant_ids": assigned}),
            )
            .await;
        assert_eq!(status, 201, "{name}: {body}");
        ids.insert(*name, body["id"].as_i64().unwrap());
    }
    ids
}

/// The names of the clouds the API lists for `tenant`.
async fn listed(api: &Api, tenant: &Tenant) -> BTreeSet<String> {
    let (status, body) = api
        .get(&format!("/api/v1/tenants/{}/clouds?limit=500", tenant.id))
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

/// Every tenant's subtree sums equal what its subtree's instances add up to.
async fn assert_sums_exact(app: &TestApp) {
    let wrong = count(
        app,
        "SELECT count(*) FROM tenant_subtree_totals s LEFT JOIN LATERAL ( \
             SELECT coalesce(sum(i.storage_gb), 0) AS st, coalesce(sum(i.memory_gb), 0) AS me, \
                    count(i.id) AS n \
             FROM instances i JOIN tenant_paths p ON p.tenant_id = i.tenant_id \
             WHERE p.path @> ARRAY[s.tenant_id]) x ON true \
         WHERE s.storage_gb <> x.st OR s.memory_gb <> x.me OR s.instance_count <> x.n",
    )
    .await;
    assert_eq!(wrong, 0, "subtree sums differ from the instances");
}

// ---------------------------------------------------------------- sharing

#[tokio::test]
async fn shared_clouds_reach_descendants_never_siblings_or_cousins() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let expect = [
        (&app.root, vec!["root-public"]),
        (
            &t.acme,
            vec!["root-public", "acme-public", "acme-a1", "acme-private"],
        ),
        (
            &t.a1,
            vec![
                "root-public",
                "acme-public",
                "acme-a1",
                "a1-private",
                "a1-public",
            ],
        ),
        // Below a1: its public cloud and acme's, not the cloud assigned to a1 alone.
        (&t.a1x, vec!["root-public", "acme-public", "a1-public"]),
        // a1's sibling: nothing of a1's, nor what acme assigned to a1.
        (&t.a2, vec!["root-public", "acme-public"]),
        (&t.globex, vec!["root-public"]),
        // A cousin of a1 and a2: nothing of acme's subtree.
        (&t.g1, vec!["root-public", "g1-private"]),
    ];
    for (tenant, want) in &expect {
        assert_eq!(
            listed(&c.api, tenant).await,
            names(want),
            "{}",
            tenant.subdomain
        );
    }
    // The page says who shares, and offers no change of a shared cloud.
    let admin = app.new_browser();
    admin.login_admin().await;
    let html = admin
        .get_html(&format!("/tenants/{}/clouds", t.a1.id))
        .await;
    assert!(html.contains("shared by Tenant acme"), "{html}");
    assert!(
        html.contains("shared by Tenant root")
            || html.contains(&format!("shared by {}", app.root.name))
    );
    assert!(!html.contains(&format!("/clouds/{}/delete", c.ids["acme-public"])));
    assert!(html.contains(&format!("/clouds/{}/delete", c.ids["a1-private"])));
    let html = admin
        .get_html(&format!("/tenants/{}/clouds", t.a2.id))
        .await;
    assert!(
        !html.contains("a1-private") && !html.contains("acme-a1"),
        "{html}"
    );
    // Another tenant's cloud by id: not there, on the page and in the API.
    let r = admin
        .get(&format!(
            "/tenants/{}/clouds/{}",
            t.a2.id, c.ids["a1-private"]
        ))
        .await;
    assert_eq!(status(&r), 404);
    let (s, _) = c
        .api
        .get(&format!(
            "/api/v1/tenants/{}/clouds/{}",
            t.g1.id, c.ids["acme-public"]
        ))
        .await;
    assert_eq!(s, 404);

    // The SQL query and the pure rule agree on every tenant and cloud.
    let mut conn = app.conn().await;
    for (tenant, _) in &expect {
        let tenant = Tenant::find(&mut conn, tenant.id).await.unwrap();
        let seen: BTreeSet<i64> = Cloud::visible(&mut conn, &tenant, None, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.cloud.id)
            .collect();
        for id in c.ids.values() {
            let access = crate::resources_attack::access(&mut conn, &tenant, *id).await;
            assert_eq!(
                seen.contains(id),
                access != CloudAccess::Hidden,
                "{} {id}",
                tenant.subdomain
            );
        }
    }
}

#[tokio::test]
async fn the_switchers_acting_tenant_sees_what_its_pages_show() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    // a1's administrator, switched into a1x below it.
    let admin = subtree_admin(&app, &c.tree.a1, "a1admin").await;
    let r = admin
        .post_form("/switch", &[("tenant_id", &c.tree.a1x.id.to_string())])
        .await;
    assert!(status(&r) == 303 || status(&r) == 200, "{}", status(&r));
    let html = admin
        .get_html(&format!("/tenants/{}/clouds", c.tree.a1x.id))
        .await;
    for name in ["root-public", "acme-public", "a1-public"] {
        assert!(html.contains(name), "{name}: {html}");
    }
    for name in ["acme-a1", "a1-private", "acme-private", "g1-private"] {
        assert!(!html.contains(name), "{name}");
    }
    // a1's private cloud from a1x's path: not there; a2 is not theirs to see at all.
    let r = admin
        .get(&format!(
            "/tenants/{}/clouds/{}",
            c.tree.a1x.id, c.ids["a1-private"]
        ))
        .await;
    assert_eq!(status(&r), 404);
    let r = admin
        .get(&format!("/tenants/{}/clouds", c.tree.a2.id))
        .await;
    assert_eq!(status(&r), 404);
}

#[tokio::test]
async fn the_roots_public_clouds_follow_the_tenant_role() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let cap = capped(
        &app,
        &c.tree.a2,
        "No provider clouds",
        &tenantry::domain::Permissions::all(tenantry::domain::Level::Full),
    )
    .await;
    assert_eq!(
        listed(&c.api, &c.tree.a2).await,
        names(&["root-public", "acme-public"])
    );
    // The tenant-role form's box, unchecked.
    let admin = app.new_browser();
    admin.login_admin().await;
    let mut fields: Vec<(String, String)> = vec![
        ("name".into(), "No provider clouds".into()),
        ("public_clouds_shown".into(), "true".into()),
    ];
    for f in tenantry::domain::Feature::ALL {
        fields.push((format!("perm_{}", f.as_str()), "full".into()));
    }
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    // A root Administrator who is no Owner may not: a2 uses the role, and hiding
    // the clouds takes them away as lowering a cap takes rights (review #14).
    let radmin = app.user(&app.root, "radmin").await;
    app.grant(
        &radmin,
        &app.root,
        tenantry::domain::GrantRole::Administrator,
        tenantry::domain::Scope::Subtree,
        true,
    )
    .await;
    let r = browser_as(&app, "radmin")
        .await
        .post_form(&format!("/tenant-roles/{}", cap.id), &refs)
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        between(&html, "id=\"public_clouds-error\">", "</p>").contains(
            "Only an Owner of the root tenant may lower a cap in use; this takes the \
             root&#39;s public clouds away from the 1 tenant with this role."
        ),
        "{html}"
    );
    assert_eq!(
        listed(&c.api, &c.tree.a2).await,
        names(&["root-public", "acme-public"])
    );
    let r = admin
        .post_form(&format!("/tenant-roles/{}", cap.id), &refs)
        .await;
    assert_eq!(status(&r), 303, "{}", r.text().await.unwrap());
    assert_eq!(listed(&c.api, &c.tree.a2).await, names(&["acme-public"]));
    let html = admin.get_html(&format!("/tenant-roles/{}", cap.id)).await;
    assert!(html.contains("id=\"public_clouds\""), "{html}");
    assert!(!between(&html, "id=\"public_clouds\"", ">").contains("checked"));
}

#[tokio::test]
async fn shared_clouds_are_read_only_on_every_path() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let (a1, shared) = (&c.tree.a1, c.ids["acme-public"]);
    let before = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action LIKE 'cloud.%'",
    )
    .await;
    // API: reading says whose it is; changing it is refused naming the owner.
    let (s, body) = c
        .api
        .get(&format!("/api/v1/tenants/{}/clouds/{shared}", a1.id))
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["shared"], true);
    assert_eq!(body["shared_by"], "Tenant acme");
    let (s, body) = c
        .api
        .patch(
            &format!("/api/v1/tenants/{}/clouds/{shared}", a1.id),
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("shared by Tenant acme"),
        "{body}"
    );
    let (s, _) = c
        .api
        .delete(&format!("/api/v1/tenants/{}/clouds/{shared}", a1.id))
        .await;
    assert_eq!(s, 403);
    // Pages: the cloud's page is read-only, its form posts and deletes are refused.
    let admin = app.new_browser();
    admin.login_admin().await;
    let html = admin
        .get_html(&format!("/tenants/{}/clouds/{shared}", a1.id))
        .await;
    assert!(html.contains("Shared by Tenant acme"), "{html}");
    assert!(!html.contains("id=\"cloud-form\""));
    let r = admin
        .post_form(
            &format!("/tenants/{}/clouds/{shared}", a1.id),
            &[
                ("name", "mine"),
                ("provider", "aws"),
                ("visibility", "private"),
            ],
        )
        .await;
    assert_eq!(status(&r), 403);
    for confirm in [None, Some("yes")] {
        let fields: Vec<(&str, &str)> = confirm.iter().map(|c| ("confirm", *c)).collect();
        let r = admin
            .post_form(
                &format!("/tenants/{}/clouds/{shared}/delete", a1.id),
                &fields,
            )
            .await;
        assert_eq!(status(&r), 403);
    }
    // Nothing changed, nothing audited.
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM clouds WHERE id = {shared} AND name = 'acme-public'")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_events WHERE action LIKE 'cloud.%'"
        )
        .await,
        before
    );
    // Its owner changes it.
    let (s, body) = c
        .api
        .patch(
            &format!("/api/v1/tenants/{}/clouds/{shared}", c.tree.acme.id),
            json!({"provider": "gcp"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["provider"], "gcp");
}

#[tokio::test]
async fn only_the_root_and_resellers_share_and_only_below() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let before = count(&app, "SELECT count(*) FROM clouds").await;
    let post = |tenant: &Tenant, body: Value| {
        let path = format!("/api/v1/tenants/{}/clouds", tenant.id);
        let api = &c.api;
        async move { api.post(&path, body).await }
    };
    // a2 may not have sub-tenants: it cannot share.
    let (s, body) = post(
        &t.a2,
        json!({"name": "x", "provider": "aws", "visibility": "public"}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["visibility"].is_string(), "{body}");
    // Assigned to a sibling, to nobody that exists, to itself: the same field error.
    for bad in [t.a2.id, 999_999, t.a1.id, t.g1.id] {
        let (s, body) = post(
            &t.a1,
            json!({"name": "x", "provider": "aws", "visibility": "assigned", "assigned_tenant_ids": [bad]}),
        )
        .await;
        assert_eq!(s, 422, "{body}");
        assert!(
            body["errors"]["assigned_tenant_ids"]
                .as_str()
                .unwrap()
                .contains("No tenant below"),
            "{body}"
        );
    }
    // Tenants listed on a cloud that is not assigned.
    let (s, body) = post(
        &t.a1,
        json!({"name": "x", "provider": "aws", "visibility": "public", "assigned_tenant_ids": [t.a1x.id]}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    // Bad input on the page: the form again with its errors, 422.
    let admin = app.new_browser();
    admin.login_admin().await;
    let r = admin
        .post_form(
            &format!("/tenants/{}/clouds/new", t.a2.id),
            &[("name", ""), ("provider", "nope"), ("visibility", "public")],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        field_error(&html, "name").is_some() && field_error(&html, "provider").is_some(),
        "{html}"
    );
    let r = admin
        .post_form(
            &format!("/tenants/{}/clouds/new", t.a2.id),
            &[
                ("name", "ok"),
                ("provider", "aws"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "visibility").is_some());
    assert_eq!(count(&app, "SELECT count(*) FROM clouds").await, before);
    // A used cloud is not deleted: 409, it stays.
    let (s, body) = c
        .api
        .post(
            &format!("/api/v1/tenants/{}/instances", t.a2.id),
            json!({"name": "vm", "cloud_id": c.ids["acme-public"], "storage_gb": 1, "memory_gb": 1}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (s, _) = c
        .api
        .delete(&format!(
            "/api/v1/tenants/{}/clouds/{}",
            t.acme.id, c.ids["acme-public"]
        ))
        .await;
    assert_eq!(s, 409);
}

// ---------------------------------------------------------------- instances

#[tokio::test]
async fn instances_run_on_clouds_the_tenant_sees_with_owners_of_the_tenant() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let owner = app.user(&t.a2, "dev").await;
    let stranger = app.user(&t.a1, "other").await;
    let path = format!("/api/v1/tenants/{}/instances", t.a2.id);
    let good = json!({"name": "web", "cloud_id": c.ids["acme-public"], "owner_id": owner.id,
                      "storage_gb": 20, "memory_gb": 4});
    for (field, body) in [
        (
            "cloud_id",
            json!({"name": "x", "cloud_id": c.ids["a1-private"], "storage_gb": 1, "memory_gb": 1}),
        ),
        (
            "cloud_id",
            json!({"name": "x", "cloud_id": 999_999, "storage_gb": 1, "memory_gb": 1}),
        ),
        (
            "owner_id",
            json!({"name": "x", "cloud_id": c.ids["acme-public"], "owner_id": stranger.id, "storage_gb": 1, "memory_gb": 1}),
        ),
        (
            "storage_gb",
            json!({"name": "x", "cloud_id": c.ids["acme-public"], "storage_gb": -1, "memory_gb": 1}),
        ),
        (
            "memory_gb",
            json!({"name": "x", "cloud_id": c.ids["acme-public"], "storage_gb": 1, "memory_gb": -5}),
        ),
        (
            "name",
            json!({"name": " ", "cloud_id": c.ids["acme-public"], "storage_gb": 1, "memory_gb": 1}),
        ),
    ] {
        let (s, body) = c.api.post(&path, body).await;
        assert_eq!(s, 422, "{field}: {body}");
        assert!(body["errors"][field].is_string(), "{field}: {body}");
    }
    let (s, body) = c
        .api
        .post(
            &path,
            json!({"name": "x", "cloud_id": c.ids["acme-public"]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    // The page's form: a negative size and an unknown cloud, kept in the form.
    let admin = app.new_browser();
    admin.login_admin().await;
    let r = admin
        .post_form(
            &format!("/tenants/{}/instances/new", t.a2.id),
            &[
                ("name", "web"),
                ("cloud_id", &c.ids["g1-private"].to_string()),
                ("storage_gb", "-3"),
                ("memory_gb", "2"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert_eq!(
        field_error(&html, "storage_gb").as_deref(),
        Some("A size cannot be negative.")
    );
    // Valid sizes, a cloud of a cousin: "unknown cloud", kept in the form.
    let r = admin
        .post_form(
            &format!("/tenants/{}/instances/new", t.a2.id),
            &[
                ("name", "web"),
                ("cloud_id", &c.ids["g1-private"].to_string()),
                ("storage_gb", "3"),
                ("memory_gb", "2"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(field_error(&html, "cloud_id")
        .unwrap()
        .contains("Unknown cloud"));
    assert_eq!(count(&app, "SELECT count(*) FROM instances").await, 0);
    // The right ones go in, on a shared cloud.
    let (s, body) = c.api.post(&path, good).await;
    assert_eq!(s, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let r = admin
        .post_form(
            &format!("/tenants/{}/instances/new", t.a2.id),
            &[
                ("name", "db"),
                ("cloud_id", &c.ids["root-public"].to_string()),
                ("storage_gb", "5"),
                ("memory_gb", "2"),
                ("status", "stopped"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    // Filters: status, cloud, owner, name.
    let (_, list) = c.api.get(&format!("{path}?status=stopped")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["name"], "db");
    let (_, list) = c.api.get(&format!("{path}?owner_id={}", owner.id)).await;
    assert_eq!(list["items"][0]["id"], id);
    let (_, list) = c
        .api
        .get(&format!("{path}?cloud_id={}&q=WE", c.ids["acme-public"]))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = c.api.get(&format!("{path}?limit=1")).await;
    assert!(list["next_cursor"].is_string());
    let html = admin
        .get_html(&format!(
            "/tenants/{}/instances?status=running&q=web",
            t.a2.id
        ))
        .await;
    assert!(html.contains(">web<") && !html.contains(">db<"), "{html}");
    let r = admin
        .get(&format!("/tenants/{}/instances?status=bogus", t.a2.id))
        .await;
    assert_eq!(status(&r), 400);
    // Edit and delete (with its confirmation).
    let (s, body) = c
        .api
        .patch(
            &format!("{path}/{id}"),
            json!({"memory_gb": 8, "owner_id": null}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["memory_gb"], 8);
    assert!(body["owner_id"].is_null());
    let r = admin
        .post_form(&format!("/tenants/{}/instances/{id}/delete", t.a2.id), &[])
        .await;
    assert_eq!(status(&r), 200);
    assert!(r.text().await.unwrap().contains("Delete the instance web?"));
    let r = admin
        .post_form(
            &format!("/tenants/{}/instances/{id}/delete", t.a2.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(count(&app, "SELECT count(*) FROM instances").await, 1);
    assert_sums_exact(&app).await;
}

// ---------------------------------------------------------------- limits

async fn set_limits(
    app: &TestApp,
    tenant: &Tenant,
    storage: Option<i64>,
    memory: Option<i64>,
    max: Option<i64>,
) {
    db(app)
        .await
        .execute(
            "UPDATE tenants SET storage_limit_gb = $1, memory_limit_gb = $2, max_instances = $3 WHERE id = $4",
            &[&storage, &memory, &max, &tenant.id],
        )
        .await
        .unwrap();
}

fn vm(cloud: i64, name: &str, storage: i64, memory: i64) -> Value {
    json!({"name": name, "cloud_id": cloud, "storage_gb": storage, "memory_gb": memory})
}

#[tokio::test]
async fn limits_allow_their_edge_and_refuse_one_more() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["acme-public"];
    let a2 = format!("/api/v1/tenants/{}/instances", t.a2.id);
    let a1x = format!("/api/v1/tenants/{}/instances", t.a1x.id);

    // The tenant's own limit: 500 GB, 480 used, 20 fits exactly, 21 does not.
    set_limits(&app, &t.a2, Some(500), None, Some(3)).await;
    assert_eq!(c.api.post(&a2, vm(cloud, "a", 480, 1)).await.0, 201);
    let (s, body) = c.api.post(&a2, vm(cloud, "b", 21, 1)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_gb"],
        "Storage 480 of 500 GB used; this instance needs 21 GB."
    );
    let (s, body) = c.api.post(&a2, vm(cloud, "b", 20, 1)).await;
    assert_eq!(s, 201, "{body}");
    // The instance count: 3 allowed, the fourth refused.
    assert_eq!(c.api.post(&a2, vm(cloud, "c", 0, 0)).await.0, 201);
    let (s, body) = c.api.post(&a2, vm(cloud, "d", 0, 0)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["limit"],
        "Instances: 3 of 3 used; no more instances fit."
    );

    // An ancestor's limit covers its subtree: acme 100 GB memory over a1x and a2 (2 used).
    set_limits(&app, &t.acme, None, Some(100), None).await;
    assert_eq!(c.api.post(&a1x, vm(cloud, "m1", 0, 90)).await.0, 201);
    let (s, body) = c.api.post(&a1x, vm(cloud, "m2", 0, 9)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["memory_gb"],
        "Memory 92 of 100 GB used (the limit of Tenant acme, above this tenant); this instance needs 9 GB."
    );
    assert_eq!(c.api.post(&a1x, vm(cloud, "m2", 0, 8)).await.0, 201);
    // Someone who does not see acme is not told its name.
    let a1admin = app.user(&t.a1, "a1admin").await;
    app.grant(
        &a1admin,
        &t.a1,
        tenantry::domain::GrantRole::Administrator,
        tenantry::domain::Scope::Subtree,
        true,
    )
    .await;
    let theirs = Api::new(&app, Some(&token_for(&app, &a1admin, false).await));
    let (s, body) = theirs.post(&a1x, vm(cloud, "m3", 0, 1)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["memory_gb"],
        "Memory 100 of 100 GB used (a limit above this tenant); this instance needs 1 GB."
    );
    // Resizing: growth is checked, shrinking is not.
    let (_, list) = c.api.get(&format!("{a1x}?q=m1")).await;
    let m1 = list["items"][0]["id"].as_i64().unwrap();
    let (s, _) = c
        .api
        .patch(&format!("{a1x}/{m1}"), json!({"memory_gb": 91}))
        .await;
    assert_eq!(s, 422);
    let (s, _) = c
        .api
        .patch(&format!("{a1x}/{m1}"), json!({"memory_gb": 50}))
        .await;
    assert_eq!(s, 200);

    // The owner's limit: 50 GB storage, 30 in use elsewhere in the tenant.
    let dev = app.user(&t.a1x, "dev").await;
    db(&app)
        .await
        .execute(
            "UPDATE users SET storage_limit_gb = 50 WHERE id = $1",
            &[&dev.id],
        )
        .await
        .unwrap();
    let owned = |name: &str, storage: i64| json!({"name": name, "cloud_id": cloud, "owner_id": dev.id, "storage_gb": storage, "memory_gb": 0});
    assert_eq!(c.api.post(&a1x, owned("o1", 30)).await.0, 201);
    let (s, body) = c.api.post(&a1x, owned("o2", 21)).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_gb"],
        "Storage 30 of 50 GB used by dev (the owner's limit); this instance needs 21 GB."
    );
    assert_eq!(c.api.post(&a1x, owned("o2", 20)).await.0, 201);
    // The page says the same as a field error, and keeps the form (the instance
    // count lifted: at its limit, no instance fits whatever its size — the form's
    // general error, `resource_views`).
    set_limits(&app, &t.a2, Some(500), None, None).await;
    let admin = app.new_browser();
    admin.login_admin().await;
    let r = admin
        .post_form(
            &format!("/tenants/{}/instances/new", t.a2.id),
            &[
                ("name", "e"),
                ("cloud_id", &cloud.to_string()),
                ("storage_gb", "1"),
                ("memory_gb", "0"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        field_error(&html, "storage_gb")
            .unwrap()
            .contains("Storage 500 of 500 GB used"),
        "{html}"
    );
    // The tenant page shows its bars.
    let html = admin.get_html(&format!("/tenants/{}", t.a2.id)).await;
    assert!(html.contains("500 of 500 GB used"), "{html}");
    assert_sums_exact(&app).await;
}

#[tokio::test]
async fn limits_hold_under_dozens_of_parallel_creates() {
    // Connections for every request at once: the test is about locks, not about
    // waiting for the pool (a request that gets none is 503 and writes nothing).
    let app = spawn_app_with_env(&[("TENANTRY_DB_POOL_SIZE", "24")]).await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["acme-public"];
    // One tenant: 100 GB, forty creates of 10 GB at once.
    set_limits(&app, &t.a2, Some(100), None, None).await;
    // Two children of one limited reseller: a1 holds 95 GB for a1 and a1x.
    set_limits(&app, &t.a1, Some(95), None, None).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let api = Api::new(&app, c.api.token.as_deref());
        let (tenant, storage) = match i % 4 {
            0 | 1 => (t.a2.id, 10),
            2 => (t.a1.id, 7),
            _ => (t.a1x.id, 6),
        };
        tasks.push(tokio::spawn(async move {
            api.post(
                &format!("/api/v1/tenants/{tenant}/instances"),
                vm(cloud, &format!("vm{i}"), storage, 1),
            )
            .await
        }));
    }
    let (mut created, mut busy) = (0, 0);
    for task in tasks {
        let (s, body) = task.await.unwrap();
        assert!(matches!(s, 201 | 422 | 409 | 503), "{s}: {body}");
        created += usize::from(s == 201);
        // 409: a lock wait ran out, 503: no connection in time, on a very busy
        // machine; nothing was written.
        busy += usize::from(matches!(s, 409 | 503));
    }
    assert!(created > 0);
    let used = |tenant: i64| {
        let app = &app;
        async move {
            count(app, &format!(
                "SELECT coalesce(sum(i.storage_gb), 0)::bigint FROM instances i JOIN tenant_paths p \
                 ON p.tenant_id = i.tenant_id WHERE p.path @> ARRAY[{tenant}::bigint]"
            ))
            .await
        }
    };
    let a2 = used(t.a2.id).await;
    let a1 = used(t.a1.id).await;
    assert!(a2 <= 100, "a2 uses {a2} GB of 100");
    assert!(a1 <= 95, "a1's subtree uses {a1} GB of 95");
    // Every create that could fit did (none was refused on stale sums): what is
    // left is less than the smallest refused one.
    if busy == 0 {
        assert_eq!(a2, 100, "creates that fitted were refused");
        assert!(
            a1 > 95 - 7,
            "a1 uses {a1} GB: creates that fitted were refused"
        );
    }
    assert_sums_exact(&app).await;
}

/// The service's create, called as the API calls it, with `tenant` as the handler
/// read it (before its transaction), on a connection of the pool.
async fn create_in(
    app: &TestApp,
    tenant: &Tenant,
    cloud: i64,
    name: &str,
) -> Result<tenantry::db::models::instance::Instance, tenantry::error::AppError> {
    let mut conn = app.conn().await;
    create_on(&mut conn, app, tenant, cloud, name).await
}

/// [`create_in`] on `conn`: the root administrator creates a 1 GB instance.
pub(crate) async fn create_on(
    conn: &mut diesel_async::AsyncPgConnection,
    app: &TestApp,
    tenant: &Tenant,
    cloud: i64,
    name: &str,
) -> Result<tenantry::db::models::instance::Instance, tenantry::error::AppError> {
    use tenantry::services::instances::{create, InstanceInput};
    let input = InstanceInput {
        name: tenantry::domain::TenantName::parse(name).unwrap(),
        cloud_id: cloud,
        owner_id: None,
        storage_gb: 1,
        memory_gb: 1,
        status: tenantry::domain::resources::InstanceStatus::Running,
    };
    let p = app.principal(&app.admin).await;
    let actor = tenantry::services::Actor::system("test");
    create(
        conn,
        &p,
        &actor,
        tenant,
        Ok::<_, tenantry::error::FieldErrors>(input),
    )
    .await
}

/// A create reads its cloud and locks its owner together with its tenant's path
/// (one round trip): as the tenant was read before the transaction. When the
/// tenant moved in between, it is checked where it is now — the limits of its new
/// path, the totals counted there — never on the path it left.
#[tokio::test]
async fn a_create_racing_a_move_is_checked_on_the_path_its_tenant_has_now() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["root-public"];
    // As the handler read it: under acme, which has room.
    let read = Tenant::find(&mut *app.conn().await, t.a2.id).await.unwrap();
    // Then moved under globex, where no instance fits.
    set_limits(&app, &t.globex, None, None, Some(0)).await;
    let (s, body) = c.api.move_tenant(t.a2.id, t.globex.id).await;
    assert_eq!(s, 200, "{body}");
    match create_in(&app, &read, cloud, "raced").await {
        Err(tenantry::error::AppError::Validation(errors)) => {
            let m = &errors["limit"];
            assert!(m.contains("0 of 0 used") && m.contains("globex"), "{m}")
        }
        other => panic!("expected globex's limit to refuse it, got {other:?}"),
    }
    assert_eq!(count(&app, "SELECT count(*) FROM instances").await, 0);
    // With room there, it is created and counted on globex's path, not acme's.
    set_limits(&app, &t.globex, None, None, Some(1)).await;
    let made = create_in(&app, &read, cloud, "raced").await.unwrap();
    assert_eq!(made.tenant_id, t.a2.id);
    let totals = |id: i64| {
        format!("SELECT instance_count FROM tenant_subtree_totals WHERE tenant_id = {id}")
    };
    assert_eq!(count(&app, &totals(t.globex.id)).await, 1);
    assert_eq!(count(&app, &totals(t.acme.id)).await, 0);
    assert_sums_exact(&app).await;
}

/// The same when the tenant's role changed in between: the cloud is judged by the
/// role it has now (here one that hides the root's public clouds).
#[tokio::test]
async fn a_create_racing_a_tenant_role_change_judges_the_cloud_by_the_role_now() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["root-public"];
    let read = Tenant::find(&mut *app.conn().await, t.a2.id).await.unwrap();
    let client = db(&app).await;
    client
        .execute(
            "INSERT INTO tenant_roles (name, permissions, public_clouds) \
             SELECT 'no-root-clouds', r.permissions, false FROM tenant_roles r \
             JOIN tenants t ON t.tenant_role_id = r.id WHERE t.id = $1",
            &[&t.a2.id],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE tenants SET tenant_role_id = \
             (SELECT id FROM tenant_roles WHERE name = 'no-root-clouds') WHERE id = $1",
            &[&t.a2.id],
        )
        .await
        .unwrap();
    match create_in(&app, &read, cloud, "raced").await {
        Err(tenantry::error::AppError::Validation(errors)) => assert_eq!(
            errors.get("cloud_id").map(String::as_str),
            Some(tenantry::services::instances::UNKNOWN_CLOUD)
        ),
        other => panic!("expected the cloud refused, got {other:?}"),
    }
    assert_eq!(count(&app, "SELECT count(*) FROM instances").await, 0);
}

/// And when the tenant was deleted in between: not found (404), nothing written.
#[tokio::test]
async fn a_create_racing_the_deletion_of_its_tenant_is_not_found() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["root-public"];
    let read = Tenant::find(&mut *app.conn().await, t.a2.id).await.unwrap();
    db(&app)
        .await
        .execute("DELETE FROM tenants WHERE id = $1", &[&t.a2.id])
        .await
        .unwrap();
    let r = create_in(&app, &read, cloud, "raced").await;
    assert!(
        matches!(r, Err(tenantry::error::AppError::NotFound)),
        "{r:?}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM instances").await, 0);
    assert_sums_exact(&app).await;
}

#[tokio::test]
async fn subtree_sums_follow_moves_and_deletes() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["root-public"];
    for (tenant, storage) in [(&t.a1, 10), (&t.a1x, 20), (&t.a2, 40), (&t.g1, 80)] {
        let (s, body) = c
            .api
            .post(
                &format!("/api/v1/tenants/{}/instances", tenant.id),
                vm(cloud, "vm", storage, 2),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    assert_sums_exact(&app).await;
    let (s, body) = c.api.move_tenant(t.a1.id, t.globex.id).await;
    assert_eq!(s, 200, "{body}");
    assert_sums_exact(&app).await;
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT storage_gb FROM tenant_subtree_totals WHERE tenant_id = {}",
                t.globex.id
            )
        )
        .await,
        110
    );
    let (s, body) = c
        .api
        .delete(&format!("/api/v1/tenants/{}?force=true", t.a1.id))
        .await;
    assert!(s == 204 || s == 200, "{s}: {body}");
    assert_sums_exact(&app).await;
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT storage_gb FROM tenant_subtree_totals WHERE tenant_id = {}",
                app.root.id
            )
        )
        .await,
        120
    );
}

#[tokio::test]
async fn tenant_limits_are_set_on_the_form_and_the_api() {
    let app = spawn_app().await;
    let tree = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let path = format!("/api/v1/tenants/{}", tree.a1.id);
    let (s, body) = api
        .patch(&path, json!({"storage_limit_gb": 500, "max_instances": 0}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["storage_limit_gb"], 500);
    assert_eq!(body["max_instances"], 0);
    assert!(body["memory_limit_gb"].is_null());
    // Negative: a field error, nothing changed; null removes a limit.
    let (s, body) = api.patch(&path, json!({"memory_limit_gb": -1})).await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["memory_limit_gb"].is_string(), "{body}");
    let (s, body) = api.patch(&path, json!({"storage_limit_gb": null})).await;
    assert_eq!(s, 200, "{body}");
    assert!(body["storage_limit_gb"].is_null());
    assert_eq!(body["max_instances"], 0);
    // The edit form shows and saves them; empty is unlimited.
    let admin = app.new_browser();
    admin.login_admin().await;
    let html = admin
        .get_html(&format!("/tenants/{}/edit", tree.a1.id))
        .await;
    assert!(html.contains("id=\"storage_limit_gb\""), "{html}");
    let r = admin
        .post_form(
            &format!("/tenants/{}/edit", tree.a1.id),
            &[
                ("name", "Tenant a1"),
                ("subdomain", "a1"),
                ("description", ""),
                ("custom_domain", ""),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
                ("storage_limit_gb", "-2"),
                ("memory_limit_gb", "64"),
                ("max_instances", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "storage_limit_gb").is_some());
    let r = admin
        .post_form(
            &format!("/tenants/{}/edit", tree.a1.id),
            &[
                ("name", "Tenant a1"),
                ("subdomain", "a1"),
                ("description", ""),
                ("custom_domain", ""),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
                ("storage_limit_gb", "100"),
                ("memory_limit_gb", "64"),
                ("max_instances", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let t = app.reload(&tree.a1).await.unwrap();
    assert_eq!(t.limits.storage_limit_gb, Some(100));
    assert_eq!(t.limits.memory_limit_gb, Some(64));
    assert_eq!(t.limits.max_instances, None);
}

// ---------------------------------------------------------------- set-wise totals (#14)

/// The per-tenant instance counters equal a recount.
async fn assert_counts_exact(app: &TestApp) {
    let wrong = count(
        app,
        "SELECT count(*) FROM tenants t WHERE t.instance_count <> \
         (SELECT count(*) FROM instances i WHERE i.tenant_id = t.id)",
    )
    .await;
    assert_eq!(
        wrong, 0,
        "tenants.instance_count differs from the instances"
    );
}

#[tokio::test]
async fn thousands_of_instances_change_in_one_statement_quickly_and_exactly() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let client = db(&app).await;
    let ids = vec![t.a1.id, t.a1x.id, t.a2.id, t.g1.id];
    // One statement each way: the per-row triggers took minutes for 10,000 here.
    let started = std::time::Instant::now();
    client
        .execute(
            "INSERT INTO instances (tenant_id, name, storage_gb, memory_gb) \
             SELECT ($1::bigint[])[1 + g % 4], 'bulk-' || g, 1 + g % 7, 2 FROM generate_series(1, 20000) g",
            &[&ids],
        )
        .await
        .unwrap();
    assert_sums_exact(&app).await;
    assert_counts_exact(&app).await;
    client
        .execute(
            "UPDATE instances SET storage_gb = storage_gb + 1, \
             tenant_id = CASE WHEN tenant_id = $1 THEN $2 ELSE tenant_id END",
            &[&t.a2.id, &t.g1.id],
        )
        .await
        .unwrap();
    assert_sums_exact(&app).await;
    assert_counts_exact(&app).await;
    // An instance inserted and deleted in one transaction counts nothing.
    client
        .batch_execute(&format!(
            "BEGIN; INSERT INTO instances (tenant_id, name, storage_gb, memory_gb) VALUES ({}, 'brief', 5, 5); \
             DELETE FROM instances WHERE name = 'brief'; COMMIT;",
            t.a2.id
        ))
        .await
        .unwrap();
    client
        .execute("DELETE FROM instances WHERE id % 3 = 0", &[])
        .await
        .unwrap();
    assert_sums_exact(&app).await;
    assert_counts_exact(&app).await;
    // A force delete of a subtree holding thousands of them.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (s, body) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", t.a1.id))
        .await;
    assert!(s == 204 || s == 200, "{s}: {body}");
    assert_sums_exact(&app).await;
    assert_counts_exact(&app).await;
    client.execute("DELETE FROM instances", &[]).await.unwrap();
    assert_sums_exact(&app).await;
    assert_eq!(
        count(&app, "SELECT count(*) FROM tenant_subtree_totals WHERE instance_count <> 0 OR storage_gb <> 0").await,
        0
    );
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
}

#[tokio::test]
async fn a_refused_create_or_resize_leaves_nothing_behind() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["acme-public"];
    let a2 = format!("/api/v1/tenants/{}/instances", t.a2.id);
    set_limits(&app, &t.acme, Some(100), None, None).await;
    let (s, first) = c.api.post(&a2, vm(cloud, "a", 60, 1)).await;
    assert_eq!(s, 201, "{first}");
    let (s, body) = c.api.post(&a2, vm(cloud, "b", 41, 1)).await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = c
        .api
        .patch(&format!("{a2}/{}", first["id"]), json!({"storage_gb": 101}))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_gb"],
        "Storage 60 of 100 GB used (the limit of Tenant acme, above this tenant); this instance needs 41 GB more.",
        "{body}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM instances").await, 1);
    assert_sums_exact(&app).await;
    assert_counts_exact(&app).await;
}

#[tokio::test]
async fn a_patch_refuses_null_for_every_field_that_cannot_be_cleared() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["acme-private"];
    let base = format!("/api/v1/tenants/{}", t.acme.id);
    let (s, vm1) = c
        .api
        .post(&format!("{base}/instances"), vm(cloud, "vm1", 1, 1))
        .await;
    assert_eq!(s, 201, "{vm1}");
    let (s, r) = c
        .api
        .post(
            &format!("{base}/resolvers"),
            json!({"name": "dns", "address": "192.0.2.53"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, d) = c
        .api
        .post(
            &format!("{base}/devices"),
            json!({"name": "d", "identifier": "d-1", "resolver_id": r["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let (s, n) = c
        .api
        .post(
            &format!("{base}/subnets"),
            json!({"cidr": "10.0.0.0/24", "resolver_id": r["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    let not_null = "May not be null: send a value, or leave the field out to keep it.";
    for (path, fields) in [
        (
            format!("{base}/instances/{}", vm1["id"]),
            vec!["name", "cloud_id", "storage_gb", "memory_gb", "status"],
        ),
        (
            format!("{base}/clouds/{cloud}"),
            vec!["name", "provider", "visibility", "assigned_tenant_ids"],
        ),
        (
            format!("{base}/resolvers/{}", r["id"]),
            vec!["name", "address"],
        ),
        (
            format!("{base}/devices/{}", d["id"]),
            vec!["name", "identifier", "resolver_id"],
        ),
        (
            format!("{base}/subnets/{}", n["id"]),
            vec!["cidr", "resolver_id"],
        ),
    ] {
        let (_, before) = c.api.get(&path).await;
        // Each alone, then all together: each named, nothing changed.
        for field in &fields {
            let (s, body) = c.api.patch(&path, json!({ *field: null })).await;
            assert_eq!(s, 422, "{path} {field}: {body}");
            assert_eq!(body["errors"][field], not_null, "{path}: {body}");
        }
        let all: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| (f.to_string(), Value::Null))
            .collect();
        let (s, body) = c.api.patch(&path, Value::Object(all)).await;
        assert_eq!(s, 422, "{path}: {body}");
        for field in &fields {
            assert_eq!(body["errors"][field], not_null, "{path} {field}: {body}");
        }
        let (_, after) = c.api.get(&path).await;
        assert_eq!(before, after, "{path} changed");
    }
    // The fields that may be cleared still are.
    let (s, body) = c
        .api
        .patch(
            &format!("{base}/instances/{}", vm1["id"]),
            json!({"owner_id": null}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = c
        .api
        .patch(
            &format!("{base}/resolvers/{}", r["id"]),
            json!({"policy_id": null}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

// ---------------------------------------------------------------- deletes under creates

/// Holds `tenant`'s delete guard exclusive in an open transaction, as a delete of it
/// in progress does (`Tenant::guard_delete`), until the client is dropped.
async fn deleting(app: &TestApp, tenant: &Tenant) -> tokio_postgres::Client {
    let client = db(app).await;
    client.batch_execute("BEGIN").await.unwrap();
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1, ($2::bigint & 2147483647)::int)",
            &[&tenantry::db::models::tenant::DELETE_GUARD, &tenant.id],
        )
        .await
        .unwrap();
    client
}

/// The instances of `tenant` and of the tenants below it (as the tree is now; once
/// they are deleted, an instance left of them has no tenant: checked apart).
async fn instances_in(app: &TestApp, tenant: &Tenant) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) FROM instances i WHERE i.tenant_id = {id} OR i.tenant_id IN \
             (SELECT tenant_id FROM tenant_paths WHERE path @> ARRAY[{id}::bigint])",
            id = tenant.id
        ),
    )
    .await
}

#[tokio::test]
async fn nothing_is_added_under_a_tenant_being_deleted() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["acme-public"];
    let create = |tenant: i64, name: &'static str| {
        let api = &c.api;
        async move {
            api.post(
                &format!("/api/v1/tenants/{tenant}/instances"),
                vm(cloud, name, 1, 1),
            )
            .await
        }
    };
    let guard = deleting(&app, &t.a1).await;
    // a1 and everything below it: refused at once, naming why; nothing written.
    for (tenant, name) in [(t.a1.id, "in-a1"), (t.a1x.id, "in-a1x")] {
        let (s, body) = create(tenant, name).await;
        assert_eq!(s, 409, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("being deleted"),
            "{body}"
        );
    }
    let (s, body) = c
        .api
        .post(
            &format!("/api/v1/tenants/{}/clouds", t.a1.id),
            json!({"name": "late", "provider": "aws", "visibility": "private",
                   "assigned_tenant_ids": []}),
        )
        .await;
    assert_eq!(s, 409, "{body}");
    // Above it and beside it, creates go on.
    assert_eq!(create(t.acme.id, "in-acme").await.0, 201);
    assert_eq!(create(t.a2.id, "in-a2").await.0, 201);
    // The delete rolled back: a1 takes creates again.
    guard.batch_execute("ROLLBACK").await.unwrap();
    let (s, body) = create(t.a1x.id, "after").await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(instances_in(&app, &t.a1).await, 1);
    assert_sums_exact(&app).await;
}

#[tokio::test]
async fn a_force_delete_goes_through_a_stream_of_creates_and_leaves_nothing() {
    let app = spawn_app_with_env(&[("TENANTRY_DB_POOL_SIZE", "16")]).await;
    let c = clouds(&app).await;
    let t = &c.tree;
    let cloud = c.ids["acme-public"];
    set_limits(&app, &t.acme, Some(100_000), Some(100_000), Some(100_000)).await;
    let created = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    // Creates in a1 and a1x, one after the other on each of six connections, until
    // their tenant is gone (or a bounded number of rounds).
    for i in 0..6 {
        let api = Api::new(&app, c.api.token.as_deref());
        let tenant = if i % 2 == 0 { t.a1.id } else { t.a1x.id };
        let (created, stop) = (created.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 0..2000 {
                let (s, body) = api
                    .post(
                        &format!("/api/v1/tenants/{tenant}/instances"),
                        vm(cloud, &format!("vm{i}-{n}"), 1, 1),
                    )
                    .await;
                if s == 201 {
                    created.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                answers.push((s, body));
                if s == 404 || stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
            }
            answers
        }));
    }
    // The delete starts once the stream runs.
    for _ in 0..3000 {
        if created.load(std::sync::atomic::Ordering::SeqCst) >= 12 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(created.load(std::sync::atomic::Ordering::SeqCst) >= 12);
    let deleted = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        c.api
            .delete(&format!("/api/v1/tenants/{}?force=true", t.a1.id)),
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (s, body) = deleted.expect("the force delete never finished");
    assert_eq!(s, 204, "{body}");
    for task in tasks {
        for (s, body) in task.await.unwrap() {
            // Created before the delete; refused while it ran; its tenant gone after.
            assert!(matches!(s, 201 | 409 | 404), "{s}: {body}");
        }
    }
    for tenant in [&t.a1, &t.a1x] {
        assert!(
            app.reload(tenant).await.is_none(),
            "{} is left",
            tenant.name
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM instances i WHERE NOT EXISTS \
             (SELECT 1 FROM tenants t WHERE t.id = i.tenant_id)"
        )
        .await,
        0
    );
    assert_eq!(instances_in(&app, &t.a1).await, 0);
    assert_sums_exact(&app).await;
}

/// Review #14: sharing goes with sub-tenants, so a tenant whose plan lacks them
/// starts sharing nothing new (create, or a private cloud made public or assigned:
/// 422 on `visibility`, nothing written); what it shared before stays shared and
/// stays editable, as its sub-tenants stay.
#[tokio::test]
async fn a_plan_without_sub_tenants_starts_no_new_sharing() {
    let app = spawn_app().await;
    let c = clouds(&app).await;
    let a1 = &c.tree.a1;
    let (s, plan) = c
        .api
        .post(
            "/api/v1/plans",
            json!({"name": "Basic", "sub_tenants": false}),
        )
        .await;
    assert_eq!(s, 201, "{plan}");
    let (s, e) = c
        .api
        .patch(
            &format!("/api/v1/tenants/{}", a1.id),
            json!({"plan_id": plan["id"]}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let why = "Sharing clouds goes with sub-tenants, which are not in plan Basic: keep it private.";
    for visibility in ["public", "assigned"] {
        let (s, e) = c
            .api
            .post(
                &format!("/api/v1/tenants/{}/clouds", a1.id),
                json!({"name": "new-shared", "provider": "aws", "visibility": visibility,
                       "assigned_tenant_ids": if visibility == "assigned" { vec![c.tree.a1x.id] } else { vec![] }}),
            )
            .await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["errors"]["visibility"], why, "{e}");
        let (s, e) = c
            .api
            .patch(
                &format!("/api/v1/tenants/{}/clouds/{}", a1.id, c.ids["a1-private"]),
                json!({"visibility": visibility,
                       "assigned_tenant_ids": if visibility == "assigned" { vec![c.tree.a1x.id] } else { vec![] }}),
            )
            .await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["errors"]["visibility"], why, "{e}");
    }
    // The console form says the same.
    let admin = app.new_browser();
    admin.login_admin().await;
    let r = admin
        .post_form(
            &format!("/tenants/{}/clouds/new", a1.id),
            &[
                ("name", "form-shared"),
                ("provider", "aws"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains(why));
    // What a1 shared before stays shared, and may still be renamed; private is fine.
    let (s, e) = c
        .api
        .patch(
            &format!("/api/v1/tenants/{}/clouds/{}", a1.id, c.ids["a1-public"]),
            json!({"name": "a1-public-renamed"}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    assert!(listed(&c.api, &c.tree.a1x)
        .await
        .contains("a1-public-renamed"));
    // Narrowed to one assignee: less sharing, not more.
    let (s, e) = c
        .api
        .patch(
            &format!("/api/v1/tenants/{}/clouds/{}", a1.id, c.ids["a1-public"]),
            json!({"visibility": "assigned", "assigned_tenant_ids": [c.tree.a1x.id]}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let (s, e) = c
        .api
        .post(
            &format!("/api/v1/tenants/{}/clouds", a1.id),
            json!({"name": "still-private", "provider": "aws", "visibility": "private"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM clouds WHERE name IN ('new-shared', 'form-shared')"
        )
        .await,
        0
    );
}
