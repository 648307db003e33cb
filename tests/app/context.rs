//! Where am I (issue #11, items 1, 6 and 7), without JavaScript: the banner when
//! acting elsewhere and its way home, the breadcrumb of the tenant a page is about,
//! switching that keeps the kind of page, the switcher's "N of M shown", collapsing
//! tree nodes, and the counts of sub-tenants one cannot see.

use crate::helpers::*;
use tenantry::domain::{GrantRole, Scope};

/// The names in the page's breadcrumb, root side first.
fn crumbs(html: &str) -> Vec<String> {
    between(html, "<nav id=\"breadcrumb\"", "</nav>")
        .split("<li><a href=\"/tenants/")
        .skip(1)
        .filter_map(|li| {
            let start = li.find("\">")? + 2;
            let end = li.find("</a>")?;
            Some(li[start..end].to_string())
        })
        .collect()
}

async fn switch(browser: &TestApp, tenant_id: i64, return_to: &str) -> reqwest::Response {
    browser
        .post_form(
            "/switch",
            &[
                ("tenant_id", &tenant_id.to_string()),
                ("return_to", return_to),
            ],
        )
        .await
}

#[tokio::test]
async fn acting_elsewhere_shows_a_banner_with_the_role_and_a_way_home() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;

    let home = app.get_html("/dashboard").await;
    assert!(
        !home.contains("id=\"context-banner\""),
        "not switched: no banner"
    );

    // From the Users page of the root to the Users page of acme.
    let r = switch(&app, t.acme.id, "users").await;
    assert_redirect_to(&r, &format!("/tenants/{}/users", t.acme.id));
    let html = app.get_html(&format!("/tenants/{}/users", t.acme.id)).await;
    let banner = between(&html, "id=\"context-banner\"", "</div>");
    assert!(
        banner.contains("Acting in <strong>Tenant acme</strong> (as Owner)"),
        "{banner}"
    );
    // The way home is a plain form: it works without JavaScript and keeps the page kind.
    assert!(
        banner.contains("action=\"/switch\" method=\"post\""),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("name=\"tenant_id\" value=\"{}\"", app.root.id)),
        "{banner}"
    );
    assert!(
        banner.contains("name=\"return_to\" value=\"users\""),
        "{banner}"
    );
    assert!(banner.contains(">Return to Root</button>"), "{banner}");
    // The navigation says which tenant its links are for.
    let nav = between(&html, "<nav class=\"mainnav\"", "</nav>");
    assert!(nav.contains("In Tenant acme:"), "{nav}");
    assert!(
        nav.contains(&format!("href=\"/tenants/{}/users\"", t.acme.id)),
        "{nav}"
    );

    let r = switch(&app, app.root.id, "users").await;
    assert_redirect_to(&r, &format!("/tenants/{}/users", app.root.id));
    let html = app.get_html("/dashboard").await;
    assert!(
        !html.contains("id=\"context-banner\""),
        "back home: no banner"
    );

    // A Viewer is told they act as a Viewer.
    let vic = app.user(&t.acme, "vic").await;
    app.grant(&vic, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let vic_browser = browser_as(&app, "acme\\vic").await;
    assert_redirect_to(&switch(&vic_browser, t.a1.id, "").await, "/dashboard");
    let html = vic_browser.get_html("/dashboard").await;
    assert!(
        html.contains("Acting in <strong>Tenant a1</strong> (as Viewer)"),
        "{html}"
    );
    assert!(html.contains(">Return to Tenant acme</button>"));
}

