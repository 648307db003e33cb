//! A tenant's Access page: the grants reaching it, giving and revoking grants without
//! escalation, the last Owner of the root, and the access explainer.

use crate::helpers::*;
use tenantry::db::models::grant::GrantRow;
use tenantry::db::models::role::UserRole;
use tenantry::db::models::{Grant, Tenant, User};
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

// ---------------------------------------------------------------- helpers

/// Every grant in the database as (user id, tenant id, role, scope, manage).
async fn all_grants(app: &TestApp) -> Vec<(i64, i64, String, String, bool)> {
    db(app)
        .await
        .query(
            "SELECT user_id, tenant_id, role, scope, manage_subtenants FROM grants ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

async fn grant_of(app: &TestApp, user: &User, tenant: &Tenant) -> Option<GrantRow> {
    Grant::existing(&mut *app.conn().await, user.id, tenant.id)
        .await
        .unwrap()
}

async fn give(
    browser: &TestApp,
    tenant: &Tenant,
    user_id: &str,
    role: &str,
    scope: &str,
    manage: bool,
) -> reqwest::Response {
    let mut fields = vec![("user_id", user_id), ("role", role), ("scope", scope)];
    if manage {
        fields.push(("manage_subtenants", "true"));
    }
    browser
        .post_form(&format!("/tenants/{}/access", tenant.id), &fields)
        .await
}

async fn revoke(browser: &TestApp, tenant: &Tenant, grant_id: i64) -> reqwest::Response {
    browser
        .post_form(
            &format!("/tenants/{}/access/{grant_id}/revoke", tenant.id),
            &[("confirm", "yes")],
        )
        .await
}

/// The text of each row of the Grants table.
fn grant_rows(html: &str) -> Vec<String> {
    let Some(start) = html.find("<h2>Grants</h2>") else {
        return Vec::new();
    };
    let end = html[start..]
        .find("</table>")
        .map_or(html.len(), |e| start + e);
    let section = &html[start..end];
    let Some(body) = section.find("<tbody>") else {
        return Vec::new();
    };
    section[body..]
        .split("<tr>")
        .skip(1)
        .map(str::to_string)
        .collect()
}

fn row_of<'a>(rows: &'a [String], login: &str) -> &'a str {
    rows.iter()
        .find(|r| r.contains(&format!(">{login}</a>")))
        .unwrap_or_else(|| panic!("no grant row for {login} in {rows:#?}"))
}

/// The explainer's rows: feature -> (level, reasons).
fn explainer(html: &str) -> Vec<(String, String, Vec<String>)> {
    let start = html
        .find("<section class=\"explanation\"")
        .unwrap_or_else(|| panic!("no explanation in {html}"));
    let end = html[start..].find("</section>").unwrap() + start;
    html[start..end]
        .split("<tr><th scope=\"row\">")
        .skip(1)
        .map(|row| {
            let feature = row[..row.find("</th>").unwrap()].to_string();
            let l = row.find("<td class=\"level-").unwrap() + "<td class=\"level-".len();
            let level = row[l..l + row[l..].find('"').unwrap()].to_string();
            let reasons = row
                .split("<li>")
                .skip(1)
                .map(|li| li[..li.find("</li>").unwrap()].to_string())
                .collect();
            (feature, level, reasons)
        })
        .collect()
}

fn explained<'a>(
    rows: &'a [(String, String, Vec<String>)],
    feature: &str,
) -> (&'a str, &'a [String]) {
    let r = rows
        .iter()
        .find(|r| r.0 == feature)
        .unwrap_or_else(|| panic!("no {feature} in {rows:?}"));
    (&r.1, &r.2)
}

/// root ─┬─ partner (may have sub-tenants) ─┬─ c1 (may have sub-tenants) ── g1
///       │                                  └─ c2
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

// ---------------------------------------------------------------- the list

