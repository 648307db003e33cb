//! The grant form names its user by search (issue #11, item 4): a typed login,
//! username or email is resolved on the server among the users the giver may grant
//! to; the picker's search (`/users/search?grant_on=`) offers the same users; a
//! picked `user_id` counts when it fits the text, and alone as before.

use crate::helpers::*;
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::domain::{GrantRole, Scope};

/// root ─┬─ partner ─┬─ c1 ── g1
///       │           └─ c2
///       └─ other
struct Tree {
    partner: Tenant,
    c1: Tenant,
    g1: Tenant,
    c2: Tenant,
    other: Tenant,
}

async fn tree(app: &TestApp) -> Tree {
    let partner = app.tenant(&app.root, "partner", true).await;
    let c1 = app.tenant(&partner, "c1", true).await;
    let g1 = app.tenant(&c1, "g1", false).await;
    let c2 = app.tenant(&partner, "c2", false).await;
    let other = app.tenant(&app.root, "other", false).await;
    Tree {
        partner,
        c1,
        g1,
        c2,
        other,
    }
}

async fn user_with_email(app: &TestApp, tenant: &Tenant, username: &str, email: &str) -> User {
    let user = app.user(tenant, username).await;
    db(app)
        .await
        .execute(
            "UPDATE users SET email = $1, first_name = 'Al', last_name = 'Ice' WHERE id = $2",
            &[&email, &user.id],
        )
        .await
        .unwrap();
    user
}

/// Posts the grant form (a tenant-only Viewer grant) with these user fields.
async fn give(browser: &TestApp, tenant: &Tenant, user: &[(&str, &str)]) -> reqwest::Response {
    let mut fields = vec![("role", "viewer"), ("scope", "tenant")];
    fields.extend_from_slice(user);
    browser
        .post_form(&format!("/tenants/{}/access", tenant.id), &fields)
        .await
}

async fn holds(app: &TestApp, user: &User, tenant: &Tenant) -> bool {
    Grant::existing(&mut *app.conn().await, user.id, tenant.id)
        .await
        .unwrap()
        .is_some()
}

async fn grant_count(app: &TestApp) -> i64 {
    db(app)
        .await
        .query_one("SELECT count(*) FROM grants", &[])
        .await
        .unwrap()
        .get(0)
}

/// A 422 re-render: its field error on the picker and the page.
async fn refused(r: reqwest::Response) -> (String, String) {
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let error = field_error(&html, "grant-user").unwrap_or_else(|| panic!("no error: {html}"));
    (error, html)
}

fn choice(user: &User) -> String {
    format!(
        "<input type=\"radio\" id=\"grant-user-choice-{0}\" name=\"user_id\" value=\"{0}\">",
        user.id
    )
}

#[tokio::test]
async fn a_typed_login_username_or_email_names_the_user() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let alice1 = user_with_email(&app, &t.c1, "alice", "alice@c1.example").await;
    let alice2 = user_with_email(&app, &t.c2, "alice", "alice@c2.example").await;
    let bob = user_with_email(&app, &t.g1, "bob", "bob@g1.example").await;
    let carol = user_with_email(&app, &t.g1, "carol", "Carol@G1.example").await;
    app.login_admin().await;

    // A login, whole, in any case.
    let r = give(&app, &t.partner, &[("user", "C1\\Alice")]).await;
    assert_redirect_to(&r, &format!("/tenants/{}/access", t.partner.id));
    assert!(holds(&app, &alice1, &t.partner).await);
    assert!(!holds(&app, &alice2, &t.partner).await);
    // A username only one candidate has.
    let r = give(&app, &t.partner, &[("user", " bob ")]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &bob, &t.partner).await);
    // An email, in any case.
    let r = give(&app, &t.partner, &[("user", "carol@g1.EXAMPLE")]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &carol, &t.partner).await);

    // On c1, the candidates are c1's users, its ancestors' and its subtree's: c2's alice
    // is none of them, so "alice" names c1's.
    let r = give(&app, &t.c1, &[("user", "alice")]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &alice1, &t.c1).await);
    assert!(!holds(&app, &alice2, &t.c1).await);

    // On the partner, a username two candidates have: both offered to choose, the
    // text kept.
    let before = grant_count(&app).await;
    let (error, html) = refused(give(&app, &t.partner, &[("user", "alice")]).await).await;
    assert_eq!(
        error,
        "Several users you can grant access to match “alice”: choose one."
    );
    for (who, tenant) in [(&alice1, &t.c1), (&alice2, &t.c2)] {
        assert!(html.contains(&choice(who)), "{html}");
        assert!(
            html.contains(&format!(
                "{}\\alice — Al Ice ({})",
                tenant.subdomain, tenant.name
            )),
            "{html}"
        );
    }
    assert!(html.contains("value=\"alice\""), "the text is kept: {html}");
    assert!(
        !html.contains("type=\"hidden\" name=\"user_id\""),
        "no second user_id beside the choices: {html}"
    );
    assert_eq!(grant_count(&app).await, before, "nothing written");
    // Choosing one of them posts its id with the same text.
    let id = alice2.id.to_string();
    let r = give(&app, &t.partner, &[("user", "alice"), ("user_id", &id)]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &alice2, &t.partner).await);

    // Part of a name: no user is that, so the users it fits are offered.
    let (error, html) = refused(give(&app, &t.partner, &[("user", "ali")]).await).await;
    assert!(error.starts_with("No login, username or email"), "{error}");
    assert!(
        html.contains(&choice(&alice1)) && html.contains(&choice(&alice2)),
        "{html}"
    );
    // Nobody.
    let (error, _) = refused(give(&app, &t.partner, &[("user", "nobody")]).await).await;
    assert_eq!(error, "No user you can grant access to matches “nobody”.");
    // Nothing typed and nothing picked.
    let (error, _) = refused(give(&app, &t.partner, &[("user", " "), ("user_id", "")]).await).await;
    assert_eq!(
        error,
        "Type a login (tenant\\username), a username or an email, and pick the user."
    );
    // With the other fields' errors at once.
    let r = app
        .post_form(
            &format!("/tenants/{}/access", t.partner.id),
            &[("user", "nobody"), ("role", "king"), ("scope", "tenant")],
        )
        .await;
    let (_, html) = refused(r).await;
    assert!(field_error(&html, "role").is_some(), "{html}");
}