#[tokio::test]
async fn switching_keeps_the_kind_of_page_only_when_the_target_has_it() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    for kind in ["users", "roles", "access", "invitations", "edit"] {
        let r = switch(&app, t.a1.id, kind).await;
        let want = format!("/tenants/{}/{kind}", t.a1.id);
        assert_redirect_to(&r, &want);
        assert_eq!(status(&app.get(&want).await), 200, "{want}");
    }
    // Anything not on the list is no place to go: the dashboard, never a URL.
    for bad in [
        "https://evil.example/",
        "/tenants/1/users",
        "../users",
        "dashboard",
    ] {
        assert_redirect_to(&switch(&app, t.a2.id, bad).await, "/dashboard");
    }
    // The page kind the layout passes on is the one of the page shown.
    let html = app.get_html(&format!("/tenants/{}/roles", t.a2.id)).await;
    assert!(
        between(&html, "<form id=\"switcher\"", "</form>")
            .contains("name=\"return_to\" value=\"roles\""),
        "{html}"
    );
    let html = app.get_html("/dashboard").await;
    assert!(between(&html, "<form id=\"switcher\"", "</form>")
        .contains("name=\"return_to\" value=\"\""));
    // The switcher's results carry it into the switch forms.
    let results = app.get_html("/switch/search?q=a1x&return_to=access").await;
    assert!(
        results.contains("name=\"return_to\" value=\"access\""),
        "{results}"
    );
    let results = app
        .get_html("/switch/search?q=a1x&return_to=http://x")
        .await;
    assert!(
        results.contains("name=\"return_to\" value=\"\""),
        "{results}"
    );

    // alice administers a1's subtree: she may edit a1x, not a1 (that is acme's managers').
    let alice_browser = subtree_admin(&app, &t.a1, "alice").await;
    assert_redirect_to(
        &switch(&alice_browser, t.a1x.id, "edit").await,
        &format!("/tenants/{}/edit", t.a1x.id),
    );
    assert_redirect_to(&switch(&alice_browser, t.a1.id, "edit").await, "/dashboard");
    // A Viewer reads the Users of a2 but edits nothing: Edit of A → the dashboard.
    let vic = app.user(&t.acme, "vic").await;
    app.grant(&vic, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let vic_browser = browser_as(&app, "acme\\vic").await;
    assert_redirect_to(&switch(&vic_browser, t.a2.id, "edit").await, "/dashboard");
    assert_redirect_to(
        &switch(&vic_browser, t.a2.id, "users").await,
        &format!("/tenants/{}/users", t.a2.id),
    );
}

#[tokio::test]
async fn the_breadcrumb_shows_the_tenant_the_page_is_about() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let root_to_a1x = ["Root", "Tenant acme", "Tenant a1", "Tenant a1x"];
    for page in ["", "/users", "/roles", "/access", "/edit"] {
        let html = app.get_html(&format!("/tenants/{}{page}", t.a1x.id)).await;
        assert_eq!(crumbs(&html), root_to_a1x, "{page}");
    }
    // Acting in globex, a page about a1 still shows a1's path, never globex's.
    switch(&app, t.globex.id, "").await;
    let html = app.get_html(&format!("/tenants/{}/users", t.a1.id)).await;
    assert_eq!(crumbs(&html), ["Root", "Tenant acme", "Tenant a1"]);
    // Elsewhere it is the acting tenant's path.
    let html = app.get_html("/dashboard").await;
    assert_eq!(crumbs(&html), ["Root", "Tenant globex"]);

    // Only the part of the path the user may see: alice's reach starts at a1.
    let alice_browser = subtree_admin(&app, &t.a1, "alice").await;
    let html = alice_browser
        .get_html(&format!("/tenants/{}/users", t.a1x.id))
        .await;
    assert_eq!(crumbs(&html), ["Tenant a1", "Tenant a1x"]);
    assert!(!html.contains("Tenant acme"), "{html}");
}

#[tokio::test]
async fn the_switcher_says_how_many_more_match_than_it_shows() {
    let app = spawn_app().await;
    for i in 0..23 {
        app.tenant(&app.root, &format!("bulk{i:02}"), false).await;
    }
    for i in 0..3 {
        app.tenant(&app.root, &format!("few{i}"), false).await;
    }
    app.login_admin().await;
    let results = app.get_html("/switch/search?q=bulk").await;
    assert_eq!(results.matches("<li class=\"switch-result\">").count(), 20);
    assert!(
        results.contains("20 of 23 shown, type more to narrow the search."),
        "{results}"
    );
    let page = app.get_html("/switch?q=bulk").await;
    assert!(page.contains("20 of 23 shown"), "without JavaScript too");
    let results = app.get_html("/switch/search?q=few").await;
    assert_eq!(results.matches("<li class=\"switch-result\">").count(), 3);
    assert!(!results.contains(" shown, type more"), "{results}");
}