#[tokio::test]
async fn the_access_page_lists_direct_and_inherited_grants() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let pa = app.user(&t.partner, "pa").await;
    app.grant(
        &pa,
        &t.partner,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let pt = app.user(&t.partner, "pt").await;
    app.grant(&pt, &t.partner, GrantRole::Owner, Scope::Tenant, false)
        .await;
    let cv = app.user(&t.c2, "cv").await;
    app.grant(&cv, &t.c1, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    app.login_admin().await;

    let r = app.get(&format!("/tenants/{}/access", t.c1.id)).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    let rows = grant_rows(&html);
    assert_eq!(rows.len(), 3, "{rows:#?}");

    let admin = row_of(&rows, "root\\admin");
    assert!(admin.contains("<td>Owner</td>"), "{admin}");
    assert!(
        admin.contains("this tenant and all its sub-tenants"),
        "{admin}"
    );
    assert!(admin.contains("Root (inherited)"), "{admin}");

    let pa_row = row_of(&rows, "partner\\pa");
    assert!(pa_row.contains("<td>Administrator</td>"), "{pa_row}");
    assert!(pa_row.contains("Tenant partner (inherited)"), "{pa_row}");
    assert!(pa_row.contains("<td>Yes</td>"), "may manage: {pa_row}");
    assert!(!pa_row.contains("Revoke"), "inherited: revoked where given");

    let cv_row = row_of(&rows, "c2\\cv");
    assert!(cv_row.contains("<td>Viewer</td>"), "{cv_row}");
    assert!(cv_row.contains("this tenant only"), "{cv_row}");
    assert!(cv_row.contains("<td>this tenant</td>"), "{cv_row}");
    assert!(!cv_row.contains("inherited"), "{cv_row}");
    assert!(cv_row.contains("Revoke"), "{cv_row}");

    // A tenant-only grant on the parent does not reach the child.
    assert!(!rows.iter().any(|r| r.contains("partner\\pt")), "{rows:#?}");
    let partner_page = app
        .get_html(&format!("/tenants/{}/access", t.partner.id))
        .await;
    let rows = grant_rows(&partner_page);
    let pt_row = row_of(&rows, "partner\\pt");
    assert!(pt_row.contains("<td>this tenant</td>"), "{pt_row}");
    let pa_row = row_of(&rows, "partner\\pa");
    assert!(pa_row.contains("<td>this tenant</td>"), "{pa_row}");
    assert!(
        !rows.iter().any(|r| r.contains("c2\\cv")),
        "a grant below is not listed: {rows:#?}"
    );
}

// ---------------------------------------------------------------- giving

#[tokio::test]
async fn an_owner_gives_a_subtree_grant_and_it_reaches_the_subtree_only() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let sue = app.user(&t.c2, "sue").await;
    let sue_browser = browser_as(&app, "c2\\sue").await;
    assert_eq!(
        status(&sue_browser.get(&format!("/tenants/{}", t.g1.id)).await),
        404,
        "before"
    );
    app.login_admin().await;

    // The give form's picker offers her.
    let html = app
        .get_html(&format!("/users/search?grant_on={}&user=sue", t.partner.id))
        .await;
    assert!(
        html.contains(&format!("data-pick-id=\"{}\"", sue.id)),
        "{html}"
    );

    let r = give(
        &app,
        &t.partner,
        &sue.id.to_string(),
        "administrator",
        "subtree",
        false,
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/access", t.partner.id));
    let g = grant_of(&app, &sue, &t.partner)
        .await
        .expect("grant stored");
    assert_eq!(
        (g.role.as_str(), g.scope.as_str(), g.manage_subtenants),
        ("administrator", "subtree", false)
    );
    let html = app
        .get_html(&format!("/tenants/{}/access", t.partner.id))
        .await;
    let rows = grant_rows(&html);
    assert!(row_of(&rows, "c2\\sue").contains("<td>Administrator</td>"));

    // Her already open session sees the partner's whole subtree …
    for tenant in [&t.partner, &t.c1, &t.g1, &t.c2] {
        assert_eq!(
            status(&sue_browser.get(&format!("/tenants/{}", tenant.id)).await),
            200,
            "{}",
            tenant.subdomain
        );
    }
    // … but neither a sibling of the partner nor the root.
    assert_eq!(
        status(&sue_browser.get(&format!("/tenants/{}", t.other.id)).await),
        404
    );
    assert_eq!(
        status(&sue_browser.get(&format!("/tenants/{}", app.root.id)).await),
        404
    );
}

#[tokio::test]
async fn giving_the_same_grant_again_logs_nothing() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let sue = app.user(&t.c2, "sue").await;
    app.login_admin().await;
    async fn gives(app: &TestApp, tenant: &Tenant) -> usize {
        tenantry::db::models::AuditEvent::actions_for_tenant(&mut *app.conn().await, tenant.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a == "grant.give")
            .count()
    }
    let sue_id = sue.id.to_string();
    for (role, logged) in [("viewer", 1), ("viewer", 1), ("administrator", 2)] {
        let r = give(&app, &t.partner, &sue_id, role, "subtree", false).await;
        assert_redirect_to(&r, &format!("/tenants/{}/access", t.partner.id));
        assert_eq!(gives(&app, &t.partner).await, logged, "{role}");
    }
}

