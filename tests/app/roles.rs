//! User roles, multi-tenant templates and tenant roles: the matrix form, validation,
//! template propagation and detaching, deletion guards, no self-escalation, and the
//! tenant-role cap taking effect at once.

use crate::helpers::*;
use tenantry::db::models::role::{TenantRole, UserRole};
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};

// ---------------------------------------------------------------- helpers

const FEATURES: [&str; 10] = [
    "tenants",
    "users",
    "roles",
    "invitations",
    "policies",
    "resources",
    "rules",
    "usage",
    "settings",
    "audit",
];

const LABELS: [&str; 10] = [
    "Tenants",
    "Users",
    "Roles",
    "Invitations",
    "Policies",
    "Resources",
    "Rules",
    "Usage",
    "Settings",
    "Audit",
];

/// Role form fields: `name`, and every feature at `default` except those in `levels`.
fn role_form(name: &str, default: &str, levels: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out = vec![("name".to_string(), name.to_string())];
    for f in FEATURES {
        let level = levels
            .iter()
            .find(|(k, _)| *k == f)
            .map_or(default, |(_, l)| *l);
        out.push((format!("perm_{f}"), level.to_string()));
    }
    out
}

async fn post(app: &TestApp, path: &str, fields: &[(String, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.post_form(path, &pairs).await
}

async fn roles_of(app: &TestApp, tenant_id: i64) -> Vec<UserRole> {
    UserRole::for_tenant(&mut *app.conn().await, tenant_id)
        .await
        .unwrap()
}

async fn role_named(app: &TestApp, tenant_id: i64, name: &str) -> Option<UserRole> {
    roles_of(app, tenant_id)
        .await
        .into_iter()
        .find(|r| r.name == name)
}

async fn tenant_role_named(app: &TestApp, name: &str) -> Option<TenantRole> {
    TenantRole::all(&mut *app.conn().await)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == name)
}

async fn find_tenant(app: &TestApp, id: i64) -> Tenant {
    Tenant::find(&mut *app.conn().await, id).await.unwrap()
}

/// Creates a tenant through the web form as `browser` (so it gets template copies).
async fn create_tenant_via_form(
    browser: &TestApp,
    parent: i64,
    name: &str,
    subdomain: &str,
) -> i64 {
    let parent = parent.to_string();
    let r = browser
        .post_form(
            "/tenants",
            &[
                ("name", name),
                ("subdomain", subdomain),
                ("description", ""),
                ("parent_id", &parent),
                ("can_have_subtenants", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303, "create tenant {subdomain}");
    redirected_tenant_id(&r)
}

/// A user of `tenant` whose home role is a new role `role_name` with these permissions.
async fn user_holding(
    app: &TestApp,
    tenant: &Tenant,
    username: &str,
    role_name: &str,
    permissions: &Permissions,
) -> (User, UserRole) {
    let user = app.user(tenant, username).await;
    let mut conn = app.conn().await;
    let role = UserRole::insert(&mut conn, tenant.id, role_name, permissions, false)
        .await
        .unwrap();
    UserRole::assign(&mut conn, user.id, role.id).await.unwrap();
    (user, role)
}

async fn assign(app: &TestApp, user: &User, role: &UserRole) {
    UserRole::assign(&mut *app.conn().await, user.id, role.id)
        .await
        .unwrap();
}

/// (name, kind, levels) of each row of a tenant's Roles list.
fn role_rows(html: &str) -> Vec<(String, String, Vec<String>)> {
    let Some(start) = html.find("<tbody>") else {
        return Vec::new();
    };
    let end = html[start..]
        .find("</tbody>")
        .map_or(html.len(), |e| start + e);
    html[start..end]
        .split("<tr>")
        .skip(1)
        .filter_map(|row| {
            let a = row.find("\">")? + 2;
            let name = row[a..a + row[a..].find("</a>")?].to_string();
            let k = row.find("</a></td>")? + "</a></td>".len();
            let k = k + row[k..].find("<td>")? + 4;
            let kind = row[k..k + row[k..].find("</td>")?].to_string();
            let levels = row
                .split("<td class=\"level-")
                .skip(1)
                .filter_map(|c| c.split('"').next().map(str::to_string))
                .collect();
            Some((name, kind, levels))
        })
        .collect()
}

fn row_for<'a>(
    rows: &'a [(String, String, Vec<String>)],
    name: &str,
) -> &'a (String, String, Vec<String>) {
    rows.iter()
        .find(|r| r.0 == name)
        .unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}

/// The checked level of `perm_<feature>` in a rendered matrix.
fn checked_level(html: &str, feature: &str) -> Option<&'static str> {
    ["none", "read", "full"]
        .into_iter()
        .find(|l| html.contains(&format!("name=\"perm_{feature}\" value=\"{l}\" checked")))
}

fn perms(default: Level, levels: &[(Feature, Level)]) -> Permissions {
    let mut p = Permissions::all(default);
    for (f, l) in levels {
        p.set(*f, *l);
    }
    p
}

// ---------------------------------------------------------------- the form