#[tokio::test]
async fn tree_nodes_expand_and_collapse_without_javascript() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/tree?parent={}", t.acme.id))
        .await;
    // a1 has children: its toggle opens it in place.
    let expand = format!(
        "href=\"/tenants/tree?parent={}&amp;open={}\"",
        t.acme.id, t.a1.id
    );
    assert!(html.contains(&expand), "{html}");
    assert!(!html.contains("Tenant a1x"), "collapsed: {html}");

    let html = app
        .get_html(&format!(
            "/tenants/tree?parent={}&open={}",
            t.acme.id, t.a1.id
        ))
        .await;
    let node = between(&html, &format!("id=\"toggle-{}\"", t.a1.id), "</li>\n");
    assert!(node.contains("aria-expanded=\"true\""), "{node}");
    assert!(node.contains("aria-label=\"Collapse Tenant a1\""), "{node}");
    assert!(
        node.contains(&format!("href=\"/tenants/tree?parent={}\"", t.acme.id)),
        "the collapse control is a link back: {node}"
    );
    assert!(node.contains("Tenant a1x"), "expanded: {node}");
    // An id that is no child of the parent opens nothing.
    let html = app
        .get_html(&format!(
            "/tenants/tree?parent={}&open={}",
            t.acme.id, t.g1.id
        ))
        .await;
    assert!(!html.contains("aria-expanded=\"true\""), "{html}");
}

