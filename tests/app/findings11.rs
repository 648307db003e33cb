//! Issue #11's last findings: the Tenants list's total columns sort by the subtree
//! totals they show, "N sub-tenants you cannot see" on `within=` and the dashboard,
//! error pages in the console's frame, and one answer per bad filter (400 for a value
//! outside its list or a malformed id, 404 for a tenant one may not see).

use crate::api::{token_for, Api};
use crate::helpers::*;
use tenantry::domain::{GrantRole, Scope};

/// The tenant ids of the Tenants page's rows, in the order it lists them.
fn row_ids(html: &str) -> Vec<i64> {
    html.split("data-tenant-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_total_columns_sort_by_subtree_totals_both_ways_across_pages() {
    let app = spawn_app().await;
    // Own users / subtree users, own instances / subtree instances:
    //   p  (reseller)  1 / 5    0 / 1
    //   └ pc           4 / 4    1 / 1
    //   q              3 / 3    4 / 4
    //   r  (reseller)  0 / 0    2 / 5
    //   └ rc           0 / 0    3 / 3
    let p = app.tenant(&app.root, "p", true).await;
    let pc = app.tenant(&p, "pc", false).await;
    let q = app.tenant(&app.root, "q", false).await;
    let r = app.tenant(&app.root, "r", true).await;
    let rc = app.tenant(&r, "rc", false).await;
    for (tenant, users, instances) in [(&p, 1, 0), (&pc, 4, 1), (&q, 3, 4), (&r, 0, 2), (&rc, 0, 3)]
    {
        for i in 0..users {
            app.user(tenant, &format!("{}-u{i}", tenant.subdomain))
                .await;
        }
        let client = db(&app).await;
        for _ in 0..instances {
            client
                .execute(
                    "INSERT INTO instances (tenant_id, name) VALUES ($1, 'vm')",
                    &[&tenant.id],
                )
                .await
                .unwrap();
        }
    }
    app.login_admin().await;
    let ids = |ts: [&tenantry::db::models::Tenant; 5]| ts.map(|t| t.id).to_vec();
    // By own counts p (one user) would come before q (three). Ties (r and rc: no
    // users) go by id, reversed with the direction.
    for (sort, dir, expected) in [
        ("users", "asc", ids([&r, &rc, &q, &pc, &p])),
        ("users", "desc", ids([&p, &pc, &q, &rc, &r])),
        ("instances", "asc", ids([&p, &pc, &rc, &q, &r])),
        ("instances", "desc", ids([&r, &q, &rc, &pc, &p])),
    ] {
        let mut listed = Vec::new();
        for page in 1..=3 {
            let html = app
                .get_html(&format!(
                    "/tenants?sort={sort}&dir={dir}&per_page=2&page={page}"
                ))
                .await;
            listed.extend(row_ids(&html));
        }
        assert_eq!(listed, expected, "sort={sort}&dir={dir}");
    }
}

/// Vic, at home in g1, sees acme (alone) and a1's subtree; acting in acme, a2, a3 and
/// a3x are below it out of his sight.
async fn vic_in_acme(app: &TestApp) -> (PartnerTree, TestApp) {
    let t = partner_tree(app).await;
    let a3 = app.tenant(&t.acme, "a3", true).await;
    app.tenant(&a3, "a3x", false).await;
    let vic = app.user(&t.g1, "vic").await;
    app.grant(&vic, &t.acme, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    app.grant(&vic, &t.a1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let browser = browser_as(app, "g1\\vic").await;
    let r = browser
        .post_form("/switch", &[("tenant_id", &t.acme.id.to_string())])
        .await;
    assert_redirect_to(&r, "/dashboard");
    (t, browser)
}

#[tokio::test]
async fn the_hidden_count_shows_on_within_the_acting_tenant_and_on_the_dashboard() {
    let app = spawn_app().await;
    let (t, vic) = vic_in_acme(&app).await;
    let note = "3 sub-tenants you cannot see";
    let plain = vic.get_html("/tenants").await;
    assert!(plain.contains(note), "{plain}");
    let within = vic
        .get_html(&format!("/tenants?within={}", t.acme.id))
        .await;
    assert!(within.contains(note), "{within}");
    assert!(within.contains("Tenant a1x") && !within.contains("Tenant a3x"));
    // A page past the end of the rows still says it.
    let far = vic
        .get_html(&format!("/tenants?within={}&page=9", t.acme.id))
        .await;
    assert!(far.contains(note), "{far}");
    let dashboard = vic.get_html("/dashboard").await;
    let card = between(&dashboard, "id=\"card-subtenants\"", "</a>");
    assert!(card.contains(">2<") && card.contains(note), "{card}");
    // Who sees the whole subtree is told nothing of the kind.
    app.login_admin().await;
    let r = app
        .post_form("/switch", &[("tenant_id", &t.acme.id.to_string())])
        .await;
    assert_redirect_to(&r, "/dashboard");
    for path in [
        "/dashboard".to_string(),
        format!("/tenants?within={}", t.acme.id),
    ] {
        let html = app.get_html(&path).await;
        assert!(!html.contains("you cannot see"), "{path}: {html}");
    }
}

#[tokio::test]
async fn error_pages_have_the_consoles_frame_and_name_nothing_unseen() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let alice = subtree_admin(&app, &t.acme, "alice").await;
    for (path, code) in [
        (format!("/tenants/{}", t.globex.id), 404),
        ("/tenants/99999999".to_string(), 404),
        (format!("/tenants?within={}", t.g1.id), 404),
        ("/tenants?status=foo".to_string(), 400),
        // Her grant does not reach acme's parent: acme itself is not hers to delete.
        (format!("/tenants/{}/delete", t.acme.id), 403),
    ] {
        let r = alice.get(&path).await;
        assert_eq!(status(&r), code, "{path}");
        let html = r.text().await.unwrap();
        let nav = between(&html, "<nav class=\"mainnav\"", "</nav>");
        assert!(
            nav.contains(&format!("href=\"/tenants/{}/users\"", t.acme.id)),
            "{path}: {nav}"
        );
        let crumbs = between(&html, "id=\"breadcrumb\"", "</nav>");
        assert!(crumbs.contains("Tenant acme"), "{path}: {crumbs}");
        for unseen in ["Tenant globex", "Tenant g1"] {
            assert!(!html.contains(unseen), "{path}: {html}");
        }
        assert!(html.contains(&format!("Error {code}.")), "{path}");
    }
    // Switched, the CSRF guard's refusal shows the banner and the way home too.
    let r = alice
        .post_form("/switch", &[("tenant_id", &t.a1.id.to_string())])
        .await;
    assert_redirect_to(&r, "/dashboard");
    let r = alice
        .client
        .post(alice.url(&format!("/tenants/{}/disable", t.a1x.id)))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    let html = r.text().await.unwrap();
    let banner = between(&html, "id=\"context-banner\"", "</div>");
    assert!(
        banner.contains("Acting in <strong>Tenant a1</strong>")
            && banner.contains("Return to Tenant acme"),
        "{html}"
    );
    assert!(html.contains("<nav class=\"mainnav\""), "{html}");
    // Nothing changed.
    assert!(app.reload(&t.a1x).await.unwrap().enabled);
    // Without a session the refusal stays the plain page.
    let anonymous = app.new_browser();
    let r = anonymous
        .client
        .post(anonymous.url("/logout"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    assert!(!r.text().await.unwrap().contains("mainnav"));
}

#[tokio::test]
async fn every_bad_filter_has_one_answer_in_the_console_and_the_api() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let alice_user = app.user(&t.acme, "alice").await;
    app.grant(
        &alice_user,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let alice = browser_as(&app, "acme\\alice").await;
    let api = Api::new(&app, Some(&token_for(&app, &alice_user, true).await));
    let (acme, globex) = (t.acme.id, t.globex.id);
    // (path, status, the parameter a 400 names)
    let console = [
        ("/tenants?status=foo".to_string(), 400, "status"),
        ("/tenants?kind=x".to_string(), 400, "kind"),
        ("/tenants?within=abc".to_string(), 400, "within"),
        ("/tenants?parent=abc".to_string(), 400, "parent"),
        ("/users?within=abc".to_string(), 400, "within"),
        (format!("/tenants/{acme}/activity?scope=bad"), 400, "scope"),
        (
            format!("/tenants/{acme}/activity?action=nope"),
            400,
            "action",
        ),
        (
            format!("/tenants/{acme}/activity.csv?scope=bad"),
            400,
            "scope",
        ),
        ("/tenants?within=99999".to_string(), 404, ""),
        ("/tenants?parent=99999".to_string(), 404, ""),
        ("/users?within=99999".to_string(), 404, ""),
        (format!("/tenants?within={globex}"), 404, ""),
        (format!("/tenants?parent={globex}"), 404, ""),
        (format!("/users?within={globex}"), 404, ""),
        (format!("/tenants/tree?parent={globex}"), 404, ""),
    ];
    for (path, code, name) in &console {
        let r = alice.get(path).await;
        assert_eq!(status(&r), *code, "{path}");
        let body = r.text().await.unwrap();
        if *code == 400 {
            assert!(
                body.contains(&format!("The query parameter “{name}”")),
                "{path}: {body}"
            );
        }
    }
    let apis = [
        ("/api/v1/tenants?status=foo".to_string(), 400, "status"),
        ("/api/v1/tenants?kind=x".to_string(), 400, "kind"),
        ("/api/v1/tenants?within=abc".to_string(), 400, "within"),
        (
            format!("/api/v1/tenants/{acme}/activity?scope=bad"),
            400,
            "scope",
        ),
        (
            format!("/api/v1/tenants/{acme}/activity?action=nope"),
            400,
            "action",
        ),
        ("/api/v1/tenants?within=99999".to_string(), 404, ""),
        ("/api/v1/tenants?parent=99999".to_string(), 404, ""),
        ("/api/v1/tenants?subtree=99999".to_string(), 404, ""),
        (format!("/api/v1/tenants?within={globex}"), 404, ""),
        (format!("/api/v1/tenants?parent={globex}"), 404, ""),
    ];
    for (path, code, name) in &apis {
        let (s, body) = api.get(path).await;
        assert_eq!(s, *code, "{path}: {body}");
        if *code == 400 {
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("“{name}”")),
                "{path}: {body}"
            );
        }
    }
    // The values in the lists are taken.
    for path in [
        "/tenants?status=disabled&kind=reseller".to_string(),
        format!("/tenants/{acme}/activity?scope=subtree&action=tenant.update"),
        format!("/tenants?within={acme}"),
    ] {
        assert_eq!(status(&alice.get(&path).await), 200, "{path}");
    }
}

/// The OpenAPI document states the filters' lists, so that a value outside them is a
/// request the schema already refuses (its 400 is expected), and a 404 for the lists
/// that name a tenant.
#[tokio::test]
async fn the_api_document_lists_the_filter_values_and_the_404() {
    let app = spawn_app().await;
    let (_, doc) = Api::new(&app, None).get("/api/v1/openapi.json").await;
    let text = doc.to_string();
    for path in ["/api/v1/tenants", "/api/v1/tenants/{id}/activity"] {
        let op = &doc["paths"][path]["get"];
        assert!(op["responses"]["404"].is_object(), "{path}");
        assert!(op["responses"]["400"].is_object(), "{path}");
    }
    for values in [
        "[\"enabled\",\"disabled\"]",
        "[\"reseller\",\"customer\"]",
        "[\"tenant\",\"subtree\"]",
    ] {
        assert!(text.contains(values), "{values}");
    }
}