#[tokio::test]
async fn the_role_form_is_a_labelled_radio_matrix_that_posts_without_js() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;

    let r = app.get(&format!("/tenants/{}/roles/new", acme.id)).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "<form action=\"/tenants/{}/roles/new\" method=\"post\"",
            acme.id
        )),
        "a plain HTML form: {html}"
    );
    assert!(html.contains("name=\"csrf_token\""));
    assert!(html.contains("name=\"name\""));
    for (feature, label) in FEATURES.iter().zip(LABELS) {
        assert!(
            html.contains(&format!("<th scope=\"row\">{label}</th>")),
            "row label {label}"
        );
        for level in ["none", "read", "full"] {
            let radio = format!("<input type=\"radio\" name=\"perm_{feature}\" value=\"{level}\"");
            assert_eq!(html.matches(&radio).count(), 1, "{radio}");
            // Each radio sits in its own label naming the feature and the level.
            let at = html.find(&radio).unwrap();
            let label_start = html[..at].rfind("<label").unwrap();
            let label_end = at + html[at..].find("</label>").unwrap();
            let whole = &html[label_start..label_end];
            assert!(
                whole.contains(&format!("{label}: </span>{level}")),
                "label of {radio}: {whole}"
            );
        }
        assert!(checked_level(&html, feature).is_some(), "a default level");
    }

    // Submitting the form as rendered (the checked defaults) plus a name works.
    let mut fields = vec![("name".to_string(), "Defaults".to_string())];
    for f in FEATURES {
        let l = checked_level(&html, f).unwrap();
        fields.push((format!("perm_{f}"), l.to_string()));
    }
    let r = post(&app, &format!("/tenants/{}/roles/new", acme.id), &fields).await;
    assert_redirect_to(&r, &format!("/tenants/{}/roles", acme.id));
    assert!(role_named(&app, acme.id, "Defaults").await.is_some());
}

// ---------------------------------------------------------------- create and validate

#[tokio::test]
async fn a_single_tenant_role_is_created_and_listed() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;

    let r = post(
        &app,
        &format!("/tenants/{}/roles/new", acme.id),
        &role_form("Helpdesk", "read", &[("users", "full"), ("audit", "none")]),
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/roles", acme.id));

    let role = role_named(&app, acme.id, "Helpdesk")
        .await
        .expect("role stored");
    assert!(!role.multi_tenant && role.template_id.is_none() && !role.customised);
    assert_eq!(role.permissions.get(Feature::Users), Level::Full);
    assert_eq!(role.permissions.get(Feature::Audit), Level::None);
    assert_eq!(role.permissions.get(Feature::Tenants), Level::Read);

    let html = app.get_html(&format!("/tenants/{}/roles", acme.id)).await;
    assert!(html.contains("Created role Helpdesk."), "flash: {html}");
    let rows = role_rows(&html);
    let (_, kind, levels) = row_for(&rows, "Helpdesk");
    assert_eq!(kind, "Single-tenant role");
    let expected: Vec<String> = FEATURES
        .iter()
        .map(|f| match *f {
            "users" => "full",
            "audit" => "none",
            _ => "read",
        })
        .map(String::from)
        .collect();
    assert_eq!(levels, &expected);
    // The other tenant has no such role.
    assert!(role_named(&app, app.root.id, "Helpdesk").await.is_none());

    // Its edit page shows the matrix as stored.
    let html = app
        .get_html(&format!("/tenants/{}/roles/{}", acme.id, role.id))
        .await;
    assert_eq!(checked_level(&html, "users"), Some("full"));
    assert_eq!(checked_level(&html, "audit"), Some("none"));
    assert_eq!(checked_level(&html, "rules"), Some("read"));
}

#[tokio::test]
async fn invalid_role_forms_answer_422_and_create_nothing() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let globex = app.tenant(&app.root, "globex", false).await;
    app.login_admin().await;
    let path = format!("/tenants/{}/roles/new", acme.id);

    // A level that does not exist.
    let r = post(
        &app,
        &path,
        &role_form("Bad", "read", &[("users", "admin")]),
    )
    .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let e = field_error(&html, "permissions").expect("permissions error");
    assert!(e.contains("Users"), "{e}");
    assert!(!e.contains("Audit"), "only the bad feature: {e}");
    assert_eq!(
        html.matches("name=\"name\" type=\"text\" value=\"Bad\"")
            .count(),
        1
    );

    // A feature missing altogether.
    let mut fields = role_form("Bad", "read", &[]);
    fields.retain(|(k, _)| k != "perm_audit");
    let r = post(&app, &path, &fields).await;
    assert_eq!(status(&r), 422);
    let e = field_error(&r.text().await.unwrap(), "permissions").expect("permissions error");
    assert!(e.contains("Audit"), "{e}");

    // No name.
    for name in ["", "   "] {
        let r = post(&app, &path, &role_form(name, "read", &[])).await;
        assert_eq!(status(&r), 422, "name {name:?}");
        assert!(field_error(&r.text().await.unwrap(), "name").is_some());
    }
    assert!(roles_of(&app, acme.id).await.is_empty(), "nothing created");

    // A name taken in the same tenant (case does not matter) …
    let r = post(&app, &path, &role_form("Support", "read", &[])).await;
    assert_eq!(status(&r), 303);
    for dup in ["Support", "support"] {
        let r = post(&app, &path, &role_form(dup, "none", &[])).await;
        assert_eq!(status(&r), 422, "{dup}");
        let e = field_error(&r.text().await.unwrap(), "name").expect("name error");
        assert!(e.contains("exists"), "{e}");
    }
    assert_eq!(roles_of(&app, acme.id).await.len(), 1);

    // … is free in another tenant.
    let r = post(
        &app,
        &format!("/tenants/{}/roles/new", globex.id),
        &role_form("Support", "read", &[]),
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/roles", globex.id));
    assert!(role_named(&app, globex.id, "Support").await.is_some());

    // Renaming a role onto a taken name is refused too.
    let other = post(&app, &path, &role_form("Other", "read", &[])).await;
    assert_eq!(status(&other), 303);
    let other = role_named(&app, acme.id, "Other").await.unwrap();
    let r = post(
        &app,
        &format!("/tenants/{}/roles/{}", acme.id, other.id),
        &role_form("SUPPORT", "read", &[]),
    )
    .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "name").is_some());
    assert!(role_named(&app, acme.id, "Other").await.is_some());
}