/// p with five children; vic sees p and two of them.
async fn partly_visible(app: &TestApp) -> (tenantry::db::models::Tenant, Vec<String>) {
    let p = app.tenant(&app.root, "p", true).await;
    let mut kids = Vec::new();
    for name in ["k1", "k2", "k3", "k4", "k5"] {
        kids.push(app.tenant(&p, name, false).await);
    }
    let vic = app.user(&p, "vic").await;
    app.grant(&vic, &p, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    for kid in &kids[..2] {
        app.grant(&vic, kid, GrantRole::Viewer, Scope::Tenant, false)
            .await;
    }
    let hidden = kids[2..].iter().map(|k| k.name.clone()).collect();
    (p, hidden)
}

#[tokio::test]
async fn a_user_is_told_how_many_sub_tenants_they_cannot_see_and_nothing_more() {
    let app = spawn_app().await;
    let (p, hidden) = partly_visible(&app).await;
    let vic = browser_as(&app, "p\\vic").await;
    for path in [
        format!("/tenants/{}", p.id),
        format!("/tenants/tree?parent={}", p.id),
        "/tenants/tree".to_string(),
        format!("/tenants?parent={}", p.id),
        format!("/tenants?parent={}&q=k", p.id),
        // The whole list below vic's tenant says it too.
        "/tenants".to_string(),
    ] {
        let html = vic.get_html(&path).await;
        assert!(
            html.contains("Tenant k1") && html.contains("Tenant k2"),
            "{path}: {html}"
        );
        assert!(
            html.contains("3 sub-tenants you cannot see."),
            "{path}: {html}"
        );
        for name in &hidden {
            assert!(!html.contains(name.as_str()), "{path} names {name}");
        }
    }
    let fragment = vic
        .get_hx(&format!("/tenants/{}/children", p.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        fragment.contains("3 sub-tenants you cannot see."),
        "{fragment}"
    );
    assert!(!fragment.contains("k3") && !fragment.contains("k5"));

    // Who sees the whole subtree is told nothing of the kind.
    app.login_admin().await;
    for path in [
        format!("/tenants/{}", p.id),
        format!("/tenants?parent={}", p.id),
        "/tenants".to_string(),
    ] {
        let html = app.get_html(&path).await;
        assert!(!html.contains("you cannot see"), "{path}: {html}");
    }
}

#[tokio::test]
async fn a_user_who_sees_no_sub_tenants_is_told_that_there_are_some() {
    let app = spawn_app().await;
    let (p, hidden) = partly_visible(&app).await;
    let wes = app.user(&p, "wes").await;
    app.grant(&wes, &p, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let wes = browser_as(&app, "p\\wes").await;
    let html = wes.get_html("/tenants").await;
    assert!(html.contains("No tenants to show."), "{html}");
    assert!(html.contains("5 sub-tenants you cannot see."), "{html}");
    for name in &hidden {
        assert!(!html.contains(name.as_str()), "names {name}");
    }
}

#[tokio::test]
async fn an_owner_who_cannot_edit_their_tenant_is_told_why() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let olga = app.user(&t.a1x, "olga").await;
    app.grant(&olga, &t.a1x, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let browser = browser_as(&app, "a1x\\olga").await;
    let html = browser.get_html(&format!("/tenants/{}", t.a1x.id)).await;
    assert!(!html.contains(&format!("href=\"/tenants/{}/edit\"", t.a1x.id)));
    let why = between(&html, "id=\"edit-refusal\"", "</p>");
    assert!(
        why.contains("Only administrators above Tenant a1x"),
        "{why}"
    );
    assert!(why.contains("an Owner of Tenant a1x"), "{why}");
    // a1 is above her reach: not named.
    assert!(
        !why.contains("Tenant a1 ") && why.contains("the tenant above it"),
        "{why}"
    );

    // The administrator who may edit it is told nothing.
    app.login_admin().await;
    let html = app.get_html(&format!("/tenants/{}", t.a1x.id)).await;
    assert!(!html.contains("id=\"edit-refusal\""));
}

#[tokio::test]
async fn the_invite_dialog_from_users_preselects_a_user_invitation() {
    let app = spawn_app().await;
    app.login_admin().await;
    let users = app
        .get_html(&format!("/tenants/{}/users", app.root.id))
        .await;
    let link = format!("/tenants/{}/invitations/new?kind=user", app.root.id);
    assert!(users.contains(&format!("hx-get=\"{link}\"")), "{users}");
    let form = app.get_html(&link).await;
    assert!(form.contains("id=\"kind-user\" checked"), "{form}");
    assert!(!form.contains("id=\"kind-grant\" checked"), "{form}");
    // From elsewhere (the access page) it stays a grant.
    let form = app
        .get_html(&format!("/tenants/{}/invitations/new", app.root.id))
        .await;
    assert!(form.contains("id=\"kind-grant\" checked"), "{form}");
}

#[tokio::test]
async fn switching_from_the_list_tree_people_or_a_tenant_page_keeps_the_kind_of_page() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    // Each of these pages names its kind in the switcher and the banner.
    for (page, kind) in [
        ("/tenants".to_string(), "list"),
        ("/tenants/tree".to_string(), "tree"),
        ("/users".to_string(), "people"),
        (format!("/tenants/{}", t.a1.id), "tenant"),
        (format!("/tenants/{}/stats", t.a1.id), "stats"),
        (
            format!("/tenants/{}/stats/reports", t.a1.id),
            "stats-reports",
        ),
        (format!("/tenants/{}/activity", t.a1.id), "activity"),
    ] {
        let html = app.get_html(&page).await;
        assert!(
            between(&html, "<form id=\"switcher\"", "</form>")
                .contains(&format!("name=\"return_to\" value=\"{kind}\"")),
            "{page}: {html}"
        );
    }
    assert_redirect_to(&switch(&app, t.acme.id, "list").await, "/tenants");
    let list = app.get_html("/tenants").await;
    assert!(list.contains("below Tenant acme"), "{list}");
    assert_redirect_to(&switch(&app, t.a1.id, "tree").await, "/tenants/tree");
    assert_redirect_to(&switch(&app, t.a2.id, "people").await, "/users");
    assert_redirect_to(
        &switch(&app, t.globex.id, "tenant").await,
        &format!("/tenants/{}", t.globex.id),
    );
    // The statistics pages, their reports and the activity keep their kind too.
    for kind in ["stats", "stats/reports", "activity"] {
        let return_to = kind.replace('/', "-");
        assert_redirect_to(
            &switch(&app, t.a2.id, &return_to).await,
            &format!("/tenants/{}/{kind}", t.a2.id),
        );
    }
    // Never a URL: anything else still lands on the dashboard.
    for other in ["/tenants", "https://evil.example/", "list/../x"] {
        assert_redirect_to(&switch(&app, t.acme.id, other).await, "/dashboard");
    }
}

/// The page's `<title>`.
fn title(html: &str) -> &str {
    let start = html.find("<title>").expect("title") + "<title>".len();
    &html[start..start + html[start..].find("</title>").expect("title end")]
}

#[tokio::test]
async fn a_page_about_another_tenant_names_that_tenant_in_its_title() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    switch(&app, t.acme.id, "").await;
    let a1 = t.a1.id;
    for (page, expected) in [
        (
            format!("/tenants/{a1}/users"),
            "Users · Tenant a1 · tenantry",
        ),
        (
            format!("/tenants/{a1}/edit"),
            "Edit tenant · Tenant a1 · tenantry",
        ),
        (
            format!("/tenants/{a1}/roles"),
            "Roles · Tenant a1 · tenantry",
        ),
        (format!("/tenants/{a1}"), "Tenant · Tenant a1 · tenantry"),
        (
            format!("/tenants/new?parent_id={a1}"),
            "New tenant · Tenant a1 · tenantry",
        ),
        ("/tenants".to_string(), "Tenants · Tenant acme · tenantry"),
        (
            format!("/tenants/{}/users", t.acme.id),
            "Users · Tenant acme · tenantry",
        ),
    ] {
        let html = app.get_html(&page).await;
        assert_eq!(title(&html), expected, "{page}");
    }
    // The new tenant's breadcrumb is its parent's path.
    let html = app.get_html(&format!("/tenants/new?parent_id={a1}")).await;
    assert_eq!(crumbs(&html), ["Root", "Tenant acme", "Tenant a1"]);
    // The navigation's Users are acme's: current on acme's page, not on a1's.
    let nav = |html: &str| between(html, "<nav class=\"mainnav\"", "</nav>").to_string();
    let own = nav(&app.get_html(&format!("/tenants/{}/users", t.acme.id)).await);
    assert!(own.contains("users\" aria-current=\"page\""), "{own}");
    let other = nav(&app.get_html(&format!("/tenants/{a1}/users")).await);
    assert!(!other.contains("aria-current"), "{other}");
}

/// The plain list's count of hidden sub-tenants comes from the subtree totals (issue
/// #11, benchmark): a visible subtree counts once even with another visible one
/// inside it, a single visible tenant inside a visible subtree is not counted twice,
/// grants elsewhere in the tree count nothing — the number a recount gives.
#[tokio::test]
async fn the_hidden_count_below_the_list_counts_nested_and_overlapping_grants_once() {
    let app = spawn_app().await;
    let p = app.tenant(&app.root, "p", true).await;
    let a = app.tenant(&p, "a", true).await;
    let a1 = app.tenant(&a, "a1", true).await;
    let a1x = app.tenant(&a1, "a1x", false).await;
    app.tenant(&a, "a2", false).await;
    let b = app.tenant(&p, "b", true).await;
    let b1 = app.tenant(&b, "b1", false).await;
    let b2 = app.tenant(&b, "b2", true).await;
    app.tenant(&b2, "b2x", false).await;
    app.tenant(&p, "c", false).await;
    let q = app.tenant(&app.root, "q", true).await;
    app.tenant(&q, "q1", false).await;
    let vic = app.user(&p, "vic").await;
    for (tenant, scope) in [
        (&p, Scope::Tenant),
        (&a, Scope::Subtree),
        (&a1, Scope::Subtree),
        (&a1x, Scope::Tenant),
        (&b1, Scope::Tenant),
        (&q, Scope::Subtree),
    ] {
        app.grant(&vic, tenant, GrantRole::Viewer, scope, false)
            .await;
    }
    // Below p: a, a1, a1x, a2 (a's subtree) and b1 are visible; b, b2, b2x and c not.
    let recount: i64 = {
        use diesel::dsl::sql;
        use diesel_async::RunQueryDsl;
        let mut conn = app.conn().await;
        diesel::select(sql::<diesel::sql_types::BigInt>(&format!(
            "(SELECT count(*) FROM tenant_paths t WHERE t.path @> ARRAY[{p}]::int8[] AND t.tenant_id <> {p} \
             AND NOT t.path && ARRAY[{a}]::int8[] AND t.tenant_id <> {b1})",
            p = p.id,
            a = a.id,
            b1 = b1.id,
        )))
        .get_result(&mut conn)
        .await
        .unwrap()
    };
    assert_eq!(recount, 4);
    let vic = browser_as(&app, "p\\vic").await;
    let html = vic.get_html("/tenants").await;
    assert!(html.contains("4 sub-tenants you cannot see."), "{html}");
    assert!(html.contains("Tenant a1x") && html.contains("Tenant b1"));
    // A tenant added below counts as soon as the totals do.
    app.tenant(&b, "b3", false).await;
    let html = vic.get_html("/tenants").await;
    assert!(html.contains("5 sub-tenants you cannot see."), "{html}");
}

/// An error page while switched still says where one acts, with the way home; not
/// switched, it shows no banner.
#[tokio::test]
async fn error_pages_show_the_acting_banner_while_switched() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let r = app.get("/tenants/99999999").await;
    assert_eq!(status(&r), 404);
    assert!(!r.text().await.unwrap().contains("id=\"context-banner\""));

    switch(&app, t.acme.id, "").await;
    for (path, code) in [
        ("/tenants/99999999".to_string(), 404),
        ("/tenants?page=0".into(), 400),
    ] {
        let r = app.get(&path).await;
        assert_eq!(status(&r), code, "{path}");
        let html = r.text().await.unwrap();
        let banner = between(&html, "id=\"context-banner\"", "</div>");
        assert!(
            banner.contains("Acting in <strong>Tenant acme</strong> (as Owner)"),
            "{path}: {html}"
        );
        assert!(banner.contains(">Return to Root</button>"), "{banner}");
        assert!(
            banner.contains(&format!("name=\"tenant_id\" value=\"{}\"", app.root.id)),
            "{banner}"
        );
    }
}

