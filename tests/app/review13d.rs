//! Review of #13 (third round): a failed migration whose source was deleted can
//! still be rolled back (and says why it cannot be retried), in every order a
//! tenant of it can be deleted; a retry checks the mapping against the source as it
//! is now; the migrate form's preview refuses what Start refuses; version 0 is
//! offered for restore with its warning.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::rule_migrations::{app, checksum, locked, runner, setup, start, Setup};
use serde_json::json;
use tenantry::db::models::rule_migration::RuleMigration;
use tenantry::services::rule_migrations::{Mappings, Ran};

/// The run's process died: its lease ran out and the next claim marks it failed
/// (the source unlocked, the target locked).
async fn crash(app: &TestApp, m: &RuleMigration) {
    let mut conn = app.conn().await;
    let now = app.clock.now();
    let claimed = RuleMigration::claim(&mut conn, "dead", now - chrono::Duration::seconds(1), now)
        .await
        .unwrap();
    assert!(claimed.is_some());
    drop(conn);
    let ran = runner(5).tick(&app.pool, || app.clock.now()).await.unwrap();
    assert_eq!(ran, Ran::Recovered(m.id));
}

async fn state(app: &TestApp, m: &RuleMigration) -> String {
    RuleMigration::find(&mut *app.conn().await, m.id)
        .await
        .unwrap()
        .state
}

async fn admin_api(app: &TestApp) -> Api {
    Api::new(app, Some(&token_for(app, &app.admin, false).await))
}

