//! The Tenants pages: create, validate, edit, enable/disable, delete, who sees
//! and may change what, the list, the tree, the switcher, and concurrent changes.

use crate::helpers::*;
use std::sync::Arc;
use tenantry::db::models::tenant::TenantFields;
use tenantry::db::models::{AuditEvent, Tenant, User};
use tenantry::domain::{GrantRole, Scope};
use tenantry::error::AppError;
use tenantry::services::tenants::tree as service;
use tenantry::services::Actor;

// ---------------------------------------------------------------- helpers

async fn tenant_count(app: &TestApp) -> i64 {
    db(app)
        .await
        .query_one("SELECT count(*) FROM tenants", &[])
        .await
        .unwrap()
        .get(0)
}

async fn find(app: &TestApp, id: i64) -> Tenant {
    Tenant::find(&mut *app.conn().await, id)
        .await
        .expect("tenant exists")
}

async fn by_subdomain(app: &TestApp, subdomain: &str) -> Option<Tenant> {
    Tenant::by_subdomain(&mut *app.conn().await, subdomain)
        .await
        .unwrap()
}

/// The message of `<p class="field-error" id="{field}-error">`, if shown.
fn field_error(html: &str, field: &str) -> Option<String> {
    let marker = format!("<p class=\"field-error\" id=\"{field}-error\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find("</p>")? + start;
    Some(html[start..end].to_string())
}

/// Tenant names in the rows of the Tenants table, in order.
fn row_names(html: &str) -> Vec<String> {
    html.split("<td><a href=\"/tenants/")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find("\">")? + 2;
            let end = rest.find("</a>")?;
            Some(rest[start..end].to_string())
        })
        .collect()
}

fn create_fields<'a>(
    name: &'a str,
    subdomain: &'a str,
    parent: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("name", name),
        ("subdomain", subdomain),
        ("description", ""),
        ("parent_id", parent),
        ("can_have_subtenants", "true"),
    ]
}

fn fields(name: &str, subdomain: &str) -> TenantFields {
    TenantFields {
        name: name.into(),
        subdomain: subdomain.into(),
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
    }
}

/// The tree used by the visibility tests: root → acme (may have sub-tenants) →
/// acme-c1, and root → globex.
struct Tree {
    acme: Tenant,
    acme_c1: Tenant,
    globex: Tenant,
}