#[tokio::test]
async fn only_the_root_offers_and_accepts_multi_tenant_roles() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;

    let root_form = app
        .get_html(&format!("/tenants/{}/roles/new", app.root.id))
        .await;
    assert!(root_form.contains("name=\"multi_tenant\""), "{root_form}");
    let sub_form = app
        .get_html(&format!("/tenants/{}/roles/new", acme.id))
        .await;
    assert!(sub_form.contains("name=\"perm_users\""));
    assert!(!sub_form.contains("multi_tenant"), "{sub_form}");

    let mut fields = role_form("Sneaky", "read", &[]);
    fields.push(("multi_tenant".into(), "true".into()));
    let r = post(&app, &format!("/tenants/{}/roles/new", acme.id), &fields).await;
    assert_eq!(status(&r), 422);
    assert!(roles_of(&app, acme.id).await.is_empty(), "nothing created");
    assert!(role_named(&app, app.root.id, "Sneaky").await.is_none());
}

#[tokio::test]
async fn a_refused_multi_tenant_flag_in_a_sub_tenant_says_why() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;
    let mut fields = role_form("Sneaky", "read", &[]);
    fields.push(("multi_tenant".into(), "true".into()));
    let r = post(&app, &format!("/tenants/{}/roles/new", acme.id), &fields).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Multi-tenant roles are defined in the root tenant"),
        "{html}"
    );
}

// ---------------------------------------------------------------- templates