#[tokio::test]
async fn nobody_gives_a_grant_stronger_than_their_own() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let target = app.user(&t.c1, "target").await;
    let target_id = target.id.to_string();

    // An Administrator with sub-tenant scope who manages sub-tenants.
    let pa = subtree_admin(&app, &t.partner, "pa").await;
    let html = pa
        .get_html(&format!("/tenants/{}/access", t.partner.id))
        .await;
    assert!(!html.contains("<option value=\"owner\""), "{html}");
    assert!(html.contains("<option value=\"administrator\""));
    let before = all_grants(&app).await;
    for scope in ["tenant", "subtree"] {
        let r = give(&pa, &t.partner, &target_id, "owner", scope, false).await;
        assert_eq!(status(&r), 422, "{scope}");
        let html = r.text().await.unwrap();
        assert!(field_error(&html, "role").is_some(), "{html}");
    }
    assert_eq!(all_grants(&app).await, before, "nothing written");
    // What he holds he may give.
    let r = give(&pa, &t.c1, &target_id, "administrator", "subtree", true).await;
    assert_eq!(status(&r), 303);
    assert!(grant_of(&app, &target, &t.c1).await.is_some());

    // "May manage sub-tenants" needs sub-tenant scope.
    app.login_admin().await;
    let before = all_grants(&app).await;
    let r = give(&app, &t.c2, &target_id, "viewer", "tenant", true).await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "manage_subtenants").is_some());
    assert_eq!(all_grants(&app).await, before);

    // Unknown role or scope values.
    let r = give(&app, &t.c2, &target_id, "god", "tenant", false).await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "role").is_some());
    let r = give(&app, &t.c2, &target_id, "viewer", "everything", false).await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "scope").is_some());
    assert_eq!(all_grants(&app).await, before);

    // A tenant-only Administrator cannot give the sub-tenant scope.
    let ta = app.user(&t.partner, "ta").await;
    app.grant(
        &ta,
        &t.partner,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    // (He sees only the partner itself, so he picks one of its users.)
    let colleague = app.user(&t.partner, "colleague").await.id.to_string();
    let before = all_grants(&app).await;
    let ta = browser_as(&app, "partner\\ta").await;
    let html = ta
        .get_html(&format!("/tenants/{}/access", t.partner.id))
        .await;
    assert!(!html.contains("value=\"subtree\""), "{html}");
    let r = give(&ta, &t.partner, &colleague, "viewer", "subtree", false).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(field_error(&html, "role").is_some(), "{html}");
    assert!(field_error(&html, "grant-user").is_none(), "{html}");
    let r = give(&ta, &t.partner, &colleague, "viewer", "tenant", true).await;
    assert_eq!(status(&r), 422);
    assert_eq!(all_grants(&app).await, before);
    let r = give(&ta, &t.partner, &colleague, "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303, "a tenant-only viewer grant he may give");

    // A Viewer gives nothing.
    let pv = app.user(&t.partner, "pv").await;
    app.grant(&pv, &t.partner, GrantRole::Viewer, Scope::Subtree, true)
        .await;
    let pv = browser_as(&app, "partner\\pv").await;
    let r = pv.get(&format!("/tenants/{}/access", t.partner.id)).await;
    assert_eq!(status(&r), 200);
    assert!(!r.text().await.unwrap().contains("Give grant"));
    let before = all_grants(&app).await;
    for (tenant, role) in [(&t.partner, "viewer"), (&t.c1, "viewer"), (&t.c1, "owner")] {
        let r = give(&pv, tenant, &target_id, role, "tenant", false).await;
        assert_eq!(status(&r), 403);
    }
    assert_eq!(all_grants(&app).await, before);

    // Even with Users full from his home role, a Viewer grant gives nothing to hand on.
    let hv = app.user(&t.partner, "hv").await;
    let full = UserRole::insert(
        &mut *app.conn().await,
        t.partner.id,
        "Everything",
        &Permissions::all(Level::Full),
        false,
    )
    .await
    .unwrap();
    UserRole::assign(&mut *app.conn().await, hv.id, full.id)
        .await
        .unwrap();
    app.grant(&hv, &t.partner, GrantRole::Viewer, Scope::Subtree, true)
        .await;
    let before = all_grants(&app).await;
    let hv = browser_as(&app, "partner\\hv").await;
    let html = hv
        .get_html(&format!("/tenants/{}/access", t.partner.id))
        .await;
    assert!(!html.contains("Give grant"), "{html}");
    let r = give(&hv, &t.partner, &colleague, "viewer", "tenant", false).await;
    assert_eq!(status(&r), 403);
    assert_eq!(all_grants(&app).await, before);
}

#[tokio::test]
async fn only_users_from_the_list_can_be_given_a_grant() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let outsider = app.user(&t.other, "outsider").await;
    let pa = app.user(&t.partner, "pa").await;
    app.grant(&pa, &t.partner, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let pa = browser_as(&app, "partner\\pa").await;
    let html = pa
        .get_html(&format!(
            "/users/search?grant_on={}&user=outsider",
            t.partner.id
        ))
        .await;
    assert!(!html.contains("outsider\""), "{html}");
    assert!(html.contains("Nobody matches"), "{html}");

    let before = all_grants(&app).await;
    for bad in [
        outsider.id.to_string(),
        app.admin.id.to_string(),
        "999999".to_string(),
        "abc".to_string(),
        String::new(),
    ] {
        let r = give(&pa, &t.partner, &bad, "viewer", "tenant", false).await;
        assert_eq!(status(&r), 422, "user_id {bad:?}");
        let html = r.text().await.unwrap();
        assert_eq!(
            field_error(&html, "grant-user").as_deref(),
            Some("Choose a user from the list."),
            "{bad:?}"
        );
    }
    assert_eq!(all_grants(&app).await, before, "nothing written");
}

// ---------------------------------------------------------------- revoking

#[tokio::test]
async fn nobody_revokes_a_grant_stronger_than_their_own() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let owner = app.user(&t.partner, "owner").await;
    app.grant(&owner, &t.partner, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let viewer = app.user(&t.partner, "viewer").await;
    app.grant(&viewer, &t.partner, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let pa = subtree_admin(&app, &t.partner, "pa").await;

    let html = pa
        .get_html(&format!("/tenants/{}/access", t.partner.id))
        .await;
    let rows = grant_rows(&html);
    assert!(!row_of(&rows, "partner\\owner").contains("Revoke"));
    assert!(row_of(&rows, "partner\\viewer").contains("Revoke"));

    let owner_grant = grant_of(&app, &owner, &t.partner).await.unwrap();
    let r = revoke(&pa, &t.partner, owner_grant.id).await;
    assert_eq!(status(&r), 403);
    assert!(grant_of(&app, &owner, &t.partner).await.is_some());

    // A grant on another tenant is not found through this one.
    let admin_grant = grant_of(&app, &app.admin, &app.root).await.unwrap();
    let r = revoke(&pa, &t.partner, admin_grant.id).await;
    assert_eq!(status(&r), 404);

    let viewer_grant = grant_of(&app, &viewer, &t.partner).await.unwrap();
    let r = revoke(&pa, &t.partner, viewer_grant.id).await;
    assert_redirect_to(&r, &format!("/tenants/{}/access", t.partner.id));
    assert!(grant_of(&app, &viewer, &t.partner).await.is_none());
}

#[tokio::test]
async fn nobody_weakens_a_grant_stronger_than_their_own() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let owner = app.user(&t.partner, "owner").await;
    app.grant(&owner, &t.partner, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let pa = subtree_admin(&app, &t.partner, "pa").await;
    let r = give(
        &pa,
        &t.partner,
        &owner.id.to_string(),
        "viewer",
        "tenant",
        false,
    )
    .await;
    let code = status(&r);
    assert!(code == 403 || code == 422, "got {code}");
    let g = grant_of(&app, &owner, &t.partner).await.unwrap();
    assert_eq!(
        (g.role.as_str(), g.scope.as_str(), g.manage_subtenants),
        ("owner", "subtree", true)
    );
}

#[tokio::test]
async fn the_last_owner_of_the_root_stays() {
    let app = spawn_app().await;
    app.login_admin().await;
    let admin_grant = grant_of(&app, &app.admin, &app.root).await.unwrap();

    let r = revoke(&app, &app.root, admin_grant.id).await;
    assert_eq!(status(&r), 409);
    assert!(r.text().await.unwrap().contains("last Owner"));
    assert!(grant_of(&app, &app.admin, &app.root).await.is_some());

    let admin_id = app.admin.id.to_string();
    let r = give(&app, &app.root, &admin_id, "administrator", "subtree", true).await;
    assert_eq!(status(&r), 409);
    let g = grant_of(&app, &app.admin, &app.root).await.unwrap();
    assert_eq!((g.role.as_str(), g.scope.as_str()), ("owner", "subtree"));

    // With a second Owner the first may go.
    let second = app.user(&app.root, "second").await;
    let r = give(
        &app,
        &app.root,
        &second.id.to_string(),
        "owner",
        "subtree",
        true,
    )
    .await;
    assert_eq!(status(&r), 303);
    let r = revoke(&app, &app.root, admin_grant.id).await;
    assert_redirect_to(&r, &format!("/tenants/{}/access", app.root.id));
    assert!(grant_of(&app, &app.admin, &app.root).await.is_none());

    // Now the second one is the last.
    let second_browser = browser_as(&app, "second").await;
    let second_grant = grant_of(&app, &second, &app.root).await.unwrap();
    let r = revoke(&second_browser, &app.root, second_grant.id).await;
    assert_eq!(status(&r), 409);
    assert!(grant_of(&app, &second, &app.root).await.is_some());
}

#[tokio::test]
async fn a_revoked_grant_ends_the_rights_at_once() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let sue = app.user(&t.other, "sue").await;
    app.grant(
        &sue,
        &t.partner,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let sue_browser = browser_as(&app, "other\\sue").await;
    for tenant in [&t.partner, &t.c1] {
        let path = format!("/tenants/{}", tenant.id);
        assert_eq!(status(&sue_browser.get(&path).await), 200);
    }

    app.login_admin().await;
    let g = grant_of(&app, &sue, &t.partner).await.unwrap();
    let r = revoke(&app, &t.partner, g.id).await;
    assert_eq!(status(&r), 303);

    for tenant in [&t.partner, &t.c1] {
        let path = format!("/tenants/{}", tenant.id);
        assert_eq!(status(&sue_browser.get(&path).await), 404, "{path}");
        let path = format!("/tenants/{}/access", tenant.id);
        assert_eq!(status(&sue_browser.get(&path).await), 404, "{path}");
    }
}

// ---------------------------------------------------------------- the explainer

#[tokio::test]
async fn the_explainer_shows_each_level_and_why() {
    let app = spawn_app().await;
    let partner = app.tenant(&app.root, "partner", true).await;
    let other = app.tenant(&app.root, "other", false).await;
    app.login_admin().await;
    // Created through the form, so it has a copy of the "Read only" template.
    let parent = partner.id.to_string();
    let r = app
        .post_form(
            "/tenants",
            &[
                ("name", "Customer One"),
                ("subdomain", "cust1"),
                ("parent_id", &parent),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let cust_id = redirected_tenant_id(&r);

    let mut conn = app.conn().await;
    let cust = Tenant::find(&mut conn, cust_id).await.unwrap();
    let read_only = UserRole::for_tenant(&mut conn, cust.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "Read only")
        .expect("template copy");
    let mut cap = Permissions::all(Level::Read);
    cap.set(tenantry::domain::Feature::Tenants, Level::Full);
    cap.set(tenantry::domain::Feature::Roles, Level::None);
    drop(conn);
    capped(&app, &cust, "Limited", &cap).await;
    let sup = app.user(&cust, "sup").await;
    UserRole::assign(&mut *app.conn().await, sup.id, read_only.id)
        .await
        .unwrap();
    app.grant(
        &sup,
        &partner,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;

    let r = app
        .get(&format!("/tenants/{}/access?user={}", cust.id, sup.id))
        .await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("What cust1\\sup can do in Customer One, and why"),
        "{html}"
    );
    assert!(!html.contains("cannot see this tenant"));
    let rows = explainer(&html);
    assert_eq!(rows.len(), 10, "{rows:?}");

    // Users: read (home role) and full (grant), capped at read.
    let (level, why) = explained(&rows, "Users");
    assert_eq!(level, "read");
    assert_eq!(
        why,
        [
            "home role “Read only” in this tenant gives read".to_string(),
            "Administrator grant on Tenant partner (and all its sub-tenants) gives full"
                .to_string(),
            "capped by tenant role “Limited” at read".to_string(),
        ]
    );
    // Tenants: the cap allows full, so the grant wins.
    let (level, why) = explained(&rows, "Tenants");
    assert_eq!(level, "full");
    assert!(why
        .iter()
        .any(|w| w.contains("capped by tenant role “Limited” at full")));
    // Roles: the cap says none.
    let (level, why) = explained(&rows, "Roles");
    assert_eq!(level, "none");
    assert!(why
        .iter()
        .any(|w| w == "capped by tenant role “Limited” at none"));
    assert!(why
        .iter()
        .any(|w| w.contains("Administrator grant on Tenant partner")));

    // In the partner (not her home, cap "Full access") only the grant counts.
    let html = app
        .get_html(&format!("/tenants/{}/access?user={}", partner.id, sup.id))
        .await;
    let rows = explainer(&html);
    let (level, why) = explained(&rows, "Users");
    assert_eq!(level, "full");
    assert!(!why.iter().any(|w| w.contains("home role")), "{why:?}");
    assert!(why
        .iter()
        .any(|w| w == "capped by tenant role “Full access” at full"));
    let (level, _) = explained(&rows, "Roles");
    assert_eq!(level, "full");

    // Where she cannot go, the page says so.
    let html = app
        .get_html(&format!("/tenants/{}/access?user={}", other.id, sup.id))
        .await;
    assert!(
        html.contains("cust1\\sup cannot see this tenant at all"),
        "{html}"
    );
    let rows = explainer(&html);
    assert!(rows.iter().all(|r| r.1 == "none"), "{rows:?}");
    let (_, why) = explained(&rows, "Users");
    assert!(why[0].contains("no home role here and no grant"), "{why:?}");

    // The levels it shows are the ones enforced.
    let sup_browser = browser_as(&app, "cust1\\sup").await;
    assert_eq!(
        status(
            &sup_browser
                .get(&format!("/tenants/{}/roles", cust.id))
                .await
        ),
        403
    );
    assert_eq!(
        status(
            &sup_browser
                .get(&format!("/tenants/{}/roles", partner.id))
                .await
        ),
        200
    );
    assert_eq!(
        status(&sup_browser.get(&format!("/tenants/{}", other.id)).await),
        404
    );
}

#[tokio::test]
async fn the_explainer_hides_users_the_viewer_cannot_see() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let outsider = app.user(&t.other, "outsider").await;
    let inside = app.user(&t.c1, "inside").await;
    let pa = subtree_admin(&app, &t.partner, "pa").await;

    let base = format!("/tenants/{}/access", t.partner.id);
    let r = pa.get(&format!("{base}?user={}", inside.id)).await;
    assert_eq!(status(&r), 200);
    assert!(r.text().await.unwrap().contains("What c1\\inside can do"));

    // A user the viewer cannot see reads exactly like one that does not exist: the
    // same page, but for the id typed.
    let page = |html: String, user: &str| {
        let start = html.find("id=\"explainer\"").expect("the explainer");
        html[start..]
            .replace(&format!("value=\"{user}\""), "value=\"ID\"")
            .replace(&format!("“{user}”"), "“ID”")
    };
    let missing = page(
        pa.get_html(&format!("{base}?user=99999999")).await,
        "99999999",
    );
    assert!(
        missing.contains("No user you can see matches “ID”"),
        "{missing}"
    );
    for user in [outsider.id.to_string(), app.admin.id.to_string()] {
        let r = pa.get(&format!("{base}?user={user}")).await;
        assert_eq!(status(&r), 200, "user {user}");
        assert_eq!(
            page(r.text().await.unwrap(), &user),
            missing,
            "same as not found"
        );
    }
}

#[tokio::test]
async fn the_profile_lists_every_grant_with_the_path_its_holder_may_see() {
    let app = spawn_app().await;
    let tree = partner_tree(&app).await;
    let holder = app.user(&tree.globex, "holder").await;
    app.grant(&holder, &tree.a1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    app.grant(
        &holder,
        &tree.a2,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    app.grant(&holder, &tree.g1, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let html = browser_as(&app, "globex\\holder")
        .await
        .get_html("/profile")
        .await;
    let table = &html[html.find("id=\"grants\"").expect("grants table")..];
    let table = &table[..table.find("</table>").unwrap()];
    let rows: Vec<Vec<String>> = table
        .split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| {
                    let text = &cell[..cell.find("</td>").unwrap()];
                    match text.find("\">") {
                        Some(i) => text[i + 2..text.find("</a>").unwrap()].to_string(),
                        None => text.to_string(),
                    }
                })
                .collect()
        })
        .collect();
    // Sorted by path; above their home and grants, tenant names stay hidden.
    assert_eq!(
        rows,
        [
            [
                "Tenant a1",
                "Tenant a1",
                "Viewer",
                "this tenant and all sub-tenants",
                "No"
            ],
            [
                "Tenant a2",
                "Tenant a2",
                "Administrator",
                "this tenant",
                "No"
            ],
            [
                "Tenant g1",
                "Tenant globex / Tenant g1",
                "Owner",
                "this tenant and all sub-tenants",
                "Yes"
            ],
        ]
        .map(|r| r.map(String::from).to_vec())
        .to_vec(),
        "{table}"
    );
}

/// The explainer's `?user=` names nobody, or several people: the page says so (200,
/// the text kept) and offers the people a username fits; a user the viewer cannot see
/// reads exactly like one that does not exist.
#[tokio::test]
async fn the_explainer_says_when_its_user_names_nobody_or_several() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let bob_a1 = app.user(&t.a1, "bob").await;
    let bob_a2 = app.user(&t.a2, "bob").await;
    let hidden = app.user(&t.globex, "hidden").await;
    let alice = subtree_admin(&app, &t.acme, "alice").await;
    let page = |q: &str| format!("/tenants/{}/access?user={q}", t.acme.id);

    // Several bobs: a choice of each, linking to the explanation.
    let r = alice.get(&page("bob")).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Several users match “bob”"), "{html}");
    for bob in [&bob_a1, &bob_a2] {
        let link = format!("/tenants/{}/access?user={}#explainer", t.acme.id, bob.id);
        assert!(html.contains(&link), "{link} in {html}");
    }
    assert!(!html.contains("can do in"), "no explanation yet");
    // One of them by login: explained.
    let html = alice.get_html(&page("a2%5Cbob")).await;
    assert!(html.contains("What a2\\bob can do in"), "{html}");

    // Nobody: a user who does not exist, and one in a tenant alice cannot see, by
    // name and by id, all answer the same page.
    let missing_id = (hidden.id + 1000).to_string();
    let hidden_id = hidden.id.to_string();
    for (q, shown) in [
        ("nobody", "nobody"),
        ("hidden", "hidden"),
        ("globex%5Chidden", "globex\\hidden"),
        (hidden_id.as_str(), hidden_id.as_str()),
        (missing_id.as_str(), missing_id.as_str()),
    ] {
        let r = alice.get(&page(q)).await;
        assert_eq!(status(&r), 200, "{q}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("No user you can see matches “{shown}”")),
            "{q}: {html}"
        );
        assert!(!html.contains("can do in"), "{q}");
        assert!(
            html.contains(&format!("value=\"{}\"", shown.replace('\\', "&#92;")))
                || html.contains(&format!("value=\"{shown}\"")),
            "{q}: the text is kept"
        );
    }
}

/// The Access page describes the grant roles as the rights decide them (DESIGN.md §3):
/// Administrator is everything but delete and move, and "may manage sub-tenants" does
/// not move them (moving and deleting need Owner, `authz::can_move`/`can_delete`).
#[tokio::test]
async fn the_access_page_says_administrators_neither_delete_nor_move() {
    let app = spawn_app().await;
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/access", app.root.id))
        .await;
    assert!(
        html.contains("Administrator: everything but delete and move."),
        "{html}"
    );
    assert!(
        html.contains("moving and deleting need Owner"),
        "the manage switch's help: {html}"
    );
    assert!(!html.contains("create, edit, move"), "{html}");
}