#[tokio::test]
async fn a_deleted_source_leaves_the_target_a_rollback_and_says_why_not_a_retry() {
    let app = app().await;
    let s = setup(&app, 6).await;
    let before = checksum(&app, &s.target).await;
    let m = start(&app, &s).await.unwrap();
    crash(&app, &m).await;
    assert!(!locked(&app, &s.source).await && locked(&app, &s.target).await);
    let api = admin_api(&app).await;
    // The source (with its sub-tenants) goes: nothing of it is locked.
    let (st, v) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", s.source.id))
        .await;
    assert_eq!(st, 204, "{v}");
    // Retry cannot copy from a deleted tenant, and says so.
    let (st, v) = api
        .post(&format!("/api/v1/migrations/{}/retry", m.id), json!({}))
        .await;
    assert_eq!(st, 409, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("was deleted") && detail.contains("can no longer be retried"),
        "{detail}"
    );
    // The page offers Rollback only, and says why.
    app.login_admin().await;
    let html = app.get_html(&format!("/migrations/{}", m.id)).await;
    assert!(html.contains("id=\"rollback-form\""), "{html}");
    assert!(!html.contains("id=\"retry-form\""), "{html}");
    assert!(html.contains("can no longer be retried"), "{html}");
    let r = app
        .post_form(&format!("/migrations/{}/retry", m.id), &[])
        .await;
    assert_eq!(status(&r), 409);
    // Rollback (confirmed on the page) puts the target back exactly and unlocks it.
    let r = app
        .post_form(
            &format!("/migrations/{}/rollback", m.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, &format!("/migrations/{}", m.id));
    assert_eq!(state(&app, &m).await, "rolled_back");
    assert_eq!(checksum(&app, &s.target).await, before);
    assert!(!locked(&app, &s.target).await);
    let r = app.get(&format!("/tenants/{}/rules", s.target.id)).await;
    assert_eq!(status(&r), 200);
    // And the target can be deleted now.
    let (st, v) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", s.target.id))
        .await;
    assert_eq!(st, 204, "{v}");
}

#[tokio::test]
async fn no_order_of_deletes_leaves_a_tenant_locked_for_good() {
    let app = app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    // a1 (under acme) → g1 (under globex); g1 has a rule of its own.
    let (st, v) = api
        .post(
            &format!("/api/v1/tenants/{}/rules", t.g1.id),
            json!({"kind": "allow_ip", "value": "1.2.3.4", "action": "allow"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let s = Setup {
        source: t.a1.clone(),
        target: t.g1.clone(),
        mappings: Mappings::default(),
        expected: vec![],
    };
    let before = checksum(&app, &s.target).await;
    let m = start(&app, &s).await.unwrap();
    crash(&app, &m).await;
    // The target's parent cannot go while the target is locked: 409 naming the
    // migration, which says how to end it.
    let (st, v) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", t.globex.id))
        .await;
    assert_eq!(st, 409, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("migration #{}", m.id)) && detail.contains("roll it back"),
        "{detail}"
    );
    // The source goes with its parent's subtree (a force delete).
    let (st, v) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", t.acme.id))
        .await;
    assert_eq!(st, 204, "{v}");
    let (st, v) = api.get(&format!("/api/v1/migrations/{}", m.id)).await;
    assert_eq!(
        (st, v["source_tenant_id"].clone()),
        (200, json!(null)),
        "{v}"
    );
    // Rollback still works through the API, and the target's parent can go then.
    let (st, v) = api
        .post(&format!("/api/v1/migrations/{}/rollback", m.id), json!({}))
        .await;
    assert_eq!((st, v["state"].as_str()), (200, Some("rolled_back")), "{v}");
    assert_eq!(checksum(&app, &s.target).await, before);
    assert!(!locked(&app, &s.target).await);
    let (st, v) = api
        .delete(&format!("/api/v1/tenants/{}?force=true", t.globex.id))
        .await;
    assert_eq!(st, 204, "{v}");
}

/// Beside `setup`'s: a target application Other with its domain
/// other.example.net, and a source domain free.example.com bound to no
/// application. Returns (Shop, Store, free, other.example.net) ids.
async fn more_objects(app: &TestApp, s: &Setup) -> (i64, i64, i64, i64) {
    let api = admin_api(app).await;
    let post = |path: String, body: serde_json::Value| {
        let api = &api;
        async move {
            let (st, v) = api.post(&path, body).await;
            assert_eq!(st, 201, "{path}: {v}");
            v["id"].as_i64().unwrap()
        }
    };
    let dst = format!("/api/v1/tenants/{}", s.target.id);
    let other = post(format!("{dst}/applications"), json!({"name": "Other"})).await;
    let other_dom = post(
        format!("{dst}/domains"),
        json!({"name": "other.example.net", "application_id": other}),
    )
    .await;
    let free = post(
        format!("/api/v1/tenants/{}/domains", s.source.id),
        json!({"name": "free.example.com"}),
    )
    .await;
    let (&shop, &store) = s
        .mappings
        .applications
        .iter()
        .find(|(_, to)| to.is_some())
        .unwrap();
    (shop, store.unwrap(), free, other_dom)
}

#[tokio::test]
async fn a_retry_checks_the_mapping_against_the_source_as_it_is_now() {
    let app = app().await;
    let mut s = setup(&app, 6).await;
    let (shop, _, free, other_dom) = more_objects(&app, &s).await;
    // free.example.com → other.example.net (Other's): fine while no source rule
    // binds free.example.com to an application.
    s.mappings.domains.insert(free, Some(other_dom));
    let m = start(&app, &s).await.unwrap();
    crash(&app, &m).await;
    // Meanwhile a source rule binds Shop (→ Store) with free.example.com
    // (→ Other's domain): the copy would break the target's own rule.
    let api = admin_api(&app).await;
    let (st, v) = api
        .post(
            &format!("/api/v1/tenants/{}/rules", s.source.id),
            json!({"kind": "block_ip", "value": "9.9.9.9", "action": "block",
                   "application_id": shop, "domain_id": free}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api
        .post(&format!("/api/v1/migrations/{}/retry", m.id), json!({}))
        .await;
    assert_eq!(st, 422, "{v}");
    let e = v["errors"][format!("map_domain_{free}")].as_str().unwrap();
    assert!(
        e.contains("other.example.net belongs to Other")
            && e.contains("an application mapped to Store"),
        "{e}"
    );
    // Nothing changed: still failed, the source unlocked, the target locked, and
    // the page still offers Rollback (and Retry, for once the rule is fixed).
    assert_eq!(state(&app, &m).await, "failed");
    assert!(!locked(&app, &s.source).await && locked(&app, &s.target).await);
    app.login_admin().await;
    let html = app.get_html(&format!("/migrations/{}", m.id)).await;
    assert!(html.contains("id=\"rollback-form\""), "{html}");
    let r = app
        .post_form(
            &format!("/migrations/{}/retry", m.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("belongs to Other"), "{html}");
    assert_eq!(state(&app, &m).await, "failed");
}

#[tokio::test]
async fn the_preview_refuses_a_mapping_start_would_refuse() {
    let app = app().await;
    let s = setup(&app, 6).await;
    let (shop, store, _, other_dom) = more_objects(&app, &s).await;
    // shop.example.com (Shop's, bound with Shop in the source's rules) → Other's
    // domain while Shop → Store.
    let dom = *s.mappings.domains.keys().next().unwrap();
    let blog = *s
        .mappings
        .applications
        .keys()
        .find(|id| **id != shop)
        .unwrap();
    app.login_admin().await;
    let form = format!("/tenants/{}/rules/migrate", s.source.id);
    let fields = [
        ("target".to_string(), s.target.id.to_string()),
        (format!("map_application_{shop}"), store.to_string()),
        (format!("map_application_{blog}"), String::new()),
        (format!("map_domain_{dom}"), other_dom.to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app.post_form(&form, &fields).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let e = field_error(&html, &format!("map_domain_{dom}")).unwrap_or_default();
    assert!(e.contains("belongs to Other"), "{html}");
    assert!(!html.contains("id=\"migrate-summary\""), "{html}");
    assert!(!html.contains("id=\"migrate-start\""), "{html}");
    // Start says the same.
    let mut confirmed = fields.clone();
    confirmed.push(("confirm", "yes"));
    let r = app.post_form(&form, &confirmed).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("belongs to Other"), "{html}");
    assert!(!locked(&app, &s.source).await);
}

#[tokio::test]
async fn version_zero_is_offered_with_its_warning_and_restores_the_empty_set() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let (st, v) = api
        .post(
            &format!("/api/v1/tenants/{}/rules", t.acme.id),
            json!({"kind": "allow_ip", "value": "1.2.3.4", "action": "allow"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    app.login_admin().await;
    let list = format!("/tenants/{}/rules/versions", t.acme.id);
    let html = app.get_html(&list).await;
    assert!(
        html.contains(&format!("action=\"{list}/0/restore\"")),
        "{html}"
    );
    let r = app.post_form(&format!("{list}/0/restore"), &[]).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("every rule is removed"), "{html}");
    let r = app
        .post_form(&format!("{list}/0/restore"), &[("confirm", "yes")])
        .await;
    assert_redirect_to(&r, &list);
    let (st, v) = api
        .get(&format!("/api/v1/tenants/{}/rules", t.acme.id))
        .await;
    assert_eq!(
        (st, v["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{v}"
    );
}

#[tokio::test]
async fn a_cursor_pages_on_only_in_the_tenant_it_was_read_in() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    for tenant in [&t.acme, &t.globex] {
        let b = format!("/api/v1/tenants/{}", tenant.id);
        for i in 0..3 {
            let (st, v) = api
                .post(
                    &format!("{b}/rules"),
                    json!({"kind": "allow_ip", "value": format!("1.2.3.{i}"), "action": "allow"}),
                )
                .await;
            assert_eq!(st, 201, "{v}");
            let (st, v) = api
                .post(
                    &format!("{b}/domains"),
                    json!({"name": format!("d{i}.example.com")}),
                )
                .await;
            assert_eq!(st, 201, "{v}");
            let (st, v) = api
                .post(
                    &format!("{b}/applications"),
                    json!({"name": format!("App {i}")}),
                )
                .await;
            assert_eq!(st, 201, "{v}");
        }
    }
    for list in ["rules", "domains", "applications"] {
        let mine = format!("/api/v1/tenants/{}/{list}", t.acme.id);
        let theirs = format!("/api/v1/tenants/{}/{list}", t.globex.id);
        let (st, first) = api.get(&format!("{mine}?limit=1")).await;
        assert_eq!(st, 200, "{first}");
        let cursor = first["next_cursor"].as_str().unwrap().to_string();
        // In its own tenant it pages on.
        let (st, rest) = api.get(&format!("{mine}?limit=5&cursor={cursor}")).await;
        assert_eq!(st, 200, "{rest}");
        assert_eq!(rest["items"].as_array().unwrap().len(), 2, "{list}: {rest}");
        // In another tenant's list it is refused, naming the parameter.
        let (st, v) = api.get(&format!("{theirs}?limit=5&cursor={cursor}")).await;
        assert_eq!(st, 422, "{list}: {v}");
        assert!(
            v["errors"]["cursor"]
                .as_str()
                .is_some_and(|e| e.contains("another tenant")),
            "{list}: {v}"
        );
        // Not a cursor at all: 422 on `cursor` too, as on every list.
        let (st, v) = api.get(&format!("{theirs}?cursor=abc")).await;
        assert_eq!(st, 422, "{list}: {v}");
        assert!(v["errors"]["cursor"].is_string(), "{list}: {v}");
    }
}

#[tokio::test]
async fn the_diff_comes_in_pages_and_names_applications_and_domains() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = format!("/api/v1/tenants/{}", t.acme.id);
    let id_of = |v: &serde_json::Value| v["id"].as_i64().unwrap();
    let (_, shop) = api
        .post(&format!("{b}/applications"), json!({"name": "Shop"}))
        .await;
    let (_, blog) = api
        .post(&format!("{b}/applications"), json!({"name": "Blog"}))
        .await;
    let (_, dom) = api
        .post(
            &format!("{b}/domains"),
            json!({"name": "shop.example.com", "application_id": id_of(&shop)}),
        )
        .await;
    let rules: Vec<serde_json::Value> = (0..205)
        .map(|i| {
            json!({"kind": "block_ip", "value": format!("10.0.{}.{}", i / 256, i % 256),
                   "action": "block", "application_id": id_of(&shop), "domain_id": id_of(&dom)})
        })
        .collect();
    let (st, v) = api
        .post(&format!("{b}/rules/batch"), json!({ "rules": rules }))
        .await;
    assert!(st == 200 || st == 207, "{v}");
    let (st, one) = api
        .post(
            &format!("{b}/rules"),
            json!({"kind": "allow_ip", "value": "1.1.1.1", "action": "allow",
                   "application_id": id_of(&shop)}),
        )
        .await;
    assert_eq!(st, 201, "{one}");
    let (st, v) = api
        .patch(
            &format!("{b}/rules/{}", id_of(&one)),
            json!({"application_id": id_of(&blog)}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    // The application, the domain and the rules' versions: the last two are the
    // single rule's create and its edit.
    let last = crate::helpers::db(&app)
        .await
        .query_one(
            "SELECT max(version) FROM rule_set_versions WHERE tenant_id = $1",
            &[&t.acme.id],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    app.login_admin().await;
    let list = format!("/tenants/{}/rules/versions", t.acme.id);
    let to = last - 1;
    let html = app.get_html(&format!("{list}?from=0&to={to}")).await;
    let items = |html: &str| html.matches("<li>#").count();
    assert_eq!(items(&html), 200, "one page of changes");
    assert!(html.contains("Rule changes 1–200 of 206"), "{html}");
    assert!(html.contains("diff_page=2"), "{html}");
    assert!(
        html.contains(", application Shop, domain shop.example.com"),
        "{html}"
    );
    let html = app
        .get_html(&format!("{list}?from=0&to={to}&diff_page=2"))
        .await;
    assert_eq!(items(&html), 6, "{html}");
    assert!(html.contains("Rule changes 201–206 of 206"), "{html}");
    // A changed application by name.
    let html = app
        .get_html(&format!("{list}?from={}&to={last}", last - 1))
        .await;
    assert!(html.contains("application Shop → Blog"), "{html}");
    // A page that is not one: 400 naming it.
    let r = app.get(&format!("{list}?from=0&to={to}&diff_page=x")).await;
    assert_eq!(status(&r), 400);
}