#[tokio::test]
async fn templates_propagate_until_a_copy_is_customised() {
    let app = spawn_app().await;
    app.login_admin().await;
    let root = app.root.id;
    let a = create_tenant_via_form(&app, root, "Alpha", "alpha").await;
    let b = create_tenant_via_form(&app, root, "Beta", "beta").await;
    // A tenant inserted behind the app's back still receives later templates.
    let direct = app.tenant(&app.root, "direct", false).await;

    // The bootstrap templates arrived in the tenants created through the form.
    for t in [a, b] {
        for name in ["Tenant administrator", "Read only"] {
            let copy = role_named(&app, t, name).await.expect("bootstrap copy");
            assert!(copy.is_linked() && !copy.multi_tenant, "{name} in {t}");
        }
    }

    // A new template is copied into every tenant, linked.
    let mut fields = role_form("Support", "read", &[("users", "full"), ("audit", "none")]);
    fields.push(("multi_tenant".into(), "true".into()));
    let r = post(&app, &format!("/tenants/{root}/roles/new"), &fields).await;
    assert_redirect_to(&r, &format!("/tenants/{root}/roles"));
    let template = role_named(&app, root, "Support").await.unwrap();
    assert!(template.multi_tenant);
    for t in [a, b, direct.id] {
        let copy = role_named(&app, t, "Support").await.expect("copy");
        assert_eq!(copy.template_id, Some(template.id));
        assert!(!copy.customised && !copy.multi_tenant);
        assert_eq!(copy.permissions.to_json(), template.permissions.to_json());
    }
    let html = app.get_html(&format!("/tenants/{root}/roles")).await;
    let rows = role_rows(&html);
    assert_eq!(
        row_for(&rows, "Support").1,
        "Multi-tenant template (3 linked copies)"
    );
    let html = app.get_html(&format!("/tenants/{a}/roles")).await;
    assert_eq!(
        row_for(&role_rows(&html), "Support").1,
        "Linked to a multi-tenant template"
    );

    // A tenant created later gets a copy too.
    let c = create_tenant_via_form(&app, root, "Gamma", "gamma").await;
    let c_copy = role_named(&app, c, "Support").await.expect("later copy");
    assert_eq!(c_copy.template_id, Some(template.id));

    // Editing the template updates every linked copy.
    let template_path = format!("/tenants/{root}/roles/{}", template.id);
    let r = post(
        &app,
        &template_path,
        &role_form("Support", "read", &[("users", "read"), ("audit", "full")]),
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{root}/roles"));
    for t in [a, b, c, direct.id] {
        let copy = role_named(&app, t, "Support").await.unwrap();
        assert_eq!(copy.permissions.get(Feature::Users), Level::Read, "{t}");
        assert_eq!(copy.permissions.get(Feature::Audit), Level::Full, "{t}");
    }
    let a_copy = role_named(&app, a, "Support").await.unwrap();
    let html = app
        .get_html(&format!("/tenants/{a}/roles/{}", a_copy.id))
        .await;
    assert_eq!(checked_level(&html, "audit"), Some("full"), "copy's matrix");
    assert_eq!(checked_level(&html, "users"), Some("read"));

    // Editing the copy inside A detaches it for good.
    let r = post(
        &app,
        &format!("/tenants/{a}/roles/{}", a_copy.id),
        &role_form("Support", "read", &[("users", "none"), ("audit", "read")]),
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{a}/roles"));
    let a_copy = role_named(&app, a, "Support").await.unwrap();
    assert!(a_copy.customised && !a_copy.is_linked());
    let html = app.get_html(&format!("/tenants/{a}/roles")).await;
    let kind = row_for(&role_rows(&html), "Support").1.clone();
    assert!(kind.contains("Customised"), "{kind}");
    // B's copy did not move.
    let b_copy = role_named(&app, b, "Support").await.unwrap();
    assert_eq!(b_copy.permissions.get(Feature::Users), Level::Read);
    assert!(b_copy.is_linked());

    // The next template edit skips A and still reaches B.
    let r = post(
        &app,
        &template_path,
        &role_form("Support", "full", &[("settings", "none")]),
    )
    .await;
    assert_eq!(status(&r), 303);
    let a_copy = role_named(&app, a, "Support").await.unwrap();
    assert_eq!(a_copy.permissions.get(Feature::Users), Level::None);
    assert_eq!(a_copy.permissions.get(Feature::Audit), Level::Read);
    assert_eq!(a_copy.permissions.get(Feature::Settings), Level::Read);
    let b_copy = role_named(&app, b, "Support").await.unwrap();
    assert_eq!(b_copy.permissions.get(Feature::Users), Level::Full);
    assert_eq!(b_copy.permissions.get(Feature::Settings), Level::None);
    let html = app.get_html(&format!("/tenants/{root}/roles")).await;
    assert_eq!(
        row_for(&role_rows(&html), "Support").1,
        "Multi-tenant template (3 linked copies)",
        "A's customised copy no longer counts"
    );

    // Renaming the template leaves the copies' names alone.
    let r = post(
        &app,
        &template_path,
        &role_form("Support staff", "full", &[("settings", "none")]),
    )
    .await;
    assert_eq!(status(&r), 303);
    assert!(role_named(&app, root, "Support staff").await.is_some());
    for t in [a, b, c] {
        assert!(role_named(&app, t, "Support").await.is_some(), "{t}");
        assert!(role_named(&app, t, "Support staff").await.is_none(), "{t}");
    }

    // A user of B holding B's copy; deleting the template leaves the copies working.
    let b_tenant = find_tenant(&app, b).await;
    let bea = app.user(&b_tenant, "bea").await;
    assign(&app, &bea, &b_copy).await;
    let bea = browser_as(&app, "beta\\bea").await;
    assert_eq!(status(&bea.get(&format!("/tenants/{b}/roles")).await), 200);

    let r = app.post_form(&format!("{template_path}/delete"), &[]).await;
    assert_redirect_to(&r, &format!("/tenants/{root}/roles"));
    assert!(role_named(&app, root, "Support staff").await.is_none());
    for t in [a, b, c, direct.id] {
        let copy = role_named(&app, t, "Support").await.expect("copy survives");
        assert_eq!(copy.template_id, None, "{t}");
    }
    let b_copy = role_named(&app, b, "Support").await.unwrap();
    assert_eq!(b_copy.permissions.get(Feature::Users), Level::Full);
    // Bea keeps her rights (roles full): she may even create roles in B.
    assert_eq!(status(&bea.get(&format!("/tenants/{b}/roles")).await), 200);
    let r = post(
        &bea,
        &format!("/tenants/{b}/roles/new"),
        &role_form("Bea's role", "none", &[]),
    )
    .await;
    assert_eq!(status(&r), 303);
    // New tenants no longer get it.
    let d = create_tenant_via_form(&app, root, "Delta", "delta").await;
    assert!(role_named(&app, d, "Support").await.is_none());
    assert!(role_named(&app, d, "Support staff").await.is_none());
    assert!(role_named(&app, d, "Read only").await.is_some());
}

#[tokio::test]
async fn a_role_of_another_tenant_is_not_found_through_this_one() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let globex = app.tenant(&app.root, "globex", false).await;
    let mut conn = app.conn().await;
    let theirs = UserRole::insert(
        &mut conn,
        globex.id,
        "Theirs",
        &Permissions::all(Level::Read),
        false,
    )
    .await
    .unwrap();
    drop(conn);
    app.login_admin().await;
    let path = format!("/tenants/{}/roles/{}", acme.id, theirs.id);
    assert_eq!(status(&app.get(&path).await), 404);
    let r = post(&app, &path, &role_form("Hijacked", "full", &[])).await;
    assert_eq!(status(&r), 404);
    let r = app.post_form(&format!("{path}/delete"), &[]).await;
    assert_eq!(status(&r), 404);
    let still = role_named(&app, globex.id, "Theirs").await.unwrap();
    assert_eq!(still.permissions.get(Feature::Users), Level::Read);
}

// ---------------------------------------------------------------- delete

#[tokio::test]
async fn a_role_in_use_cannot_be_deleted_an_unused_one_can() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let (_, held) = user_holding(
        &app,
        &acme,
        "holder",
        "Held",
        &Permissions::all(Level::Read),
    )
    .await;
    app.login_admin().await;

    let r = app
        .post_form(
            &format!("/tenants/{}/roles/{}/delete", acme.id, held.id),
            &[],
        )
        .await;
    assert_eq!(status(&r), 409);
    let body = r.text().await.unwrap();
    assert!(body.contains("Held"), "{body}");
    assert!(role_named(&app, acme.id, "Held").await.is_some());

    let r = post(
        &app,
        &format!("/tenants/{}/roles/new", acme.id),
        &role_form("Unused", "read", &[]),
    )
    .await;
    assert_eq!(status(&r), 303);
    let unused = role_named(&app, acme.id, "Unused").await.unwrap();
    let r = app
        .post_form(
            &format!("/tenants/{}/roles/{}/delete", acme.id, unused.id),
            &[],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}/roles", acme.id));
    assert!(role_named(&app, acme.id, "Unused").await.is_none());
    let html = app.get_html(&format!("/tenants/{}/roles", acme.id)).await;
    assert!(html.contains("Deleted role Unused."), "{html}");
}

