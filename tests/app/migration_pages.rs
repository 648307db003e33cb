//! The rule-set migration pages (#13 part B) as a user drives them over HTTP: the
//! "Migrate rules…" link, the target search (with and without htmx), the mapping's
//! selects, the preview, the start (303 to the migration), the progress page and
//! the locked pages' bar (htmx polling, a meta refresh without JavaScript), the
//! runner finishing (in-process), the success notice; a failure rolled back and
//! retried from the migration's page with confirmations; 404 for whoever may not
//! see a migration; bad input as field errors, never a 500.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::json;
use tenantry::db::models::rule_migration::RuleMigration;
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Scope};
use tenantry::services::rule_migrations::{self as service, Ran, Runner};

/// The app with its own runner idle (a poll of an hour): the tests run the jobs.
pub(crate) async fn app() -> TestApp {
    spawn_app_with_env(&[("TENANTRY_MIGRATION_POLL_MS", "3600000")]).await
}

pub(crate) async fn run(app: &TestApp) -> Ran {
    Runner {
        batch: 4,
        ..Runner::new(std::time::Duration::from_secs(30))
    }
    .tick(&app.pool, || app.clock.now())
    .await
    .unwrap()
}

/// Source `acme`: applications Shop and Blog, domain shop.example.com (Shop), ten
/// rules (some bound to Shop and the domain). Target `globex`: application Shop
/// (same name: suggested) and Store, domain store.example.net, two rules. `g1`
/// has an application of its own (another tenant's, for a forged mapping).
pub(crate) struct Setup {
    pub(crate) t: PartnerTree,
    pub(crate) shop: i64,
    pub(crate) blog: i64,
    pub(crate) dom: i64,
    pub(crate) globex_shop: i64,
    pub(crate) store: i64,
    pub(crate) store_dom: i64,
    pub(crate) g1_app: i64,
}

impl Setup {
    fn source(&self) -> &Tenant {
        &self.t.acme
    }
    fn target(&self) -> &Tenant {
        &self.t.globex
    }
    fn form(&self) -> String {
        format!("/tenants/{}/rules/migrate", self.t.acme.id)
    }
}

pub(crate) async fn setup(app: &TestApp) -> Setup {
    let t = partner_tree(app).await;
    let api = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let post = |path: String, body: serde_json::Value| {
        let api = &api;
        async move {
            let (s, v) = api.post(&path, body).await;
            assert_eq!(s, 201, "{path}: {v}");
            v["id"].as_i64().unwrap()
        }
    };
    let src = format!("/api/v1/tenants/{}", t.acme.id);
    let dst = format!("/api/v1/tenants/{}", t.globex.id);
    let shop = post(format!("{src}/applications"), json!({"name": "Shop"})).await;
    let blog = post(format!("{src}/applications"), json!({"name": "Blog"})).await;
    let dom = post(
        format!("{src}/domains"),
        json!({"name": "shop.example.com", "application_id": shop}),
    )
    .await;
    let globex_shop = post(format!("{dst}/applications"), json!({"name": "shop"})).await;
    let store = post(format!("{dst}/applications"), json!({"name": "Store"})).await;
    let store_dom = post(
        format!("{dst}/domains"),
        json!({"name": "store.example.net", "application_id": store}),
    )
    .await;
    let g1_app = post(
        format!("/api/v1/tenants/{}/applications", t.g1.id),
        json!({"name": "Elsewhere"}),
    )
    .await;
    for i in 0..10 {
        let (a, d) = match i % 3 {
            0 => (Some(shop), Some(dom)),
            1 => (Some(blog), None),
            _ => (None, None),
        };
        post(
            format!("{src}/rules"),
            json!({"kind": "block_ip", "value": format!("10.0.{i}.0/24"), "action": "block",
                   "application_id": a, "domain_id": d, "enabled": i != 9}),
        )
        .await;
    }
    for v in ["1.2.3.4", "5.6.7.8"] {
        post(
            format!("{dst}/rules"),
            json!({"kind": "allow_ip", "value": v, "action": "allow"}),
        )
        .await;
    }
    Setup {
        t,
        shop,
        blog,
        dom,
        globex_shop,
        store,
        store_dom,
        g1_app,
    }
}

