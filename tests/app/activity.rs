//! The activity page (`/tenants/{id}/activity`), its CSV export and its API: who
//! sees which events (a customer's administrators see what was done to their tenant
//! from above, switch-ins included, and nothing about their siblings), the filters,
//! keyset pages, the export's form, and the audit trail's protection.

use crate::api::{token_for, Api};
use crate::helpers::*;
use tenantry::db::models::Tenant;
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};

/// Events written straight into the trail: `n` of `action` about `tenant`, one
/// second apart, the newest at `newest` (an ISO timestamp).
async fn insert_events(
    app: &TestApp,
    tenant: &Tenant,
    action: &str,
    actor: &str,
    n: i64,
    newest: &str,
) {
    db(app)
        .await
        .execute(
            &format!(
                "INSERT INTO audit_events (occurred_at, actor_username, tenant_id, action, after, client_addr) \
                 SELECT '{newest}'::timestamptz - make_interval(secs => {n} - i), $1, $2, $3, \
                        jsonb_build_object('n', i), '192.0.2.7' \
                 FROM generate_series(1, {n}) AS i"
            ),
            &[&actor, &tenant.id, &action],
        )
        .await
        .expect("insert events");
}

/// A new app with the partner tree and `n` events of `action` by `actor` about the
/// tenant `pick` chooses (see `insert_events`).
async fn tree_with_events(
    pick: fn(&PartnerTree) -> &Tenant,
    action: &str,
    actor: &str,
    n: i64,
    newest: &str,
) -> (TestApp, PartnerTree) {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    insert_events(&app, pick(&t), action, actor, n, newest).await;
    (app, t)
}