// ---------------------------------------------------------------- no self-escalation

#[tokio::test]
async fn nobody_gives_a_role_more_than_they_hold() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let mine = perms(
        Level::Read,
        &[
            (Feature::Roles, Level::Full),
            (Feature::Users, Level::Full),
            (Feature::Audit, Level::None),
        ],
    );
    // A role manager at home in a sub-tenant, and one at home in the root.
    user_holding(&app, &acme, "rita", "Role manager", &mine).await;
    user_holding(&app, &app.root, "ron", "Role manager", &mine).await;
    let rita = browser_as(&app, "acme\\rita").await;
    let ron = browser_as(&app, "ron").await;

    for (who, tenant) in [(&rita, acme.id), (&ron, app.root.id)] {
        let new = format!("/tenants/{tenant}/roles/new");
        let r = post(
            who,
            &new,
            &role_form("Auditor", "read", &[("audit", "full")]),
        )
        .await;
        assert_eq!(status(&r), 422, "tenant {tenant}");
        let e = field_error(&r.text().await.unwrap(), "permissions").expect("error");
        assert!(e.contains("cannot give more rights than you hold"), "{e}");
        assert!(e.contains("Audit"), "{e}");
        assert!(role_named(&app, tenant, "Auditor").await.is_none());

        // Within their own rights they may.
        let r = post(
            who,
            &new,
            &role_form("Helper", "read", &[("users", "full"), ("audit", "none")]),
        )
        .await;
        assert_redirect_to(&r, &format!("/tenants/{tenant}/roles"));
        let helper = role_named(&app, tenant, "Helper").await.unwrap();

        // Nor can they raise a role by editing it.
        let r = post(
            who,
            &format!("/tenants/{tenant}/roles/{}", helper.id),
            &role_form("Helper", "read", &[("audit", "full")]),
        )
        .await;
        assert_eq!(status(&r), 422);
        let e = field_error(&r.text().await.unwrap(), "permissions").expect("error");
        assert!(e.contains("cannot give more rights than you hold"), "{e}");
        let helper = role_named(&app, tenant, "Helper").await.unwrap();
        assert_eq!(helper.permissions.get(Feature::Audit), Level::None);
        assert_eq!(helper.permissions.get(Feature::Users), Level::Full);
    }

    // Ron sees the root's templates but may neither edit nor delete nor create them.
    let template = role_named(&app, app.root.id, "Read only").await.unwrap();
    let path = format!("/tenants/{}/roles/{}", app.root.id, template.id);
    assert_eq!(status(&ron.get(&path).await), 200);
    let r = post(
        &ron,
        &path,
        &role_form("Read only", "read", &[("audit", "none")]),
    )
    .await;
    assert_eq!(status(&r), 403);
    let r = post(&ron, &path, &role_form("Read only", "none", &[])).await;
    assert_eq!(status(&r), 403);
    let r = ron.post_form(&format!("{path}/delete"), &[]).await;
    assert_eq!(status(&r), 403);
    let template = role_named(&app, app.root.id, "Read only").await.unwrap();
    assert!(template.multi_tenant);
    assert_eq!(template.permissions.get(Feature::Audit), Level::Read);

    let new_root = format!("/tenants/{}/roles/new", app.root.id);
    assert!(!ron.get_html(&new_root).await.contains("multi_tenant"));
    let mut fields = role_form("Ron's template", "none", &[]);
    fields.push(("multi_tenant".into(), "true".into()));
    let r = post(&ron, &new_root, &fields).await;
    assert_eq!(status(&r), 422);
    assert!(role_named(&app, app.root.id, "Ron's template")
        .await
        .is_none());
}