async fn tree(app: &TestApp) -> Tree {
    let acme = app.tenant(&app.root, "acme", true).await;
    let acme_c1 = app.tenant(&acme, "acme-c1", false).await;
    let globex = app.tenant(&app.root, "globex", false).await;
    Tree {
        acme,
        acme_c1,
        globex,
    }
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn creating_a_tenant_shows_it_everywhere_and_audits_it() {
    let app = spawn_app().await;
    app.login_admin().await;
    let root = app.root.id.to_string();
    let r = app
        .post_form(
            "/tenants",
            &[
                ("name", "Acme Corp"),
                ("subdomain", "acme-corp"),
                ("description", "Our first customer"),
                ("parent_id", &root),
                ("can_have_subtenants", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let id = redirected_tenant_id(&r);

    let t = find(&app, id).await;
    assert_eq!(
        (t.name.as_str(), t.subdomain.as_str()),
        ("Acme Corp", "acme-corp")
    );
    assert_eq!(t.description, "Our first customer");
    assert!(t.can_have_subtenants && t.enabled);
    assert_eq!(t.parent_id, Some(app.root.id));
    let mut expected_path = app.root.path.clone();
    expected_path.push(id);
    assert_eq!(t.path, expected_path);

    let html = app.get_html(&format!("/tenants/{id}")).await;
    assert!(html.contains("<h1>Acme Corp "), "{html}");
    assert!(html.contains("<code>acme-corp</code>"), "{html}");
    assert!(html.contains("Our first customer"));
    assert!(html.contains("Created Acme Corp."), "flash: {html}");
    assert!(row_names(&app.get_html("/tenants").await).contains(&"Acme Corp".to_string()));

    let actions = AuditEvent::actions_for_tenant(&mut *app.conn().await, id)
        .await
        .unwrap();
    assert_eq!(actions, vec!["tenant.create".to_string()]);
}

#[tokio::test]
async fn posting_to_tenants_new_creates_too() {
    let app = spawn_app().await;
    app.login_admin().await;
    assert_eq!(status(&app.get("/tenants/new").await), 200);
    let root = app.root.id.to_string();
    let r = app
        .post_form(
            "/tenants/new",
            &[
                ("name", "Beta"),
                ("subdomain", "beta"),
                ("parent_id", &root),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let t = find(&app, redirected_tenant_id(&r)).await;
    assert_eq!(t.subdomain, "beta");
    // An unchecked box sends nothing: no sub-tenants.
    assert!(!t.can_have_subtenants);
}

#[tokio::test]
async fn invalid_input_is_refused_field_by_field_and_kept() {
    let app = spawn_app().await;
    app.login_admin().await;
    let root = app.root.id.to_string();
    let long_name = "n".repeat(101);
    let long_sub = "a".repeat(64);
    let long_description = "d".repeat(1001);
    // (field in error, expected message part, name, subdomain, description)
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        (
            "subdomain",
            "lower-case letters only",
            "Valid Name",
            "Bad_Sub",
            "",
        ),
        (
            "subdomain",
            "cannot start or end with a hyphen",
            "Valid Name",
            "-x",
            "",
        ),
        ("subdomain", "is reserved", "Valid Name", "www", ""),
        (
            "subdomain",
            "at most 63 characters",
            "Valid Name",
            &long_sub,
            "",
        ),
        ("subdomain", "Enter a subdomain", "Valid Name", "", ""),
        ("name", "Enter a name", "", "kept-sub", ""),
        ("name", "Enter a name", "   ", "kept-sub", ""),
        ("name", "at most 100 characters", &long_name, "kept-sub", ""),
        (
            "description",
            "at most 1000 characters",
            "Valid Name",
            "kept-sub",
            &long_description,
        ),
    ];
    let before = tenant_count(&app).await;
    for (field, message, name, subdomain, description) in cases {
        let r = app
            .post_form(
                "/tenants",
                &[
                    ("name", name),
                    ("subdomain", subdomain),
                    ("description", description),
                    ("parent_id", &root),
                ],
            )
            .await;
        assert_eq!(status(&r), 422, "{field} {name:?} {subdomain:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains("class=\"field-error\""), "{html}");
        let shown =
            field_error(&html, field).unwrap_or_else(|| panic!("no error next to {field}: {html}"));
        assert!(shown.contains(message), "{field}: {shown}");
        // Only the field at fault is marked.
        for other in ["name", "subdomain", "description", "parent_id"]
            .into_iter()
            .filter(|f| *f != field)
        {
            assert_eq!(
                field_error(&html, other),
                None,
                "{other} wrongly marked for {field} case"
            );
        }
        // What the user typed is still there.
        if field == "name" {
            assert!(html.contains("value=\"kept-sub\""), "{html}");
        } else {
            assert!(html.contains("value=\"Valid Name\""), "{html}");
        }
        assert!(
            html.contains(&format!("<option value=\"{root}\" selected>")),
            "parent kept: {html}"
        );
    }
    assert_eq!(tenant_count(&app).await, before, "nothing created");
}

#[tokio::test]
async fn a_taken_subdomain_is_a_field_error() {
    let app = spawn_app().await;
    app.tenant(&app.root, "taken", false).await;
    app.login_admin().await;
    let root = app.root.id.to_string();
    let r = app
        .post_form("/tenants", &create_fields("Second Taker", "taken", &root))
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        field_error(&html, "subdomain")
            .unwrap_or_default()
            .contains("already taken"),
        "{html}"
    );
    assert!(html.contains("value=\"Second Taker\""));
    assert_eq!(
        by_subdomain(&app, "taken").await.unwrap().name,
        "Tenant taken"
    );
    assert_eq!(tenant_count(&app).await, 2);
}

#[tokio::test]
async fn an_unknown_or_unsuitable_parent_is_a_field_error() {
    let app = spawn_app().await;
    let leaf = app.tenant(&app.root, "leaf", false).await;
    app.login_admin().await;
    let before = tenant_count(&app).await;
    let leaf_id = leaf.id.to_string();
    for (parent, message) in [
        ("99999999", "Choose a parent tenant"),
        ("abc", "Choose a parent tenant"),
        ("", "Choose a parent tenant"),
        (leaf_id.as_str(), "may not have sub-tenants"),
    ] {
        let r = app
            .post_form("/tenants", &create_fields("Orphan", "orphan", parent))
            .await;
        assert_eq!(status(&r), 422, "parent {parent:?}");
        let html = r.text().await.unwrap();
        let shown =
            field_error(&html, "parent_id").unwrap_or_else(|| panic!("parent {parent:?}: {html}"));
        assert!(shown.contains(message), "parent {parent:?}: {shown}");
        assert!(html.contains("value=\"Orphan\""));
    }
    assert_eq!(tenant_count(&app).await, before);
}

#[tokio::test]
async fn tenant_names_are_escaped_everywhere() {
    let app = spawn_app().await;
    app.login_admin().await;
    let root = app.root.id.to_string();
    let evil = "<script>alert(\"x\")</script> & 'co'";
    let r = app
        .post_form("/tenants", &create_fields(evil, "evil", &root))
        .await;
    assert_eq!(status(&r), 303);
    let id = redirected_tenant_id(&r);
    assert_eq!(find(&app, id).await.name, evil);

    let mut pages = Vec::new();
    for path in [
        format!("/tenants/{id}"),
        format!("/tenants/{id}/edit"),
        "/tenants".to_string(),
        "/tenants/tree".to_string(),
        "/switch/search?q=alert".to_string(),
        "/switch?q=%3Cscript%3E".to_string(),
    ] {
        pages.push((path.clone(), app.get_html(&path).await));
    }
    assert_redirect_to(
        &app.post_form("/switch", &[("tenant_id", &id.to_string())])
            .await,
        "/dashboard",
    );
    pages.push((
        "/dashboard (acting in it)".to_string(),
        app.get_html("/dashboard").await,
    ));
    for (path, html) in pages {
        assert!(!html.contains("<script>alert"), "{path}: {html}");
        let shown =
            html.contains("&#60;script&#62;alert(") || html.contains("&lt;script&gt;alert(");
        assert!(shown, "{path} should show the name, escaped: {html}");
    }
}

// ---------------------------------------------------------------- edit

#[tokio::test]
async fn the_edit_form_has_labelled_fields() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;
    let r = app.get(&format!("/tenants/{}/edit", acme.id)).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    for field in [
        "name",
        "subdomain",
        "description",
        "can_have_subtenants",
        "enabled",
    ] {
        assert!(
            html.contains(&format!("name=\"{field}\"")),
            "{field}: {html}"
        );
        assert!(html.contains(&format!("id=\"{field}\"")), "{field}");
        assert!(html.contains(&format!("<label for=\"{field}\"")), "{field}");
    }
    assert!(html.contains("value=\"Tenant acme\""));
    assert!(html.contains(&format!("action=\"/tenants/{}/edit\"", acme.id)));
}

#[tokio::test]
async fn editing_saves_fields_and_an_unchecked_box_disables() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;
    let path = format!("/tenants/{}/edit", acme.id);
    let r = app
        .post_form(
            &path,
            &[
                ("name", "Acme Renamed"),
                ("subdomain", "acme"),
                ("description", "Now with a description"),
                ("can_have_subtenants", "true"),
                ("enabled", "true"),
            ],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", acme.id));
    let t = find(&app, acme.id).await;
    assert_eq!(t.name, "Acme Renamed");
    assert_eq!(t.description, "Now with a description");
    assert!(t.enabled && t.can_have_subtenants);

    // No `enabled` and no `can_have_subtenants`: both unchecked.
    let r = app
        .post_form(
            &path,
            &[
                ("name", "Acme Renamed"),
                ("subdomain", "acme"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let t = find(&app, acme.id).await;
    assert!(!t.enabled, "unchecked enabled must disable");
    assert!(!t.can_have_subtenants);
    assert!(
        AuditEvent::actions_for_tenant(&mut *app.conn().await, acme.id)
            .await
            .unwrap()
            .contains(&"tenant.update".to_string())
    );

    // The root's form has no `enabled` box, and saving it never disables it.
    let root_form = app
        .get_html(&format!("/tenants/{}/edit", app.root.id))
        .await;
    assert!(!root_form.contains("name=\"enabled\""));
    // Nor a "may have sub-tenants" box to untick: it shows fixed on, with why.
    assert!(
        !root_form.contains("name=\"can_have_subtenants\""),
        "{root_form}"
    );
    assert!(
        root_form.contains("id=\"can_have_subtenants\" type=\"checkbox\" checked disabled")
            && root_form.contains("Always on for the root tenant"),
        "{root_form}"
    );
    let r = app
        .post_form(
            &format!("/tenants/{}/edit", app.root.id),
            &[("name", "Root"), ("subdomain", "root")],
        )
        .await;
    assert_eq!(status(&r), 303);
    assert!(find(&app, app.root.id).await.enabled);
    assert!(find(&app, app.root.id).await.can_have_subtenants);
}

#[tokio::test]
async fn invalid_edits_change_nothing() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.tenant(&app.root, "globex", false).await;
    app.login_admin().await;
    let path = format!("/tenants/{}/edit", acme.id);
    for (field, message, name, subdomain) in [
        ("name", "Enter a name", "  ", "acme"),
        ("subdomain", "lower-case letters only", "Changed", "Bad_Sub"),
        ("subdomain", "already taken", "Changed", "globex"),
    ] {
        let r = app
            .post_form(
                &path,
                &[
                    ("name", name),
                    ("subdomain", subdomain),
                    ("enabled", "true"),
                ],
            )
            .await;
        assert_eq!(status(&r), 422, "{field} {subdomain}");
        let html = r.text().await.unwrap();
        let shown = field_error(&html, field).unwrap_or_else(|| panic!("{field}: {html}"));
        assert!(shown.contains(message), "{shown}");
        assert!(
            html.contains(&format!("value=\"{subdomain}\"")),
            "input kept: {html}"
        );
        let t = find(&app, acme.id).await;
        assert_eq!(
            (t.name.as_str(), t.subdomain.as_str(), t.enabled),
            ("Tenant acme", "acme", true)
        );
    }
}

// ---------------------------------------------------------------- enable / disable / delete

#[tokio::test]
async fn tenants_can_be_disabled_and_enabled_but_not_the_root() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;

    let r = app
        .post_form(
            &format!("/tenants/{}/disable", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", acme.id));
    assert!(!find(&app, acme.id).await.enabled);
    let html = app.get_html(&format!("/tenants/{}", acme.id)).await;
    assert!(html.contains("badge disabled"), "{html}");

    let r = app
        .post_form(&format!("/tenants/{}/enable", acme.id), &[])
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", acme.id));
    assert!(find(&app, acme.id).await.enabled);
    let actions = AuditEvent::actions_for_tenant(&mut *app.conn().await, acme.id)
        .await
        .unwrap();
    assert_eq!(
        actions[..2],
        ["tenant.enable".to_string(), "tenant.disable".to_string()]
    );

    let r = app
        .post_form(
            &format!("/tenants/{}/disable", app.root.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 400);
    assert!(find(&app, app.root.id).await.enabled);
    assert_eq!(status(&app.get("/dashboard").await), 200);
}

#[tokio::test]
async fn deleting_a_leaf_removes_it_and_its_users() {
    let app = spawn_app().await;
    let leaf = app.tenant(&app.root, "leaf", false).await;
    let user = app.user(&leaf, "leaf-user").await;
    app.login_admin().await;
    assert_eq!(
        status(&app.get(&format!("/tenants/{}/delete", leaf.id)).await),
        200
    );

    // Its user blocks a safe delete (issue 5); a confirmed force delete removes both.
    let r = app
        .post_form(&format!("/tenants/{}/delete", leaf.id), &[])
        .await;
    assert_eq!(status(&r), 409);
    assert!(app.reload(&leaf).await.is_some());
    let r = app
        .post_form(
            &format!("/tenants/{}/delete", leaf.id),
            &[("force", "true"), ("confirm", "leaf")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", app.root.id));
    assert!(app.reload(&leaf).await.is_none());
    assert!(User::find_with_tenant(&mut *app.conn().await, user.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        status(&app.get(&format!("/tenants/{}", leaf.id)).await),
        404
    );
    assert!(
        AuditEvent::actions_for_tenant(&mut *app.conn().await, leaf.id)
            .await
            .unwrap()
            .contains(&"tenant.delete".to_string())
    );
}

#[tokio::test]
async fn a_tenant_with_children_and_the_root_are_not_deleted() {
    let app = spawn_app().await;
    let parent = app.tenant(&app.root, "parent", true).await;
    let child = app.tenant(&parent, "child", false).await;
    app.login_admin().await;

    let r = app
        .post_form(&format!("/tenants/{}/delete", parent.id), &[])
        .await;
    assert_eq!(status(&r), 409);
    assert!(app.reload(&parent).await.is_some());
    assert!(app.reload(&child).await.is_some());

    let r = app
        .post_form(&format!("/tenants/{}/delete", app.root.id), &[])
        .await;
    assert_eq!(status(&r), 403);
    assert_eq!(
        status(&app.get(&format!("/tenants/{}/delete", app.root.id)).await),
        403
    );
    assert!(app.reload(&app.root).await.is_some());
}

/// A script posting `force=false` (or `0`) means a safe delete: refused while the
/// subtree holds something, never the whole subtree gone.
#[tokio::test]
async fn force_false_is_a_safe_delete() {
    let app = spawn_app().await;
    let parent = app.tenant(&app.root, "parent", true).await;
    let child = app.tenant(&parent, "child", false).await;
    app.login_admin().await;
    for no in ["false", "0", "", "maybe"] {
        let r = app
            .post_form(
                &format!("/tenants/{}/delete", parent.id),
                &[("force", no), ("confirm", "parent")],
            )
            .await;
        assert_eq!(status(&r), 409, "force={no:?}");
        assert!(app.reload(&parent).await.is_some(), "force={no:?}");
        assert!(app.reload(&child).await.is_some(), "force={no:?}");
    }
    let r = app
        .post_form(
            &format!("/tenants/{}/delete", parent.id),
            &[("force", "true"), ("confirm", "parent")],
        )
        .await;
    assert_eq!(status(&r), 303);
    assert!(app.reload(&child).await.is_none());
}

// ---------------------------------------------------------------- who sees what

struct Probe {
    post: bool,
    path: String,
    form: Vec<(&'static str, String)>,
    hx: bool,
}

/// Every request that names a tenant by id.
fn probes(id: &str) -> Vec<Probe> {
    let get = |path: String| Probe {
        post: false,
        path,
        form: Vec::new(),
        hx: false,
    };
    let post = |path: String, form: Vec<(&'static str, String)>| Probe {
        post: true,
        path,
        form,
        hx: false,
    };
    let edit = vec![
        ("name", "Hijacked".to_string()),
        ("subdomain", "hijacked".to_string()),
    ];
    vec![
        get(format!("/tenants/{id}")),
        get(format!("/tenants/{id}/edit")),
        get(format!("/tenants/{id}/delete")),
        get(format!("/tenants/{id}/children")),
        Probe {
            hx: true,
            ..get(format!("/tenants/{id}/children"))
        },
        get(format!("/tenants/tree?parent={id}")),
        get(format!("/tenants/new?parent_id={id}")),
        post(format!("/tenants/{id}/edit"), edit.clone()),
        post(format!("/tenants/{id}"), edit),
        post(format!("/tenants/{id}/delete"), Vec::new()),
        post(
            format!("/tenants/{id}/disable"),
            vec![("confirm", "yes".to_string())],
        ),
        post(format!("/tenants/{id}/enable"), Vec::new()),
        post("/switch".to_string(), vec![("tenant_id", id.to_string())]),
    ]
}

async fn run_probe(app: &TestApp, token: &str, probe: &Probe) -> (u16, String) {
    let mut request = if probe.post {
        let mut form = probe.form.clone();
        form.push(("csrf_token", token.to_string()));
        app.client.post(app.url(&probe.path)).form(&form)
    } else {
        app.client.get(app.url(&probe.path))
    };
    if probe.hx {
        request = request.header("HX-Request", "true");
    }
    let r = request.send().await.expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test]
async fn tenants_outside_a_users_reach_do_not_exist_for_them() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let alice_user = app.user(&t.acme, "alice").await;
    app.grant(&alice_user, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let alice = browser_as(&app, "acme\\alice").await;
    let token = alice.csrf().await;

    let globex = t.globex.id.to_string();
    let root = app.root.id.to_string();
    let mut wrong = Vec::new();
    let mut missing_page = String::new();
    let mut globex_page = String::new();
    for id in [globex.as_str(), root.as_str(), "99999999", "abc"] {
        for probe in probes(id) {
            let (code, body) = run_probe(&alice, &token, &probe).await;
            // A malformed id in a query parameter or in the switch's `tenant_id` is a
            // malformed request (400 naming it, tests/app/query_strings.rs,
            // findings11b.rs); only a path's is "not found".
            let want = if id == "abc" && (probe.path.contains('?') || probe.path == "/switch") {
                400
            } else {
                404
            };
            if code != want {
                wrong.push(format!(
                    "{} {} -> {code}",
                    if probe.post { "POST" } else { "GET" },
                    probe.path
                ));
            }
            if probe.path == format!("/tenants/{id}") && id == "99999999" {
                missing_page = body;
            } else if probe.path == format!("/tenants/{id}") && id == globex {
                globex_page = body;
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        without_request_id(&globex_page),
        without_request_id(&missing_page),
        "an invisible tenant looks exactly like a missing one"
    );

    // Nothing was changed behind the 404s.
    let g = find(&app, t.globex.id).await;
    assert_eq!((g.name.as_str(), g.enabled), ("Tenant globex", true));
    let r = find(&app, app.root.id).await;
    assert_eq!((r.name.as_str(), r.enabled), ("Root", true));
    assert!(by_subdomain(&app, "hijacked").await.is_none());

    // Creating under an invisible parent is the same field error as under a missing one.
    let mut messages = Vec::new();
    for parent in [globex.as_str(), root.as_str(), "99999999"] {
        let r = alice
            .post_form("/tenants", &create_fields("Sneaky", "sneaky", parent))
            .await;
        assert_eq!(status(&r), 422, "parent {parent}");
        messages.push(field_error(&r.text().await.unwrap(), "parent_id"));
    }
    assert!(
        messages[0].is_some() && messages.iter().all(|m| *m == messages[0]),
        "{messages:?}"
    );
    assert!(by_subdomain(&app, "sneaky").await.is_none());

    // No page of hers mentions globex (or the root above her).
    let acme_id = t.acme.id;
    for path in [
        "/dashboard".to_string(),
        "/tenants".to_string(),
        "/tenants?q=Tenant".to_string(),
        "/tenants/tree".to_string(),
        format!("/tenants/{acme_id}"),
        "/tenants/new".to_string(),
        "/switch?q=Tenant".to_string(),
        "/switch/search?q=Tenant".to_string(),
        "/switch/search?q=o".to_string(),
    ] {
        let r = alice.get(&path).await;
        assert_eq!(status(&r), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            !html.to_lowercase().contains("globex"),
            "{path} mentions globex: {html}"
        );
        assert!(
            !html.contains("Root"),
            "{path} names the root above her: {html}"
        );
    }
    // Searching for them finds nothing.
    assert!(row_names(&alice.get_html("/tenants?q=globex").await).is_empty());
    for q in ["globex", "Root"] {
        let results = alice.get_html(&format!("/switch/search?q={q}")).await;
        assert!(!results.contains("switch-result"), "{q}: {results}");
    }
    let results = alice.get_html("/switch/search?q=Tenant").await;
    assert!(
        results.contains(">Tenant acme / Tenant acme-c1<"),
        "{results}"
    );
}

#[tokio::test]
async fn an_owner_sees_and_manages_their_subtree() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let alice_user = app.user(&t.acme, "alice").await;
    app.grant(&alice_user, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let alice = browser_as(&app, "acme\\alice").await;

    assert_eq!(
        status(&alice.get(&format!("/tenants/{}", t.acme.id)).await),
        200
    );
    assert_eq!(
        status(&alice.get(&format!("/tenants/{}", t.acme_c1.id)).await),
        200
    );
    assert_eq!(
        row_names(&alice.get_html("/tenants").await),
        vec!["Tenant acme-c1".to_string()]
    );

    let acme = t.acme.id.to_string();
    let r = alice
        .post_form(
            "/tenants",
            &create_fields("Alice Child", "alice-child", &acme),
        )
        .await;
    assert_eq!(status(&r), 303);
    let child = find(&app, redirected_tenant_id(&r)).await;
    assert_eq!(child.path, vec![app.root.id, t.acme.id, child.id]);

    let r = alice
        .post_form(&format!("/tenants/{}/delete", t.acme_c1.id), &[])
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", t.acme.id));
    assert!(app.reload(&t.acme_c1).await.is_none());
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_change() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let vic_user = app.user(&t.globex, "vic").await;
    app.grant(&vic_user, &t.acme, GrantRole::Viewer, Scope::Subtree, true)
        .await;
    let vic = browser_as(&app, "globex\\vic").await;

    assert_eq!(
        status(&vic.get(&format!("/tenants/{}", t.acme.id)).await),
        200
    );
    assert_eq!(
        status(&vic.get(&format!("/tenants/{}", t.acme_c1.id)).await),
        200
    );
    for tenant in [&t.acme, &t.acme_c1] {
        let path = format!("/tenants/{}/edit", tenant.id);
        assert_eq!(status(&vic.get(&path).await), 403);
        let r = vic
            .post_form(
                &path,
                &[("name", "Vandalised"), ("subdomain", &tenant.subdomain)],
            )
            .await;
        assert_eq!(status(&r), 403, "{path}");
        let r = vic
            .post_form(
                &format!("/tenants/{}/disable", tenant.id),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(status(&r), 403);
        let now = find(&app, tenant.id).await;
        assert_eq!(
            (now.name.as_str(), now.enabled),
            (tenant.name.as_str(), true)
        );
    }
    let acme = t.acme.id.to_string();
    let r = vic
        .post_form("/tenants", &create_fields("Vic Child", "vic-child", &acme))
        .await;
    assert_eq!(status(&r), 403);
    assert!(by_subdomain(&app, "vic-child").await.is_none());
}

#[tokio::test]
async fn a_user_without_grants_sees_only_their_home_tenant() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    app.user(&t.acme, "paul").await;
    let paul = browser_as(&app, "acme\\paul").await;
    // Pia's home role reads tenants, so the pages about her home tenant answer 200
    // and what they list can be checked.
    let mut read_tenants = tenantry::domain::Permissions::none();
    read_tenants.set(
        tenantry::domain::Feature::Tenants,
        tenantry::domain::Level::Read,
    );
    app.user_with_role(&t.acme, "pia", read_tenants).await;
    let pia = browser_as(&app, "acme\\pia").await;

    // His home tenant exists for him: without a home role that reads tenants it is
    // forbidden, never "not found"; with one (hers) it is readable.
    let home = format!("/tenants/{}", t.acme.id);
    assert_eq!(status(&paul.get(&home).await), 403, "{home}");
    assert_eq!(status(&paul.get("/tenants").await), 403, "/tenants");
    assert_eq!(status(&pia.get(&home).await), 200, "{home}");
    for who in [&paul, &pia] {
        assert_eq!(
            status(&who.get(&format!("/tenants/{}/edit", t.acme.id)).await),
            403
        );
    }
    // Below it, nothing exists for either of them.
    let missing = paul.get("/tenants/99999999").await.text().await.unwrap();
    let r = paul.get(&format!("/tenants/{}", t.acme_c1.id)).await;
    assert_eq!(status(&r), 404);
    assert_eq!(
        without_request_id(&r.text().await.unwrap()),
        without_request_id(&missing)
    );
    let missing = pia.get("/tenants/99999999").await.text().await.unwrap();
    let r = pia.get(&format!("/tenants/{}", t.acme_c1.id)).await;
    assert_eq!(status(&r), 404);
    assert_eq!(
        without_request_id(&r.text().await.unwrap()),
        without_request_id(&missing)
    );
    for path in [
        "/tenants",
        "/tenants?q=acme",
        home.as_str(),
        "/tenants/tree",
    ] {
        let r = pia.get(path).await;
        assert_eq!(status(&r), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(row_names(&html).is_empty(), "{path}");
        assert!(!html.contains("acme-c1"), "{path}: {html}");
        assert!(!html.contains("globex"), "{path}: {html}");
    }
    for who in [&paul, &pia] {
        let r = who.get("/switch/search?q=Tenant").await;
        assert_eq!(status(&r), 200);
        let results = r.text().await.unwrap();
        assert!(
            !results.contains("acme-c1") && !results.contains("globex"),
            "{results}"
        );
    }
}

/// The numbers on the dashboard cards, in order: sub-tenants, disabled, users, instances.
fn dashboard_numbers(html: &str) -> Vec<i64> {
    html.split("<span class=\"num\">")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().trim().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_dashboard_counts_what_the_user_may_see_below_the_acting_tenant() {
    let app = spawn_app().await;
    // root ─┬─ acme ─┬─ a1 (disabled, 1 user)
    //       │        └─ a2 (1 user)
    //       └─ globex ── g1 (1 user)
    let acme = app.tenant(&app.root, "acme", true).await;
    let a1 = app.tenant(&acme, "a1", false).await;
    let a2 = app.tenant(&acme, "a2", false).await;
    let globex = app.tenant(&app.root, "globex", true).await;
    let g1 = app.tenant(&globex, "g1", false).await;
    // Through the data layer: it counts the flag in the subtree totals.
    Tenant::set_enabled(&mut *app.conn().await, a1.id, false)
        .await
        .unwrap();
    for (t, name) in [(&a1, "u1"), (&a2, "u2"), (&g1, "u3")] {
        app.user(t, name).await;
    }
    app.login_admin().await;
    // Root: 5 sub-tenants, 1 disabled, 4 users (the admin included).
    assert_eq!(
        dashboard_numbers(&app.get_html("/dashboard").await),
        [5, 1, 4, 0]
    );

    // An Owner of acme's subtree, at home in acme: a1, a2; both their users and herself.
    let alice = app.user(&acme, "alice").await;
    app.grant(&alice, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let alice_browser = app.new_browser();
    alice_browser.login("acme\\alice", PASSWORD).await;
    assert_eq!(
        dashboard_numbers(&alice_browser.get_html("/dashboard").await),
        [2, 1, 3, 0]
    );

    // A user of acme who only sees acme itself and g1's subtree: nothing below acme.
    // Without a role reading Users at home, acme's people are not found either: the
    // Users card counts the people its link lists (tests/app/dashboard.rs).
    let bob = app.user(&acme, "bob").await;
    app.grant(&bob, &g1, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let bob_browser = app.new_browser();
    bob_browser.login("acme\\bob", PASSWORD).await;
    assert_eq!(
        dashboard_numbers(&bob_browser.get_html("/dashboard").await),
        [0, 0, 0, 0],
        "nothing below acme is visible, and none of acme's people may be found"
    );
}

#[tokio::test]
async fn administrators_create_and_edit_children_but_only_owners_delete() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let adam = subtree_admin(&app, &t.acme, "adam").await;

    let acme = t.acme.id.to_string();
    let r = adam
        .post_form(
            "/tenants",
            &create_fields("Adam Child", "adam-child", &acme),
        )
        .await;
    assert_eq!(status(&r), 303);
    let child = redirected_tenant_id(&r);

    let r = adam
        .post_form(
            &format!("/tenants/{}/edit", t.acme_c1.id),
            &[("name", "Edited By Adam"), ("subdomain", "acme-c1")],
        )
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(find(&app, t.acme_c1.id).await.name, "Edited By Adam");

    for id in [child, t.acme_c1.id] {
        assert_eq!(
            status(&adam.get(&format!("/tenants/{id}/delete")).await),
            403
        );
        let r = adam.post_form(&format!("/tenants/{id}/delete"), &[]).await;
        assert_eq!(status(&r), 403);
        find(&app, id).await;
    }

    let owner_user = app.user(&t.acme, "olga").await;
    app.grant(&owner_user, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let olga = browser_as(&app, "acme\\olga").await;
    let r = olga
        .post_form(&format!("/tenants/{child}/delete"), &[])
        .await;
    assert_eq!(status(&r), 303);
    assert!(by_subdomain(&app, "adam-child").await.is_none());
}

#[tokio::test]
async fn managing_sub_tenants_needs_sub_tenant_scope() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    // "May manage sub-tenants" on a tenant-only grant would create children its holder
    // could never see: it does not let anyone manage sub-tenants.
    let tina_user = app.user(&acme, "tina").await;
    app.grant(&tina_user, &acme, GrantRole::Owner, Scope::Tenant, true)
        .await;
    let tina = browser_as(&app, "acme\\tina").await;
    let r = tina
        .post_form(
            "/tenants",
            &create_fields("Tina Child", "tina-child", &acme.id.to_string()),
        )
        .await;
    assert_eq!(status(&r), 403);
    let mut conn = app.conn().await;
    assert!(Tenant::by_subdomain(&mut conn, "tina-child")
        .await
        .unwrap()
        .is_none());

    // With sub-tenant scope the manager creates the child and can see and edit it.
    let sam_user = app.user(&acme, "sam").await;
    app.grant(&sam_user, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let sam = browser_as(&app, "acme\\sam").await;
    let r = sam
        .post_form(
            "/tenants",
            &create_fields("Sam Child", "sam-child", &acme.id.to_string()),
        )
        .await;
    assert_eq!(status(&r), 303, "she may create under acme");
    let child = redirected_tenant_id(&r);
    assert_eq!(
        status(&sam.get(&format!("/tenants/{child}")).await),
        200,
        "the page she is sent to"
    );
    assert_eq!(
        status(&sam.get(&format!("/tenants/{child}/edit")).await),
        200
    );
}

// ---------------------------------------------------------------- list

#[tokio::test]
async fn the_list_pages_sorts_and_filters() {
    let app = spawn_app().await;
    for i in 0..60 {
        app.tenant(&app.root, &format!("t{i:02}"), false).await;
    }
    app.login_admin().await;
    let name = |i: usize| format!("Tenant t{i:02}");

    let html = app.get_html("/tenants").await;
    assert_eq!(row_names(&html), (0..50).map(name).collect::<Vec<_>>());
    assert!(html.contains("Page 1 of 2"), "{html}");
    let next = between(&html, "rel=\"next\"", ">");
    assert!(next.contains("page=2"), "{next}");
    assert!(!html.contains("rel=\"prev\""));

    let html = app.get_html("/tenants?page=2").await;
    assert_eq!(row_names(&html), (50..60).map(name).collect::<Vec<_>>());
    assert!(
        html.contains("Page 2 of 2")
            && html.contains("rel=\"prev\"")
            && !html.contains("rel=\"next\"")
    );

    let html = app.get_html("/tenants?sort=name&dir=desc").await;
    assert_eq!(
        row_names(&html),
        (10..60).rev().map(name).collect::<Vec<_>>()
    );

    let html = app.get_html("/tenants?q=t17").await;
    assert_eq!(row_names(&html), vec![name(17)]);
    assert!(!html.contains("Page 1 of"));
    let html = app.get_html("/tenants?q=t1").await;
    assert_eq!(row_names(&html), (10..20).map(name).collect::<Vec<_>>());
    // LIKE wildcards in the filter are literal.
    assert!(row_names(&app.get_html("/tenants?q=t_7").await).is_empty());

    let html = app.get_html("/tenants?per_page=10").await;
    assert_eq!(row_names(&html), (0..10).map(name).collect::<Vec<_>>());
    assert!(html.contains("Page 1 of 6"));
    let html = app.get_html("/tenants?per_page=10&page=3").await;
    assert_eq!(row_names(&html), (20..30).map(name).collect::<Vec<_>>());

    // Page links keep the filter, the order and the page size.
    let html = app
        .get_html("/tenants?q=Tenant&sort=name&dir=desc&per_page=20")
        .await;
    let next = between(&html, "rel=\"next\"", ">");
    for part in ["q=Tenant", "sort=name", "dir=desc", "per_page=20", "page=2"] {
        assert!(next.contains(part), "{part}: {next}");
    }
}

/// A page number past the end (an old link, a filter that now matches less) shows
/// the last page, numbered as such, rather than an empty table.
#[tokio::test]
async fn a_page_past_the_end_shows_the_last_page() {
    let app = spawn_app().await;
    for i in 0..60 {
        app.tenant(&app.root, &format!("t{i:02}"), false).await;
    }
    app.login_admin().await;
    let name = |i: usize| format!("Tenant t{i:02}");
    for query in ["page=999", "page=3", "page=1000000"] {
        let html = app.get_html(&format!("/tenants?{query}")).await;
        assert_eq!(
            row_names(&html),
            (50..60).map(name).collect::<Vec<_>>(),
            "{query}"
        );
        assert!(
            html.contains("Page 2 of 2")
                && html.contains("rel=\"prev\"")
                && !html.contains("rel=\"next\""),
            "{query}: {html}"
        );
    }
    // The table fragment htmx asks for, too; and a filter with one page of matches.
    let r = app.get_hx("/tenants?per_page=20&page=7").await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert_eq!(row_names(&html), (40..60).map(name).collect::<Vec<_>>());
    assert!(html.contains("Page 3 of 3"), "{html}");
    let html = app.get_html("/tenants?q=t1&page=4").await;
    assert_eq!(row_names(&html), (10..20).map(name).collect::<Vec<_>>());
}

#[tokio::test]
async fn past_ten_thousand_matches_the_list_stops_counting_but_still_pages() {
    let app = spawn_app().await;
    // 10,001 children of the root, straight into the table.
    let n = db(&app)
        .await
        .execute(
            "WITH ids AS (SELECT g, nextval('tenants_id_seq') AS id FROM generate_series(1, 10001) g), \
                  t AS (INSERT INTO tenants (id, parent_id, name, subdomain, tenant_role_id) \
                        SELECT id, $1, 'Bulk ' || lpad(g::text, 5, '0'), 'bulk-' || g, $2 FROM ids) \
             INSERT INTO tenant_paths (tenant_id, path) SELECT id, ARRAY[$1, id] FROM ids",
            &[&app.root.id, &app.root.tenant_role_id],
        )
        .await
        .unwrap();
    assert_eq!(n, 10_001);
    app.login_admin().await;

    let html = app.get_html("/tenants").await;
    assert!(
        html.contains("More than 10000 tenants below Root"),
        "{html}"
    );
    assert!(
        html.contains("<span>Page 1</span>") && html.contains("rel=\"next\""),
        "{html}"
    );
    assert_eq!(row_names(&html).len(), 50);

    let html = app.get_html("/tenants?page=201").await;
    assert_eq!(row_names(&html), vec!["Bulk 10001".to_string()]);
    assert!(
        !html.contains("rel=\"next\"") && html.contains("rel=\"prev\""),
        "{html}"
    );

    // Below the cap the count is exact again.
    let html = app.get_html("/tenants?q=Bulk%200000").await;
    assert!(html.contains("9 tenants below Root matching"), "{html}");
    assert_eq!(row_names(&html).len(), 9);
}

#[tokio::test]
async fn odd_list_parameters_never_break_the_page() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.tenant(&app.root, &format!("t{i}"), false).await;
    }
    app.login_admin().await;
    // Values no link sends are refused as the API refuses its own: 400 naming the
    // parameter and what it takes, whole page or fragment.
    let whole = "must be a whole number from 1 to";
    for (query, name, takes) in [
        ("page=abc", "page", whole),
        ("per_page=-5", "per_page", whole),
        (
            "sort=evil",
            "sort",
            "must be one of “name”, “role”, “instances”, “users”, “created”",
        ),
        ("page=-1", "page", whole),
        ("dir=sideways", "dir", "must be one of “asc”, “desc”"),
        ("page=99999999999999999999", "page", whole),
        ("per_page=99999999999999999999", "per_page", whole),
        ("page=0", "page", whole),
        ("per_page=0", "per_page", whole),
        (
            "per_page=100000",
            "per_page",
            "must be a whole number from 1 to 200",
        ),
        (
            "page=1000001",
            "page",
            "must be a whole number from 1 to 1000000",
        ),
    ] {
        let message = format!("The query parameter “{name}” {takes}");
        for r in [
            app.get(&format!("/tenants?{query}")).await,
            app.get_hx(&format!("/tenants?{query}")).await,
        ] {
            assert_eq!(status(&r), 400, "{query}");
            let html = r.text().await.unwrap();
            assert!(html.contains(&message), "{query}: {html}");
        }
    }
    // Empty values (a submitted GET form) are the defaults; unknown parameters are
    // left alone; odd search text is only text.
    for query in [
        "page=1000000",
        "q=&status=&kind=&parent=&within=&label=&sort=&dir=&page=&per_page=",
        "q=%25&sort=created&dir=desc",
        "q=%27%3B%20DROP%20TABLE%20tenants%3B--",
        "sort=users&dir=asc&sort2=x",
    ] {
        let r = app.get(&format!("/tenants?{query}")).await;
        assert_eq!(status(&r), 200, "{query}");
        assert!(
            r.text().await.unwrap().contains("<h1>Tenants</h1>"),
            "{query}"
        );
    }
    let html = app.get_html("/tenants?sort=&page=").await;
    assert_eq!(
        row_names(&html),
        vec!["Tenant t0", "Tenant t1", "Tenant t2"]
    );
    assert_eq!(tenant_count(&app).await, 4);
}

#[tokio::test]
async fn a_nul_byte_in_a_search_is_not_a_server_error() {
    let app = spawn_app().await;
    app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    // Refused with the search boxes' message (tests/app/query_strings.rs): a page
    // 422, the switcher's live results 200 so that htmx shows it.
    for (path, code) in [
        ("/tenants?q=a%00b", 422),
        ("/switch/search?q=a%00b", 200),
        ("/switch?q=a%00b", 422),
    ] {
        let r = app.get(path).await;
        assert_eq!(status(&r), code, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("The search text must not contain control characters."),
            "{path}: {html}"
        );
    }
}

#[tokio::test]
async fn the_list_answers_htmx_with_a_fragment_and_has_sort_links() {
    let app = spawn_app().await;
    app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;

    let r = app.get_hx("/tenants?sort=users").await;
    assert_eq!(status(&r), 200);
    let fragment = r.text().await.unwrap();
    assert!(!fragment.contains("<html"), "{fragment}");
    assert!(fragment.contains("<table class=\"data\">"));
    assert_eq!(row_names(&fragment), vec!["Tenant acme".to_string()]);

    let html = app.get_html("/tenants").await;
    assert!(html.contains("<html"));
    for (label, key) in [
        ("Name", "name"),
        ("Role", "role"),
        ("Total Instances", "instances"),
        ("Total Users", "users"),
        ("Created", "created"),
    ] {
        let link = html
            .split("<th ")
            .skip(1)
            .find(|th| th.contains(&format!(">{label}")))
            .unwrap_or_else(|| panic!("no {label} header: {html}"));
        assert!(link.contains(&format!("sort={key}")), "{label}: {link}");
    }
}

// ---------------------------------------------------------------- tree

#[tokio::test]
async fn the_tree_loads_children_on_demand() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    app.login_admin().await;

    let html = app.get_html("/tenants/tree").await;
    assert!(
        html.contains(">Tenant acme</a>") && html.contains(">Tenant globex</a>"),
        "{html}"
    );
    assert!(
        !html.contains("Tenant acme-c1"),
        "grandchildren are loaded on demand"
    );
    assert!(html.contains(&format!("hx-get=\"/tenants/{}/children\"", t.acme.id)));
    assert!(
        !html.contains(&format!("hx-get=\"/tenants/{}/children\"", t.globex.id)),
        "a leaf has no toggle"
    );

    let r = app
        .get_hx(&format!("/tenants/{}/children", t.acme.id))
        .await;
    assert_eq!(status(&r), 200);
    let fragment = r.text().await.unwrap();
    assert!(!fragment.contains("<html"));
    assert!(fragment.contains(">Tenant acme-c1</a>"), "{fragment}");
    assert!(!fragment.contains("globex"));

    let r = app.get(&format!("/tenants/{}/children", t.acme.id)).await;
    assert_redirect_to(&r, &format!("/tenants/tree?parent={}", t.acme.id));
    let html = app
        .get_html(&format!("/tenants/tree?parent={}", t.acme.id))
        .await;
    assert!(html.contains(">Tenant acme-c1</a>"));
    assert!(
        html.contains(&format!("href=\"/tenants/tree?parent={}\"", app.root.id)),
        "up link: {html}"
    );
}

// ---------------------------------------------------------------- switcher

fn acting(html: &str) -> &str {
    let tag = between(html, "id=\"acting-tenant\"", "</a>");
    tag.rsplit('>').next().unwrap_or_default()
}

#[tokio::test]
async fn switching_tenant_changes_what_the_pages_are_about() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let c1 = app.tenant(&acme, "acme-c1", true).await;
    app.tenant(&c1, "acme-c1-x", false).await;
    app.tenant(&app.root, "globex", false).await;
    app.login_admin().await;

    let r = app.get_hx("/switch/search?q=acme").await;
    assert_eq!(status(&r), 200);
    let results = r.text().await.unwrap();
    assert!(!results.contains("<html"));
    let acme_result = results
        .split("<li class=\"switch-result\">")
        .find(|li| li.contains(&format!("name=\"tenant_id\" value=\"{}\"", acme.id)))
        .unwrap_or_else(|| panic!("no result for acme: {results}"));
    assert!(
        acme_result.contains(">Root / Tenant acme</span>"),
        "{acme_result}"
    );
    assert!(acme_result.contains(">Switch</button>"), "{acme_result}");
    assert!(!results.contains("globex"));

    // The subdomain alone finds a tenant, whatever the case typed.
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET name = 'Northwind' WHERE id = $1",
            &[&c1.id],
        )
        .await
        .unwrap();
    let results = app.get_html("/switch/search?q=ACME-C1").await;
    assert!(results.contains("Northwind"), "{results}");
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET name = 'Tenant acme-c1' WHERE id = $1",
            &[&c1.id],
        )
        .await
        .unwrap();

    let r = app
        .post_form("/switch", &[("tenant_id", &c1.id.to_string())])
        .await;
    assert_redirect_to(&r, "/dashboard");
    let html = app.get_html("/dashboard").await;
    assert_eq!(acting(&html), "Tenant acme-c1");
    let crumbs = between(&html, "<nav id=\"breadcrumb\"", "</nav>");
    for name in ["Root", "Tenant acme", "Tenant acme-c1"] {
        assert!(crumbs.contains(&format!(">{name}</a>")), "{name}: {crumbs}");
    }
    assert!(html.contains("You are now acting in Tenant acme-c1."));

    assert_eq!(
        row_names(&app.get_html("/tenants").await),
        vec!["Tenant acme-c1-x".to_string()]
    );
    let fragment = app.get_hx("/tenants").await.text().await.unwrap();
    assert!(fragment.contains("below Tenant acme-c1."), "{fragment}");
}

#[tokio::test]
async fn switching_into_a_disabled_tenant_is_refused() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let off = app.tenant(&app.root, "off", false).await;
    Tenant::set_enabled(&mut *app.conn().await, off.id, false)
        .await
        .unwrap();
    app.login_admin().await;

    let results = app.get_html("/switch/search?q=off").await;
    assert!(
        results.contains("badge disabled") && !results.contains(">Switch</button>"),
        "{results}"
    );

    assert_redirect_to(
        &app.post_form("/switch", &[("tenant_id", &acme.id.to_string())])
            .await,
        "/dashboard",
    );
    let r = app
        .post_form("/switch", &[("tenant_id", &off.id.to_string())])
        .await;
    assert_eq!(status(&r), 409);
    assert_eq!(acting(&app.get_html("/dashboard").await), "Tenant acme");

    // Disabling the tenant one acts in sends one back home.
    Tenant::set_enabled(&mut *app.conn().await, acme.id, false)
        .await
        .unwrap();
    assert_eq!(acting(&app.get_html("/dashboard").await), "Root");
}

#[tokio::test]
async fn the_switcher_works_without_javascript() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    app.login_admin().await;
    let r = app.get("/switch?q=acme").await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<html") && html.contains("<h1>Switch tenant</h1>"),
        "{html}"
    );
    assert!(html.contains("value=\"acme\""), "query kept: {html}");
    assert!(html.contains("class=\"switch-result\""));
    assert!(html.contains(&format!("name=\"tenant_id\" value=\"{}\"", acme.id)));
    assert!(html.contains("action=\"/switch\" method=\"post\""));
}

// ---------------------------------------------------------------- concurrency

/// How one round of the create/delete race is timed, in microseconds after the start.
struct Timing {
    delete_at: u64,
    /// Create `i` starts at `first_create_at + i * create_step`.
    first_create_at: u64,
    create_step: u64,
    /// The creates start only once the delete has returned (committed or failed),
    /// instead of after a head start that a slow machine may not honour.
    after_delete: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_and_a_parent_delete_keep_the_tree_consistent() {
    const CREATES: usize = 40;
    let app = spawn_app().await;
    let pool = tenantry::db::pool(&app.db_url, CREATES + 1).unwrap();
    let rounds = [
        // All at once.
        Timing {
            delete_at: 0,
            first_create_at: 0,
            create_step: 0,
            after_delete: false,
        },
        // The delete first: every create must find the parent gone.
        Timing {
            delete_at: 0,
            first_create_at: 0,
            create_step: 0,
            after_delete: true,
        },
        // The delete in the middle of a stream of creates.
        Timing {
            delete_at: 5_000,
            first_create_at: 0,
            create_step: 250,
            after_delete: false,
        },
        Timing {
            delete_at: 1_000,
            first_create_at: 0,
            create_step: 50,
            after_delete: false,
        },
    ];
    let sleep_us = |us: u64| tokio::time::sleep(std::time::Duration::from_micros(us));
    let mut outcomes = Vec::new();
    for (round, timing) in rounds.iter().enumerate() {
        let parent = app.tenant(&app.root, &format!("p{round}"), true).await;
        let start = Arc::new(tokio::sync::Barrier::new(CREATES + 1));
        let (delete_done, delete_returned) = tokio::sync::watch::channel(false);
        let mut creates = Vec::new();
        for i in 0..CREATES {
            let (pool, parent, start) = (pool.clone(), parent.clone(), start.clone());
            let at = timing.first_create_at + i as u64 * timing.create_step;
            let mut delete_returned = timing.after_delete.then(|| delete_returned.clone());
            creates.push(tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                start.wait().await;
                if let Some(returned) = delete_returned.as_mut() {
                    returned.wait_for(|done| *done).await.unwrap();
                }
                sleep_us(at).await;
                let name = format!("Child {round}-{i}");
                let sub = format!("r{round}-c{i}");
                service::create(
                    &mut conn,
                    &Actor::system("test"),
                    &parent,
                    fields(&name, &sub),
                    &|_: &tenantry::db::models::Tenant| Ok(()),
                )
                .await
            }));
        }
        let delete = {
            let (pool, id, start, at) = (pool.clone(), parent.id, start.clone(), timing.delete_at);
            tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                start.wait().await;
                sleep_us(at).await;
                let deleted = service::delete(
                    &mut conn,
                    &Actor::system("test"),
                    id,
                    false,
                    &tenantry::services::tenants::DeleteScope::new(
                        chrono::Utc::now(),
                        tenantry::db::models::Visibility::All,
                    ),
                    &|_, _| Ok(()),
                    &|_, _| Ok(()),
                )
                .await;
                delete_done.send_replace(true);
                deleted
            })
        };

        let mut created = Vec::new();
        for handle in creates {
            match handle.await.unwrap() {
                Ok(child) => created.push(child),
                // The parent was deleted first, or the lock wait ran out: refused cleanly.
                Err(AppError::NotFound | AppError::Busy) => {}
                // The parent's delete was under way: its guard refuses at once.
                Err(AppError::Conflict(m))
                    if m == tenantry::services::tenants::tree::BEING_DELETED => {}
                Err(e) => panic!("round {round}: create failed with {e:?}"),
            }
        }
        let deleted = match delete.await.unwrap() {
            Ok(_) => true,
            Err(AppError::DeleteBlocked(_) | AppError::Busy) => false,
            Err(e) => panic!("round {round}: delete failed with {e:?}"),
        };
        let children: i64 = db(&app)
            .await
            .query_one(
                "SELECT count(*) FROM tenants WHERE parent_id = $1",
                &[&parent.id],
            )
            .await
            .unwrap()
            .get(0);
        if deleted {
            assert!(app.reload(&parent).await.is_none(), "round {round}");
            assert!(
                created.is_empty(),
                "round {round}: {} children created under a deleted parent",
                created.len()
            );
            assert_eq!(children, 0);
        } else {
            assert!(app.reload(&parent).await.is_some(), "round {round}");
            assert_eq!(children, created.len() as i64, "round {round}");
        }
        for child in &created {
            let mut expected = parent.path.clone();
            expected.push(child.id);
            assert_eq!(child.path, expected);
        }
        outcomes.push((deleted, created.len()));
        crate::tree_ops::assert_tree_valid(&app).await;
    }
    eprintln!("(parent deleted, children created) per round: {outcomes:?}");
    // The delete-first round must really have exercised the "parent gone" side.
    assert_eq!(outcomes[1], (true, 0), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_subdomain_have_one_winner() {
    const RACERS: usize = 30;
    let app = spawn_app().await;
    let parent = app.tenant(&app.root, "parent", true).await;
    let pool = tenantry::db::pool(&app.db_url, RACERS).unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut handles = Vec::new();
    for i in 0..RACERS {
        let (pool, parent, start) = (pool.clone(), parent.clone(), start.clone());
        handles.push(tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            start.wait().await;
            service::create(
                &mut conn,
                &Actor::system("test"),
                &parent,
                fields(&format!("Racer {i}"), "dup"),
                &|_: &tenantry::db::models::Tenant| Ok(()),
            )
            .await
        }));
    }
    let mut winners = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(t) => {
                winners += 1;
                assert_eq!(t.subdomain, "dup");
            }
            Err(AppError::Validation(errors)) => {
                assert_eq!(
                    errors.get("subdomain").map(String::as_str),
                    Some("This subdomain is already taken.")
                );
            }
            Err(e) => panic!("expected the 'already taken' field error, got {e:?}"),
        }
    }
    assert_eq!(winners, 1);
    let n: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM tenants WHERE subdomain = 'dup'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    crate::tree_ops::assert_tree_valid(&app).await;
}

#[tokio::test]
async fn concurrent_form_posts_with_one_subdomain_have_one_winner() {
    const RACERS: usize = 10;
    let app = spawn_app().await;
    app.login_admin().await;
    let token = app.csrf().await;
    let root = app.root.id.to_string();
    let requests = (0..RACERS).map(|i| {
        let name = format!("Racer {i}");
        let form = vec![
            ("name", name),
            ("subdomain", "dup".to_string()),
            ("parent_id", root.clone()),
            ("csrf_token", token.clone()),
        ];
        let request = app.client.post(app.url("/tenants")).form(&form);
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let winners = answers.iter().filter(|(code, _)| *code == 303).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        answers.iter().map(|(c, _)| c).collect::<Vec<_>>()
    );
    for (code, html) in answers.iter().filter(|(code, _)| *code != 303) {
        assert_eq!(*code, 422);
        assert!(
            field_error(html, "subdomain")
                .unwrap_or_default()
                .contains("already taken"),
            "{html}"
        );
    }
    let n: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM tenants WHERE subdomain = 'dup'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}