/// The runner's failure path: the migration failed with `error` (the source
/// unlocked, the target still locked).
pub(crate) async fn fail(app: &TestApp, mid: i64, error: &str) {
    let mut conn = app.conn().await;
    let m = RuleMigration::find(&mut conn, mid).await.unwrap();
    service::fail(&mut conn, &m, error, app.clock.now())
        .await
        .unwrap();
}

pub(crate) async fn state(app: &TestApp, mid: i64) -> String {
    RuleMigration::find(&mut *app.conn().await, mid)
        .await
        .unwrap()
        .state
}

/// The `<option … selected>` value of select `name` in `html`.
fn selected(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("<select id=\"{name}\""))?;
    let select = &html[start..start + html[start..].find("</select>")?];
    select.split("<option value=\"").skip(1).find_map(|o| {
        let (value, rest) = o.split_once('"')?;
        rest.starts_with(" selected").then(|| value.to_string())
    })
}

/// The migration id a start redirected to.
fn migration_of(r: &reqwest::Response) -> i64 {
    assert_eq!(status(r), 303, "{r:?}");
    let location = r.headers()["location"].to_str().unwrap();
    location
        .strip_prefix("/migrations/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{location}"))
}

/// Previews and starts the migration with `mapping` as the admin: its id.
async fn start_through_the_form(app: &TestApp, s: &Setup, mapping: &[(String, String)]) -> i64 {
    let target = s.target().id.to_string();
    let mut fields: Vec<(&str, &str)> = vec![("target", &target)];
    fields.extend(mapping.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let r = app.post_form(&s.form(), &fields).await;
    assert_eq!(status(&r), 200);
    let preview = r.text().await.unwrap();
    let mut confirmed: Vec<(String, String)> = hidden_fields(&preview, &s.form());
    confirmed.push(("confirm".into(), "yes".into()));
    let refs: Vec<(&str, &str)> = confirmed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    migration_of(&app.post_form(&s.form(), &refs).await)
}

fn mapping(s: &Setup) -> Vec<(String, String)> {
    vec![
        (format!("map_application_{}", s.shop), s.store.to_string()),
        (format!("map_application_{}", s.blog), String::new()),
        (format!("map_domain_{}", s.dom), s.store_dom.to_string()),
    ]
}

#[tokio::test]
async fn a_migration_is_planned_previewed_started_and_followed_through_the_pages() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let (src, dst) = (s.source().id, s.target().id);

    // The Rules page links the form.
    let html = app.get_html(&format!("/tenants/{src}/rules")).await;
    assert!(html.contains(&format!("href=\"{}\"", s.form())), "{html}");

    // Searching without JavaScript: a plain GET lists the targets, never the source.
    let html = app.get_html(&format!("{}?q=Tenant", s.form())).await;
    assert!(
        html.contains(&format!("{}?target={dst}", s.form())),
        "{html}"
    );
    assert!(
        !html.contains(&format!("?target={src}\"")),
        "the source is offered"
    );
    // As you type: the fragment alone.
    let r = app
        .get_hx(&format!("/tenants/{src}/rules/migrate/targets?q=globex"))
        .await;
    assert_eq!(status(&r), 200);
    let fragment = r.text().await.unwrap();
    assert!(fragment.contains(&format!("?target={dst}\"")), "{fragment}");
    assert!(!fragment.contains("<html"), "a fragment");

    // The target picked: a select per source application and domain, the
    // same-named application suggested, the rest unbound.
    let html = app.get_html(&format!("{}?target={dst}", s.form())).await;
    assert!(html.contains("id=\"target-name\""), "{html}");
    let app_field = format!("map_application_{}", s.shop);
    assert_eq!(selected(&html, &app_field), Some(s.globex_shop.to_string()));
    assert_eq!(
        selected(&html, &format!("map_application_{}", s.blog)),
        Some(String::new())
    );
    assert_eq!(
        selected(&html, &format!("map_domain_{}", s.dom)),
        Some(String::new())
    );
    assert!(html.contains(&format!("<option value=\"{}\"", s.store_dom)));
    assert!(
        !html.contains("id=\"migrate-start\""),
        "no start before the preview"
    );

    // The preview: the summary and the mapping, nothing started yet.
    let target = dst.to_string();
    let mut fields: Vec<(&str, &str)> = vec![("target", &target)];
    let m = mapping(&s);
    fields.extend(m.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let r = app.post_form(&s.form(), &fields).await;
    assert_eq!(status(&r), 200);
    let preview = r.text().await.unwrap();
    assert!(preview.contains("id=\"migrate-summary\""), "{preview}");
    assert!(
        preview.contains("10 rules of Tenant acme (9 enabled)"),
        "{preview}"
    );
    assert!(preview.contains("2 rules (2 enabled)"), "{preview}");
    assert!(preview.contains("Application Shop → Store"), "{preview}");
    assert!(preview.contains("Domain shop.example.com → store.example.net"));
    assert!(preview.contains("id=\"migrate-start\""));
    let started: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM rule_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(started, 0, "a preview starts nothing");

    // Start: 303 to the migration's page.
    let mid = start_through_the_form(&app, &s, &m).await;
    let html = app.get_html(&format!("/migrations/{mid}")).await;
    assert!(
        html.contains(&format!("Migration #{mid} started")),
        "{html}"
    );
    assert!(html.contains("id=\"migration-bar\""), "{html}");
    assert!(html.contains(&format!(
        "hx-get=\"/migrations/{mid}/progress\" hx-trigger=\"every 2s\""
    )));
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"3\">"));
    assert!(html.contains("root\\admin"), "who started it");
    assert!(html.contains("Tenant acme") && html.contains("Tenant globex"));

    // Both tenants' pages are locked meanwhile, with the bar and the link.
    for id in [src, dst] {
        let r = app.get(&format!("/tenants/{id}/rules")).await;
        assert_eq!(status(&r), 423);
        let html = r.text().await.unwrap();
        assert!(html.contains("<progress id=\"migration-bar\""), "{html}");
        assert!(html.contains(&format!("href=\"/migrations/{mid}\"")));
    }

    // The runner copies; the progress reads "10 of 10" and polls no more.
    assert_eq!(run(&app).await, Ran::Done(mid));
    let r = app.get_hx(&format!("/migrations/{mid}/progress")).await;
    assert_eq!(status(&r), 200);
    assert_eq!(r.headers()["hx-refresh"], "true", "the page reloads once");
    let fragment = r.text().await.unwrap();
    assert!(fragment.contains("max=\"10\" value=\"10\""), "{fragment}");
    assert!(fragment.contains("<span id=\"migration-copied\">10</span> of <span id=\"migration-total\">10</span> rules copied"));
    assert!(!fragment.contains("hx-trigger"), "{fragment}");
    let html = app.get_html(&format!("/migrations/{mid}")).await;
    assert!(html.contains("id=\"migration-done\""), "{html}");
    assert!(!html.contains("http-equiv=\"refresh\""));
    assert!(!html.contains("id=\"rollback\""));
    // The target holds the mapped copy; both are unlocked.
    let bound: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM rules WHERE tenant_id = $1 AND valid_to IS NULL \
             AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = $1) \
             AND application_id = $2 AND domain_id = $3",
            &[&dst, &s.store, &s.store_dom],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(bound, 4);
    for id in [src, dst] {
        assert_eq!(status(&app.get(&format!("/tenants/{id}/rules")).await), 200);
    }
    // The list shows it.
    let html = app.get_html("/migrations").await;
    assert!(
        html.contains(&format!("data-migration=\"{mid}\"")),
        "{html}"
    );
    assert!(html.contains("10 of 10"));
}