/// A role manager may not lower (or delete) a role that gives more than they hold:
/// it would strip the rights of whoever holds it, people who outrank them.
#[tokio::test]
async fn nobody_changes_or_deletes_a_role_stronger_than_their_own() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let mine = perms(
        Level::Read,
        &[(Feature::Roles, Level::Full), (Feature::Audit, Level::None)],
    );
    user_holding(&app, &acme, "rita", "Role manager", &mine).await;
    let strong = perms(Level::Full, &[]);
    let (_, admin_role) = user_holding(&app, &acme, "olga", "Tenant admin", &strong).await;
    let unused = {
        let mut conn = app.conn().await;
        UserRole::insert(&mut conn, acme.id, "Unused strong", &strong, false)
            .await
            .unwrap()
    };
    let rita = browser_as(&app, "acme\\rita").await;

    let path = format!("/tenants/{}/roles/{}", acme.id, admin_role.id);
    let r = post(&rita, &path, &role_form("Tenant admin", "none", &[])).await;
    assert_eq!(status(&r), 403);
    let kept = role_named(&app, acme.id, "Tenant admin").await.unwrap();
    assert_eq!(kept.permissions.get(Feature::Tenants), Level::Full);

    let r = rita
        .post_form(
            &format!("/tenants/{}/roles/{}/delete", acme.id, unused.id),
            &[],
        )
        .await;
    assert_eq!(status(&r), 403);
    assert!(role_named(&app, acme.id, "Unused strong").await.is_some());

    // A role within her own rights stays hers to edit and delete.
    let (_, weak) = user_holding(&app, &acme, "walt", "Weak", &perms(Level::None, &[])).await;
    let r = post(
        &rita,
        &format!("/tenants/{}/roles/{}", acme.id, weak.id),
        &role_form("Weaker", "none", &[]),
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/roles", acme.id));
    assert!(role_named(&app, acme.id, "Weaker").await.is_some());
}

// ---------------------------------------------------------------- tenant roles

#[tokio::test]
async fn a_tenant_role_caps_its_tenant_and_lowering_it_acts_at_once() {
    let app = spawn_app().await;
    app.login_admin().await;
    let a = create_tenant_via_form(&app, app.root.id, "Alpha", "alpha").await;
    let alpha = find_tenant(&app, a).await;
    let boss = app.user(&alpha, "boss").await;
    let full_copy = role_named(&app, a, "Tenant administrator").await.unwrap();
    assign(&app, &boss, &full_copy).await;
    let boss = browser_as(&app, "alpha\\boss").await;

    // Uncapped ("Full access"), her home role lets her manage roles.
    let r = post(
        &boss,
        &format!("/tenants/{a}/roles/new"),
        &role_form("Before", "read", &[]),
    )
    .await;
    assert_eq!(status(&r), 303);

    // The admin defines a tenant role …
    assert_eq!(status(&app.get("/tenant-roles/new").await), 200);
    let r = post(
        &app,
        "/tenant-roles/new",
        &role_form(
            "Limited",
            "none",
            &[("tenants", "read"), ("users", "read"), ("roles", "read")],
        ),
    )
    .await;
    assert_redirect_to(&r, "/tenant-roles");
    let limited = tenant_role_named(&app, "Limited").await.expect("stored");
    assert_eq!(limited.permissions.get(Feature::Users), Level::Read);
    assert_eq!(limited.permissions.get(Feature::Audit), Level::None);
    let list = app.get_html("/tenant-roles").await;
    assert!(
        list.contains(&format!(
            "<a href=\"/tenant-roles/{}\">Limited</a>",
            limited.id
        )),
        "{list}"
    );

    // … and assigns it to Alpha through the tenant edit form.
    let edit = app.get_html(&format!("/tenants/{a}/edit")).await;
    assert!(edit.contains("name=\"tenant_role_id\""), "{edit}");
    let limited_id = limited.id.to_string();
    let r = app
        .post_form(
            &format!("/tenants/{a}/edit"),
            &[
                ("name", "Alpha"),
                ("subdomain", "alpha"),
                ("description", ""),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
                ("tenant_role_id", &limited_id),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(find_tenant(&app, a).await.tenant_role_id, limited.id);

    // Boss, still logged in, now reads roles but can no longer create one.
    let r = boss.get(&format!("/tenants/{a}/roles")).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<strong>Limited</strong>"),
        "cap shown: {html}"
    );
    assert!(!html.contains("New role"), "{html}");
    let r = post(
        &boss,
        &format!("/tenants/{a}/roles/new"),
        &role_form("After", "none", &[]),
    )
    .await;
    assert_eq!(status(&r), 403);
    assert!(role_named(&app, a, "After").await.is_none());

    // Lowering the tenant role reaches her very next request.
    let r = post(
        &app,
        &format!("/tenant-roles/{}", limited.id),
        &role_form("Limited", "none", &[("tenants", "read"), ("users", "read")]),
    )
    .await;
    assert_redirect_to(&r, "/tenant-roles");
    assert_eq!(
        tenant_role_named(&app, "Limited")
            .await
            .unwrap()
            .permissions
            .get(Feature::Roles),
        Level::None
    );
    assert_eq!(status(&boss.get(&format!("/tenants/{a}/roles")).await), 403);

    // A tenant role in use cannot be deleted; an unused one can.
    let r = app
        .post_form(&format!("/tenant-roles/{}/delete", limited.id), &[])
        .await;
    assert_eq!(status(&r), 409);
    assert!(tenant_role_named(&app, "Limited").await.is_some());

    let r = post(&app, "/tenant-roles/new", &role_form("Spare", "read", &[])).await;
    assert_eq!(status(&r), 303);
    let spare = tenant_role_named(&app, "Spare").await.unwrap();
    let r = app
        .post_form(&format!("/tenant-roles/{}/delete", spare.id), &[])
        .await;
    assert_redirect_to(&r, "/tenant-roles");
    assert!(tenant_role_named(&app, "Spare").await.is_none());

    // Put Alpha back on Full access: Limited is unused and goes.
    let full = tenant_role_named(&app, "Full access").await.unwrap();
    let full_id = full.id.to_string();
    let r = app
        .post_form(
            &format!("/tenants/{a}/edit"),
            &[
                ("name", "Alpha"),
                ("subdomain", "alpha"),
                ("description", ""),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
                ("tenant_role_id", &full_id),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(status(&boss.get(&format!("/tenants/{a}/roles")).await), 200);
    let r = app
        .post_form(&format!("/tenant-roles/{}/delete", limited.id), &[])
        .await;
    assert_eq!(status(&r), 303);
    assert!(tenant_role_named(&app, "Limited").await.is_none());
}

#[tokio::test]
async fn invalid_tenant_roles_answer_422() {
    let app = spawn_app().await;
    app.login_admin().await;
    let r = post(
        &app,
        "/tenant-roles/new",
        &role_form("Odd", "read", &[("users", "admin")]),
    )
    .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "permissions").is_some());
    let r = post(&app, "/tenant-roles/new", &role_form("", "read", &[])).await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "name").is_some());
    let r = post(
        &app,
        "/tenant-roles/new",
        &role_form("full ACCESS", "read", &[]),
    )
    .await;
    assert_eq!(status(&r), 422, "names are unique");
    assert!(field_error(&r.text().await.unwrap(), "name").is_some());
    let all = TenantRole::all(&mut *app.conn().await).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
}