#[tokio::test]
async fn a_picked_id_counts_when_it_fits_the_text_and_alone_as_before() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let alice = user_with_email(&app, &t.c1, "alice", "alice@c1.example").await;
    let bob = user_with_email(&app, &t.c2, "bob", "bob@c2.example").await;
    let outsider = app.user(&t.other, "outsider").await;
    app.login_admin().await;

    // The text says bob, the (stale) id alice: what the giver sees wins.
    let alice_id = alice.id.to_string();
    let r = give(&app, &t.partner, &[("user", "bob"), ("user_id", &alice_id)]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &bob, &t.partner).await);
    assert!(!holds(&app, &alice, &t.partner).await);
    // An id that fits the text: that user, without looking further.
    let r = give(
        &app,
        &t.c1,
        &[("user", "c1\\alice"), ("user_id", &alice_id)],
    )
    .await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &alice, &t.c1).await);
    // A picked id that is no candidate here (a user of a sibling tree) does not count:
    // the text decides, and names nobody here.
    let outsider_id = outsider.id.to_string();
    let (error, _) = refused(
        give(
            &app,
            &t.c2,
            &[("user", "other\\outsider"), ("user_id", &outsider_id)],
        )
        .await,
    )
    .await;
    assert_eq!(
        error,
        "No user you can grant access to matches “other\\outsider”."
    );
    assert!(!holds(&app, &outsider, &t.c2).await);

    // `user_id` alone (clients from before the picker): as it always was.
    let r = give(&app, &t.c2, &[("user_id", &alice_id)]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &alice, &t.c2).await);
    let (error, _) = refused(give(&app, &t.c2, &[("user_id", "abc")]).await).await;
    assert_eq!(error, "Choose a user from the list.");
}

#[tokio::test]
async fn a_user_the_giver_cannot_see_is_like_one_that_does_not_exist() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let alice1 = user_with_email(&app, &t.c1, "alice", "alice@c1.example").await;
    let alice2 = user_with_email(&app, &t.c2, "alice", "alice@c2.example").await;
    app.user(&t.other, "outsider").await;
    // An Owner of c1's subtree, at home in c1: sees c1 and g1, not c2, the partner,
    // the other tenant or the root.
    let ca = app.user(&t.c1, "ca").await;
    app.grant(&ca, &t.c1, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let ca = browser_as(&app, "c1\\ca").await;

    let missing = |typed: &str| format!("No user you can grant access to matches “{typed}”.");
    for typed in [
        "other\\outsider",
        "outsider",
        "c2\\alice",
        "root\\admin",
        "admin",
        "other\\nobody",
    ] {
        let (error, html) = refused(give(&ca, &t.c1, &[("user", typed)]).await).await;
        assert_eq!(error, missing(typed), "{typed}");
        assert!(!html.contains("grant-user-choices"), "{typed}: {html}");
    }
    // Part of their names offers nobody either.
    let (error, _) = refused(give(&ca, &t.c1, &[("user", "outsid")]).await).await;
    assert_eq!(error, missing("outsid"));
    // "alice" is no longer ambiguous: only one alice is theirs to see.
    let r = give(&ca, &t.c1, &[("user", "alice")]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &alice1, &t.c1).await);
    assert!(!holds(&app, &alice2, &t.c1).await);

    // The picker's search shows the same.
    let search = |q: &str| format!("/users/search?grant_on={}&user={q}", t.c1.id);
    let html = ca.get_html(&search("alice")).await;
    assert!(html.contains("data-pick-text=\"c1\\alice\""), "{html}");
    assert!(!html.contains("c2\\alice"), "{html}");
    let html = ca.get_html(&search("outsider")).await;
    assert!(html.contains("Nobody matches “outsider”."), "{html}");
    // A tenant they cannot see: 404, as one that does not exist.
    // (A malformed id is a 400 naming `grant_on`: findings11b.)
    for tenant in [t.c2.id.to_string(), "99999999".into()] {
        let r = ca
            .get(&format!("/users/search?grant_on={tenant}&user=alice"))
            .await;
        assert_eq!(status(&r), 404, "{tenant}");
    }
}