#[tokio::test]
async fn a_failed_migration_is_rolled_back_or_retried_from_its_page_after_a_confirmation() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let dst = s.target().id;
    let rules_before: Vec<String> = db(&app)
        .await
        .query(
            "SELECT concat_ws('|', rule_id, kind, value, action, enabled) FROM rules \
             WHERE tenant_id = $1 AND valid_to IS NULL \
             AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = $1) ORDER BY rule_id",
            &[&dst],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mid = start_through_the_form(&app, &s, &mapping(&s)).await;
    fail(&app, mid, "the database went away").await;

    // The page: the error, Rollback and Retry; no refresh any more.
    let html = app.get_html(&format!("/migrations/{mid}")).await;
    assert!(html.contains("the database went away"), "{html}");
    assert!(html.contains(&format!("action=\"/migrations/{mid}/rollback\"")));
    assert!(html.contains(&format!("action=\"/migrations/{mid}/retry\"")));
    assert!(!html.contains("http-equiv=\"refresh\""));
    // The target stays locked, its locked page shows the failed bar.
    let r = app.get(&format!("/tenants/{dst}/rules")).await;
    assert_eq!(status(&r), 423);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-state=\"failed\""), "{html}");
    // (The page's frame has htmx of its own: the switcher's search.)
    assert!(
        !between(&html, "id=\"migration-progress\"", "</div>").contains("hx-trigger"),
        "a failed migration is not polled"
    );

    // Retry without confirm=yes: the confirmation, nothing changes.
    let r = app
        .post_form(&format!("/migrations/{mid}/retry"), &[])
        .await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("Retry migration #{mid}?")), "{html}");
    assert!(html.contains("name=\"confirm\" value=\"yes\""));
    assert_eq!(state(&app, mid).await, "failed");
    // Confirmed: queued again, and the runner finishes it.
    let r = app
        .post_form(&format!("/migrations/{mid}/retry"), &[("confirm", "yes")])
        .await;
    assert_redirect_to(&r, &format!("/migrations/{mid}"));
    assert_eq!(state(&app, mid).await, "queued");
    let html = app.get_html(&format!("/migrations/{mid}")).await;
    assert!(html.contains("hx-trigger=\"every 2s\""), "{html}");
    // Only a failed migration is rolled back: 409, nothing changes.
    let r = app
        .post_form(
            &format!("/migrations/{mid}/rollback"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 409);

    // Fails again; this time rolled back.
    fail(&app, mid, "the database went away").await;
    let r = app
        .post_form(&format!("/migrations/{mid}/rollback"), &[])
        .await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("Roll back migration #{mid}?")),
        "{html}"
    );
    assert_eq!(state(&app, mid).await, "failed");
    let r = app
        .post_form(
            &format!("/migrations/{mid}/rollback"),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, &format!("/migrations/{mid}"));
    assert_eq!(state(&app, mid).await, "rolled_back");
    let html = app.get_html(&format!("/migrations/{mid}")).await;
    assert!(html.contains("id=\"migration-rolled-back\""), "{html}");
    assert!(html.contains(&format!("Rolled back migration #{mid}.")));
    let rules_after: Vec<String> = db(&app)
        .await
        .query(
            "SELECT concat_ws('|', rule_id, kind, value, action, enabled) FROM rules \
             WHERE tenant_id = $1 AND valid_to IS NULL \
             AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = $1) ORDER BY rule_id",
            &[&dst],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rules_after, rules_before);
    assert_eq!(
        status(&app.get(&format!("/tenants/{dst}/rules")).await),
        200
    );
}