/// The actions of the events listed on an activity page, in order.
fn listed_actions(html: &str) -> Vec<String> {
    html.split("<tr class=\"event\" data-action=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The link of an activity page with this `rel`, if any.
fn rel_link(html: &str, rel: &str) -> Option<String> {
    let marker = format!("<a rel=\"{rel}\" href=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The `Older →` link of an activity page, if any.
fn older_link(html: &str) -> Option<String> {
    rel_link(html, "next")
}

/// The `← Newer` link of an activity page, if any.
fn newer_link(html: &str) -> Option<String> {
    rel_link(html, "prev")
}

/// The `n` of the events listed on an activity page (`insert_events` numbers them).
fn listed_numbers(html: &str) -> Vec<i64> {
    html.split("<span class=\"field-name\">n</span>: ")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find("<ins>")? + "<ins>".len();
            let end = rest.find("</ins>")?;
            rest[start..end].parse().ok()
        })
        .collect()
}

async fn admin_browser(app: &TestApp) -> TestApp {
    let admin = app.new_browser();
    admin.login_admin().await;
    admin
}

#[tokio::test]
async fn a_customers_admin_sees_what_was_done_from_above_and_nothing_about_siblings() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let a2admin = app.user(&t.a2, "a2admin").await;
    app.grant(
        &a2admin,
        &t.a2,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;

    // The root's administrator switches into a2 and disables and enables it; a1 (a
    // sibling) and g1 (another partner's customer) are changed too.
    let admin = admin_browser(&app).await;
    let r = admin
        .post_form(
            &format!("/tenants/{}/disable", t.g1.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 303);
    insert_events(
        &app,
        &t.a1,
        "tenant.update",
        "root\\admin",
        2,
        "2026-01-01T00:00:00Z",
    )
    .await;
    let r = admin
        .post_form("/switch", &[("tenant_id", &t.a2.id.to_string())])
        .await;
    assert_eq!(status(&r), 303);
    for what in ["disable", "enable"] {
        let r = admin
            .post_form(
                &format!("/tenants/{}/{what}", t.a2.id),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(status(&r), 303, "{what}");
    }

    let customer = browser_as(&app, "a2\\a2admin").await;
    let r = customer
        .get(&format!("/tenants/{}/activity", t.a2.id))
        .await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert_eq!(
        listed_actions(&html),
        // The customer's own login is about a2 too.
        [
            "login.success",
            "tenant.enable",
            "tenant.disable",
            "tenant.switch"
        ]
    );
    assert!(html.contains("Disabled the tenant"), "{html}");
    assert!(html.contains("Switched into the tenant"));
    assert!(html.contains("root\\admin"));
    // Acting in a2 (not the admin's home): said so. The switch itself was made from
    // the root, and disabling a2 sent the admin back home before enabling it.
    let rows: Vec<&str> = html.split("<tr class=\"event\"").skip(1).collect();
    assert!(rows[2].contains("tenant.disable") && rows[2].contains("acting in Tenant a2"));
    assert_eq!(html.matches("acting in").count(), 1, "{html}");
    // The readable diff of the disable: enabled true → false, no raw JSON only.
    assert!(
        html.contains(
            "<span class=\"field-name\">enabled</span>: <del>true</del> → <ins>false</ins>"
        ),
        "{html}"
    );
    assert!(html.contains("<time datetime=\"20"));
    assert!(html.contains("<code>127.0.0.1</code>"));
    assert!(!html.contains("Tenant a1") && !html.contains("Tenant g1"));
    // The subtree of a2 is a2 alone here: the same events, nothing of the siblings.
    let html = customer
        .get_html(&format!("/tenants/{}/activity?scope=subtree", t.a2.id))
        .await;
    assert_eq!(listed_actions(&html).len(), 4);
    // Siblings and parents are not there at all.
    for other in [&t.a1, &t.acme, &t.g1] {
        let r = customer
            .get(&format!("/tenants/{}/activity", other.id))
            .await;
        assert_eq!(status(&r), 404, "{}", other.name);
        let r = customer
            .get(&format!("/tenants/{}/activity.csv", other.id))
            .await;
        assert_eq!(status(&r), 404, "{}", other.name);
    }
    // The tenant page and the navigation link to it.
    let page = customer.get_html(&format!("/tenants/{}", t.a2.id)).await;
    assert!(page.contains(&format!("href=\"/tenants/{}/activity\"", t.a2.id)));
}

#[tokio::test]
async fn a_reader_never_sees_the_name_or_id_of_a_tenant_they_cannot_see() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    // alice: Owner of acme's subtree; ron: homed in acme, Administrator of a2 only
    // (he sees acme and a2, not a1, a2's sibling).
    let alice = app.user(&t.acme, "alice").await;
    app.grant(&alice, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let ron = app.user(&t.acme, "ron").await;
    app.grant(&ron, &t.a2, GrantRole::Administrator, Scope::Tenant, false)
        .await;
    // alice switches into a1, then disables and enables a2 from there.
    let a = browser_as(&app, "acme\\alice").await;
    let r = a
        .post_form("/switch", &[("tenant_id", &t.a1.id.to_string())])
        .await;
    assert_eq!(status(&r), 303);
    for what in ["disable", "enable"] {
        let r = a
            .post_form(
                &format!("/tenants/{}/{what}", t.a2.id),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(status(&r), 303, "{what}");
    }
    // The root's administrator moves a2 under a1: its old and new parents are named in
    // the event (ids and paths).
    let admin = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (s, body) = admin
        .post(
            &format!("/api/v1/tenants/{}/move", t.a2.id),
            serde_json::json!({"parent_id": t.a1.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    const HIDDEN: &str = "a tenant you cannot see";

    let r = browser_as(&app, "acme\\ron").await;
    let html = r.get_html(&format!("/tenants/{}/activity", t.a2.id)).await;
    let rows: Vec<&str> = html.split("<tr class=\"event\"").skip(1).collect();
    for action in ["tenant.disable", "tenant.enable"] {
        let row = rows
            .iter()
            .find(|r| r.contains(&format!("data-action=\"{action}\"")))
            .unwrap_or_else(|| panic!("{action}: {html}"));
        assert!(row.contains(&format!("acting in {HIDDEN}")), "{row}");
    }
    // The breadcrumb of a2, now under a1: a1 unnamed and unlinked between the two
    // tenants ron sees.
    let crumbs = &html[html.find("id=\"breadcrumb\"").unwrap()..html.find("<main").unwrap()];
    assert!(!crumbs.contains(&t.a1.name), "{crumbs}");
    assert!(
        !crumbs.contains(&format!("/tenants/{}\"", t.a1.id)),
        "{crumbs}"
    );
    assert!(
        crumbs.contains(&t.acme.name) && crumbs.contains(&t.a2.name),
        "{crumbs}"
    );
    assert!(crumbs.contains(HIDDEN), "{crumbs}");
    let main = &html[html.find("<main").unwrap()..];
    assert!(!main.contains("Tenant a1"), "{main}");
    // The move: the parent ron cannot see is unnamed, the one he sees is named.
    let moved = rows
        .iter()
        .find(|r| r.contains("data-action=\"tenant.move\""))
        .unwrap_or_else(|| panic!("{html}"));
    assert!(
        moved.contains(&format!(
            "<span class=\"field-name\">parent_id</span>: <del>Tenant acme (id {})</del> → <ins>{HIDDEN}</ins>",
            t.acme.id
        )),
        "{moved}"
    );

    let csv = r
        .get(&format!("/tenants/{}/activity.csv", t.a2.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(!csv.contains("Tenant a1"), "{csv}");
    let disable = csv
        .lines()
        .find(|l| l.contains(",tenant.disable,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(disable.contains(&format!(",{HIDDEN},")), "{disable}");

    let api = Api::new(&app, Some(&token_for(&app, &ron, true).await));
    let (s, body) = api
        .get(&format!("/api/v1/tenants/{}/activity", t.a2.id))
        .await;
    assert_eq!(s, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    let by_action = |a: &str| {
        items
            .iter()
            .find(|i| i["action"] == a)
            .unwrap_or_else(|| panic!("{a}: {body}"))
            .clone()
    };
    for action in ["tenant.disable", "tenant.enable"] {
        let e = by_action(action);
        assert_eq!(e["acting_tenant_name"], HIDDEN, "{e}");
        assert!(e["acting_tenant_id"].is_null(), "{e}");
        assert_eq!(e["acted_elsewhere"], true);
        assert_eq!(e["tenant_name"], "Tenant a2");
    }
    let e = by_action("tenant.move");
    assert_eq!(e["before"]["parent_id"], t.acme.id);
    assert_eq!(e["after"]["parent_id"], HIDDEN);
    // Paths keep only the tenants ron sees: acme and a2 (not the root, not a1).
    assert_eq!(e["before"]["path"], serde_json::json!([t.acme.id, t.a2.id]));
    assert_eq!(e["after"]["path"], serde_json::json!([t.acme.id, t.a2.id]));
    assert!(!body.to_string().contains("Tenant a1"), "{body}");

    // alice sees a1: named there.
    let html = a.get_html(&format!("/tenants/{}/activity", t.a2.id)).await;
    assert!(html.contains("acting in Tenant a1"), "{html}");
}

#[tokio::test]
async fn before_and_after_name_the_tenants_and_tenant_roles_they_name_by_id() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (s, body) = api
        .post(
            &format!("/api/v1/tenants/{}/move", t.a2.id),
            serde_json::json!({"parent_id": t.a1.id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // A change of tenant role, from the default one to one since deleted.
    let role: (i64, String) = {
        let row = db(&app)
            .await
            .query_one("SELECT id, name FROM tenant_roles ORDER BY id LIMIT 1", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    db(&app)
        .await
        .execute(
            "INSERT INTO audit_events (actor_username, tenant_id, action, before, after) \
             VALUES ('root\\admin', $1, 'tenant.update', \
                     jsonb_build_object('tenant_role_id', $2::bigint), '{\"tenant_role_id\": 987654}')",
            &[&t.a2.id, &role.0],
        )
        .await
        .unwrap();
    let (acme, a1) = (
        format!("Tenant acme (id {})", t.acme.id),
        format!("Tenant a1 (id {})", t.a1.id),
    );
    let admin = admin_browser(&app).await;
    let html = admin
        .get_html(&format!("/tenants/{}/activity", t.a2.id))
        .await;
    assert!(
        html.contains(&format!(
            "<span class=\"field-name\">parent_id</span>: <del>{acme}</del> → <ins>{a1}</ins>"
        )),
        "{html}"
    );
    // A role that no longer exists keeps its id.
    assert!(
        html.contains(&format!(
            "<span class=\"field-name\">tenant_role_id</span>: <del>{} (id {})</del> → <ins>987654</ins>",
            role.1, role.0
        )),
        "{html}"
    );
    // The export says the same.
    let csv = admin
        .get(&format!("/tenants/{}/activity.csv", t.a2.id))
        .await
        .text()
        .await
        .unwrap();
    let moved = csv
        .lines()
        .find(|l| l.contains(",tenant.move,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        moved.contains(&format!(r#"""parent_id"":""{acme}"""#))
            && moved.contains(&format!(r#"""parent_id"":""{a1}"""#)),
        "{moved}"
    );
    assert!(
        csv.contains(&format!(
            r#"""tenant_role_id"":""{} (id {})"""#,
            role.1, role.0
        )),
        "{csv}"
    );
    // The API: the raw ids for programs, the changes as the page reads them.
    let (_, body) = api
        .get(&format!(
            "/api/v1/tenants/{}/activity?action=tenant.move",
            t.a2.id
        ))
        .await;
    let e = &body["items"][0];
    assert_eq!(e["after"]["parent_id"], t.a1.id);
    let change = e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "parent_id")
        .unwrap();
    assert_eq!(change["before"], acme.as_str());
    assert_eq!(change["after"], a1.as_str());
}

#[tokio::test]
async fn the_subtree_scope_takes_a_grant_that_reaches_it_and_keeps_deleted_tenants_events() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let viewer = app.user(&t.acme, "viewer").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let here = app.user(&t.acme, "here").await;
    app.grant(
        &here,
        &t.acme,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    let mut users_only = Permissions::none();
    users_only.set(Feature::Users, Level::Full);
    app.user_with_role(&t.acme, "noaudit", users_only).await;

    let admin = admin_browser(&app).await;
    for id in [t.a1x.id, t.a2.id, t.g1.id] {
        let r = admin
            .post_form(&format!("/tenants/{id}/disable"), &[("confirm", "yes")])
            .await;
        assert_eq!(status(&r), 303);
    }
    // a1x goes: its events stay, under its name, in acme's subtree.
    let r = admin
        .post_form(
            &format!("/tenants/{}/delete", t.a1x.id),
            &[("confirm", "a1x")],
        )
        .await;
    assert_eq!(status(&r), 303, "{}", r.text().await.unwrap());
    assert!(app.reload(&t.a1x).await.is_none());

    // A Viewer of the whole subtree reads it (audit read is enough).
    let v = browser_as(&app, "acme\\viewer").await;
    let html = v
        .get_html(&format!("/tenants/{}/activity?scope=subtree", t.acme.id))
        .await;
    // The page says by which place it lists events (issue #11 review).
    assert!(
        html.contains("an event is listed by where its tenant was when it happened"),
        "{html}"
    );
    let actions = listed_actions(&html);
    assert_eq!(
        actions,
        [
            "login.success",
            "tenant.delete",
            "tenant.disable",
            "tenant.disable"
        ],
        "{html}"
    );
    assert!(html.contains("Tenant a1x") && html.contains("Tenant a2"));
    assert!(!html.contains("Tenant g1"));
    // Acme's own events: the viewer's login only.
    let html = v
        .get_html(&format!("/tenants/{}/activity", t.acme.id))
        .await;
    assert_eq!(listed_actions(&html), ["login.success"]);
    let html = v
        .get_html(&format!(
            "/tenants/{}/activity?action=tenant.delete",
            t.acme.id
        ))
        .await;
    assert!(html.contains("No activity matches."));
    assert_eq!(
        status(&v.get(&format!("/tenants/{}/activity", t.globex.id)).await),
        404
    );

    // A tenant-only grant reads the subtree's events about the tenants it sees: acme
    // alone, then a1's subtree too once a grant there shows it (a1x, deleted, by its
    // place then); never a2's.
    let h = browser_as(&app, "acme\\here").await;
    assert_eq!(
        status(&h.get(&format!("/tenants/{}/activity", t.acme.id)).await),
        200
    );
    let subtree = format!("/tenants/{}/activity?scope=subtree", t.acme.id);
    let html = h.get_html(&subtree).await;
    assert!(html.contains("name=\"scope\""), "{html}");
    assert_eq!(
        listed_actions(&html),
        ["login.success", "login.success"],
        "{html}"
    );
    app.grant(&here, &t.a1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let h = browser_as(&app, "acme\\here").await;
    let html = h.get_html(&subtree).await;
    assert_eq!(
        listed_actions(&html),
        [
            "login.success",
            "login.success",
            "login.success",
            "tenant.delete",
            "tenant.disable"
        ],
        "{html}"
    );
    assert!(html.contains("Tenant a1x") && !html.contains("Tenant a2"));
    let csv = h
        .get(&format!(
            "/tenants/{}/activity.csv?scope=subtree&action=tenant.disable",
            t.acme.id
        ))
        .await;
    assert_eq!(status(&csv), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("a1x") && !csv.contains("a2"), "{csv}");

    // Without Audit: 403, and no link.
    let n = browser_as(&app, "acme\\noaudit").await;
    assert_eq!(
        status(&n.get(&format!("/tenants/{}/activity", t.acme.id)).await),
        403
    );
    assert_eq!(
        status(&n.get(&format!("/tenants/{}/activity.csv", t.acme.id)).await),
        403
    );
    // Whatever the filters or the page start: the right comes first, page and export alike.
    for query in ["from=yesterday", "before=nonsense", "scope=galaxy"] {
        for path in ["activity", "activity.csv"] {
            let r = n
                .get(&format!("/tenants/{}/{path}?{query}", t.acme.id))
                .await;
            assert_eq!(status(&r), 403, "{path}?{query}");
        }
    }
    let dashboard = n.get_html("/dashboard").await;
    assert!(!dashboard.contains("/activity\""));
    let dashboard = v.get_html("/dashboard").await;
    assert!(dashboard.contains(&format!("href=\"/tenants/{}/activity\"", t.acme.id)));
}

#[tokio::test]
async fn filters_select_by_actor_action_and_days_and_bad_ones_are_field_errors() {
    let (app, t) = tree_with_events(
        |t| &t.acme,
        "tenant.update",
        "acme\\alice",
        3,
        "2026-03-01T10:00:00Z",
    )
    .await;
    insert_events(
        &app,
        &t.acme,
        "user.create",
        "root\\bob",
        2,
        "2026-03-02T23:59:59Z",
    )
    .await;
    insert_events(
        &app,
        &t.acme,
        "grant.give",
        "acme\\alice",
        1,
        "2026-03-03T00:00:00Z",
    )
    .await;
    let admin = admin_browser(&app).await;
    let page = |q: &str| {
        let admin = &admin;
        let url = format!("/tenants/{}/activity?{q}", t.acme.id);
        async move { admin.get_html(&url).await }
    };
    assert_eq!(listed_actions(&page("").await).len(), 6);
    assert_eq!(listed_actions(&page("actor=ALICE").await).len(), 4);
    assert_eq!(
        listed_actions(&page("actor=root%5Cbob").await),
        ["user.create"; 2]
    );
    assert_eq!(
        listed_actions(&page("actor=%25").await).len(),
        0,
        "% is literal"
    );
    assert_eq!(
        listed_actions(&page("action=grant.give").await),
        ["grant.give"]
    );
    // Days are inclusive, in UTC.
    assert_eq!(
        listed_actions(&page("from=2026-03-02&to=2026-03-02").await),
        ["user.create"; 2]
    );
    assert_eq!(listed_actions(&page("from=2026-03-02").await).len(), 3);
    assert_eq!(
        listed_actions(&page("to=2026-03-01").await),
        ["tenant.update"; 3]
    );
    let html = page("actor=alice&action=tenant.update&from=2026-03-01").await;
    assert_eq!(listed_actions(&html).len(), 3);
    // The form keeps what was chosen.
    assert!(html.contains("value=\"alice\""));
    assert!(html.contains("<option value=\"tenant.update\" selected>"));

    // Bad dates: the page again, 422, the field errors, input kept. An action that
    // is not in the list is a request the page never makes: 400 naming it.
    let r = admin
        .get(&format!(
            "/tenants/{}/activity?action=tenant.explode",
            t.acme.id
        ))
        .await;
    assert_eq!(status(&r), 400);
    assert!(r.text().await.unwrap().contains("“action”"));
    for (q, field) in [
        ("from=2026-02-30", "from"),
        ("to=yesterday", "to"),
        ("from=2026-03-02&to=2026-03-01", "to"),
    ] {
        let r = admin
            .get(&format!("/tenants/{}/activity?{q}", t.acme.id))
            .await;
        assert_eq!(status(&r), 422, "{q}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{q}: {html}"
        );
        assert!(listed_actions(&html).is_empty());
    }
    let html = page("from=2026-02-30").await;
    assert!(html.contains("value=\"2026-02-30\""));
    // A bad page start is a bad request, not a server error.
    let r = admin
        .get(&format!("/tenants/{}/activity?before=x", t.acme.id))
        .await;
    assert_eq!(status(&r), 400);
}

#[tokio::test]
async fn pages_run_by_keyset_both_ways_and_new_events_do_not_shift_them() {
    let (app, t) = tree_with_events(
        |t| &t.a1,
        "tenant.update",
        "root\\admin",
        120,
        "2026-04-01T12:00:00Z",
    )
    .await;
    // Other events between them, which the filter leaves out.
    insert_events(
        &app,
        &t.a1,
        "user.create",
        "root\\admin",
        30,
        "2026-04-01T11:59:30Z",
    )
    .await;
    let admin = admin_browser(&app).await;
    let first = admin
        .get_html(&format!(
            "/tenants/{}/activity?action=tenant.update",
            t.a1.id
        ))
        .await;
    assert_eq!(listed_actions(&first).len(), 50);
    assert!(
        newer_link(&first).is_none(),
        "the newest page has no newer one"
    );
    let older = older_link(&first).expect("an older page");
    assert!(
        older.contains("action=tenant.update") && older.contains("before="),
        "{older}"
    );
    // Newer events arrive meanwhile: the next page is the same.
    insert_events(
        &app,
        &t.a1,
        "tenant.update",
        "root\\admin",
        5,
        "2026-04-02T12:00:00Z",
    )
    .await;
    let second = admin.get_html(&older).await;
    assert_eq!(listed_actions(&second).len(), 50);
    assert!(second.contains("rel=\"first\""));
    // The first event of page two is the 51st newest of the original 120: n = 70.
    assert!(second.contains("<ins>70</ins>"), "{second}");
    let third = admin.get_html(&older_link(&second).unwrap()).await;
    assert_eq!(listed_numbers(&third), (1..=20).rev().collect::<Vec<_>>());
    assert!(older_link(&third).is_none());

    // Newer from the last page: the page before it, exactly, the filter kept.
    let newer = newer_link(&third).expect("a newer page");
    assert!(
        newer.contains("action=tenant.update") && newer.contains("after="),
        "{newer}"
    );
    let back = admin.get_html(&newer).await;
    assert_eq!(listed_actions(&back), vec!["tenant.update"; 50]);
    assert_eq!(listed_numbers(&back), listed_numbers(&second));
    assert!(older_link(&back).is_some() && back.contains("rel=\"first\""));
    // Then the first page's events, and the ones that arrived since …
    let back = admin.get_html(&newer_link(&back).unwrap()).await;
    assert_eq!(listed_numbers(&back), (71..=120).rev().collect::<Vec<_>>());
    // … which are fewer than a page: the newest page, at its own address.
    let r = admin
        .get(&newer_link(&back).expect("the arrived events"))
        .await;
    assert_redirect_to(
        &r,
        &format!("/tenants/{}/activity?action=tenant.update", t.a1.id),
    );
    // A start no link makes.
    let base = format!("/tenants/{}/activity", t.a1.id);
    for q in ["after=x", "before=1_2&after=1_2"] {
        let r = admin.get(&format!("{base}?{q}")).await;
        assert_eq!(status(&r), 400, "{q}");
    }
    let r = admin.get(&format!("{base}.csv?after=1_2")).await;
    assert_eq!(status(&r), 400);
}

#[tokio::test]
async fn the_csv_export_streams_the_same_rows_formula_safe() {
    let (app, t) = tree_with_events(
        |t| &t.a2,
        "tenant.update",
        "=cmd|' /C calc'!A0",
        1,
        "2026-05-01T00:00:00Z",
    )
    .await;
    insert_events(
        &app,
        &t.a2,
        "user.create",
        "a2\\carol",
        1200,
        "2026-05-02T00:00:00Z",
    )
    .await;
    let admin = admin_browser(&app).await;

    let r = admin
        .get(&format!("/tenants/{}/activity.csv", t.a2.id))
        .await;
    assert_eq!(status(&r), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"activity-a2-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    // Streamed: no length known up front.
    assert!(r.headers().get("content-length").is_none());
    assert_eq!(r.headers()["transfer-encoding"], "chunked");
    let body = r.text().await.unwrap();
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "occurred_at,actor,acting_tenant,tenant_id,tenant,action,client_addr,before,after"
    );
    assert_eq!(
        lines.len(),
        1 + 1201 + 1,
        "header, rows, and the final CRLF"
    );
    assert_eq!(lines.last(), Some(&""));
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1201);
    assert_eq!(&rows[0][1], "a2\\carol");
    assert_eq!(&rows[0][3], t.a2.id.to_string());
    assert_eq!(&rows[0][4], "Tenant a2");
    assert_eq!(&rows[0][6], "192.0.2.7");
    assert_eq!(&rows[0][8], "{\"n\":1200}");
    // The formula is a string in a spreadsheet.
    assert_eq!(&rows[1200][1], "'=cmd|' /C calc'!A0");

    // What the filters select, in the page's order.
    let q = "action=tenant.update";
    let csv_body = admin
        .get(&format!("/tenants/{}/activity.csv?{q}", t.a2.id))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv_body.split("\r\n").count(), 3);
    let html = admin
        .get_html(&format!("/tenants/{}/activity?{q}", t.a2.id))
        .await;
    assert!(html.contains(&format!(
        "href=\"/tenants/{}/activity.csv?action=tenant.update\"",
        t.a2.id
    )));
    let page_actions = listed_actions(
        &admin
            .get_html(&format!("/tenants/{}/activity", t.a2.id))
            .await,
    );
    let csv_actions: Vec<String> = rows.iter().take(50).map(|r| r[5].to_string()).collect();
    assert_eq!(page_actions, csv_actions);
    // Bad filters: no file.
    let r = admin
        .get(&format!("/tenants/{}/activity.csv?from=nope", t.a2.id))
        .await;
    assert_eq!(status(&r), 422);
}

#[tokio::test]
async fn the_audit_trail_refuses_updates_deletes_and_truncation_and_outlives_its_tenant() {
    let (app, t) = tree_with_events(
        |t| &t.g1,
        "tenant.update",
        "root\\admin",
        1,
        "2026-06-01T00:00:00Z",
    )
    .await;
    let client = db(&app).await;
    for sql in [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let e = client.execute(sql, &[]).await.unwrap_err();
        assert!(
            e.as_db_error().unwrap().message().contains("append-only"),
            "{sql}: {e}"
        );
    }
    // Recorded with the tenant's name and path, kept after the tenant is gone.
    let admin = admin_browser(&app).await;
    let r = admin
        .post_form(
            &format!("/tenants/{}/delete", t.g1.id),
            &[("confirm", "g1")],
        )
        .await;
    assert_eq!(status(&r), 303);
    let row = client
        .query_one(
            "SELECT count(*), min(tenant_name), bool_and(tenant_path = $2) FROM audit_events WHERE tenant_id = $1",
            &[&t.g1.id, &vec![app.root.id, t.globex.id, t.g1.id]],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2, "the update and the delete");
    assert_eq!(row.get::<_, String>(1), "Tenant g1");
    assert!(row.get::<_, bool>(2));
    let html = admin
        .get_html(&format!("/tenants/{}/activity?scope=subtree", t.globex.id))
        .await;
    assert_eq!(listed_actions(&html), ["tenant.delete", "tenant.update"]);
}

#[tokio::test]
async fn the_api_lists_activity_with_the_same_filters_and_cursor_pages() {
    let (app, t) = tree_with_events(
        |t| &t.a1,
        "tenant.update",
        "root\\admin",
        7,
        "2026-07-01T00:00:00Z",
    )
    .await;
    insert_events(
        &app,
        &t.a1,
        "user.create",
        "a1\\dave",
        2,
        "2026-07-02T00:00:00Z",
    )
    .await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let base = format!("/api/v1/tenants/{}/activity", t.a1.id);
    let (s, body) = api.get(&format!("{base}?limit=4")).await;
    assert_eq!(s, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["action"], "user.create");
    assert_eq!(items[0]["action_label"], "Created a user");
    assert_eq!(items[0]["tenant_name"], "Tenant a1");
    assert_eq!(items[0]["changes"][0]["field"], "n");
    assert_eq!(items[0]["changes"][0]["after"], "2");
    let mut seen = items.len();
    let mut cursor = body["next_cursor"].as_str().unwrap().to_string();
    loop {
        let (s, body) = api.get(&format!("{base}?limit=4&cursor={cursor}")).await;
        assert_eq!(s, 200);
        seen += body["items"].as_array().unwrap().len();
        match body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, 9);
    // And back: `prev_cursor` leads to the newer page, `null` on the newest.
    assert_eq!(body["prev_cursor"], serde_json::Value::Null);
    let next = body["next_cursor"].as_str().unwrap();
    let (_, second) = api.get(&format!("{base}?limit=4&cursor={next}")).await;
    let prev = second["prev_cursor"].as_str().expect("a newer page");
    assert!(prev.starts_with("newer_"), "{prev}");
    let (s, back) = api.get(&format!("{base}?limit=4&cursor={prev}")).await;
    assert_eq!(s, 200, "{back}");
    assert_eq!(back["items"], body["items"]);
    assert_eq!(back["prev_cursor"], serde_json::Value::Null);
    assert_eq!(back["next_cursor"], body["next_cursor"]);
    let (_, body) = api.get(&format!("{base}?actor=dave")).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    // The older of dave's two events is at 23:59:59 the day before.
    let (_, body) = api.get(&format!("{base}?actor=DAVE&from=2026-07-02")).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    // A reversed range is refused as the page and the export refuse it.
    let (s, body) = api
        .get(&format!("{base}?from=2026-07-03&to=2026-07-01"))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["to"],
        "The end date is before the start date."
    );
    let admin = admin_browser(&app).await;
    let r = admin
        .get(&format!(
            "/tenants/{}/activity.csv?from=2026-07-03&to=2026-07-01",
            t.acme.id
        ))
        .await;
    assert_eq!(status(&r), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The end date is before the start date."));
    let (s, _) = api.get(&format!("{base}?from=2026-13-01")).await;
    assert_eq!(s, 422);
    // A filter value of its form that is not valid is 422 with its field, as is a
    // cursor that is none (on every list); a parameter not of its form (empty,
    // padded, outside its list) and a bad page size are 400.
    for (bad, expected) in [
        ("action=nope", 400),
        ("scope=everything", 400),
        ("to=", 400),
        ("from=%202026-07-01", 400),
        ("scope=", 400),
        ("cursor=after", 422),
        ("limit=0", 400),
    ] {
        let (s, _) = api.get(&format!("{base}?{bad}")).await;
        assert_eq!(s, expected, "{bad}");
    }
    let (s, _) = api.get(&format!("{base}?scope=subtree")).await;
    assert_eq!(s, 200);

    // A customer's token: their tenant only.
    let a2user = app.user(&t.a2, "a2user").await;
    app.grant(&a2user, &t.a2, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let api = Api::new(&app, Some(&token_for(&app, &a2user, true).await));
    let (s, _) = api.get(&base).await;
    assert_eq!(s, 404);
    let (s, _) = api
        .get(&format!("/api/v1/tenants/{}/activity", t.a2.id))
        .await;
    assert_eq!(s, 200);
    let (s, _) = api
        .get(&format!(
            "/api/v1/tenants/{}/activity?scope=subtree",
            t.a2.id
        ))
        .await;
    assert_eq!(s, 200, "the part of the subtree it sees");
}

#[tokio::test]
async fn the_activity_page_costs_at_most_three_statements() {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    let t = partner_tree(&app).await;
    insert_events(
        &app,
        &t.a1,
        "tenant.update",
        "root\\admin",
        60,
        "2026-08-01T00:00:00Z",
    )
    .await;
    let admin = admin_browser(&app).await;
    // Who is asking (with the breadcrumb of the page's tenant), the tenant, the events:
    // read from the root about a1, and again acting in a1.
    assert_activity_statements(&admin, &t.a1).await;
    admin
        .post_form("/switch", &[("tenant_id", &t.a1.id.to_string())])
        .await;
    admin.get("/dashboard").await; // takes the switch's flash message (a session write)
    assert_activity_statements(&admin, &t.a1).await;
}

async fn assert_activity_statements(admin: &TestApp, a1: &tenantry::db::models::Tenant) {
    for q in [
        "",
        "?scope=subtree",
        "?actor=admin&action=tenant.update&from=2026-07-31",
    ] {
        for _ in 0..2 {
            let r = admin.get(&format!("/tenants/{}/activity{q}", a1.id)).await;
            assert_eq!(status(&r), 200);
            let n: u32 = r.headers()[tenantry::db::statements::HEADER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(n <= 3, "the activity page{q} ran {n} statements");
        }
    }
}

#[tokio::test]
async fn a_switch_records_the_acting_tenant_before_and_after() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let admin = admin_browser(&app).await;
    for to in [&t.a1, &t.a2] {
        let r = admin
            .post_form("/switch", &[("tenant_id", &to.id.to_string())])
            .await;
        assert_eq!(status(&r), 303);
    }
    let rows = db(&app)
        .await
        .query(
            "SELECT before::text, after::text FROM audit_events \
             WHERE action = 'tenant.switch' ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let json = |id: i64| format!("{{\"acting_tenant_id\": {id}}}");
    assert_eq!(
        pairs,
        [
            (json(app.root.id), json(t.a1.id)),
            (json(t.a1.id), json(t.a2.id)),
        ]
    );
}

#[tokio::test]
async fn a_tenant_whose_cap_takes_audit_away_is_left_out_of_every_subtree_view() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    // Two events about each tenant, by an actor named after it.
    for tenant in [&app.root, &t.acme, &t.a1, &t.a1x, &t.a2] {
        let actor = format!("{}-actor", tenant.subdomain);
        insert_events(
            &app,
            tenant,
            "tenant.update",
            &actor,
            2,
            "2026-03-01T00:00:00Z",
        )
        .await;
    }
    // a1's tenant role takes Audit away; so does the root's own row, which never caps
    // the root (the role may be shared with other tenants and lowered by an Owner).
    let mut no_audit = Permissions::all(Level::Full);
    no_audit.set(Feature::Audit, Level::None);
    let cap = capped(&app, &t.a1, "No audit", &no_audit).await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET tenant_role_id = $1 WHERE id = $2",
            &[&cap.id, &app.root.id],
        )
        .await
        .unwrap();
    let admin = admin_browser(&app).await;

    // a1's own activity is refused, to the root's Owner too, in both scopes.
    for path in ["activity", "activity.csv", "activity?scope=subtree"] {
        let r = admin.get(&format!("/tenants/{}/{path}", t.a1.id)).await;
        assert_eq!(status(&r), 403, "{path}");
    }
    // A subtree above it lists everyone else's events (a1x below a1 has its own cap,
    // which leaves Audit readable), never a1's.
    let actors = |tenants: &[&Tenant]| -> std::collections::BTreeSet<String> {
        tenants
            .iter()
            .map(|t| format!("{}-actor", t.subdomain))
            .collect()
    };
    for (above, expected) in [
        (&t.acme, actors(&[&t.acme, &t.a1x, &t.a2])),
        (&app.root, actors(&[&app.root, &t.acme, &t.a1x, &t.a2])),
    ] {
        let html = admin
            .get_html(&format!(
                "/tenants/{}/activity?scope=subtree&actor=-actor",
                above.id
            ))
            .await;
        assert_eq!(listed_actions(&html).len(), 2 * expected.len(), "{html}");
        assert!(!html.contains("a1-actor"), "{html}");
        for actor in &expected {
            assert!(html.contains(actor.as_str()), "{actor}");
        }
        // The CSV: no event about a1 at all (its creation by the root's Owner neither).
        let body = admin
            .get(&format!("/tenants/{}/activity.csv?scope=subtree", above.id))
            .await
            .text()
            .await
            .unwrap();
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(body.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect();
        assert!(rows.iter().any(|r| r[3] == t.a1x.id.to_string()));
        assert!(!rows.iter().any(|r| r[3] == t.a1.id.to_string()), "{body}");
        let seen: std::collections::BTreeSet<String> = rows
            .iter()
            .filter(|r| r[1].ends_with("-actor"))
            .map(|r| r[1].to_string())
            .collect();
        assert_eq!(seen, expected);
    }

    // The API: the same events; a1's own refused.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let (s, body) = api
        .get(&format!(
            "/api/v1/tenants/{}/activity?scope=subtree&limit=200",
            t.acme.id
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["tenant_id"] == t.a1x.id));
    assert!(!items.iter().any(|i| i["tenant_id"] == t.a1.id), "{body}");
    for scope in ["tenant", "subtree"] {
        let (s, _) = api
            .get(&format!(
                "/api/v1/tenants/{}/activity?scope={scope}",
                t.a1.id
            ))
            .await;
        assert_eq!(s, 403, "{scope}");
    }
}

/// Users and user roles named by id read by name where the reader sees their tenant
/// (`subdomain\username (id 17)`, `role (id 3)`), in the page's one statement; a
/// user at home in a tenant the reader cannot see keeps the bare id.
#[tokio::test]
async fn before_and_after_name_the_users_and_roles_they_name_by_id() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let ann = app.user(&t.a2, "ann").await;
    let gus = app.user(&t.g1, "gus").await;
    let role: (i64, String) = {
        let row = db(&app)
            .await
            .query_one(
                "INSERT INTO user_roles (tenant_id, name, permissions) VALUES ($1, 'Helpdesk', '{}') RETURNING id, name",
                &[&t.a2.id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    db(&app)
        .await
        .execute(
            "INSERT INTO audit_events (actor_username, tenant_id, action, before, after) \
             VALUES ('root\\admin', $1, 'grant.give', \
                     jsonb_build_object('user_id', $2::bigint, 'role_id', $3::bigint), \
                     jsonb_build_object('user_id', $4::bigint, 'role_id', 987654))",
            &[&t.a2.id, &ann.id, &role.0, &gus.id],
        )
        .await
        .unwrap();
    let boss = subtree_admin(&app, &t.acme, "boss").await;
    let html = boss
        .get_html(&format!("/tenants/{}/activity", t.a2.id))
        .await;
    assert!(
        html.contains(&format!(
            "<span class=\"field-name\">user_id</span>: <del>a2\\ann (id {})</del> → <ins>{}</ins>",
            ann.id, gus.id
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<span class=\"field-name\">role_id</span>: <del>{} (id {})</del> → <ins>987654</ins>",
            role.1, role.0
        )),
        "{html}"
    );
    // The root's administrator sees gus's home: named too.
    let admin = admin_browser(&app).await;
    let html = admin
        .get_html(&format!("/tenants/{}/activity", t.a2.id))
        .await;
    assert!(
        html.contains(&format!("<ins>g1\\gus (id {})</ins>", gus.id)),
        "{html}"
    );
}