#[tokio::test]
async fn only_those_who_may_give_grants_resolve_or_search_candidates() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let alice = user_with_email(&app, &t.c1, "alice", "alice@c1.example").await;
    // A Viewer of the partner's subtree: sees it all, gives nothing.
    let pv = app.user(&t.partner, "pv").await;
    app.grant(&pv, &t.partner, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let pv = browser_as(&app, "partner\\pv").await;
    let r = give(&pv, &t.partner, &[("user", "c1\\alice")]).await;
    assert_eq!(status(&r), 403);
    // Even a name that fits nobody: no answer about who exists.
    let r = give(&pv, &t.partner, &[("user", "nobody")]).await;
    assert_eq!(status(&r), 403);
    for q in ["alice", ""] {
        let r = pv
            .get(&format!("/users/search?grant_on={}&user={q}", t.partner.id))
            .await;
        assert_eq!(status(&r), 403, "{q:?}");
    }
    assert!(!holds(&app, &alice, &t.partner).await);
    // Their people search still finds alice (it is not the grant form's).
    let html = pv.get_html("/users/search?user=alice").await;
    assert!(html.contains("data-pick-text=\"c1\\alice\""), "{html}");

    // An Administrator of the partner alone may give Administrator and Viewer there:
    // the text resolves for them, the role is still theirs to give or not.
    let pa = app.user(&t.partner, "pa").await;
    app.grant(
        &pa,
        &t.partner,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    let pa = browser_as(&app, "partner\\pa").await;
    // On the partner alone they see only the partner: c1's alice is not theirs to pick.
    let (error, _) = refused(give(&pa, &t.partner, &[("user", "c1\\alice")]).await).await;
    assert_eq!(
        error,
        "No user you can grant access to matches “c1\\alice”."
    );
    let colleague = app.user(&t.partner, "colleague").await;
    let r = pa
        .post_form(
            &format!("/tenants/{}/access", t.partner.id),
            &[
                ("user", "colleague"),
                ("role", "owner"),
                ("scope", "tenant"),
            ],
        )
        .await;
    let html = {
        assert_eq!(status(&r), 422);
        r.text().await.unwrap()
    };
    assert!(field_error(&html, "role").is_some(), "{html}");
    assert!(field_error(&html, "grant-user").is_none(), "{html}");
    let r = give(&pa, &t.partner, &[("user", "partner\\colleague")]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &colleague, &t.partner).await);
}

#[tokio::test]
async fn the_grant_pickers_search_offers_the_grant_candidates() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    user_with_email(&app, &t.g1, "zed-g1", "zed@g1.example").await;
    user_with_email(&app, &t.c2, "zed-c2", "zed@c2.example").await;
    user_with_email(&app, &t.other, "zed-other", "zed@other.example").await;
    app.login_admin().await;

    // On c1: c1's subtree and its ancestors' users, never a sibling's.
    let html = app
        .get_html(&format!("/users/search?grant_on={}&user=zed", t.c1.id))
        .await;
    assert!(html.contains("data-pick-text=\"g1\\zed-g1\""), "{html}");
    assert!(
        !html.contains("zed-c2") && !html.contains("zed-other"),
        "{html}"
    );
    assert!(html.contains("1 of 1 shown."), "{html}");
    assert!(!html.contains("<html"), "a fragment: {html}");
    // By email, and by subdomain and part of the username.
    let html = app
        .get_html(&format!("/users/search?grant_on={}&user=zed@g1", t.c1.id))
        .await;
    assert!(html.contains("g1\\zed-g1"), "{html}");
    let html = app
        .get_html(&format!(
            "/users/search?grant_on={}&user=g1%5Czed",
            t.partner.id
        ))
        .await;
    assert!(
        html.contains("g1\\zed-g1") && !html.contains("zed-c2"),
        "{html}"
    );
    // The same search without grant_on is people search: everyone the admin may see.
    let html = app.get_html("/users/search?user=zed").await;
    assert!(
        html.contains("zed-other") && html.contains("zed-c2"),
        "{html}"
    );

    // The Access page's grant form is the picker, not a list of every candidate.
    let html = app.get_html(&format!("/tenants/{}/access", t.c1.id)).await;
    assert!(
        html.contains(&format!("hx-get=\"/users/search?grant_on={}\"", t.c1.id)),
        "{html}"
    );
    assert!(
        html.contains("<label for=\"grant-user\">User</label>"),
        "{html}"
    );
    assert!(!html.contains("zed-g1"), "{html}");
    assert!(!html.contains("<select id=\"user_id\""), "{html}");
}