#[tokio::test]
async fn who_may_not_see_both_tenants_gets_404_for_the_migration() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let mid = start_through_the_form(&app, &s, &mapping(&s)).await;
    fail(&app, mid, "boom").await;
    // A Viewer of the source, an Administrator of only the source, another
    // tenant's Administrator.
    let viewer = app.user(s.source(), "viewer").await;
    app.grant(&viewer, s.source(), GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let viewer = browser_as(&app, "acme\\viewer").await;
    let source_admin = subtree_admin(&app, s.source(), "srcadmin").await;
    let other_admin = subtree_admin(&app, &s.t.g1, "g1admin").await;
    let missing = 999_999_999;
    for (who, b) in [
        ("viewer", &viewer),
        ("source admin", &source_admin),
        ("other admin", &other_admin),
    ] {
        for path in [
            format!("/migrations/{mid}"),
            format!("/migrations/{missing}"),
        ] {
            let r = b.get(&path).await;
            assert_eq!(status(&r), 404, "{who} {path}");
        }
        for action in ["rollback", "retry"] {
            for fields in [vec![], vec![("confirm", "yes")]] {
                let r = b
                    .post_form(&format!("/migrations/{mid}/{action}"), &fields)
                    .await;
                assert_eq!(status(&r), 404, "{who} {action}");
            }
        }
        let html = b.get_html("/migrations").await;
        assert!(html.contains("id=\"no-migrations\""), "{who}: {html}");
    }
    // Their locked page's bar may be followed by who reads one of the tenants'
    // rules, never by another tenant's administrator.
    assert_eq!(
        status(&viewer.get(&format!("/migrations/{mid}/progress")).await),
        200
    );
    assert_eq!(
        status(
            &other_admin
                .get(&format!("/migrations/{mid}/progress"))
                .await
        ),
        404
    );
    // Nothing changed.
    assert_eq!(state(&app, mid).await, "failed");
    // A Viewer over both sees it, without the forms, and may not act: 403.
    let root_viewer = app.user(&app.root, "rootviewer").await;
    app.grant(
        &root_viewer,
        &app.root,
        GrantRole::Viewer,
        Scope::Subtree,
        false,
    )
    .await;
    let root_viewer = browser_as(&app, "rootviewer").await;
    let html = root_viewer.get_html(&format!("/migrations/{mid}")).await;
    assert!(html.contains("boom"), "{html}");
    assert!(!html.contains("id=\"rollback\""));
    let r = root_viewer
        .post_form(
            &format!("/migrations/{mid}/rollback"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 403);
    // And the form is not theirs: no link, 403.
    let html = root_viewer
        .get_html(&format!("/tenants/{}/rules", s.source().id))
        .await;
    assert!(!html.contains("id=\"migrate-rules\""));
    assert_eq!(status(&root_viewer.get(&s.form()).await), 403);
}

#[tokio::test]
async fn bad_input_is_a_field_error_and_never_a_500() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let (src, dst) = (s.source().id, s.target().id);
    let form = s.form();

    // The target: not a number, missing, the source itself.
    for (raw, says) in [
        ("abc", "No tenant you may migrate"),
        ("-4", "No tenant you may migrate"),
        ("99999999999999999999", "No tenant you may migrate"),
        ("999999999", "No tenant you may migrate"),
        ("", "Choose the tenant"),
    ] {
        let r = app.post_form(&form, &[("target", raw)]).await;
        assert_eq!(status(&r), 422, "{raw}");
        let html = r.text().await.unwrap();
        assert!(
            field_error(&html, "target").is_some_and(|e| e.contains(says)),
            "{raw}: {html}"
        );
        if !raw.is_empty() {
            let r = app.get(&format!("{form}?target={raw}")).await;
            assert_eq!(status(&r), 422, "GET {raw}");
        }
    }
    let src_s = src.to_string();
    let r = app.post_form(&form, &[("target", &src_s)]).await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "target")
        .unwrap()
        .contains("another tenant"));

    // A tenant the user may not see reads exactly like one that does not exist.
    let acme_admin = subtree_admin(&app, s.source(), "acmeadmin").await;
    let hidden = acme_admin
        .post_form(&form, &[("target", &dst.to_string())])
        .await;
    assert_eq!(status(&hidden), 422);
    let hidden = field_error(&hidden.text().await.unwrap(), "target");
    let missing = acme_admin
        .post_form(&form, &[("target", &(dst + 1000).to_string())])
        .await;
    let missing = field_error(&missing.text().await.unwrap(), "target");
    assert!(hidden.is_some());
    assert_eq!(hidden, missing);
    // … and is never offered by the search.
    let html = acme_admin.get_html(&format!("{form}?q=globex")).await;
    assert!(!html.contains(&format!("?target={dst}\"")), "{html}");

    // The mapping: an unknown target id, another tenant's application, a number
    // that is none, a source id that does not exist.
    let target = dst.to_string();
    let app_field = format!("map_application_{}", s.shop);
    for bad in [
        "999999",
        &s.g1_app.to_string(),
        "x1",
        &s.store_dom.to_string(),
    ] {
        let r = app
            .post_form(&form, &[("target", &target), (&app_field, bad)])
            .await;
        assert_eq!(status(&r), 422, "{bad}");
        let html = r.text().await.unwrap();
        assert!(
            field_error(&html, &app_field)
                .is_some_and(|e| e.contains("Choose one of the applications of Tenant")),
            "{bad}: {html}"
        );
        // The form is shown again with the other choices kept.
        assert!(html.contains("id=\"migrate-preview\""));
    }
    let dom_field = format!("map_domain_{}", s.dom);
    let r = app
        .post_form(
            &form,
            &[("target", &target), (&dom_field, &s.store.to_string())],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), &dom_field).is_some());
    let r = app
        .post_form(
            &form,
            &[
                ("target", &target),
                ("map_domain_999999", ""),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"migrate-errors\""), "{html}");
    assert!(
        html.contains("The source tenant has no domain 999999; reload the page."),
        "{html}"
    );
    // A field sent twice is refused, never decided by whichever came last.
    let store = s.store.to_string();
    for (fields, field) in [
        (
            vec![("target", target.as_str()), ("target", target.as_str())],
            "target",
        ),
        (
            vec![
                ("target", target.as_str()),
                (app_field.as_str(), store.as_str()),
                (app_field.as_str(), ""),
                ("confirm", "yes"),
            ],
            app_field.as_str(),
        ),
    ] {
        let r = app.post_form(&form, &fields).await;
        assert_eq!(status(&r), 422, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(
            field_error(&html, field).is_some_and(|e| e.contains("more than once")),
            "{fields:?}: {html}"
        );
    }
    // The form's query takes `q` and `target` only.
    for query in ["?bogus=1", "?q=a&target=1&page=2"] {
        let r = app.get(&format!("{form}{query}")).await;
        assert_eq!(status(&r), 400, "{query}");
        assert!(
            r.text().await.unwrap().contains("is not known here"),
            "{query}"
        );
    }
    let r = app.get(&format!("{form}/targets?q=glo&x=1")).await;
    assert_eq!(status(&r), 400);
    // A confirmed start with a bad mapping starts nothing.
    let r = app
        .post_form(
            &form,
            &[
                ("target", &target),
                (&app_field, "999999"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let started: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM rule_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(started, 0);

    // A second migration touching a locked tenant: refused with a clear message.
    let mid = start_through_the_form(&app, &s, &mapping(&s)).await;
    let a1_form = format!("/tenants/{}/rules/migrate", s.t.a1.id);
    let r = app.post_form(&a1_form, &[("target", &target)]).await;
    assert_eq!(status(&r), 422);
    let e = field_error(&r.text().await.unwrap(), "target").unwrap();
    assert!(e.contains(&format!("locked by migration #{mid}")), "{e}");
    // The locked source's form is the locked page.
    assert_eq!(status(&app.get(&form).await), 423);
    assert_eq!(status(&app.post_form(&form, &[("target", "1")]).await), 423);
    // The migrations list: a bad page is a 400, never a 500.
    assert_eq!(status(&app.get("/migrations?before=abc").await), 400);
    assert_eq!(status(&app.get("/migrations/abc").await), 404);
}

#[tokio::test]
async fn the_locked_page_shows_the_running_migrations_progress() {
    let app = app().await;
    let s = setup(&app).await;
    app.login_admin().await;
    let mid = start_through_the_form(&app, &s, &mapping(&s)).await;
    // Half copied: a dead process staged 4 rules (its lease still holds).
    {
        let mut conn = app.conn().await;
        let now = app.clock.now();
        RuleMigration::claim(
            &mut conn,
            "elsewhere",
            now + chrono::Duration::seconds(30),
            now,
        )
        .await
        .unwrap()
        .unwrap();
        RuleMigration::copy_batch(&mut conn, mid, "elsewhere", 4, now)
            .await
            .unwrap();
    }
    for page in ["rules", "applications", "domains", "credential-stuffing"] {
        let path = format!("/tenants/{}/{page}", s.target().id);
        let r = app.get(&path).await;
        assert_eq!(status(&r), 423, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("<progress id=\"migration-bar\" max=\"10\" value=\"4\""),
            "{path}: {html}"
        );
        assert!(html.contains("<span id=\"migration-copied\">4</span> of <span id=\"migration-total\">10</span> rules copied"));
        assert!(html.contains(&format!(
            "hx-get=\"/migrations/{mid}/progress\" hx-trigger=\"every 2s\""
        )));
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"3\">"));
        assert!(html.contains("/static/js/htmx.min.js"));
        assert!(html.contains(&format!("href=\"/migrations/{mid}\"")));
    }
    // The fragment polled meanwhile: still running, still polling, no reload.
    let r = app.get_hx(&format!("/migrations/{mid}/progress")).await;
    assert_eq!(status(&r), 200);
    assert!(r.headers().get("hx-refresh").is_none());
    assert!(r.text().await.unwrap().contains("hx-trigger=\"every 2s\""));
}