/// Switched into a sub-tenant, the navigation is that tenant's: the installation's
/// pages (tenant roles, ingestion keys) are linked while acting in the root only.
#[tokio::test]
async fn installation_links_show_only_while_acting_in_the_root() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let html = app.get_html("/dashboard").await;
    let nav = between(&html, "<nav class=\"mainnav\"", "</nav>");
    assert!(nav.contains("href=\"/tenant-roles\""), "{nav}");
    assert!(nav.contains("href=\"/usage/keys\""), "{nav}");

    switch(&app, t.acme.id, "").await;
    let html = app.get_html("/dashboard").await;
    let nav = between(&html, "<nav class=\"mainnav\"", "</nav>");
    assert!(!nav.contains("/tenant-roles"), "{nav}");
    assert!(!nav.contains("/usage/keys"), "{nav}");
    assert!(
        nav.contains(&format!("href=\"/tenants/{}/users\"", t.acme.id)),
        "{nav}"
    );
}

/// Issue #11's second review: "↑ Up one level" leads only to a tree the user may
/// open. A Viewer of a1's subtree at home in acme without a role there sees acme
/// (their home) but may not open its tree (403): no link up from a1.
#[tokio::test]
async fn up_one_level_shows_only_when_the_parents_tree_opens() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let viewer = app.user(&t.acme, "viewer").await;
    app.grant(&viewer, &t.a1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let viewer = browser_as(&app, "acme\\viewer").await;
    let r = viewer
        .get(&format!("/tenants/tree?parent={}", t.acme.id))
        .await;
    assert_eq!(status(&r), 403);
    let html = viewer
        .get_html(&format!("/tenants/tree?parent={}", t.a1.id))
        .await;
    assert!(!html.contains("Up one level"), "{html}");
    // Their tree at a1x leads up to a1, whose tree they may open.
    let html = viewer
        .get_html(&format!("/tenants/tree?parent={}", t.a1x.id))
        .await;
    assert!(
        html.contains(&format!(
            "href=\"/tenants/tree?parent={}\">↑ Up one level",
            t.a1.id
        )),
        "{html}"
    );
}
