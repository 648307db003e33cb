//! Review follow-ups of resources (#14) and policies (#15), through the real app:
//! a tenant role that takes Policies away keeps its users from choosing a
//! resolver's or subnet's policy on every path (forms and API) while their saves
//! keep it.

use crate::api::{partner_app, token_for, Api};
use crate::helpers::*;
use crate::policies::{base, policy, resolver, uses};
use serde_json::json;
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};

/// Acme's inheritable deny list (its id).
async fn acme_deny(api: &Api, t: &PartnerTree) -> i64 {
    policy(
        api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["bad.example.com"],
               "inheritable": true}),
    )
    .await
}

/// A subnet `cidr` of `t` served by `resolver`, created through the API.
async fn subnet_of(
    api: &Api,
    t: &tenantry::db::models::Tenant,
    cidr: &str,
    resolver: &serde_json::Value,
) -> serde_json::Value {
    let (s, sn) = api
        .post(
            &format!("{}/subnets", base(t)),
            json!({"cidr": cidr, "resolver_id": resolver["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{sn}");
    sn
}

/// Every right but Policies.
fn all_but_policies() -> Permissions {
    let mut p = Permissions::all(Level::Full);
    p.set(Feature::Policies, Level::None);
    p
}

/// #15 L2: a1's tenant role takes Policies away. Its administrator still changes
/// resolvers and subnets (Resources full) and their saves keep the policy set from
/// above, but the forms show no policy picker (saying why, naming no policy) and
/// every attempt to choose or clear one — form POST, API POST and PATCH — is 403
/// and writes nothing. The lists name no policy to them either.
#[tokio::test]
async fn a_cap_without_policies_keeps_resolvers_and_subnets_from_choosing_one() {
    let (app, t, admin) = partner_app().await;
    let deny = acme_deny(&admin, &t).await;
    let other = policy(
        &admin,
        &t.acme,
        json!({"name": "Acme threshold", "kind": "blocking_threshold", "threshold": 40,
               "inheritable": true}),
    )
    .await;
    let (s, r) = resolver(&admin, &t.a1, "dns", Some(deny)).await;
    assert_eq!(s, 201, "{r}");
    let (s, sn) = admin
        .post(
            &format!("{}/subnets", base(&t.a1)),
            json!({"cidr": "10.0.0.0/24", "resolver_id": r["id"], "policy_id": deny}),
        )
        .await;
    assert_eq!(s, 201, "{sn}");
    let mut seen_before = std::collections::HashMap::new();
    let admin_browser = app.new_browser();
    admin_browser.login_admin().await;
    for list in ["resolvers", "subnets"] {
        let html = admin_browser
            .get_html(&format!("/tenants/{}/{list}", t.a1.id))
            .await;
        assert!(html.contains("<th scope=\"col\">Policy</th>"), "{list}");
        seen_before.insert(list, html);
    }
    capped(&app, &t.a1, "No policies", &all_but_policies()).await;
    let user = app.user(&t.a1, "netadmin").await;
    app.grant(&user, &t.a1, GrantRole::Administrator, Scope::Subtree, true)
        .await;
    let browser = browser_as(&app, "a1\\netadmin").await;
    let api = Api::new(&app, Some(&token_for(&app, &user, false).await));
    let why = "The tenant role No policies of Tenant a1 gives no access to policies";

    // The forms: no picker, no policy named, the reason instead.
    let rpath = format!("/tenants/{}/resolvers/{}", t.a1.id, r["id"]);
    let spath = format!("/tenants/{}/subnets/{}", t.a1.id, sn["id"]);
    for (page, then) in [
        (rpath.clone(), "its policy stays as it is"),
        (spath.clone(), "its policy stays as it is"),
        (
            format!("/tenants/{}/resolvers/new", t.a1.id),
            "the effective policies of Tenant a1 apply to it",
        ),
        (
            format!("/tenants/{}/subnets/new", t.a1.id),
            "the effective policies of Tenant a1 apply to it",
        ),
    ] {
        let html = browser.get_html(&page).await;
        assert!(!html.contains("name=\"policy_id\""), "{page}: {html}");
        assert!(
            !html.contains("Acme deny") && !html.contains("Acme threshold"),
            "{page}"
        );
        let shown = between(&html, "<p class=\"hint\" id=\"policy-refused\">", "</p>");
        assert!(
            shown.contains(&format!(
                "{why}, so a policy cannot be chosen here: {then}."
            )),
            "{page}: {shown}"
        );
    }

    // The lists: no Policy column under the cap (for anyone acting in a1), so no
    // policy named either; before it, the column named the policy.
    for list in ["resolvers", "subnets"] {
        let page = format!("/tenants/{}/{list}", t.a1.id);
        let html = browser.get_html(&page).await;
        assert!(html.contains(">dns<"), "{page}: {html}");
        assert!(!html.contains("Acme deny"), "{page}: {html}");
        assert!(!html.contains("<th scope=\"col\">Policy</th>"), "{page}");
        assert!(seen_before[list].contains("Acme deny"), "{page}");
    }

    // Saving without the picker keeps the policy.
    let saved = browser
        .post_form(
            &rpath,
            &[("name", "dns-renamed"), ("address", "192.0.2.54")],
        )
        .await;
    assert_eq!(status(&saved), 303);
    let rid = r["id"].to_string();
    let saved = browser
        .post_form(
            &spath,
            &[("cidr", "10.0.1.0/24"), ("resolver_id", rid.as_str())],
        )
        .await;
    assert_eq!(status(&saved), 303);
    let (_, now) = api
        .get(&format!("{}/resolvers/{}", base(&t.a1), r["id"]))
        .await;
    assert_eq!(
        (now["name"].as_str(), now["policy_id"].as_i64()),
        (Some("dns-renamed"), Some(deny))
    );
    let (_, now) = api
        .get(&format!("{}/subnets/{}", base(&t.a1), sn["id"]))
        .await;
    assert_eq!(
        (now["cidr"].as_str(), now["policy_id"].as_i64()),
        (Some("10.0.1.0/24"), Some(deny))
    );

    // As an attacker: the field posted anyway, to another policy or to none.
    let other_id = other.to_string();
    for policy_id in [other_id.as_str(), ""] {
        for (path, fields) in [
            (
                rpath.clone(),
                vec![
                    ("name", "dns-x"),
                    ("address", "192.0.2.55"),
                    ("policy_id", policy_id),
                ],
            ),
            (
                spath.clone(),
                vec![
                    ("cidr", "10.0.2.0/24"),
                    ("resolver_id", rid.as_str()),
                    ("policy_id", policy_id),
                ],
            ),
            (
                format!("/tenants/{}/resolvers/new", t.a1.id),
                vec![
                    ("name", "dns-new"),
                    ("address", "192.0.2.56"),
                    ("policy_id", policy_id),
                ],
            ),
        ] {
            let r = browser.post_form(&path, &fields).await;
            // A new resolver with none chosen chooses nothing: that one goes.
            if policy_id.is_empty() && path.ends_with("/new") {
                assert_eq!(status(&r), 303, "{path}");
                continue;
            }
            assert_eq!(status(&r), 403, "{path} {policy_id:?}");
            assert!(r.text().await.unwrap().contains(why));
        }
    }
    let (s, e) = api
        .post(
            &format!("{}/resolvers", base(&t.a1)),
            json!({"name": "dns-api", "address": "192.0.2.60", "policy_id": other}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(
        e["detail"].as_str(),
        Some(
            format!(
                "{why}: the policy of its resolvers and subnets cannot be chosen or changed here."
            )
            .as_str()
        )
    );
    let (s, e) = api
        .post(
            &format!("{}/subnets", base(&t.a1)),
            json!({"cidr": "10.9.0.0/24", "resolver_id": r["id"], "policy_id": deny}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    for (items, item) in [("resolvers", &r), ("subnets", &sn)] {
        for body in [json!({"policy_id": other}), json!({"policy_id": null})] {
            let (s, e) = api
                .patch(&format!("{}/{items}/{}", base(&t.a1), item["id"]), body)
                .await;
            assert_eq!(s, 403, "{items} {e}");
        }
        assert_eq!(uses(&api, &t.a1, items, item).await, json!(deny), "{items}");
    }
    // What keeps the policy goes: left out, or sent as it is.
    let (s, e) = api
        .patch(
            &format!("{}/resolvers/{}", base(&t.a1), r["id"]),
            json!({"address": "192.0.2.57"}),
        )
        .await;
    assert_eq!((s, e["policy_id"].as_i64()), (200, Some(deny)), "{e}");
    let (s, e) = api
        .patch(
            &format!("{}/subnets/{}", base(&t.a1), sn["id"]),
            json!({"cidr": "10.0.3.0/24", "policy_id": deny}),
        )
        .await;
    assert_eq!((s, e["policy_id"].as_i64()), (200, Some(deny)), "{e}");
    let (s, e) = resolver(&api, &t.a1, "dns-plain", None).await;
    assert_eq!((s, e["policy_id"].is_null()), (201, true), "{e}");
    // Nothing the refusals touched was written: three resolvers (dns-renamed, the
    // form's dns-new, dns-plain), one subnet.
    let (_, list) = api.get(&format!("{}/resolvers", base(&t.a1))).await;
    let mut names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["dns-new", "dns-plain", "dns-renamed"]);
    let (_, list) = api.get(&format!("{}/subnets", base(&t.a1))).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// Whether row `id` of `table` (`resolvers`, `subnets`, `policies`) was changed
/// since 2020 (`updated_at`).
async fn changed_lately(app: &TestApp, table: &str, id: i64) -> bool {
    db(app)
        .await
        .query_one(
            &format!("SELECT updated_at > '2020-01-02' FROM {table} WHERE id = $1"),
            &[&id],
        )
        .await
        .expect("the row")
        .get(0)
}

/// #15 L1: deleting a policy clears the resolvers and subnets that used it and
/// makes the overrides of it plain policies, each marked as changed then
/// (`updated_at`), as every other clearing does — and the API asks first, as for
/// every other change that clears choices (`?confirm=true`); an unused policy
/// goes without it.
#[tokio::test]
async fn deleting_a_policy_marks_what_it_clears_as_changed() {
    let (app, t, api) = partner_app().await;
    let deny = acme_deny(&api, &t).await;
    let (s, r) = resolver(&api, &t.a1, "dns", Some(deny)).await;
    assert_eq!(s, 201, "{r}");
    let sn = crate::policies::subnet(&api, &t.a2, "10.0.0.0/24", deny).await;
    let over = crate::policies_review::override_of(
        &api,
        &t.a1,
        deny,
        json!({"domains": ["worse.example.com"]}),
    )
    .await;
    let rows = [
        ("resolvers", r["id"].as_i64().unwrap()),
        ("subnets", sn["id"].as_i64().unwrap()),
        ("policies", over),
    ];
    for (table, id) in rows {
        db(&app)
            .await
            .execute(
                &format!("UPDATE {table} SET updated_at = '2020-01-01' WHERE id = $1"),
                &[&id],
            )
            .await
            .unwrap();
        assert!(!changed_lately(&app, table, id).await);
    }
    // Asked first, as every change that clears choices is: 409 counting them,
    // nothing deleted or cleared; a confirm that is no boolean is a 400.
    let (s, e) = api
        .delete(&format!("{}/policies/{deny}", base(&t.acme)))
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(
        e["detail"].as_str(),
        Some(
            "Deleting this policy clears the choices that use it: 1 resolver, 1 subnet and \
             1 override. Nothing was deleted; send confirm=true (DELETE …?confirm=true) to \
             delete it."
        ),
        "{e}"
    );
    let (s, e) = api
        .delete(&format!("{}/policies/{deny}?confirm=maybe", base(&t.acme)))
        .await;
    assert_eq!(s, 400, "{e}");
    for (table, id) in rows {
        assert!(!changed_lately(&app, table, id).await, "{table}");
    }
    assert_eq!(uses(&api, &t.a1, "resolvers", &r).await, json!(deny));
    let (s, e) = api
        .delete(&format!("{}/policies/{deny}?confirm=true", base(&t.acme)))
        .await;
    assert_eq!(s, 204, "{e}");
    for (table, id) in rows {
        assert!(changed_lately(&app, table, id).await, "{table}");
    }
    assert_eq!(uses(&api, &t.a1, "resolvers", &r).await, json!(null));
    let (_, o) = api.get(&format!("{}/policies/{over}", base(&t.a1))).await;
    assert_eq!(o["overrides_id"], json!(null), "{o}");
    let (s, e) = api
        .delete(&format!("{}/policies/{over}", base(&t.a1)))
        .await;
    assert_eq!(s, 204, "nothing uses it: {e}");
}

/// #15 L3, #14 L4: the policies list and the five resource lists page as every
/// console list does: a page no link sends (`abc`, `-1`, `0`) is a 400 naming
/// `page`, an unknown parameter (a mail's `utm_source`) is ignored as on the
/// Tenants and Users pages, and a page past the end shows the last page — its
/// rows, never "1 policy" over "No policies".
#[tokio::test]
async fn every_list_refuses_a_bad_page_ignores_unknown_parameters_and_ends_on_its_last_page() {
    let (app, t, api) = partner_app().await;
    let acme = base(&t.acme);
    policy(
        &api,
        &t.acme,
        json!({"name": "Only policy", "kind": "blocking_threshold", "threshold": 10}),
    )
    .await;
    let cloud =
        crate::resources::create_clouds(&api, &[(&t.acme, "only-cloud", "private", vec![])]).await
            ["only-cloud"];
    let (s, e) = api
        .post(
            &format!("{acme}/instances"),
            json!({"name": "only-vm", "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let (s, r) = resolver(&api, &t.acme, "only-dns", None).await;
    assert_eq!(s, 201, "{r}");
    let (s, e) = api
        .post(
            &format!("{acme}/devices"),
            json!({"name": "only-device", "identifier": "dev-1", "resolver_id": r["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    subnet_of(&api, &t.acme, "10.7.0.0/24", &r).await;
    app.login_admin().await;
    for (list, row) in [
        ("policies", "Only policy"),
        ("clouds", "only-cloud"),
        ("instances", "only-vm"),
        ("resolvers", "only-dns"),
        ("devices", "only-device"),
        ("subnets", "10.7.0.0/24"),
    ] {
        let list = format!("/tenants/{}/{list}", t.acme.id);
        for bad in ["abc", "-1", "0", "1.5"] {
            let path = format!("{list}?page={bad}");
            for r in [app.get(&path).await, app.get_hx(&path).await] {
                assert_eq!(status(&r), 400, "{path}");
                let html = r.text().await.unwrap();
                assert!(
                    html.contains(
                        "The query parameter “page” must be a whole number from 1 to 1000000."
                    ),
                    "{path}: {html}"
                );
            }
        }
        for query in [
            "utm_source=mail",
            "utm_source=mail&page=1",
            "page=7",
            "page=1000000",
        ] {
            let path = format!("{list}?{query}");
            let r = app.get(&path).await;
            assert_eq!(status(&r), 200, "{path}");
            let html = r.text().await.unwrap();
            assert!(html.contains(row), "{path}: {html}");
            assert!(!html.contains("No policies"), "{path}");
        }
    }
}

/// #15 L4: the overrides report is titled without a possessive of the tenant's
/// name ("Tenant acme's policies"), and an override's body is checked before the
/// conflict: `{"categories": null}` for a policy overridden already is the
/// documented 422 on `categories`, not "already overrides" (409).
#[tokio::test]
async fn the_overrides_report_reads_well_and_an_override_is_validated_before_its_conflict() {
    let (app, t, api) = partner_app().await;
    let filter = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["adult"],
               "inheritable": true}),
    )
    .await;
    crate::policies_review::override_of(&api, &t.a1, filter, json!({"categories": ["malware"]}))
        .await;
    let again = format!("{}/policies/{filter}/override", base(&t.a1));
    let (s, e) = api.post(&again, json!({"categories": null})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(
        e["errors"]["categories"],
        "May not be null: send a value, or leave the field out to keep it."
    );
    // A body that could be taken meets the conflict.
    let (s, e) = api.post(&again, json!({"categories": ["adult"]})).await;
    assert_eq!(s, 409, "{e}");
    app.login_admin().await;
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    assert!(
        report.contains("<h1>Overrides of policies of Tenant acme</h1>"),
        "{report}"
    );
    assert!(!report.contains("acme&#39;s"), "{report}");
}

/// #14 L2: an `assigned` cloud is assigned to some tenant: created with
/// `assigned_tenant_ids: []`, PATCHed to assigned without a list, or saved on the
/// form with no tenant ticked, it is a field error on `assigned_tenant_ids` and
/// nothing is written.
#[tokio::test]
async fn an_assigned_cloud_is_assigned_to_someone() {
    let (app, t, api) = partner_app().await;
    let acme = base(&t.acme);
    let nobody = "Choose at least one tenant to assign the cloud to, or make it private or public.";
    let (s, e) = api
        .post(
            &format!("{acme}/clouds"),
            json!({"name": "empty", "provider": "aws", "visibility": "assigned",
                   "assigned_tenant_ids": []}),
        )
        .await;
    assert_eq!(
        (s, e["errors"]["assigned_tenant_ids"].as_str()),
        (422, Some(nobody)),
        "{e}"
    );
    let ids =
        crate::resources::create_clouds(&api, &[(&t.acme, "private", "private", vec![])]).await;
    let private = ids["private"];
    let (s, e) = api
        .patch(
            &format!("{acme}/clouds/{private}"),
            json!({"visibility": "assigned"}),
        )
        .await;
    assert_eq!(
        (s, e["errors"]["assigned_tenant_ids"].as_str()),
        (422, Some(nobody)),
        "{e}"
    );
    let (s, e) = api
        .patch(
            &format!("{acme}/clouds/{private}"),
            json!({"visibility": "assigned", "assigned_tenant_ids": []}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    app.login_admin().await;
    let (_, shown) = refused_form(
        &app,
        &format!("/tenants/{}/clouds/new", t.acme.id),
        &[
            ("name", "form-empty"),
            ("provider", "aws"),
            ("visibility", "assigned"),
        ],
        "assigned_tenant_ids",
    )
    .await;
    assert_eq!(shown.as_deref(), Some(nobody));
    let (_, list) = api.get(&format!("{acme}/clouds")).await;
    let clouds = list["items"].as_array().unwrap();
    assert_eq!(clouds.len(), 1, "{list}");
    assert_eq!(clouds[0]["visibility"], "private");
    // With a tenant it goes, and un-ticking every tenant later is refused the same.
    let (s, e) = api
        .patch(
            &format!("{acme}/clouds/{private}"),
            json!({"visibility": "assigned", "assigned_tenant_ids": [t.a1.id]}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let (s, e) = api
        .patch(
            &format!("{acme}/clouds/{private}"),
            json!({"assigned_tenant_ids": []}),
        )
        .await;
    assert_eq!(
        (s, e["errors"]["assigned_tenant_ids"].as_str()),
        (422, Some(nobody)),
        "{e}"
    );
}

/// #14 L1: an assigned cloud shared only with tenants the reader cannot see does not
/// read as assigned to nobody: the list and the cloud's page say "assigned to 2
/// tenants you cannot see", the API adds `assigned_hidden_count`.
#[tokio::test]
async fn a_cloud_assigned_to_unseen_tenants_says_so() {
    let (app, t, admin) = partner_app().await;
    let ids = crate::resources::create_clouds(
        &admin,
        &[(&t.acme, "shared-below", "assigned", vec![t.a1.id, t.a2.id])],
    )
    .await;
    let cloud = ids["shared-below"];
    let viewer = app.user(&t.acme, "viewer").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let api = Api::new(&app, Some(&token_for(&app, &viewer, true).await));
    let item = format!("{}/clouds/{cloud}", base(&t.acme));
    let (s, got) = api.get(&item).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        (&got["assigned_tenant_ids"], &got["assigned_hidden_count"]),
        (&json!([]), &json!(2)),
        "{got}"
    );
    let (_, list) = api.get(&format!("{}/clouds", base(&t.acme))).await;
    assert_eq!(list["items"][0]["assigned_hidden_count"], 2, "{list}");
    let (_, got) = admin.get(&item).await;
    assert_eq!(
        (&got["assigned_tenant_ids"], &got["assigned_hidden_count"]),
        (&json!([t.a1.id, t.a2.id]), &json!(0)),
        "{got}"
    );
    // Shared with a1: its receivers are not told (both null there).
    let (_, got) = admin.get(&format!("{}/clouds/{cloud}", base(&t.a1))).await;
    assert_eq!(got["assigned_hidden_count"], json!(null), "{got}");
    let browser = browser_as(&app, "acme\\viewer").await;
    let html = browser
        .get_html(&format!("/tenants/{}/clouds", t.acme.id))
        .await;
    assert!(
        html.contains("<span class=\"hint assigned-to\">to 2 tenants you cannot see</span>"),
        "{html}"
    );
    let html = browser
        .get_html(&format!("/tenants/{}/clouds/{cloud}", t.acme.id))
        .await;
    assert!(
        html.contains("<dt>Assigned to</dt><dd id=\"assigned-to\">2 tenants you cannot see</dd>"),
        "{html}"
    );
}

/// The fields of a 422's `errors`, sorted.
fn error_fields(problem: &serde_json::Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_object()
        .map(|e| e.keys().cloned().collect())
        .unwrap_or_default();
    fields.sort_unstable();
    fields
}

/// #14 L3: no check hides another field's error. An instance with a bad name and
/// size on an unknown cloud for an unknown owner, a subnet with a bad network and
/// an unknown resolver, a cloud with a bad name assigned to an unknown tenant: each
/// field's error at once, on the API (POST and PATCH) and the forms; nothing
/// written.
#[tokio::test]
async fn every_field_error_is_reported_at_once() {
    let (app, t, api) = partner_app().await;
    let acme = base(&t.acme);
    let all = ["cloud_id", "memory_gb", "name", "owner_id", "storage_gb"];
    let (s, e) = api
        .post(
            &format!("{acme}/instances"),
            json!({"name": " ", "cloud_id": 999_999, "owner_id": 999_998,
                   "storage_gb": -1, "memory_gb": 2_000_000_000}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&e)),
        (422, all.map(String::from).to_vec()),
        "{e}"
    );
    assert_eq!(
        e["errors"]["cloud_id"],
        tenantry::services::instances::UNKNOWN_CLOUD
    );
    assert_eq!(
        e["errors"]["owner_id"],
        tenantry::services::instances::UNKNOWN_OWNER
    );
    let cloud =
        crate::resources::create_clouds(&api, &[(&t.acme, "c", "private", vec![])]).await["c"];
    let (s, vm) = api
        .post(
            &format!("{acme}/instances"),
            json!({"name": "vm", "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1}),
        )
        .await;
    assert_eq!(s, 201, "{vm}");
    let (s, e) = api
        .patch(
            &format!("{acme}/instances/{}", vm["id"]),
            json!({"name": null, "cloud_id": 999_999, "owner_id": 999_998,
                   "storage_gb": -1, "memory_gb": -1}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&e)),
        (422, all.map(String::from).to_vec()),
        "{e}"
    );
    assert_eq!(
        e["errors"]["name"],
        "May not be null: send a value, or leave the field out to keep it."
    );
    let (s, r) = resolver(&api, &t.acme, "dns", None).await;
    assert_eq!(s, 201, "{r}");
    let sn = subnet_of(&api, &t.acme, "10.0.0.0/24", &r).await;
    let subnet = format!("{acme}/subnets/{}", sn["id"]);
    let (s, e) = api
        .patch(
            &subnet,
            json!({"cidr": "10.0.0.5/24", "resolver_id": 999_999}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&e)),
        (422, vec!["cidr".into(), "resolver_id".into()]),
        "{e}"
    );
    assert_eq!(
        e["errors"]["resolver_id"],
        tenantry::services::network::UNKNOWN_RESOLVER
    );
    let (s, e) = api
        .post(
            &format!("{acme}/subnets"),
            json!({"cidr": "nonsense", "resolver_id": 999_999}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&e)),
        (422, vec!["cidr".into(), "resolver_id".into()]),
        "{e}"
    );
    let (s, e) = api
        .post(
            &format!("{acme}/clouds"),
            json!({"name": "", "provider": "aws", "visibility": "assigned",
                   "assigned_tenant_ids": [t.g1.id]}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&e)),
        (422, vec!["assigned_tenant_ids".into(), "name".into()]),
        "{e}"
    );
    // The forms say the same.
    app.login_admin().await;
    let r = app
        .post_form(
            &format!("/tenants/{}/instances/new", t.acme.id),
            &[
                ("name", " "),
                ("cloud_id", "999999"),
                ("owner_id", "999998"),
                ("storage_gb", "-1"),
                ("memory_gb", "1"),
                ("status", "running"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    for field in ["name", "cloud_id", "owner_id", "storage_gb"] {
        assert!(field_error(&html, field).is_some(), "{field}: {html}");
    }
    let r = app
        .post_form(
            &format!("/tenants/{}/subnets/{}", t.acme.id, sn["id"]),
            &[
                ("cidr", "10.0.0.5/24"),
                ("resolver_id", "999999"),
                ("policy_id", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    for field in ["cidr", "resolver_id"] {
        assert!(field_error(&html, field).is_some(), "{field}: {html}");
    }
    // Nothing was written.
    let (_, got) = api.get(&format!("{acme}/instances/{}", vm["id"])).await;
    assert_eq!(
        (got["name"].as_str(), got["storage_gb"].as_i64()),
        (Some("vm"), Some(1))
    );
    let (_, got) = api.get(&subnet).await;
    assert_eq!(got["cidr"], "10.0.0.0/24");
    let (_, list) = api.get(&format!("{acme}/instances")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// #14 L5: a user's limits are in GB with the cap and words of a tenant's: the
/// form says "GB" (never "GiB"), takes what a tenant's limit takes (past the old
/// cap of 1,000,000), and refuses one over the cap as a tenant's limit is refused.
#[tokio::test]
async fn a_users_limits_take_the_unit_and_cap_of_every_limit() {
    let (app, t, api) = partner_app().await;
    app.login_admin().await;
    let role = crate::user_limits::role_of(&app, &t.acme).await;
    let new = format!("/tenants/{}/users/new", t.acme.id);
    let form = app.get_html(&new).await;
    assert!(
        form.contains("Storage limit (GB)") && form.contains("Memory limit (GB)"),
        "{form}"
    );
    assert!(!form.contains("GiB"), "{form}");
    let (s, e) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.acme.id),
            json!({"storage_limit_gb": 1_000_000_000_001_i64}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let tenant_words = e["errors"]["storage_limit_gb"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(tenant_words, "At most 1000000000000.");
    let over = |field: &'static str| {
        let mut fields = crate::user_limits::user_fields("big", &role);
        for f in fields.iter_mut().filter(|(k, _)| *k == field) {
            f.1 = "1000000000001";
        }
        fields
    };
    for field in ["storage_limit_gb", "memory_limit_gb"] {
        let (_, shown) = refused_form(&app, &new, &over(field), field).await;
        assert_eq!(shown.as_deref(), Some(tenant_words.as_str()), "{field}");
    }
    let mut fields = crate::user_limits::user_fields("big", &role);
    for f in fields.iter_mut() {
        if f.0 == "storage_limit_gb" {
            f.1 = "5000000";
        }
        if f.0 == "memory_limit_gb" {
            f.1 = "1000000000000";
        }
    }
    let r = app.post_form(&new, &fields).await;
    assert_eq!(status(&r), 303);
    let row = db(&app)
        .await
        .query_one(
            "SELECT storage_limit_gb, memory_limit_gb FROM users WHERE username = 'big'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)),
        (Some(5_000_000), Some(1_000_000_000_000))
    );
}

/// Review #14 LOWs: a tenant's own administrator changing the tenant itself is told
/// where it is changed from (not "a tenant role may cap it"); a limit with more
/// digits than any number is over the most, not "no number".
#[tokio::test]
async fn an_own_tenant_edit_says_where_it_is_changed_from_and_huge_limits_are_over_the_most() {
    let (app, t, admin) = partner_app().await;
    let user = app.user(&t.a1, "boss").await;
    app.grant(&user, &t.a1, GrantRole::Administrator, Scope::Subtree, true)
        .await;
    let api = Api::new(&app, Some(&token_for(&app, &user, false).await));
    let (s, e) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(
        e["detail"],
        "A tenant's settings, limits and plan are changed from the tenant above it: by \
         whoever manages that tenant's sub-tenants.",
        "{e}"
    );
    // Its sub-tenant a1x it edits.
    let (s, e) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1x.id),
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let _ = admin;
    let browser = app.new_browser();
    browser.login_admin().await;
    let r = browser
        .post_form(
            &format!("/tenants/{}/edit", t.a1.id),
            &[
                ("name", "Tenant a1"),
                ("max_users", "99999999999999999999"),
                ("storage_limit_gb", "99999999999999999999"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("The user limit is at most 2147483647."),
        "{html}"
    );
    assert!(html.contains("At most "), "{html}");
    assert!(!html.contains("Enter a whole number"), "{html}");
}