/// Issue #11's second review: an Administrator of a tenant "this tenant only", at
/// home in the root with no role there, sees the root (as their home) but may not
/// find its people (`/users` finds nobody there); the grant picker, the grant form
/// and the access explainer must not offer or take them either.
#[tokio::test]
async fn the_grant_candidates_are_only_people_the_giver_may_find() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let rooty = user_with_email(&app, &app.root, "rooty", "rooty@corp.example").await;
    let pat = user_with_email(&app, &t.partner, "pat", "pat@corp.example").await;
    let sib = user_with_email(&app, &t.c2, "sib", "sib@corp.example").await;
    let giver = app.user(&app.root, "giver").await;
    app.grant(
        &giver,
        &t.partner,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    let giver = browser_as(&app, "root\\giver").await;
    // People search agrees: the root's people are not theirs to find.
    let html = giver.get_html("/users?q=corp.example").await;
    assert!(html.contains("pat@corp.example"), "{html}");
    assert!(!html.contains("rooty"), "{html}");

    let search = |q: &str| format!("/users/search?grant_on={}&user={q}", t.partner.id);
    let html = giver.get_html(&search("corp.example")).await;
    assert!(html.contains("partner\\pat"), "{html}");
    assert!(!html.contains("rooty"), "{html}");
    // Probing by login or whole email offers nobody.
    for q in ["rooty@corp.example", "root%5Crooty", "rooty"] {
        let html = giver.get_html(&search(q)).await;
        assert!(html.contains("Nobody matches"), "{q}: {html}");
    }
    // The form: typed or picked, the same error as for a user who does not exist.
    let missing = |typed: &str| format!("No user you can grant access to matches “{typed}”.");
    for typed in ["rooty@corp.example", "root\\rooty", "rooty"] {
        let (error, _) = refused(give(&giver, &t.partner, &[("user", typed)]).await).await;
        assert_eq!(error, missing(typed), "{typed}");
    }
    for id in [rooty.id, 99_999_999] {
        let r = give(&giver, &t.partner, &[("user_id", &id.to_string())]).await;
        assert_eq!(status(&r), 422, "{id}");
        let html = r.text().await.unwrap();
        assert_eq!(
            field_error(&html, "grant-user").as_deref(),
            Some("Choose a user from the list."),
            "{id}: {html}"
        );
    }
    assert!(!holds(&app, &rooty, &t.partner).await);
    let r = give(&giver, &t.partner, &[("user_id", &pat.id.to_string())]).await;
    assert_eq!(status(&r), 303);
    assert!(holds(&app, &pat, &t.partner).await);

    // The explainer's `?user=` names nobody for the root's people either.
    let access = |user: String| format!("/tenants/{}/access?user={user}", t.partner.id);
    for user in [rooty.id.to_string(), "rooty".into(), "root%5Crooty".into()] {
        let html = giver.get_html(&access(user.clone())).await;
        assert!(
            html.contains("No user you can see matches"),
            "{user}: {html}"
        );
    }
    let html = giver.get_html(&access(pat.id.to_string())).await;
    assert!(!html.contains("No user you can see matches"), "{html}");

    // An Administrator of a sibling subtree (c1's), at home in the root: c1's
    // ancestors (the partner, the root) are candidates of c1 but not theirs to find.
    let side = app.user(&app.root, "side").await;
    app.grant(
        &side,
        &t.c1,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;
    let side = browser_as(&app, "root\\side").await;
    let html = side
        .get_html(&format!(
            "/users/search?grant_on={}&user=corp.example",
            t.c1.id
        ))
        .await;
    assert!(html.contains("Nobody matches"), "{html}");
    for user in [&rooty, &pat, &sib] {
        let r = give(&side, &t.c1, &[("user_id", &user.id.to_string())]).await;
        assert_eq!(status(&r), 422, "{}", user.username);
    }
    // The admin's, the two givers' and pat's: nothing more.
    assert_eq!(grant_count(&app).await, 4);
}