#[tokio::test]
async fn tenant_roles_are_invisible_outside_the_root_and_read_only_to_viewers() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let full = tenant_role_named(&app, "Full access").await.unwrap();

    // A sub-tenant's own administrator cannot see the root: 404 everywhere.
    user_holding(&app, &acme, "boss", "Boss", &Permissions::all(Level::Full)).await;
    let boss_user = app.user(&acme, "owner").await;
    app.grant(&boss_user, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    for login in ["acme\\boss", "acme\\owner"] {
        let b = browser_as(&app, login).await;
        assert_eq!(status(&b.get("/tenant-roles").await), 404, "{login}");
        assert_eq!(status(&b.get("/tenant-roles/new").await), 404, "{login}");
        assert_eq!(
            status(&b.get(&format!("/tenant-roles/{}", full.id)).await),
            404
        );
        let r = post(&b, "/tenant-roles/new", &role_form("Mine", "full", &[])).await;
        assert_eq!(status(&r), 404, "{login}");
        let r = post(
            &b,
            &format!("/tenant-roles/{}", full.id),
            &role_form("Full access", "none", &[]),
        )
        .await;
        assert_eq!(status(&r), 404, "{login}");
        let r = b
            .post_form(&format!("/tenant-roles/{}/delete", full.id), &[])
            .await;
        assert_eq!(status(&r), 404, "{login}");
    }

    // A Viewer of the root reads them but changes nothing.
    let vera = app.user(&acme, "vera").await;
    app.grant(&vera, &app.root, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let vera = browser_as(&app, "acme\\vera").await;
    let r = vera.get("/tenant-roles").await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Full access"));
    assert!(!html.contains("New tenant role"), "{html}");
    assert_eq!(status(&vera.get("/tenant-roles/new").await), 403);
    let r = vera.get(&format!("/tenant-roles/{}", full.id)).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(!html.contains("Save role") && !html.contains("Delete role"));
    let r = post(&vera, "/tenant-roles/new", &role_form("Mine", "read", &[])).await;
    assert_eq!(status(&r), 403);
    let r = post(
        &vera,
        &format!("/tenant-roles/{}", full.id),
        &role_form("Full access", "none", &[]),
    )
    .await;
    assert_eq!(status(&r), 403);
    let r = vera
        .post_form(&format!("/tenant-roles/{}/delete", full.id), &[])
        .await;
    assert_eq!(status(&r), 403);

    let all = TenantRole::all(&mut *app.conn().await).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "Full access");
    assert_eq!(all[0].permissions.get(Feature::Users), Level::Full);
}

// ---------------------------------------------------------------- tenant form

