//! Review of #14, findings 2–4: usage bars show the limit that binds from above
//! (named only for who may see its tenant), the acting tenant's navigation links its
//! resources, and an instance count at its limit is the form's general error (a 422
//! on `errors.limit` in the API, as a user limit's), not the name field's.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn usage_bars_show_the_limit_that_binds_from_above() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", app.root.id),
            json!({"name": "shared", "provider": "aws", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let cloud = body["id"].as_i64().unwrap();
    for i in 0..3 {
        let (s, body) = api
            .post(
                &format!("/api/v1/tenants/{}/instances", t.a1.id),
                json!({"name": format!("vm{i}"), "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    // acme is lowered below its subtree's use: nothing more fits anywhere below it.
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET max_instances = 2 WHERE id = $1",
            &[&t.acme.id],
        )
        .await
        .unwrap();
    let seen = format!("0 used here; {}: 3 of 2 used (above the limit", t.acme.name);
    app.login_admin().await;
    let page = app.get_html(&format!("/tenants/{}", t.a1x.id)).await;
    assert!(page.contains(&seen), "{page}");
    // The same on the dashboard, acting in a1x.
    app.post_form("/switch", &[("tenant_id", &t.a1x.id.to_string())])
        .await;
    let page = app.get_html("/dashboard").await;
    assert!(page.contains(&seen), "{page}");
    // a1's administrator does not see acme: the limit is not named.
    let a1admin = subtree_admin(&app, &t.a1, "a1admin").await;
    let page = a1admin.get_html(&format!("/tenants/{}", t.a1x.id)).await;
    assert!(
        page.contains("0 used here; a limit above this tenant: 3 of 2 used"),
        "{page}"
    );
    assert!(!page.contains(&format!("{}: 3 of 2", t.acme.name)));
    // With no limit above, a bar is as before.
    let page = app.get_html(&format!("/tenants/{}", t.g1.id)).await;
    assert!(
        !page.contains("used here;") && page.contains("0 used, no limit"),
        "{page}"
    );
}

#[tokio::test]
async fn the_acting_tenants_navigation_links_its_resources() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    app.post_form("/switch", &[("tenant_id", &t.a1x.id.to_string())])
        .await;
    let page = app.get_html("/dashboard").await;
    for kind in ["instances", "clouds", "resolvers", "devices", "subnets"] {
        assert!(
            page.contains(&format!(
                "href=\"/tenants/{}/{kind}\" id=\"nav-{kind}\"",
                t.a1x.id
            )),
            "{kind}: {page}"
        );
    }
    // A user whose role gives no Resources read there gets none of them.
    let plain = app.user(&t.a2, "plain").await;
    let _ = plain;
    let browser = browser_as(&app, &format!("{}\\plain", t.a2.subdomain)).await;
    let page = browser.get_html("/dashboard").await;
    assert!(!page.contains("id=\"nav-instances\""), "{page}");
}

#[tokio::test]
async fn an_instance_count_at_its_limit_is_the_forms_general_error() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (_, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", app.root.id),
            json!({"name": "shared", "provider": "aws", "visibility": "public"}),
        )
        .await;
    let cloud = body["id"].as_i64().unwrap();
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET max_instances = 1 WHERE id = $1",
            &[&t.a2.id],
        )
        .await
        .unwrap();
    let path = format!("/api/v1/tenants/{}/instances", t.a2.id);
    let vm = |name: &str| json!({"name": name, "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1});
    assert_eq!(api.post(&path, vm("a")).await.0, 201);
    let (s, body) = api.post(&path, vm("b")).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["limit"],
        "Instances: 1 of 1 used; no more instances fit."
    );
    assert!(body["errors"].get("name").is_none(), "{body}");
    // The page: the form again, the refusal above the fields, the name not marked.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/instances/new", t.a2.id),
            &[
                ("name", "b"),
                ("cloud_id", &cloud.to_string()),
                ("storage_gb", "1"),
                ("memory_gb", "1"),
                ("status", "running"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("id=\"form-error\">Instances: 1 of 1 used; no more instances fit."),
        "{page}"
    );
    assert!(!page.contains("id=\"name-error\"") && !page.contains("highlighted fields"));
    assert_eq!(
        db(&app)
            .await
            .query_one("SELECT count(*) FROM instances", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        1
    );
}

#[tokio::test]
async fn the_cloud_list_tells_the_owner_where_its_clouds_are_assigned() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", t.acme.id),
            json!({"name": "pair", "provider": "aws", "visibility": "assigned",
                   "assigned_tenant_ids": [t.a1.id, t.a2.id]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/clouds", t.acme.id),
            json!({"name": "open", "provider": "gcp", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (s, list) = api
        .get(&format!("/api/v1/tenants/{}/clouds", t.acme.id))
        .await;
    assert_eq!(s, 200, "{list}");
    let item = |list: &serde_json::Value, name: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {list}"))
    };
    assert_eq!(
        item(&list, "pair")["assigned_tenant_ids"],
        json!([t.a1.id, t.a2.id])
    );
    assert_eq!(item(&list, "open")["assigned_tenant_ids"], json!([]));
    // The list says what the item says.
    let id = item(&list, "pair")["id"].as_i64().unwrap();
    let (_, one) = api
        .get(&format!("/api/v1/tenants/{}/clouds/{id}", t.acme.id))
        .await;
    assert_eq!(
        one["assigned_tenant_ids"],
        item(&list, "pair")["assigned_tenant_ids"]
    );
    // A receiver's view of the shared cloud never tells where else it is shared.
    let (_, theirs) = api
        .get(&format!("/api/v1/tenants/{}/clouds", t.a1.id))
        .await;
    assert_eq!(item(&theirs, "pair")["assigned_tenant_ids"], json!(null));
}

/// The Clouds page filters and pages like the other resource lists, and refuses a
/// parameter it does not take (400 naming it), as they do.
#[tokio::test]
async fn the_clouds_page_filters_pages_and_names_bad_parameters() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let client = db(&app).await;
    client
        .execute(
            "INSERT INTO clouds (tenant_id, name, provider, visibility) \
             SELECT $1, 'c-' || lpad(g::text, 2, '0'), CASE WHEN g % 2 = 0 THEN 'gcp' ELSE 'aws' END, \
                    CASE WHEN g % 3 = 0 THEN 'public' ELSE 'private' END \
             FROM generate_series(1, 60) g",
            &[&t.acme.id],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO clouds (tenant_id, name, provider, visibility) VALUES ($1, 'from-root', 'vmware', 'public')",
            &[&app.root.id],
        )
        .await
        .unwrap();
    app.login_admin().await;
    let list = format!("/tenants/{}/clouds", t.acme.id);
    let page = |query: &str| {
        let app = &app;
        let path = format!("{list}?{query}");
        async move {
            let r = app.get(&path).await;
            assert_eq!(status(&r), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    let first = page("").await;
    assert!(first.contains("61 clouds."), "{first}");
    assert!(first.contains("Page 1 of 2"));
    assert!(first.contains(">c-01<") && !first.contains(">c-51<"));
    let second = page("page=2").await;
    assert!(
        second.contains(">c-60<") && second.contains(">from-root<"),
        "{second}"
    );
    assert!(!second.contains(">c-01<"));
    let gcp = page("provider=gcp").await;
    assert!(
        gcp.contains("30 clouds.") && !gcp.contains(">c-01<"),
        "{gcp}"
    );
    let shared = page("owner=shared").await;
    assert!(
        shared.contains("1 cloud.") && shared.contains(">from-root<"),
        "{shared}"
    );
    let own_public = page("owner=own&visibility=public").await;
    assert!(own_public.contains("20 clouds."), "{own_public}");
    let search = page("q=C-0&provider=&visibility=&owner=&page=").await;
    assert!(search.contains("9 clouds."), "{search}");
    // The filters survive paging.
    let aws = page("provider=aws&page=1").await;
    assert!(
        aws.contains("30 clouds.") && !aws.contains("Page 1 of"),
        "{aws}"
    );
    // An unknown parameter is ignored, as on every console list (review #14 L4).
    let tagged = page("utm_source=mail&provider=aws").await;
    assert!(tagged.contains("30 clouds."), "{tagged}");
    for (query, name) in [
        ("provider=ibm", "provider"),
        ("visibility=secret", "visibility"),
        ("owner=them", "owner"),
        ("page=0", "page"),
    ] {
        let path = format!("{list}?{query}");
        for r in [app.get(&path).await, app.get_hx(&path).await] {
            assert_eq!(status(&r), 400, "{path}");
            let html = r.text().await.unwrap();
            assert!(html.contains(&format!("“{name}”")), "{path}: {html}");
        }
    }
    let r = app
        .get(&format!("/tenants/{}/instances?page=0", t.acme.id))
        .await;
    assert_eq!(status(&r), 400);
}

/// The Tenant roles list says of each role whether its tenants see the root's
/// public clouds (`public_clouds`, set on the role's form).
#[tokio::test]
async fn the_tenant_roles_list_shows_whether_they_see_the_roots_public_clouds() {
    let app = spawn_app().await;
    let mut conn = app.conn().await;
    let hidden = tenantry::db::models::role::TenantRole::insert(
        &mut conn,
        "No public clouds",
        &tenantry::domain::Permissions::all(tenantry::domain::Level::Full),
    )
    .await
    .unwrap();
    tenantry::db::models::role::TenantRole::set_public_clouds(&mut conn, hidden.id, false)
        .await
        .unwrap();
    drop(conn);
    app.login_admin().await;
    let html = app.get_html("/tenant-roles").await;
    assert!(html.contains("Root&#39;s public clouds") || html.contains("Root's public clouds"));
    let row = |id: i64| {
        let html = &html;
        let start = format!("<a href=\"/tenant-roles/{id}\">");
        between(&html[html.find(&start).unwrap()..], "", "</tr>").to_string()
    };
    assert!(
        row(hidden.id)
            .contains("<td class=\"public-clouds\"><span class=\"hint\">hidden</span></td>"),
        "{html}"
    );
    assert!(
        row(app.root.tenant_role_id).contains("<td class=\"public-clouds\">seen</td>"),
        "{html}"
    );
}
