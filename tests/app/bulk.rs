//! Bulk actions on the Tenants list (issue #11, item 2): the bulk bar's
//! `POST /tenants/bulk` (preview, confirm, per-row result) and
//! `POST /api/v1/tenants/bulk` (`dry_run`, per-item outcomes): previews write
//! nothing, applies change and audit each tenant as the single operation would,
//! refusals come per row with the single operation's words, invisible ids read
//! like missing ones, "all matching" selects what the list shows, at most 1,000.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::tenant::{NewChild, TenantFields};
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{GrantRole, Scope};

const FORBIDDEN: &str = "Your role here does not allow this (a tenant role may cap it).";
const NOT_FOUND: &str = "Not found: there is no such tenant, or you may not see it.";
const CYCLE: &str = "A tenant cannot be moved under itself or one of its sub-tenants.";

/// The partner tree, and: `acme\alice` Administrator over acme's subtree (manages
/// sub-tenants); `a1\bob` Owner over the root's whole tree (alice does not dominate
/// him); `acme\vera` Viewer over acme's subtree.
struct World {
    t: PartnerTree,
    alice: User,
    vera: User,
}

async fn world(app: &TestApp) -> World {
    let t = partner_tree(app).await;
    let alice = app.user(&t.acme, "alice").await;
    app.grant(
        &alice,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let bob = app.user(&t.a1, "bob").await;
    app.grant(&bob, &app.root, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let vera = app.user(&t.acme, "vera").await;
    app.grant(&vera, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    World { t, alice, vera }
}

/// Posts the bulk bar as `browser`: (status, page).
async fn bar(browser: &TestApp, fields: &[(&str, &str)]) -> (u16, String) {
    let r = browser.post_form("/tenants/bulk", fields).await;
    let status = status(&r);
    (status, r.text().await.unwrap())
}

/// Posts a preview's confirmation form as it is, with confirm=yes: (status, page).
async fn confirm(browser: &TestApp, preview: &str) -> (u16, String) {
    let fields = hidden_fields(preview, "/tenants/bulk");
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| *k != "confirm")
        .chain([("confirm", "yes")])
        .collect();
    bar(browser, &fields).await
}

/// The rows of a preview or result page: (tenant id, outcome, the outcome's words).
fn outcomes(html: &str) -> Vec<(i64, String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<tr data-tenant-id=\"") {
        rest = &rest[at + 20..];
        let id: i64 = rest[..rest.find('"').unwrap()].parse().unwrap();
        let Some(o) = rest.find("data-outcome=\"") else {
            continue;
        };
        let outcome = &rest[o + 14..];
        let outcome = outcome[..outcome.find('"').unwrap()].to_string();
        let cell = rest.find("<td class=\"outcome").unwrap();
        let text = &rest[cell..];
        let text = &text[text.find('>').unwrap() + 1..];
        let text = text[..text.find("</td>").unwrap()]
            .replace("&#92;", "\\")
            .replace("&#39;", "'");
        out.push((id, outcome, text));
    }
    out
}

/// The ids of the rows a Tenants page lists, in order.
fn listed(html: &str) -> Vec<i64> {
    html.match_indices("<tr data-tenant-id=\"")
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

async fn audits(app: &TestApp, action: &str) -> i64 {
    count(
        app,
        &format!("SELECT count(*) FROM audit_events WHERE action = '{action}'"),
    )
    .await
}

async fn labels(app: &TestApp, t: &Tenant) -> Vec<String> {
    t.labels(&mut *app.conn().await).await.unwrap()
}

async fn set_labels(app: &TestApp, t: &Tenant, labels: &[&str]) {
    let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    Tenant::set_labels(&mut *app.conn().await, t.id, &labels)
        .await
        .unwrap();
}

async fn enabled(app: &TestApp, t: &Tenant) -> bool {
    app.reload(t).await.unwrap().enabled
}

#[tokio::test]
async fn a_preview_writes_nothing_and_the_confirmed_apply_changes_and_audits_each() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let (a2, g1) = (w.t.a2.id.to_string(), w.t.g1.id.to_string());
    let fields = [
        ("ids", a2.as_str()),
        ("ids", g1.as_str()),
        ("action", "disable"),
    ];

    let (code, html) = bar(&app, &fields).await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("Preview: Disable"), "{html}");
    assert!(html.contains("<strong>2</strong> will change"), "{html}");
    let rows = outcomes(&html);
    assert_eq!(
        rows,
        [
            (w.t.a2.id, "changed".into(), "will change".into()),
            (w.t.g1.id, "changed".into(), "will change".into()),
        ]
    );
    // The confirmation repeats the same fields, with confirm=yes.
    for field in [
        format!(r#"name="ids" value="{a2}""#),
        format!(r#"name="ids" value="{g1}""#),
        r#"name="action" value="disable""#.to_string(),
        r#"name="confirm" value="yes""#.to_string(),
    ] {
        assert!(html.contains(&field), "{field} in {html}");
    }
    assert!(enabled(&app, &w.t.a2).await && enabled(&app, &w.t.g1).await);
    assert_eq!(audits(&app, "tenant.disable").await, 0);

    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let (code, html) = bar(&app, &confirmed).await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("<strong>2</strong> changed"), "{html}");
    assert!(outcomes(&html)
        .iter()
        .all(|(_, o, t)| o == "changed" && t == "changed"));
    assert!(!enabled(&app, &w.t.a2).await && !enabled(&app, &w.t.g1).await);
    for t in [&w.t.a2, &w.t.g1] {
        let sql = format!(
            "SELECT count(*) FROM audit_events WHERE action = 'tenant.disable' AND tenant_id = {}",
            t.id
        );
        assert_eq!(
            count(&app, &sql).await,
            1,
            "one audit event for {}",
            t.subdomain
        );
    }
    // Again: already disabled, nothing to do and nothing audited.
    let (_, html) = bar(&app, &confirmed).await;
    assert!(
        outcomes(&html).iter().all(|(_, o, _)| o == "unchanged"),
        "{html}"
    );
    assert_eq!(audits(&app, "tenant.disable").await, 2);

    // A subtree enable takes every tenant below, as the single enable does.
    let acme = w.t.acme.id.to_string();
    for t in [&w.t.a1, &w.t.a1x] {
        let mut conn = app.conn().await;
        Tenant::set_enabled(&mut conn, t.id, false).await.unwrap();
    }
    let (_, html) = bar(
        &app,
        &[
            ("ids", acme.as_str()),
            ("action", "enable"),
            ("scope", "subtree"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(
        outcomes(&html),
        [(w.t.acme.id, "changed".into(), "changed".into())]
    );
    for t in [&w.t.a1, &w.t.a1x, &w.t.a2] {
        assert!(
            enabled(&app, t).await,
            "{} enabled with its subtree",
            t.subdomain
        );
    }
    assert!(!enabled(&app, &w.t.g1).await, "g1 was not selected");
}

#[tokio::test]
async fn labels_are_added_and_removed_per_tenant_and_audited_as_edits() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let (a1, a2) = (w.t.a1.id.to_string(), w.t.a2.id.to_string());
    {
        let mut conn = app.conn().await;
        Tenant::set_labels(&mut conn, w.t.a2.id, &["tier:gold".into()])
            .await
            .unwrap();
    }
    let add = [
        ("ids", a1.as_str()),
        ("ids", a2.as_str()),
        ("action", "add_label"),
        ("label", " Tier:Gold "),
    ];
    let (_, html) = bar(&app, &add).await;
    assert_eq!(
        outcomes(&html),
        [
            (w.t.a1.id, "changed".into(), "will change".into()),
            (w.t.a2.id, "unchanged".into(), "no change".into()),
        ]
    );
    let mut confirmed = add.to_vec();
    confirmed.push(("confirm", "yes"));
    bar(&app, &confirmed).await;
    assert_eq!(labels(&app, &w.t.a1).await, ["tier:gold"]);
    assert_eq!(audits(&app, "tenant.update").await, 1);

    let (_, html) = bar(
        &app,
        &[
            ("ids", a2.as_str()),
            ("action", "remove_label"),
            ("label", "tier:gold"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(outcomes(&html)[0].1, "changed");
    assert!(labels(&app, &w.t.a2).await.is_empty());
    assert!(!labels(&app, &w.t.a1).await.is_empty());
    assert_eq!(audits(&app, "tenant.update").await, 2);
}

#[tokio::test]
async fn weaker_accounts_are_refused_per_row_and_change_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (a1, a2) = (w.t.a1.id.to_string(), w.t.a2.id.to_string());
    let fields = [
        ("ids", a1.as_str()),
        ("ids", a2.as_str()),
        ("action", "disable"),
    ];

    // A Viewer: every row refused with the single disable's 403 words, preview and apply.
    let vera = browser_as(&app, "acme\\vera").await;
    for confirm in ["no", "yes"] {
        let mut f = fields.to_vec();
        f.push(("confirm", confirm));
        let (code, html) = bar(&vera, &f).await;
        // Confirming what changes nothing is refused (422), with each row's refusal.
        assert_eq!(code, if confirm == "yes" { 422 } else { 200 }, "{html}");
        let rows = outcomes(&html);
        assert_eq!(rows.len(), 2);
        for (_, outcome, text) in rows {
            assert_eq!(outcome, "refused");
            assert!(text.ends_with(FORBIDDEN), "{text}");
        }
    }
    let api = Api::new(&app, Some(&token_for(&app, &w.vera, false).await));
    let (code, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [w.t.a1.id, w.t.a2.id], "action": "move", "parent_id": w.t.acme.id}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["refused"], 2, "{body}");
    assert_eq!(body["items"][0]["message"], FORBIDDEN);

    // An Administrator of acme who does not dominate a1's user bob (an Owner of the
    // root): a1 refused with the single disable's words, a2 changed.
    let alice = browser_as(&app, "acme\\alice").await;
    let mut f = fields.to_vec();
    f.push(("confirm", "yes"));
    let (_, html) = bar(&alice, &f).await;
    let rows = outcomes(&html);
    assert_eq!(rows[0].0, w.t.a1.id);
    assert_eq!(rows[0].1, "refused");
    assert!(
        rows[0]
            .2
            .contains("Disabling it would lock out a1\\bob, whom you may not change"),
        "{rows:?}"
    );
    assert_eq!((rows[1].0, rows[1].1.as_str()), (w.t.a2.id, "changed"));
    assert!(enabled(&app, &w.t.a1).await);
    assert!(!enabled(&app, &w.t.a2).await);
    assert_eq!(audits(&app, "tenant.disable").await, 1);
    let _ = w.alice;
}

#[tokio::test]
async fn ids_one_may_not_see_read_exactly_like_ids_that_do_not_exist() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let alice = browser_as(&app, "acme\\alice").await;
    let (g1, a2) = (w.t.g1.id.to_string(), w.t.a2.id.to_string());
    let fields = [
        ("ids", g1.as_str()),
        ("ids", "987654"),
        ("ids", a2.as_str()),
        ("ids", g1.as_str()),
        ("action", "add_label"),
        ("label", "vip"),
    ];
    let (_, html) = bar(&alice, &fields).await;
    let rows = outcomes(&html);
    // A repeated id counts once.
    assert_eq!(rows.len(), 3, "{rows:?}");
    let refusal = format!("not allowed: {NOT_FOUND}");
    assert_eq!(rows[0], (w.t.g1.id, "refused".into(), refusal.clone()));
    assert_eq!(rows[1], (987654, "refused".into(), refusal));
    assert_eq!(rows[2].1, "changed");
    // Neither the name nor the subdomain of the invisible tenant shows.
    // The CSRF token is random text: "g1" may turn up inside it.
    let text = csrf_from(&html).map_or(html.clone(), |t| html.replace(&t, ""));
    assert!(!text.contains("g1"), "{html}");
    assert!(html.contains(&format!("Tenant {}</td>", w.t.g1.id)));

    let api = Api::new(&app, Some(&token_for(&app, &w.alice, false).await));
    let (_, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [w.t.g1.id, 987654], "action": "enable", "dry_run": true}),
        )
        .await;
    let items = body["items"].as_array().unwrap();
    for item in items {
        assert_eq!(item["subdomain"], Value::Null);
        assert_eq!(item["outcome"], "refused");
        assert_eq!(item["message"], NOT_FOUND);
    }
    assert_eq!(items[0]["id"], w.t.g1.id);
    assert_eq!(items[1]["id"], 987654);
}

#[tokio::test]
async fn all_matching_selects_exactly_what_the_list_and_the_api_list_show() {
    let app = spawn_app().await;
    let w = world(&app).await;
    {
        let mut conn = app.conn().await;
        for t in [&w.t.a1, &w.t.a1x, &w.t.g1, &w.t.globex] {
            Tenant::set_labels(&mut conn, t.id, &["tier:gold".into()])
                .await
                .unwrap();
        }
    }
    // As alice, acme's Administrator: the list below acme, gold ones (a1, a1x).
    let alice = browser_as(&app, "acme\\alice").await;
    let shown = listed(&alice.get_html("/tenants?label=tier:gold").await);
    assert_eq!(shown.len(), 2, "{shown:?}");
    let (code, html) = bar(
        &alice,
        &[
            ("all", "yes"),
            ("filter_label", "tier:gold"),
            ("action", "add_label"),
            ("label", "region:eu"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("(all matching the filter)"), "{html}");
    let previewed: Vec<i64> = outcomes(&html).iter().map(|r| r.0).collect();
    assert_eq!(previewed, shown);
    // The confirmation carries the filter and exactly the previewed ids.
    let hidden = hidden_fields(&html, "/tenants/bulk");
    assert!(hidden.contains(&("all".into(), "yes".into())), "{html}");
    assert!(hidden.contains(&("filter_label".into(), "tier:gold".into())));
    let carried: Vec<i64> = hidden
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v.parse().unwrap())
        .collect();
    assert_eq!(carried, shown);

    // As the root administrator: `within` and `status` too, and the ticked rows are
    // ignored when "all" is chosen.
    app.login_admin().await;
    let acme = w.t.acme.id.to_string();
    let query = format!("/tenants?within={acme}&status=enabled&label=tier:gold");
    let shown = listed(&app.get_html(&query).await);
    let g1 = w.t.g1.id.to_string();
    let (_, html) = bar(
        &app,
        &[
            ("all", "yes"),
            ("ids", g1.as_str()),
            ("within", acme.as_str()),
            ("status", "enabled"),
            ("filter_label", "tier:gold"),
            ("action", "add_label"),
            ("label", "region:eu"),
        ],
    )
    .await;
    let (_, html) = confirm(&app, &html).await;
    let applied: Vec<i64> = outcomes(&html).iter().map(|r| r.0).collect();
    assert_eq!(applied, shown);
    // Back to the list with its filter.
    assert!(
        html.contains(&format!(
            r#"href="/tenants?status=enabled&#38;within={acme}&#38;label=tier%3Agold""#
        )),
        "{html}"
    );
    let eu = listed(&app.get_html("/tenants?label=region:eu").await);
    let mut eu_sorted = eu.clone();
    eu_sorted.sort();
    let mut expected = shown.clone();
    expected.sort();
    assert_eq!(
        eu_sorted, expected,
        "exactly the matching tenants got the label"
    );

    // The API: the same filter selects what GET /api/v1/tenants lists, in its order.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (_, page) = api.get("/api/v1/tenants?label=tier:gold&limit=500").await;
    let listed_ids: Vec<Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    let (code, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"filter": {"label": "tier:gold"}, "action": "disable", "dry_run": true}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let selected: Vec<Value> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(selected, listed_ids);
    assert_eq!(selected.len(), 4);
}

#[tokio::test]
async fn a_confirmed_all_matching_acts_on_exactly_the_previewed_tenants() {
    let app = spawn_app().await;
    let w = world(&app).await;
    set_labels(&app, &w.t.a1, &["tier:gold"]).await;
    set_labels(&app, &w.t.a2, &["tier:gold"]).await;
    app.login_admin().await;
    let (code, preview) = bar(
        &app,
        &[
            ("all", "yes"),
            ("filter_label", "tier:gold"),
            ("action", "disable"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{preview}");
    let mut previewed: Vec<i64> = outcomes(&preview).iter().map(|r| r.0).collect();
    previewed.sort();
    assert_eq!(previewed, [w.t.a1.id, w.t.a2.id]);

    // Meanwhile g1 starts matching and a2 stops.
    set_labels(&app, &w.t.g1, &["tier:gold"]).await;
    set_labels(&app, &w.t.a2, &[]).await;
    let (code, html) = confirm(&app, &preview).await;
    assert_eq!(code, 200, "{html}");
    let mut rows = outcomes(&html);
    rows.sort();
    assert_eq!(
        rows,
        [
            (w.t.a1.id, "changed".into(), "changed".into()),
            (
                w.t.a2.id,
                "refused".into(),
                "refused: Left unchanged: it no longer matches the filter (it changed since the preview).".into()
            ),
        ],
        "{html}"
    );
    assert!(!enabled(&app, &w.t.a1).await);
    assert!(enabled(&app, &w.t.a2).await, "a2 no longer matched");
    assert!(enabled(&app, &w.t.g1).await, "g1 was never previewed");

    // A confirmation without the previewed ids (a form of before) is a preview again.
    let (code, html) = bar(
        &app,
        &[
            ("all", "yes"),
            ("filter_label", "tier:gold"),
            ("action", "disable"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("Preview: Disable"), "{html}");
    assert!(enabled(&app, &w.t.g1).await);
}

/// Adds `n` customers under `parent` directly in the database.
async fn many(app: &TestApp, parent: &Tenant, n: usize) {
    let fields: Vec<TenantFields> = (0..n)
        .map(|i| TenantFields {
            name: format!("Bulk {i:04}"),
            subdomain: format!("bulk{i:04}"),
            description: String::new(),
            custom_domain: None,
            can_have_subtenants: false,
            enabled: true,
            tenant_role_id: None,
            labels: None,
            monthly_query_quota: None,
            limits: Default::default(),
            max_users: None,
            plan_id: None,
        })
        .collect();
    let children: Vec<NewChild> = fields
        .iter()
        .map(|f| NewChild {
            parent,
            tenant_role_id: parent.tenant_role_id,
            fields: f,
        })
        .collect();
    Tenant::insert_children(&mut *app.conn().await, &children)
        .await
        .unwrap();
}

#[tokio::test]
async fn more_than_a_thousand_tenants_are_refused_whole() {
    let app = spawn_app().await;
    many(&app, &app.root, 1001).await;
    app.login_admin().await;
    // The preview already says so: nothing is silently left out of "all matching".
    let (code, html) = bar(
        &app,
        &[("all", "yes"), ("q", "bulk"), ("action", "disable")],
    )
    .await;
    assert_eq!(code, 422, "{html}");
    assert!(
        html.contains("This filter matches more than 1000 tenants")
            && html.contains("Narrow the filter"),
        "{html}"
    );
    let (code, html) = bar(
        &app,
        &[
            ("all", "yes"),
            ("q", "bulk"),
            ("action", "disable"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(code, 422, "{html}");
    assert!(
        html.contains("This filter matches more than 1000 tenants")
            && html.contains("Narrow the filter"),
        "{html}"
    );
    // The list again, with the filter and the bar's input kept.
    assert!(
        html.contains(r#"id="bulk-all" name="all" type="checkbox" value="yes" checked"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="disable" selected>"#),
        "{html}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM tenants WHERE NOT enabled").await,
        0
    );

    // A thousand is fine.
    let (code, html) = bar(
        &app,
        &[
            ("all", "yes"),
            ("q", "bulk 0"),
            ("action", "add_label"),
            ("label", "x"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{html}");
    assert_eq!(outcomes(&html).len(), 1000);

    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (code, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"filter": {"q": "bulk"}, "action": "disable"}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(body["errors"]["filter"]
        .as_str()
        .unwrap()
        .contains("Narrow the filter"));
    let ids: Vec<i64> = (1..=1001).collect();
    let (code, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": ids, "action": "disable"}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(body["errors"]["ids"].is_string(), "{body}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM tenants WHERE NOT enabled").await,
        0
    );
}

#[tokio::test]
async fn moving_a_tenant_into_its_own_subtree_is_refused_for_that_row() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let (acme, a2, a1) = (
        w.t.acme.id.to_string(),
        w.t.a2.id.to_string(),
        w.t.a1.id.to_string(),
    );
    let fields = [
        ("ids", acme.as_str()),
        ("ids", a2.as_str()),
        ("action", "move"),
        ("parent", a1.as_str()),
    ];
    let (_, html) = bar(&app, &fields).await;
    let rows = outcomes(&html);
    assert_eq!(
        rows[0],
        (
            w.t.acme.id,
            "refused".into(),
            format!("not allowed: {CYCLE}")
        )
    );
    assert_eq!(rows[1].1, "changed");
    assert_eq!(
        app.reload(&w.t.a2).await.unwrap().parent_id,
        Some(w.t.acme.id)
    );
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let (_, html) = bar(&app, &confirmed).await;
    let rows = outcomes(&html);
    assert_eq!(
        rows[0],
        (w.t.acme.id, "refused".into(), format!("refused: {CYCLE}"))
    );
    assert_eq!(rows[1].1, "changed");
    assert_eq!(
        app.reload(&w.t.a2).await.unwrap().parent_id,
        Some(w.t.a1.id)
    );
    assert_eq!(
        app.reload(&w.t.acme).await.unwrap().parent_id,
        Some(app.root.id)
    );
    assert_eq!(audits(&app, "tenant.move").await, 1);
    // Under its parent already: nothing to do.
    let (_, html) = bar(&app, &confirmed).await;
    assert_eq!(outcomes(&html)[1].1, "unchanged");
}

/// A refused post: its fields, the field error's id and what it says.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn bad_input_shows_the_list_again_with_messages_and_writes_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let alice = browser_as(&app, "acme\\alice").await;
    let a2 = w.t.a2.id.to_string();
    let (g1, missing) = (w.t.g1.id.to_string(), "987654".to_string());
    let events_before = count(&app, "SELECT count(*) FROM audit_events").await;
    let no_g1 = format!("There is no tenant {g1}.");
    let cases: Vec<Case> = vec![
        (vec![("ids", &a2)], "action-error", "Choose an action."),
        (
            vec![("ids", &a2), ("action", "delete")],
            "action-error",
            "Choose disable",
        ),
        (
            vec![("action", "disable")],
            "ids-error",
            "Select at least one tenant",
        ),
        (
            vec![("ids", "x1"), ("action", "disable")],
            "ids-error",
            "is not a tenant id",
        ),
        (
            vec![("ids", &a2), ("action", "disable"), ("scope", "all")],
            "scope-error",
            "Choose",
        ),
        (
            vec![
                ("ids", &a2),
                ("action", "add_label"),
                ("label", "not a label"),
            ],
            "label-error",
            "is not a label",
        ),
        (
            vec![("ids", &a2), ("action", "move")],
            "parent-error",
            "Enter the new parent: its subdomain or name.",
        ),
        (
            vec![("ids", &a2), ("action", "move"), ("parent", &missing)],
            "parent-error",
            "There is no tenant 987654.",
        ),
        (
            vec![("all", "yes"), ("status", "off"), ("action", "disable")],
            "filter-error",
            "This filter cannot be applied",
        ),
        (
            vec![("all", "yes"), ("within", &g1), ("action", "disable")],
            "filter-error",
            &no_g1,
        ),
    ];
    for (fields, id, message) in &cases {
        let mut f = fields.clone();
        f.push(("confirm", "yes"));
        let (code, html) = bar(&alice, &f).await;
        assert_eq!(code, 422, "{fields:?}: {html}");
        let error = field_error(&html, id.trim_end_matches("-error"))
            .unwrap_or_else(|| panic!("{id} for {fields:?}: {html}"));
        assert!(error.contains(message), "{fields:?}: {error}");
        assert!(html.contains("id=\"bulk-errors\""), "{html}");
        // Said once, not again by the list's own filter errors.
        assert_eq!(
            html.matches("This filter cannot be applied").count(),
            usize::from(*id == "filter-error"),
            "{fields:?}: {html}"
        );
    }
    // An invisible destination is the same field error as a missing one.
    let (_, invisible) = bar(&alice, &[("ids", &a2), ("action", "move"), ("parent", &g1)]).await;
    assert_eq!(
        field_error(&invisible, "parent").unwrap(),
        format!("There is no tenant {g1}.")
    );
    // The input is kept: the ticked row, the action, the label typed.
    let (_, html) = bar(
        &alice,
        &[
            ("ids", &a2),
            ("action", "add_label"),
            ("label", "not a label"),
        ],
    )
    .await;
    assert!(
        html.contains(&format!(r#"value="{a2}" form="tenant-bulk" checked"#)),
        "{html}"
    );
    assert!(html.contains(r#"<option value="add_label" selected>"#));
    assert!(html.contains(r#"value="not a label""#));
    assert_eq!(
        count(&app, "SELECT count(*) FROM audit_events").await,
        events_before
    );
    assert!(enabled(&app, &w.t.a2).await);
}

#[tokio::test]
async fn the_api_previews_with_dry_run_then_applies() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let body = |dry_run| json!({"ids": [w.t.a2.id, w.t.g1.id, w.t.a2.id], "action": "disable", "scope": "tenant", "dry_run": dry_run});
    let (code, preview) = api.post("/api/v1/tenants/bulk", body(true)).await;
    assert_eq!(code, 200, "{preview}");
    assert_eq!(
        preview,
        json!({
            "dry_run": true, "changed": 2, "unchanged": 0, "refused": 0,
            "items": [
                {"id": w.t.a2.id, "subdomain": "a2", "outcome": "changed", "message": null},
                {"id": w.t.g1.id, "subdomain": "g1", "outcome": "changed", "message": null},
            ],
        })
    );
    assert!(enabled(&app, &w.t.a2).await);
    assert_eq!(audits(&app, "tenant.disable").await, 0);

    let (code, applied) = api.post("/api/v1/tenants/bulk", body(false)).await;
    assert_eq!(code, 200, "{applied}");
    assert_eq!(applied["dry_run"], false);
    assert_eq!(applied["changed"], 2);
    assert!(!enabled(&app, &w.t.a2).await && !enabled(&app, &w.t.g1).await);
    assert_eq!(audits(&app, "tenant.disable").await, 2);
    let (_, again) = api.post("/api/v1/tenants/bulk", body(false)).await;
    assert_eq!(again["unchanged"], 2, "{again}");

    // An idempotency key replays the answer without applying again.
    let key_body = json!({"ids": [w.t.a2.id], "action": "enable"});
    let send = || {
        crate::api::send(
            api.request(reqwest::Method::POST, "/api/v1/tenants/bulk")
                .header("Idempotency-Key", "bulk-1")
                .json(&key_body),
        )
    };
    let (_, first) = send().await;
    let (_, replay) = send().await;
    assert_eq!(first, replay);
    assert_eq!(first["changed"], 1);
    assert_eq!(audits(&app, "tenant.enable").await, 1);

    // Malformed bodies.
    for (bad, code, problem) in [
        (json!({"action": "disable"}), 400, "invalid-body"),
        (
            json!({"ids": [1], "filter": {}, "action": "disable"}),
            400,
            "invalid-body",
        ),
        (
            json!({"ids": [1], "action": "explode"}),
            400,
            "invalid-body",
        ),
        (
            json!({"ids": [1], "action": "disable", "label": "x"}),
            400,
            "unknown-field",
        ),
        (
            json!({"ids": null, "action": "disable"}),
            400,
            "invalid-body",
        ),
        (
            json!({"ids": [], "action": "disable"}),
            422,
            "validation-failed",
        ),
        (
            json!({"ids": [0], "action": "disable"}),
            422,
            "validation-failed",
        ),
        (
            json!({"ids": [1], "action": "add_label", "label": "Tier:Gold"}),
            422,
            "validation-failed",
        ),
        (
            json!({"ids": [1], "action": "move", "parent_id": 987654}),
            422,
            "validation-failed",
        ),
        (
            json!({"filter": {"status": "off"}, "action": "disable"}),
            400,
            "invalid-body",
        ),
        (
            json!({"filter": {"label": "A B"}, "action": "disable"}),
            400,
            "bad-request",
        ),
        (
            json!({"filter": {"within": 987654}, "action": "disable"}),
            404,
            "not-found",
        ),
    ] {
        let (status, problem_doc) = api.post("/api/v1/tenants/bulk", bad.clone()).await;
        assert_eq!(status, code, "{bad}: {problem_doc}");
        assert!(
            problem_doc["type"].as_str().unwrap().ends_with(problem),
            "{bad}: {problem_doc}"
        );
    }
    // A body of the wrong shape names the field that is wrong (review #15 L5), and
    // an unknown field is told beside every field the endpoint takes.
    for (bad, field, says) in [
        (
            json!({"ids": ["a"], "action": "disable", "dry_run": true}),
            "ids[0]",
            "Expected a whole number, not the string \"a\".",
        ),
        (
            json!({"ids": [1], "action": "disable", "dry_run": "yes"}),
            "dry_run",
            "Expected a boolean, not the string \"yes\".",
        ),
        (
            json!({"ids": [1], "action": "move", "parent_id": "x"}),
            "parent_id",
            "Expected a whole number, not the string \"x\".",
        ),
        (
            json!({"ids": [1], "action": "explode"}),
            "action",
            "Unknown value \"explode\": use one of \"disable\", \"enable\", \"move\", \"add_label\", \"remove_label\".",
        ),
    ] {
        let (status, problem_doc) = api.post("/api/v1/tenants/bulk", bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {problem_doc}");
        assert_eq!(problem_doc["errors"][field], says, "{bad}: {problem_doc}");
    }
    let (_, problem_doc) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [1], "action": "disable", "foo": 1}),
        )
        .await;
    let said = problem_doc["errors"]["foo"].as_str().unwrap_or_default();
    for field in [
        "action",
        "ids",
        "filter",
        "scope",
        "parent_id",
        "label",
        "dry_run",
    ] {
        assert!(
            said.contains(&format!("\"{field}\"")),
            "{field}: {problem_doc}"
        );
    }
    // A read-only token may not even preview.
    let read_only = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let (code, _) = read_only.post("/api/v1/tenants/bulk", body(true)).await;
    assert_eq!(code, 403);
}

#[tokio::test]
async fn htmx_gets_the_pages_content_for_the_main_area() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let token = app.csrf().await;
    let a2 = w.t.a2.id.to_string();
    let post = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/tenants/bulk"))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token.clone())
            .form(&fields)
            .send()
    };
    let r = post(vec![("ids", a2.clone()), ("action", "disable".into())])
        .await
        .unwrap();
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"bulk-title\"") && !html.contains("<html"),
        "{html}"
    );
    let r = post(vec![("ids", a2.clone())]).await.unwrap();
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"action-error\"") && !html.contains("<html"),
        "{html}"
    );
    assert!(
        html.contains("<h1>Tenants</h1>"),
        "the list page's content: {html}"
    );
    assert!(enabled(&app, &w.t.a2).await);
}

#[tokio::test]
async fn the_page_needs_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let a2 = w.t.a2.id.to_string();
    let form = [
        ("ids", a2.as_str()),
        ("action", "disable"),
        ("confirm", "yes"),
    ];
    let r = app
        .client
        .post(app.url("/tenants/bulk"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    assert!(r.text().await.unwrap().contains("Request refused"));
    assert!(enabled(&app, &w.t.a2).await);
}

#[tokio::test]
async fn the_list_offers_a_checkbox_per_row_and_the_bar_with_the_filter() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants?label=tier:gold&parent={}", w.t.acme.id))
        .await;
    // Nothing matches yet: no rows, no bar.
    assert!(!html.contains("id=\"tenant-bulk\""));
    let html = app
        .get_html(&format!("/tenants?parent={}", w.t.acme.id))
        .await;
    for needle in [
        r#"<form id="tenant-bulk" class="bulk-bar" action="/tenants/bulk" method="post""#,
        &format!(
            r#"<input type="hidden" name="filter_parent" value="{}">"#,
            w.t.acme.id
        ),
        &format!(
            r#"<input type="checkbox" id="select-{id}" name="ids" value="{id}" form="tenant-bulk"><label for="select-{id}" class="visually-hidden">Select Tenant a1</label>"#,
            id = w.t.a1.id
        ),
        r#"<select id="bulk-action" name="action">"#,
        r#"<input id="bulk-all" name="all" type="checkbox" value="yes">"#,
        "all 2 tenants matching this filter",
        r#"<button type="submit" id="bulk-submit">Apply to selected</button>"#,
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }
}

/// The preview's "Reaches" cell of a tenant's row.
fn reach(html: &str, id: i64) -> Option<String> {
    let row = &html[html.find(&format!("<tr data-tenant-id=\"{id}\""))?..];
    let row = &row[..row.find("</tr>")?];
    let cell = &row[row.find("<td class=\"reach\">")? + 18..];
    Some(cell[..cell.find("</td>")?].to_string())
}

#[tokio::test]
async fn a_selected_tenant_inside_another_selected_subtree_reads_alike_in_preview_and_apply() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let (globex, g1) = (w.t.globex.id.to_string(), w.t.g1.id.to_string());
    let included = format!("Included in the sub-tenants of {}.", w.t.globex.name);
    // The one below first: the list's order is kept, the ancestor decides.
    let fields = [
        ("ids", g1.as_str()),
        ("ids", globex.as_str()),
        ("action", "disable"),
        ("scope", "subtree"),
    ];
    let (code, html) = bar(&app, &fields).await;
    assert_eq!(code, 200, "{html}");
    assert_eq!(
        outcomes(&html),
        [
            (
                w.t.g1.id,
                "unchanged".into(),
                format!("no change: {included}")
            ),
            (w.t.globex.id, "changed".into(), "will change".into()),
        ]
    );
    assert!(html.contains("Apply to 1 tenant<"), "{html}");
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let (code, html) = bar(&app, &confirmed).await;
    assert_eq!(code, 200, "{html}");
    assert_eq!(
        outcomes(&html),
        [
            (
                w.t.g1.id,
                "unchanged".into(),
                format!("unchanged: {included}")
            ),
            (w.t.globex.id, "changed".into(), "changed".into()),
        ]
    );
    assert!(!enabled(&app, &w.t.g1).await && !enabled(&app, &w.t.globex).await);

    // The API: the dry run and the apply agree too.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let body = |dry_run: bool| {
        json!({"ids": [w.t.g1.id, w.t.globex.id], "action": "enable",
               "scope": "subtree", "dry_run": dry_run})
    };
    for dry_run in [true, false] {
        let (code, r) = api.post("/api/v1/tenants/bulk", body(dry_run)).await;
        assert_eq!(code, 200, "{r}");
        assert_eq!(
            (r["changed"].clone(), r["unchanged"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(r["items"][0]["outcome"], "unchanged", "{r}");
        assert_eq!(r["items"][0]["message"], json!(included), "{r}");
        assert_eq!(r["items"][1]["outcome"], "changed", "{r}");
    }
    assert!(enabled(&app, &w.t.g1).await);

    // Each tenant alone: the one below is its own row, as before.
    let (_, html) = bar(
        &app,
        &[("ids", &g1), ("ids", &globex), ("action", "disable")],
    )
    .await;
    assert!(
        outcomes(&html).iter().all(|(_, o, _)| o == "changed"),
        "{html}"
    );
}

#[tokio::test]
async fn the_disable_preview_counts_sub_tenants_and_users_as_the_single_confirmation() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.user(&w.t.g1, "gus").await;
    app.user(&w.t.g1, "gina").await;
    app.login_admin().await;
    let (globex, g1) = (w.t.globex.id.to_string(), w.t.g1.id.to_string());
    // The single disable's confirmation of globex.
    let r = app
        .post_form(&format!("/tenants/{globex}/disable"), &[])
        .await;
    let single = r.text().await.unwrap();
    assert!(
        single.contains("has 1 sub-tenant (2 users at home in the whole subtree)"),
        "{single}"
    );
    let (code, html) = bar(
        &app,
        &[
            ("ids", &globex),
            ("ids", &g1),
            ("action", "disable"),
            ("scope", "subtree"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("<th scope=\"col\">Reaches</th>"), "{html}");
    assert_eq!(
        reach(&html, w.t.globex.id).as_deref(),
        Some("1 sub-tenant (2 users)")
    );
    // g1 is included in globex's subtree: counted there, not again.
    assert_eq!(reach(&html, w.t.g1.id).as_deref(), Some(""));
    // Each tenant only: its own users.
    let (_, html) = bar(
        &app,
        &[("ids", &globex), ("ids", &g1), ("action", "disable")],
    )
    .await;
    assert_eq!(reach(&html, w.t.globex.id).as_deref(), Some("0 users"));
    assert_eq!(reach(&html, w.t.g1.id).as_deref(), Some("2 users"));
    // A label has no such column.
    let (_, html) = bar(
        &app,
        &[
            ("ids", &g1),
            ("action", "add_label"),
            ("label", "tier:gold"),
        ],
    )
    .await;
    assert!(!html.contains("Reaches"), "{html}");
}

#[tokio::test]
async fn repeated_fields_ids_below_one_and_confirming_nothing_are_refused() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let alice = browser_as(&app, "acme\\alice").await;
    let a2 = w.t.a2.id.to_string();
    let events_before = count(&app, "SELECT count(*) FROM audit_events").await;
    let (code, html) = bar(
        &alice,
        &[
            ("ids", &a2),
            ("action", "disable"),
            ("action", "enable"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(code, 422, "{html}");
    assert_eq!(
        field_error(&html, "action").as_deref(),
        Some("Choose one action.")
    );
    for id in ["-5", "0"] {
        let (code, html) = bar(&alice, &[("ids", id), ("action", "disable")]).await;
        assert_eq!(code, 422, "{html}");
        assert_eq!(
            field_error(&html, "ids").unwrap(),
            format!("{id} is not a tenant id: ids are positive.")
        );
    }
    // The API says the same.
    let api = Api::new(&app, Some(&token_for(&app, &w.alice, false).await));
    let (code, body) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [-5], "action": "disable", "dry_run": true}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(
        body.to_string()
            .contains("-5 is not a tenant id: ids are positive."),
        "{body}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM audit_events").await,
        events_before
    );
    assert!(enabled(&app, &w.t.a2).await);

    // Nothing would change: the preview offers no confirmation, and a confirmation
    // sent anyway is refused.
    let enable = [("ids", a2.as_str()), ("action", "enable")];
    let (code, html) = bar(&alice, &enable).await;
    assert_eq!(code, 200, "{html}");
    assert!(!html.contains("id=\"bulk-confirm\""), "{html}");
    assert!(html.contains("id=\"bulk-nothing\""), "{html}");
    let mut confirmed = enable.to_vec();
    confirmed.push(("confirm", "yes"));
    let (code, html) = bar(&alice, &confirmed).await;
    assert_eq!(code, 422, "{html}");
    assert!(
        html.contains(
            "<p id=\"confirm-error\">Nothing to apply: none of the selected tenants would change."
        ),
        "{html}"
    );
    assert!(!html.contains("Done:"), "{html}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM audit_events").await,
        events_before
    );
}

#[tokio::test]
async fn the_bulk_bar_is_offered_only_to_who_may_change_a_listed_tenant() {
    let app = spawn_app().await;
    let _w = world(&app).await;
    let vera = browser_as(&app, "acme\\vera").await;
    let html = vera.get_html("/tenants").await;
    assert!(
        html.contains("<tr data-tenant-id="),
        "vera sees the rows: {html}"
    );
    assert!(!html.contains("id=\"tenant-bulk\""), "{html}");
    assert!(!html.contains("form=\"tenant-bulk\""), "{html}");
    let alice = browser_as(&app, "acme\\alice").await;
    let html = alice.get_html("/tenants").await;
    assert!(html.contains("id=\"tenant-bulk\""), "{html}");
    assert!(html.contains("form=\"tenant-bulk\""), "{html}");
}

#[tokio::test]
async fn a_form_that_cannot_be_read_is_told_so_and_changes_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    app.login_admin().await;
    let token = app.csrf().await;
    let a2 = w.t.a2.id;
    let send = |content_type: &'static str, body: Vec<u8>, htmx: bool| {
        let mut request = app
            .client
            .post(app.url("/tenants/bulk"))
            .header("Content-Type", content_type)
            .body(body);
        if htmx {
            request = request
                .header("HX-Request", "true")
                .header("X-CSRF-Token", token.clone());
        }
        request.send()
    };
    let urlencoded = "application/x-www-form-urlencoded";
    let bad_utf8 = format!("csrf_token={token}&ids={a2}&action=disable&label=%FF&confirm=yes");
    let multipart = format!(
        "--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --b\r\nContent-Disposition: form-data; name=\"ids\"\r\n\r\n{a2}\r\n\
         --b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ndisable\r\n\
         --b\r\nContent-Disposition: form-data; name=\"confirm\"\r\n\r\nyes\r\n--b--\r\n"
    );
    let raw_utf8 = [
        format!("csrf_token={token}&ids={a2}&action=").into_bytes(),
        vec![0xff],
    ]
    .concat();
    for (content_type, body, htmx) in [
        (urlencoded, bad_utf8.clone().into_bytes(), false),
        (urlencoded, bad_utf8.into_bytes(), true),
        (urlencoded, raw_utf8, false),
        (
            "multipart/form-data; boundary=b",
            multipart.clone().into_bytes(),
            false,
        ),
        (
            "multipart/form-data; boundary=b",
            multipart.into_bytes(),
            true,
        ),
    ] {
        let r = send(content_type, body, htmx).await.unwrap();
        assert_eq!(status(&r), 400, "{content_type}, htmx {htmx}");
        let html = r.text().await.unwrap();
        assert!(html.contains("The form could not be read"), "{html}");
        assert!(!html.contains("expired"), "{html}");
    }
    assert!(enabled(&app, &w.t.a2).await);
}

#[tokio::test]
async fn post_only_addresses_answer_405_and_a_parameter_sent_twice_is_named() {
    let app = spawn_app().await;
    app.login_admin().await;
    // The bulk bar's address, as every other address that only takes a form.
    for path in [
        "/tenants/bulk",
        "/logout",
        &format!("/tenants/{}/disable", app.root.id),
    ] {
        let r = app.get(path).await;
        assert_eq!(status(&r), 405, "{path}");
        assert_eq!(r.headers()["allow"], "POST", "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("where a form is sent"), "{path}: {html}");
    }
    // A page stays a page; a path nothing has stays a 404.
    assert_eq!(
        status(&app.get(&format!("/tenants/{}", app.root.id)).await),
        200
    );
    assert_eq!(status(&app.get("/tenants/12345678").await), 404);
    assert_eq!(status(&app.get("/no/such/page").await), 404);
    let r = app.get("/tenants?q=a&status=enabled&q=b").await;
    assert_eq!(status(&r), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("The query parameter “q” is given more than once"),
        "{html}"
    );
    // The API names it too.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let (code, body) = api.get("/api/v1/tenants?limit=2&limit=3").await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("“limit”"),
        "{body}"
    );
}

#[tokio::test]
async fn the_bulk_move_names_its_destination_by_subdomain_or_name_and_offers_a_choice() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let twin1 = app.tenant(&app.root, "twin1", true).await;
    let twin2 = app.tenant(&app.root, "twin2", true).await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET name = 'Twin' WHERE id = ANY($1)",
            &[&vec![twin1.id, twin2.id]],
        )
        .await
        .unwrap();
    app.login_admin().await;
    let a2 = w.t.a2.id.to_string();
    let mv = |destination: &'static str| {
        vec![
            ("ids", a2.clone()),
            ("action", "move".to_string()),
            ("destination", destination.to_string()),
        ]
    };
    let app_ref = &app;
    let post = move |fields: Vec<(&'static str, String)>| async move {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        bar(app_ref, &fields).await
    };
    // A subdomain, or a whole name in any case: that tenant; the confirmation names
    // it by id.
    for typed in ["a1", "TENANT A1"] {
        let (code, html) = post(mv(typed)).await;
        assert_eq!(code, 200, "{typed}: {html}");
        assert!(
            html.contains("Preview: Move under Tenant a1"),
            "{typed}: {html}"
        );
        assert_eq!(outcomes(&html)[0].1, "changed");
        assert!(
            html.contains(&format!(
                r#"<input type="hidden" name="parent" value="{}">"#,
                w.t.a1.id
            )),
            "{html}"
        );
        assert!(!html.contains(r#"name="destination""#), "{html}");
    }
    // A name several tenants have: the choice of them, then the chosen one.
    let (code, html) = post(mv("Twin")).await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("id=\"parent-choices\""), "{html}");
    assert_eq!(
        field_error(&html, "parent").unwrap(),
        "Several tenants are named “Twin”: choose one."
    );
    for twin in [&twin1, &twin2] {
        assert!(
            html.contains(&format!(r#"name="parent" value="{}""#, twin.id)),
            "{html}"
        );
    }
    assert!(!html.contains("Preview: Move under"), "{html}");
    let mut chosen = mv("Twin");
    chosen.push(("parent", twin2.id.to_string()));
    let (_, html) = post(chosen.clone()).await;
    assert!(html.contains("Preview: Move under Twin"), "{html}");
    chosen.push(("confirm", "yes".into()));
    let (_, html) = post(chosen).await;
    assert!(html.contains("Done: Move under Twin"), "{html}");
    assert_eq!(app.reload(&w.t.a2).await.unwrap().parent_id, Some(twin2.id));
    // Part of a name: a choice of what contains it.
    let (code, html) = post(mv("wi")).await;
    assert_eq!(code, 200, "{html}");
    assert_eq!(
        field_error(&html, "parent").unwrap(),
        "No tenant is called “wi”: choose one of those that match."
    );
    // Nothing, or a tenant that may not have sub-tenants: the list again, input kept.
    for (typed, message) in [
        ("zzz", "No tenant you may move tenants under matches “zzz”."),
        ("a1x", "Tenant a1x may not have sub-tenants."),
        ("", "Enter the new parent: its subdomain or name."),
    ] {
        let (code, html) = post(mv(typed)).await;
        assert_eq!(code, 422, "{typed}: {html}");
        assert_eq!(field_error(&html, "parent").unwrap(), message, "{typed}");
        assert!(
            html.contains(&format!(
                r#"name="destination" type="search" value="{typed}""#
            )),
            "{html}"
        );
    }

    // alice manages acme's subtree and sees globex, without managing it.
    app.grant(
        &w.alice,
        &w.t.globex,
        GrantRole::Viewer,
        Scope::Subtree,
        false,
    )
    .await;
    let alice = browser_as(&app, "acme\\alice").await;
    let found = alice
        .get_html("/tenants/destinations?destination=tenant")
        .await;
    let offered: Vec<i64> = found
        .split("data-pick-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(offered, [w.t.acme.id, w.t.a1.id], "{found}");
    let (code, html) = bar(
        &alice,
        &[("ids", &a2), ("action", "move"), ("destination", "globex")],
    )
    .await;
    assert_eq!(code, 422, "{html}");
    assert_eq!(
        field_error(&html, "parent").unwrap(),
        "You may not move tenants under Tenant globex: that takes managing its sub-tenants."
    );
    // The same by id, as a form of before the picker sends it; one alice cannot see
    // is not found, as one that does not exist.
    let globex = w.t.globex.id.to_string();
    let (_, html) = bar(
        &alice,
        &[("ids", &a2), ("action", "move"), ("parent", &globex)],
    )
    .await;
    assert!(field_error(&html, "parent")
        .unwrap()
        .starts_with("You may not move tenants under"));
    let (_, html) = bar(
        &alice,
        &[("ids", &a2), ("action", "move"), ("destination", "twin1")],
    )
    .await;
    assert_eq!(
        field_error(&html, "parent").unwrap(),
        "No tenant you may move tenants under matches “twin1”."
    );
}