#[tokio::test]
async fn only_root_administrators_choose_a_tenant_role_for_a_tenant() {
    let app = spawn_app().await;
    let mut conn = app.conn().await;
    let limited = TenantRole::insert(&mut conn, "Limited", &Permissions::all(Level::Read))
        .await
        .unwrap();
    drop(conn);
    let full = tenant_role_named(&app, "Full access").await.unwrap();
    let partner = app.tenant(&app.root, "partner", true).await;
    app.login_admin().await;

    // The root administrator is offered every tenant role.
    let html = app.get_html("/tenants/new").await;
    assert!(
        html.contains("<select id=\"tenant_role_id\" name=\"tenant_role_id\">"),
        "{html}"
    );
    assert!(html.contains(&format!("<option value=\"{}\"", limited.id)));
    assert!(html.contains(&format!("<option value=\"{}\"", full.id)));

    let root = app.root.id.to_string();
    let limited_id = limited.id.to_string();
    let r = app
        .post_form(
            "/tenants",
            &[
                ("name", "Capped"),
                ("subdomain", "capped"),
                ("parent_id", &root),
                ("tenant_role_id", &limited_id),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let capped = find_tenant(&app, redirected_tenant_id(&r)).await;
    assert_eq!(capped.tenant_role_id, limited.id);

    // An unknown tenant role is a field error, and no tenant.
    for bad in ["999999", "abc"] {
        let r = app
            .post_form(
                "/tenants",
                &[
                    ("name", "Unknown"),
                    ("subdomain", "unknown-role"),
                    ("parent_id", &root),
                    ("tenant_role_id", bad),
                ],
            )
            .await;
        assert_eq!(status(&r), 422, "{bad}");
        assert!(field_error(&r.text().await.unwrap(), "tenant_role_id").is_some());
    }
    let mut conn = app.conn().await;
    assert!(Tenant::by_subdomain(&mut conn, "unknown-role")
        .await
        .unwrap()
        .is_none());
    drop(conn);

    // A partner's manager creates sub-tenants but cannot choose their cap.
    let pm = subtree_admin(&app, &partner, "pm").await;
    let r = pm
        .get(&format!("/tenants/new?parent_id={}", partner.id))
        .await;
    assert_eq!(status(&r), 200);
    assert!(!r.text().await.unwrap().contains("tenant_role_id"));
    let parent = partner.id.to_string();
    let full_id = full.id.to_string();
    for role in [&full_id, &limited_id] {
        let r = pm
            .post_form(
                "/tenants",
                &[
                    ("name", "Chosen"),
                    ("subdomain", "chosen"),
                    ("parent_id", &parent),
                    ("tenant_role_id", role),
                ],
            )
            .await;
        assert_eq!(status(&r), 403);
    }
    let mut conn = app.conn().await;
    assert!(Tenant::by_subdomain(&mut conn, "chosen")
        .await
        .unwrap()
        .is_none());
    drop(conn);
    let r = pm
        .post_form(
            "/tenants",
            &[
                ("name", "Inherits"),
                ("subdomain", "inherits"),
                ("parent_id", &parent),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let child = find_tenant(&app, redirected_tenant_id(&r)).await;
    assert_eq!(child.tenant_role_id, partner.tenant_role_id);

    // Nor change it by editing.
    let r = pm
        .post_form(
            &format!("/tenants/{}/edit", child.id),
            &[
                ("name", "Inherits"),
                ("subdomain", "inherits"),
                ("enabled", "true"),
                ("tenant_role_id", &limited_id),
            ],
        )
        .await;
    assert_eq!(status(&r), 403);
    assert_eq!(
        find_tenant(&app, child.id).await.tenant_role_id,
        partner.tenant_role_id
    );
}

/// The number in the Tenants column of the tenant-roles list for the role `id`.
fn tenants_column(html: &str, id: i64) -> Option<String> {
    let start = html.find(&format!("<a href=\"/tenant-roles/{id}\">"))?;
    let marker = "<td class=\"num\">";
    let cell = html[start..].find(marker)? + start + marker.len();
    let end = html[cell..].find("</td>")? + cell;
    Some(html[cell..end].to_string())
}

#[tokio::test]
async fn the_tenant_roles_list_counts_each_roles_tenants() {
    let app = spawn_app().await;
    app.login_admin().await;
    let tree = partner_tree(&app).await;
    for name in ["Limited", "Unused"] {
        let r = post(&app, "/tenant-roles/new", &role_form(name, "read", &[])).await;
        assert_redirect_to(&r, "/tenant-roles");
    }
    let limited = tenant_role_named(&app, "Limited").await.unwrap();
    let unused = tenant_role_named(&app, "Unused").await.unwrap();
    let full = app.root.tenant_role_id;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET tenant_role_id = $1 WHERE id = ANY($2)",
            &[&limited.id, &vec![tree.a2.id, tree.g1.id]],
        )
        .await
        .unwrap();
    let html = app.get_html("/tenant-roles").await;
    // The root and four of the six tenants below it keep the first role.
    assert_eq!(tenants_column(&html, full).as_deref(), Some("5"), "{html}");
    assert_eq!(tenants_column(&html, limited.id).as_deref(), Some("2"));
    assert_eq!(tenants_column(&html, unused.id).as_deref(), Some("0"));
}
