//! The dashboard's cards: each one that counts a list links to that list, and the
//! list shows as many as the card says — for the root's administrator, a subtree's,
//! someone switched into a sub-tenant, and people whose view of users is narrower
//! than their view of tenants (a cap hiding Users, a home role without Users).

use crate::helpers::*;
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};

/// The dashboard card `id`: its link and its number.
fn card(html: &str, id: &str) -> (Option<String>, i64) {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no card {id}: {html}"));
    let open = html[..start].rfind('<').unwrap();
    let tag = &html[open..start + html[start..].find('>').unwrap()];
    let href = tag
        .split("href=\"")
        .nth(1)
        .map(|h| h[..h.find('"').unwrap()].to_string());
    let num = &html[start..];
    let num = &num[num.find("class=\"num\">").unwrap() + "class=\"num\">".len()..];
    let num = num[..num.find('<').unwrap()].trim().parse().unwrap();
    (href, num)
}

/// The number a list page says it shows: the first `marker` followed by a number
/// ("N users …", "N tenants below …").
fn listed(html: &str, marker: &str) -> i64 {
    html.match_indices(marker)
        .find_map(|(at, _)| {
            let digits: String = html[at + marker.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .unwrap_or_else(|| panic!("no count after {marker}: {html}"))
}

/// Every linked card of `b`'s dashboard against the list it links to.
async fn cards_match_their_lists(b: &TestApp, who: &str) -> [i64; 3] {
    let html = b.get_html("/dashboard").await;
    let (users_href, users) = card(&html, "card-users");
    let (tenants_href, subtenants) = card(&html, "card-subtenants");
    let (disabled_href, disabled) = card(&html, "card-disabled");
    let users_href = users_href.expect("the Users card links");
    assert!(
        users_href.starts_with("/users?within="),
        "{who}: {users_href}"
    );
    let people = b.get_html(&users_href.replace("&amp;", "&")).await;
    assert_eq!(
        listed(&people, "id=\"people-total\">"),
        users,
        "{who}: {people}"
    );
    for (href, count) in [(tenants_href, subtenants), (disabled_href, disabled)] {
        let href = href.expect("the tenant cards link");
        let list = b.get_html(&href).await;
        assert_eq!(
            listed(&list, "<p class=\"hint\">"),
            count,
            "{who} {href}: {list}"
        );
    }
    [users, subtenants, disabled]
}

#[tokio::test]
async fn every_dashboard_card_links_to_the_list_it_counts() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    for (tenant, name) in [
        (&t.acme, "u-acme"),
        (&t.a1, "u-a1"),
        (&t.a1x, "u-a1x"),
        (&t.a2, "u-a2"),
        (&t.globex, "u-globex"),
        (&t.g1, "u-g1"),
    ] {
        app.user(tenant, name).await;
    }
    let r = app
        .post_form(
            &format!("/tenants/{}/disable", t.a2.id),
            &[("confirm", "yes")],
        )
        .await;
    assert!(status(&r) < 400, "{}", status(&r));

    // The root's administrator: everyone below the root, the root's own users too.
    let [users, subtenants, disabled] = cards_match_their_lists(&app, "root admin").await;
    assert_eq!((subtenants, disabled), (6, 1));
    assert_eq!(users, 7, "six users and the administrator");

    // A subtree administrator of acme: acme and below.
    let b = subtree_admin(&app, &t.acme, "scoped").await;
    assert_eq!(cards_match_their_lists(&b, "acme admin").await, [5, 3, 1]);

    // Switched into acme, the root's administrator counts acme's part.
    let r = app
        .post_form("/switch", &[("tenant_id", &t.acme.id.to_string())])
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(cards_match_their_lists(&app, "switched").await, [5, 3, 1]);

    // At home in g1 with a role reading tenants but not users, and a Viewer of a1:
    // g1 is seen but its people are not found, and the card counts none of them.
    let mut tenants_only = Permissions::all(Level::None);
    tenants_only.set(Feature::Tenants, Level::Read);
    let viewer = app.user_with_role(&t.g1, "viewer", tenants_only).await;
    app.grant(&viewer, &t.a1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let b = browser_as(&app, "g1\\viewer").await;
    assert_eq!(cards_match_their_lists(&b, "g1 viewer").await, [0, 0, 0]);

    // A cap hiding Users: the people of the tenants under it are not counted.
    let mut no_users = Permissions::all(Level::Full);
    no_users.set(Feature::Users, Level::None);
    capped(&app, &t.a1x, "No users", &no_users).await;
    let r = app
        .post_form("/switch", &[("tenant_id", &app.root.id.to_string())])
        .await;
    assert_eq!(status(&r), 303);
    let [users, ..] = cards_match_their_lists(&app, "root admin, a1x capped").await;
    // The administrator, six users, scoped and viewer; not a1x's user.
    assert_eq!(users, 8);

    // The instances card counts what no list shows yet: it links nowhere.
    let html = app.get_html("/dashboard").await;
    assert_eq!(card(&html, "card-instances").0, None);
}

#[tokio::test]
async fn people_within_a_tenant_are_those_homed_there_and_below() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    for (tenant, name) in [(&t.a1, "w-a1"), (&t.a1x, "w-a1x"), (&t.a2, "w-a2")] {
        app.user(tenant, name).await;
    }
    let html = app.get_html(&format!("/users?within={}", t.a1.id)).await;
    assert!(html.contains("w-a1") && html.contains("w-a1x"), "{html}");
    assert!(!html.contains("w-a2"), "{html}");
    assert!(
        html.contains("name=\"within\""),
        "the search keeps the filter: {html}"
    );
    // A tenant one may not see reads as one that does not exist; a word is refused.
    let b = subtree_admin(&app, &t.globex, "gadmin").await;
    let hidden = b.get(&format!("/users?within={}", t.a1.id)).await;
    let missing = b.get("/users?within=999999").await;
    assert_eq!((status(&hidden), status(&missing)), (404, 404));
    let r = b.get("/users?within=acme").await;
    assert_eq!(status(&r), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The query parameter “within” must be a tenant id."),);
}
