//! Resolvers, devices and subnets (#14 part B) through the API and the pages: every
//! field checked (nothing written on bad input), another tenant's ids refused or not
//! found, overlapping subnets refused naming the other one (also when created at
//! once), a used resolver not deleted, and the tenant's safe delete blocked by them.

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

async fn admin_api(app: &TestApp) -> Api {
    let token = token_for(app, &app.admin, false).await;
    Api::new(app, Some(&token))
}

fn base(t: &Tenant) -> String {
    format!("/api/v1/tenants/{}", t.id)
}

/// Rows of `table` of the tenant.
async fn rows(app: &TestApp, table: &str, t: &Tenant) -> i64 {
    db(app)
        .await
        .query_one(
            &format!("SELECT count(*) FROM {table} WHERE tenant_id = $1"),
            &[&t.id],
        )
        .await
        .unwrap()
        .get(0)
}

async fn resolver(api: &Api, t: &Tenant, name: &str, address: &str) -> Value {
    let (s, r) = api
        .post(
            &format!("{}/resolvers", base(t)),
            json!({"name": name, "address": address}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    r
}

// ---------------------------------------------------------------- API

#[tokio::test]
async fn the_api_creates_reads_changes_lists_and_deletes_them() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    let r1 = resolver(&api, &t.acme, "dns-1", " 192.0.2.53 ").await;
    assert_eq!(
        (r1["address"].as_str(), r1["policy_id"].is_null()),
        (Some("192.0.2.53"), true)
    );
    let r2 = resolver(&api, &t.acme, "dns-2", "2001:DB8::53").await;
    assert_eq!(r2["address"], "2001:db8::53");
    let (s, d) = api
        .post(
            &format!("{b}/devices"),
            json!({"name": "Router", "identifier": "AA:BB:CC:00:11:22", "resolver_id": r1["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let (s, net) = api
        .post(
            &format!("{b}/subnets"),
            json!({"cidr": "10.0.0.0/16", "resolver_id": r1["id"]}),
        )
        .await;
    assert_eq!(
        (s, net["cidr"].as_str()),
        (201, Some("10.0.0.0/16")),
        "{net}"
    );
    // Read and change.
    let (s, got) = api.get(&format!("{b}/devices/{}", d["id"])).await;
    assert_eq!(
        (s, got["identifier"].as_str()),
        (200, Some("AA:BB:CC:00:11:22"))
    );
    let (s, moved) = api
        .patch(
            &format!("{b}/devices/{}", d["id"]),
            json!({"resolver_id": r2["id"]}),
        )
        .await;
    assert_eq!((s, &moved["resolver_id"]), (200, &r2["id"]), "{moved}");
    let (s, renamed) = api
        .patch(
            &format!("{b}/resolvers/{}", r2["id"]),
            json!({"name": "dns-b"}),
        )
        .await;
    assert_eq!(
        (s, renamed["name"].as_str(), renamed["address"].as_str()),
        (200, Some("dns-b"), Some("2001:db8::53"))
    );
    // Lists page with a cursor.
    let (s, page) = api.get(&format!("{b}/resolvers?limit=1")).await;
    assert_eq!((s, page["items"].as_array().unwrap().len()), (200, 1));
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (s, rest) = api
        .get(&format!("{b}/resolvers?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(rest["items"][0]["id"], r2["id"]);
    assert!(rest["next_cursor"].is_null(), "{rest}");
    // A resolver in use stays, and the refusal names what uses it.
    let (s, e) = api.delete(&format!("{b}/resolvers/{}", r2["id"])).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(
        e["detail"],
        "The resolver dns-b cannot be deleted: 1 device (Router) uses it. Move them to \
         another resolver or delete them first."
    );
    let (s, e) = api.delete(&format!("{b}/resolvers/{}", r1["id"])).await;
    assert_eq!(s, 409);
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("1 subnet (10.0.0.0/16)"),
        "{e}"
    );
    assert_eq!(rows(&app, "resolvers", &t.acme).await, 2);
    // Once nothing uses it, it goes.
    for path in [
        format!("{b}/devices/{}", d["id"]),
        format!("{b}/subnets/{}", net["id"]),
        format!("{b}/resolvers/{}", r1["id"]),
        format!("{b}/resolvers/{}", r2["id"]),
    ] {
        let (s, body) = api.delete(&path).await;
        assert_eq!(s, 204, "{path}: {body}");
        assert_eq!(api.get(&path).await.0, 404, "{path}");
    }
    // Every change is audited.
    let actions: Vec<String> = db(&app)
        .await
        .query(
            "SELECT action FROM audit_events WHERE tenant_id = $1 AND action LIKE '%.%' \
             AND split_part(action, '.', 1) IN ('resolver', 'device', 'subnet') ORDER BY id",
            &[&t.acme.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(actions.len(), 10, "{actions:?}");
}

#[tokio::test]
async fn bad_values_are_field_errors_and_change_nothing() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    let ours = resolver(&api, &t.acme, "dns", "192.0.2.53").await;
    let theirs = resolver(&api, &t.globex, "theirs", "192.0.2.54").await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "resolvers",
            json!({"name": "x", "address": "300.1.1.1"}),
            "address",
            "not an IP address",
        ),
        (
            "resolvers",
            json!({"name": "x", "address": "10.0.0.0/8"}),
            "address",
            "single address",
        ),
        (
            "resolvers",
            json!({"name": "DNS", "address": "192.0.2.1"}),
            "name",
            "This tenant has a resolver of this name.",
        ),
        (
            "resolvers",
            json!({"name": "x", "address": "192.0.2.1", "policy_id": 5}),
            "policy_id",
            "Unknown policy",
        ),
        (
            "subnets",
            json!({"cidr": "10.0.0.5/24", "resolver_id": ours["id"]}),
            "cidr",
            "10.0.0.5/24 has host bits set; did you mean 10.0.0.0/24?",
        ),
        (
            "subnets",
            json!({"cidr": "10.0.0.0/33", "resolver_id": ours["id"]}),
            "cidr",
            "not a network",
        ),
        (
            "subnets",
            json!({"cidr": "10.0.0.0/24", "resolver_id": theirs["id"]}),
            "resolver_id",
            "Unknown resolver",
        ),
        (
            "subnets",
            json!({"cidr": "10.0.0.0/24", "resolver_id": 999999}),
            "resolver_id",
            "Unknown resolver",
        ),
        (
            "devices",
            json!({"name": "d", "identifier": "a b", "resolver_id": ours["id"]}),
            "identifier",
            "spaces",
        ),
        (
            "devices",
            json!({"name": "d", "identifier": "x1", "resolver_id": theirs["id"]}),
            "resolver_id",
            "Unknown resolver",
        ),
        (
            "devices",
            json!({"name": "", "identifier": "x1", "resolver_id": ours["id"]}),
            "name",
            "Enter a name",
        ),
    ];
    for (collection, body, field, message) in cases {
        let (s, e) = api.post(&format!("{b}/{collection}"), body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        let got = e["errors"][field].as_str().unwrap_or_default();
        assert!(got.contains(message), "{body}: {field} {got:?} in {e}");
    }
    assert_eq!(rows(&app, "resolvers", &t.acme).await, 1);
    assert_eq!(rows(&app, "subnets", &t.acme).await, 0);
    assert_eq!(rows(&app, "devices", &t.acme).await, 0);
    // The same identifier twice (any case) is refused, naming the device.
    let (s, _) = api
        .post(
            &format!("{b}/devices"),
            json!({"name": "First", "identifier": "SN-1", "resolver_id": ours["id"]}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = api
        .post(
            &format!("{b}/devices"),
            json!({"name": "Second", "identifier": "sn-1", "resolver_id": ours["id"]}),
        )
        .await;
    assert_eq!(
        (s, e["errors"]["identifier"].as_str()),
        (422, Some("The device First has this identifier already."))
    );
    // Unknown fields and wrong types are 400s.
    let (s, _) = api
        .post(
            &format!("{b}/resolvers"),
            json!({"name": "x", "address": "192.0.2.9", "extra": 1}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = api
        .post(
            &format!("{b}/devices"),
            json!({"name": "x", "identifier": "y", "resolver_id": "one"}),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn another_tenants_items_are_not_found_through_this_tenants_paths() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let theirs = resolver(&api, &t.globex, "theirs", "192.0.2.54").await;
    let (_, net) = api
        .post(
            &format!("{}/subnets", base(&t.globex)),
            json!({"cidr": "10.9.0.0/16", "resolver_id": theirs["id"]}),
        )
        .await;
    let b = base(&t.acme);
    for path in [
        format!("{b}/resolvers/{}", theirs["id"]),
        format!("{b}/subnets/{}", net["id"]),
    ] {
        assert_eq!(api.get(&path).await.0, 404, "{path}");
        assert_eq!(api.patch(&path, json!({})).await.0, 404, "{path}");
        assert_eq!(api.delete(&path).await.0, 404, "{path}");
    }
    // Pages too.
    app.login_admin().await;
    for path in [
        format!("/tenants/{}/resolvers/{}", t.acme.id, theirs["id"]),
        format!("/tenants/{}/subnets/{}", t.acme.id, net["id"]),
    ] {
        assert_eq!(status(&app.get(&path).await), 404, "{path}");
        assert_eq!(
            status(
                &app.post_form(&format!("{path}/delete"), &[("confirm", "yes")])
                    .await
            ),
            404,
            "{path}"
        );
    }
    assert_eq!(rows(&app, "resolvers", &t.globex).await, 1);
    assert_eq!(rows(&app, "subnets", &t.globex).await, 1);
    // The same range in another tenant is fine: only a tenant's own subnets overlap.
    let ours = resolver(&api, &t.acme, "ours", "192.0.2.53").await;
    let (s, _) = api
        .post(
            &format!("{b}/subnets"),
            json!({"cidr": "10.9.0.0/16", "resolver_id": ours["id"]}),
        )
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn an_overlapping_subnet_is_refused_naming_the_one_it_overlaps() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let b = base(&t.acme);
    let r = resolver(&api, &t.acme, "dns", "192.0.2.53").await;
    let subnet = |cidr: &str| json!({"cidr": cidr, "resolver_id": r["id"]});
    let (s, wide) = api
        .post(&format!("{b}/subnets"), subnet("10.0.0.0/8"))
        .await;
    assert_eq!(s, 201);
    for (cidr, message) in [
        (
            "10.1.0.0/16",
            "10.1.0.0/16 overlaps the subnet 10.0.0.0/8 of this tenant.",
        ),
        (
            "0.0.0.0/0",
            "0.0.0.0/0 overlaps the subnet 10.0.0.0/8 of this tenant.",
        ),
        (
            "10.0.0.0/8",
            "This tenant has the subnet 10.0.0.0/8 already.",
        ),
    ] {
        let (s, e) = api.post(&format!("{b}/subnets"), subnet(cidr)).await;
        assert_eq!(
            (s, e["errors"]["cidr"].as_str()),
            (422, Some(message)),
            "{cidr}"
        );
    }
    // IPv6 beside it is fine; an edit may keep its own range.
    let (s, _) = api
        .post(&format!("{b}/subnets"), subnet("2001:db8::/32"))
        .await;
    assert_eq!(s, 201);
    let (s, narrowed) = api
        .patch(
            &format!("{b}/subnets/{}", wide["id"]),
            json!({"cidr": "10.0.0.0/9"}),
        )
        .await;
    assert_eq!((s, narrowed["cidr"].as_str()), (200, Some("10.0.0.0/9")));
    let (s, e) = api
        .patch(
            &format!("{b}/subnets/{}", wide["id"]),
            json!({"cidr": "2001:db8:1::/48"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(rows(&app, "subnets", &t.acme).await, 2);
}

/// Overlapping subnets created at once: exactly one of each overlapping group is
/// created; every other answer is the field error naming a subnet it overlaps —
/// the database's exclusion constraint decides, and its refusal is never a 500.
#[tokio::test]
async fn overlapping_subnets_created_at_once_leave_exactly_one() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let r = resolver(&api, &t.acme, "dns", "192.0.2.53").await;
    let url = format!("{}{}/subnets", app.address, base(&t.acme));
    let mut tasks = Vec::new();
    for i in 0..24 {
        // 10.0.0.0/8 to 10.0.0.0/31: different networks, all holding 10.0.0.0, so
        // any two overlap.
        let cidr = format!("10.0.0.0/{}", 8 + i);
        let req = api
            .http
            .post(&url)
            .bearer_auth(api.token.as_deref().unwrap())
            .json(&json!({"cidr": cidr, "resolver_id": r["id"]}));
        tasks.push(tokio::spawn(send(req)));
    }
    let mut created = 0;
    for task in tasks {
        let (s, body) = task.await.unwrap();
        match s {
            201 => created += 1,
            422 => assert!(
                body["errors"]["cidr"]
                    .as_str()
                    .is_some_and(|m| m.contains("overlaps the subnet") || m.contains("already")),
                "{body}"
            ),
            // A lock wait that ran out: nothing changed, the client may try again.
            409 => assert_eq!(body["type"], "urn:tenantry:problem:try-again", "{body}"),
            _ => panic!("{s}: {body}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(rows(&app, "subnets", &t.acme).await, 1);
}

#[tokio::test]
async fn resources_need_their_feature_readers_read_and_writers_write() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let admin = admin_api(&app).await;
    let r = resolver(&admin, &t.acme, "dns", "192.0.2.53").await;
    // A Viewer over acme reads, but changes nothing.
    let viewer = app.user(&t.acme, "viewer").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let token = token_for(&app, &viewer, false).await;
    let api = Api::new(&app, Some(&token));
    let b = base(&t.acme);
    assert_eq!(api.get(&format!("{b}/resolvers")).await.0, 200);
    assert_eq!(api.get(&format!("{b}/resolvers/{}", r["id"])).await.0, 200);
    let (s, _) = api
        .post(
            &format!("{b}/resolvers"),
            json!({"name": "x", "address": "192.0.2.1"}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        api.patch(&format!("{b}/resolvers/{}", r["id"]), json!({"name": "y"}))
            .await
            .0,
        403
    );
    assert_eq!(
        api.delete(&format!("{b}/resolvers/{}", r["id"])).await.0,
        403
    );
    // A tenant it does not see: 404.
    assert_eq!(
        api.get(&format!("{}/resolvers", base(&t.globex))).await.0,
        404
    );
    assert_eq!(rows(&app, "resolvers", &t.acme).await, 1);
    // A tenant role capping Resources to none: the pages and the API refuse.
    let mut caps = Permissions::all(Level::Full);
    caps.set(tenantry::domain::Feature::Resources, Level::None);
    capped(&app, &t.a2, "No resources", &caps).await;
    let a2_admin = subtree_admin(&app, &t.a2, "a2admin").await;
    assert_eq!(
        status(
            &a2_admin
                .get(&format!("/tenants/{}/resolvers", t.a2.id))
                .await
        ),
        403
    );
}

// ---------------------------------------------------------------- pages

#[tokio::test]
async fn the_pages_create_list_filter_edit_and_delete() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let list = format!("/tenants/{}/resolvers", t.acme.id);
    // A bad address: the form again with the field error and the input kept.
    let r = app
        .post_form(
            &format!("{list}/new"),
            &[("name", "dns-1"), ("address", "10.0.0.300")],
        )
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(field_error(&html, "address")
        .unwrap()
        .contains("not an IP address"));
    assert!(html.contains("value=\"dns-1\""), "input kept");
    assert_eq!(rows(&app, "resolvers", &t.acme).await, 0);
    for (name, address) in [("dns-1", "192.0.2.53"), ("backup", "192.0.2.54")] {
        let r = app
            .post_form(
                &format!("{list}/new"),
                &[("name", name), ("address", address)],
            )
            .await;
        assert_redirect_to(&r, &list);
    }
    let html = app.get_html(&list).await;
    assert!(html.contains("dns-1") && html.contains("backup"), "{html}");
    let html = app.get_html(&format!("{list}?q=back")).await;
    assert!(
        html.contains("backup") && !html.contains(">dns-1<"),
        "{html}"
    );
    let rid: i64 = db(&app)
        .await
        .query_one(
            "SELECT id FROM resolvers WHERE tenant_id = $1 AND name = 'dns-1'",
            &[&t.acme.id],
        )
        .await
        .unwrap()
        .get(0);
    // A device: no resolver chosen, then a made-up one, then right.
    let devices = format!("/tenants/{}/devices", t.acme.id);
    let r = app
        .post_form(
            &format!("{devices}/new"),
            &[
                ("name", "Router"),
                ("identifier", "sn-1"),
                ("resolver_id", ""),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "resolver_id").is_some());
    let r = app
        .post_form(
            &format!("{devices}/new"),
            &[
                ("name", "Router"),
                ("identifier", "sn-1"),
                ("resolver_id", "abc"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "resolver_id")
        .unwrap()
        .contains("Unknown resolver"));
    let rid_text = rid.to_string();
    let r = app
        .post_form(
            &format!("{devices}/new"),
            &[
                ("name", "Router"),
                ("identifier", "sn-1"),
                ("resolver_id", &rid_text),
            ],
        )
        .await;
    assert_redirect_to(&r, &devices);
    let html = app.get_html(&format!("{devices}?resolver={rid}")).await;
    assert!(html.contains("Router"), "{html}");
    let html = app.get_html(&format!("{devices}?q=nothing-like-it")).await;
    assert!(!html.contains("Router"));
    assert_eq!(
        status(&app.get(&format!("{devices}?resolver=x")).await),
        400
    );
    // A subnet with host bits: the field error says which network is meant.
    let subnets = format!("/tenants/{}/subnets", t.acme.id);
    let r = app
        .post_form(
            &format!("{subnets}/new"),
            &[("cidr", "10.0.0.5/24"), ("resolver_id", &rid_text)],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert_eq!(
        field_error(&r.text().await.unwrap(), "cidr").as_deref(),
        Some("10.0.0.5/24 has host bits set; did you mean 10.0.0.0/24?")
    );
    let r = app
        .post_form(
            &format!("{subnets}/new"),
            &[("cidr", "10.0.0.0/24"), ("resolver_id", &rid_text)],
        )
        .await;
    assert_redirect_to(&r, &subnets);
    let html = app.get_html(&format!("{subnets}?q=10.0.0.7")).await;
    assert!(html.contains("10.0.0.0/24"), "{html}");
    let html = app.get_html(&format!("{subnets}?q=192.168.0.0/16")).await;
    assert!(!html.contains("10.0.0.0/24"));
    let r = app.get(&format!("{subnets}?q=nonsense")).await;
    assert_eq!(status(&r), 422);
    // The resolver in use: its delete is refused, naming what uses it.
    let r = app.post_form(&format!("{list}/{rid}/delete"), &[]).await;
    assert_eq!(status(&r), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("1 device (Router) and 1 subnet (10.0.0.0/24) use it"),
        "{html}"
    );
    // The backup resolver is unused: asked, then deleted.
    let backup: i64 = db(&app)
        .await
        .query_one(
            "SELECT id FROM resolvers WHERE tenant_id = $1 AND name = 'backup'",
            &[&t.acme.id],
        )
        .await
        .unwrap()
        .get(0);
    let r = app.post_form(&format!("{list}/{backup}/delete"), &[]).await;
    assert_eq!(status(&r), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Delete the resolver backup?"));
    assert_eq!(rows(&app, "resolvers", &t.acme).await, 2);
    let r = app
        .post_form(&format!("{list}/{backup}/delete"), &[("confirm", "yes")])
        .await;
    assert_redirect_to(&r, &list);
    assert_eq!(rows(&app, "resolvers", &t.acme).await, 1);
    // The tenant page links to them.
    let html = app.get_html(&format!("/tenants/{}", t.acme.id)).await;
    assert!(html.contains("id=\"tenant-resolvers\""));
}

// ---------------------------------------------------------------- safe delete

/// A day of traffic for `tenant` at `day` (what the usage folder writes).
async fn traffic(app: &TestApp, tenant: &Tenant, day: chrono::NaiveDate, queries: i64) {
    db(app)
        .await
        .execute(
            "INSERT INTO usage_daily (tenant_id, day, queries, blocked) \
             VALUES ($1, $2::text::date, $3, 0)",
            &[&tenant.id, &day.to_string(), &queries],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_safe_delete_is_blocked_by_resolvers_devices_and_recent_traffic() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    // a1x (below a1) has a resolver and a device.
    let r = resolver(&api, &t.a1x, "a1x-dns", "192.0.2.53").await;
    let (s, _) = api
        .post(
            &format!("{}/devices", base(&t.a1x)),
            json!({"name": "Box", "identifier": "b-1", "resolver_id": r["id"]}),
        )
        .await;
    assert_eq!(s, 201);
    // A safe delete of a1x: blocked by both, named with their tenant.
    let (s, e) = api.delete(&base(&t.a1x)).await;
    assert_eq!(s, 409, "{e}");
    let kinds: Vec<&str> = e["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["resolvers", "devices"], "{e}");
    assert_eq!(
        e["blockers"][0]["message"],
        "1 resolver: a1x-dns (Tenant a1x)."
    );
    assert_eq!(e["blockers"][1]["message"], "1 device: Box (Tenant a1x).");
    // Without them, traffic in the last 30 days blocks; older traffic does not.
    let (s, _) = api.delete(&format!("{}?force=true", base(&t.a1x))).await;
    assert_eq!(s, 204);
    assert_eq!(
        rows(&app, "resolvers", &t.a1x).await,
        0,
        "forced: gone with it"
    );
    assert_eq!(rows(&app, "devices", &t.a1x).await, 0);
    let today = app.clock.now().date_naive();
    traffic(&app, &t.a2, today - chrono::Duration::days(30), 500).await;
    traffic(&app, &t.a2, today - chrono::Duration::days(29), 0).await;
    let (s, _) = api.delete(&base(&t.a2)).await;
    assert_eq!(s, 204, "traffic 30 days ago or none is no blocker");
    let g1 = t.g1.clone();
    traffic(&app, &g1, today - chrono::Duration::days(29), 7).await;
    let (s, e) = api.delete(&base(&g1)).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["blockers"][0]["kind"], "usage");
    assert_eq!(
        e["blockers"][0]["message"],
        "Traffic in the last 30 days in 1 tenant: Tenant g1 (traffic cannot be deleted: wait until it is 30 days old, or force the delete)."
    );
    // A month on by the app's clock, the same traffic no longer blocks; the usage
    // history stays (migration `usage`).
    app.clock.advance(chrono::Duration::days(1));
    let (s, _) = api.delete(&base(&g1)).await;
    assert_eq!(s, 204);
    let kept: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM usage_daily WHERE tenant_id = $1",
            &[&g1.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
}

#[tokio::test]
async fn the_delete_page_lists_the_blockers_naming_only_tenants_the_deleter_sees() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    for (tenant, name) in [(&t.a1, "a1-dns"), (&t.a1x, "a1x-dns")] {
        resolver(&api, tenant, name, "192.0.2.53").await;
    }
    // An Owner over acme's subtree sees both.
    app.login_admin().await;
    let html = app.get_html(&format!("/tenants/{}/delete", t.a1.id)).await;
    let blockers = between(&html, "id=\"blockers\"", "</div>");
    assert!(
        blockers.contains("2 resolvers: a1-dns (Tenant a1) and a1x-dns (Tenant a1x)."),
        "{blockers}"
    );
    assert!(html.contains("id=\"impact-resolvers\">2<"), "{html}");
    // Whoever may delete a1 manages acme's whole subtree and so sees every tenant
    // in it; the names still follow what the one asking sees. A user holding acme
    // and a1 alone (no grant reaching a1x) is told of a1x's resolver unnamed.
    let owner = app.user(&t.acme, "owner").await;
    app.grant(&owner, &t.acme, GrantRole::Owner, Scope::Tenant, true)
        .await;
    app.grant(&owner, &t.a1, GrantRole::Owner, Scope::Tenant, true)
        .await;
    let p = app.principal(&owner).await;
    let preview = tenantry::services::tenants::delete_preview(
        &mut *app.conn().await,
        &p,
        &t.a1,
        app.clock.now(),
    )
    .await
    .unwrap();
    let resolvers = preview
        .blockers
        .iter()
        .find(|b| b.kind == "resolvers")
        .unwrap();
    assert_eq!(
        resolvers.message,
        "2 resolvers: a1-dns (Tenant a1) and 1 more in tenants you cannot see."
    );
    let preview = tenantry::services::tenants::delete_preview(
        &mut *app.conn().await,
        &p,
        &t.a1x,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        preview.blockers[0].message,
        "1 resolver in tenants you cannot see."
    );
}

// ---------------------------------------------------------------- the switcher

/// The switcher's hidden `return_to` on the page.
fn return_to(html: &str) -> String {
    let form = between(html, "<form id=\"switcher\"", "</form>");
    let start = form.find("name=\"return_to\" value=\"").expect("return_to") + 24;
    form[start..start + form[start..].find('"').expect("end")].to_string()
}

#[tokio::test]
async fn switching_on_a_resource_page_lands_on_the_same_page_of_the_new_tenant() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let (a1, a2) = (t.a1.id, t.a2.id);
    let switch = async |browser: &TestApp, tenant: i64, kind: &str| {
        browser
            .post_form(
                "/switch",
                &[("tenant_id", &tenant.to_string()), ("return_to", kind)],
            )
            .await
    };
    for kind in ["clouds", "instances", "resolvers", "devices", "subnets"] {
        // The list, its new form: the same kind of page.
        for page in [kind.to_string(), format!("{kind}/new")] {
            let html = app.get_html(&format!("/tenants/{a1}/{page}")).await;
            assert_eq!(return_to(&html), kind, "{page}");
        }
        let want = format!("/tenants/{a2}/{kind}");
        assert_redirect_to(&switch(&app, a2, kind).await, &want);
        assert_eq!(status(&app.get(&want).await), 200, "{want}");
        switch(&app, app.root.id, "").await;
    }
    // A tenant whose role caps Resources to none has no such page: the dashboard.
    let mut caps = Permissions::all(Level::Full);
    caps.set(tenantry::domain::Feature::Resources, Level::None);
    capped(&app, &t.a2, "No resources", &caps).await;
    let alice = subtree_admin(&app, &t.acme, "alice").await;
    for kind in ["clouds", "instances", "resolvers", "devices", "subnets"] {
        assert_redirect_to(
            &switch(&alice, a1, kind).await,
            &format!("/tenants/{a1}/{kind}"),
        );
        assert_redirect_to(&switch(&alice, a2, kind).await, "/dashboard");
    }
}

/// A create whose tenant is deleted while it runs (its insert waits on the deleted
/// row's lock, then finds no tenant) answers 404, not an internal error.
#[tokio::test]
async fn a_create_racing_the_deletion_of_its_tenant_is_not_found() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let (s, leaf) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": t.acme.id, "name": "Doomed", "subdomain": "doomed"}),
        )
        .await;
    assert_eq!(s, 201, "{leaf}");
    let id = leaf["id"].as_i64().unwrap();
    let deleter = db(&app).await;
    deleter.batch_execute("BEGIN").await.unwrap();
    deleter
        .execute("DELETE FROM tenants WHERE id = $1", &[&id])
        .await
        .unwrap();
    let create = tokio::spawn(async move {
        api.post(
            &format!("/api/v1/tenants/{id}/resolvers"),
            json!({"name": "dns", "address": "192.0.2.1"}),
        )
        .await
    });
    // Commit once the create waits on a lock (or has already answered).
    let watcher = db(&app).await;
    while !create.is_finished() {
        let waiting: i64 = lock_waiters(&watcher).await;
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    deleter.batch_execute("COMMIT").await.unwrap();
    let (s, body) = create.await.unwrap();
    assert_eq!(s, 404, "{body}");
    let left: i64 = watcher
        .query_one(
            "SELECT count(*) FROM resolvers WHERE tenant_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// A refused search says what the parameter takes, once.
#[tokio::test]
async fn a_refused_search_names_the_parameter_and_its_rule() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = admin_api(&app).await;
    let long = "a".repeat(101);
    let (s, body) = api
        .get(&format!("{}/instances?q={long}", base(&t.acme)))
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(
        body["detail"], "The query parameter “q” must be at most 100 characters long.",
        "{body}"
    );
}
