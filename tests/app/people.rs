//! Finding people: `/users?q=` finds users of every tenant the user may see whose
//! Users they may read, shows each one's tenant, and nothing beyond.

use crate::helpers::*;
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

async fn found(b: &TestApp, q: &str) -> String {
    let r = b.get(&format!("/users?q={q}")).await;
    assert_eq!(status(&r), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn people_are_found_only_where_their_users_may_be_listed() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    for (tenant, name) in [
        (&t.acme, "zed-acme"),
        (&t.a1, "zed-a1"),
        (&t.a2, "zed-a2"),
        (&t.globex, "zed-globex"),
        (&t.g1, "zed-g1"),
    ] {
        app.user(tenant, name).await;
    }
    // The root's admin finds everyone, with each user's tenant linked.
    let html = found(&app, "zed").await;
    for name in ["zed-acme", "zed-a1", "zed-a2", "zed-globex", "zed-g1"] {
        assert!(html.contains(name), "{name}: {html}");
    }
    assert!(
        html.contains(&format!("href=\"/tenants/{}\"", t.g1.id)),
        "{html}"
    );
    assert!(html.contains("5 users matching"), "{html}");

    // An administrator of acme's subtree: acme and below, never globex's users.
    let scoped = app.user(&t.acme, "scoped").await;
    app.grant(
        &scoped,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;
    let b = browser_as(&app, "acme\\scoped").await;
    let html = found(&b, "zed").await;
    for name in ["zed-acme", "zed-a1", "zed-a2"] {
        assert!(html.contains(name), "{name}: {html}");
    }
    assert!(
        !html.contains("zed-globex") && !html.contains("zed-g1"),
        "{html}"
    );

    // A Viewer of a1 only (at home in a2 without a role): a1's users, not a2's.
    let viewer = app.user(&t.a2, "viewer").await;
    app.grant(&viewer, &t.a1, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let b = browser_as(&app, "a2\\viewer").await;
    let html = found(&b, "zed").await;
    assert!(html.contains("zed-a1"), "{html}");
    assert!(
        !html.contains("zed-a2") && !html.contains("zed-acme"),
        "{html}"
    );

    // A plain user whose role reads Users finds their own tenant's users only;
    // one whose role does not, nobody.
    app.user_with_role(&t.g1, "reader", Permissions::all(Level::Read))
        .await;
    let b = browser_as(&app, "g1\\reader").await;
    let html = found(&b, "zed").await;
    assert!(
        html.contains("zed-g1") && !html.contains("zed-globex"),
        "{html}"
    );
    let mut none = Permissions::all(Level::Read);
    none.set(tenantry::domain::Feature::Users, Level::None);
    app.user_with_role(&t.g1, "blind", none).await;
    let b = browser_as(&app, "g1\\blind").await;
    let html = found(&b, "zed").await;
    assert!(html.contains("0 users matching"), "{html}");

    // The picker's fragment: the same search, a few at a time.
    let html = app.get_html("/users/search?q=zed-g").await;
    assert!(html.contains("data-pick-text=\"g1\\zed-g1\""), "{html}");
    assert!(!html.contains("<html"), "{html}");
}

/// The main navigation's link to people search, if any.
fn people_link(html: &str) -> Option<String> {
    let start = html.find("<nav class=\"mainnav\"")?;
    let nav = &html[start..start + html[start..].find("</nav>")?];
    let link = nav.find("<a href=\"/users\"")?;
    Some(nav[link..link + nav[link..].find("</a>")?].to_string())
}

#[tokio::test]
async fn the_navigation_links_people_search_for_those_it_finds_people_for() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;

    // The root's admin: the link, named apart from the acting tenant's Users page.
    let html = app.get_html("/dashboard").await;
    let link = people_link(&html).unwrap_or_else(|| panic!("no link: {html}"));
    assert!(link.ends_with(">Find people"), "{link}");
    assert!(
        html.contains(&format!("href=\"/tenants/{}/users\"", app.root.id)),
        "{html}"
    );
    // On the page itself it is the current one.
    let html = app.get_html("/users").await;
    assert!(
        people_link(&html).is_some_and(|l| l.contains("aria-current=\"page\"")),
        "{html}"
    );

    // An administrator of a subtree, and a plain user whose role reads Users: the link.
    let scoped = app.user(&t.acme, "scoped").await;
    app.grant(
        &scoped,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;
    app.user_with_role(&t.g1, "reader", Permissions::all(Level::Read))
        .await;
    for login in ["acme\\scoped", "g1\\reader"] {
        let b = browser_as(&app, login).await;
        let html = b.get_html("/dashboard").await;
        assert!(people_link(&html).is_some(), "{login}: {html}");
    }

    // A user whose role does not read Users, without grants, finds nobody: no link.
    let mut none = Permissions::all(Level::Read);
    none.set(tenantry::domain::Feature::Users, Level::None);
    app.user_with_role(&t.g1, "blind", none).await;
    let b = browser_as(&app, "g1\\blind").await;
    let html = b.get_html("/dashboard").await;
    assert!(html.contains("<nav class=\"mainnav\""), "{html}");
    assert_eq!(people_link(&html), None, "{html}");
    assert!(
        b.get_html("/users")
            .await
            .contains("0 users in the tenants"),
        "the page says so too"
    );
}

#[tokio::test]
async fn a_login_finds_its_person() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    app.user(&t.acme, "alice").await;
    app.user(&t.globex, "alice").await;
    app.user(&t.acme, "alfred").await;
    // `acme\alice`: alice of acme, not alice of globex.
    let html = found(&app, "acme%5Calice").await;
    assert!(html.contains("1 user matching"), "{html}");
    assert!(
        html.contains(&format!("href=\"/tenants/{}\"", t.acme.id)),
        "{html}"
    );
    assert!(
        !html.contains(&format!("href=\"/tenants/{}\"", t.globex.id)),
        "{html}"
    );
    // Any case, and a part of the username, as without the subdomain.
    let html = found(&app, "ACME%5Cal").await;
    assert!(html.contains("2 users matching"), "{html}");
    assert!(html.contains("alfred"), "{html}");
    // A subdomain nobody has finds nobody.
    let html = found(&app, "nowhere%5Calice").await;
    assert!(html.contains("0 users matching"), "{html}");
}
