//! The black-box review's findings on policies (#15), each through the real app:
//! M1 the default a resolver or subnet form offers is always one it may use, and a
//! second lock of a kind already locked is refused; M2 the ways to the policies
//! (nav, tenant page, the forms' links); M3 the bulk move's preview names the
//! policies gained and lost; M4 an override wins over the tenant's other policies
//! of its kind; L1–L6 forbidden options left out, an existing override reached
//! instead of a second one, a free default override name, labelled differences,
//! fields sent twice and unknown query parameters refused (400).

use crate::api::{partner_app, Api};
use crate::helpers::*;
use crate::policies::{base, policies, policy, resolver, shadowed_row, Policies};
use serde_json::{json, Value};
use tenantry::db::models::Tenant;
use tenantry::domain::{Feature, Level, Permissions};

/// The `<select id="policy_id">` of a tenant's new resolver or subnet form.
pub(crate) async fn policy_select(app: &TestApp, t: &Tenant, form: &str) -> String {
    let html = app.get_html(&format!("/tenants/{}/{form}/new", t.id)).await;
    between(&html, "<select id=\"policy_id\"", "</select>").to_string()
}

pub(crate) fn selected(select: &str) -> Option<i64> {
    let at = select.find("\" selected")?;
    let start = select[..at].rfind("value=\"")? + 7;
    select[start..at].parse().ok()
}

fn offers(select: &str, id: i64) -> bool {
    select.contains(&format!("value=\"{id}\""))
}

/// An override of `of` made by `t` through the API (its id).
pub(crate) async fn override_of(api: &Api, t: &Tenant, of: i64, body: Value) -> i64 {
    let (s, o) = api
        .post(&format!("{}/policies/{of}/override", base(t)), body)
        .await;
    assert_eq!(s, 201, "{o}");
    o["id"].as_i64().unwrap()
}

/// M1 + L1: where a tenant above locks the kind of the nearest inherited policy,
/// the lock is the default, and no other policy of that kind is offered at all.
#[tokio::test]
async fn a_form_offers_the_lock_as_the_default_and_leaves_out_what_it_forbids() {
    let (app, t, api) = partner_app().await;
    let p: Policies = policies(&api, &t).await;
    // a1's deny list (its oldest policy: the threshold is made again after it)
    // cannot be used below acme's lock.
    let (s, e) = api
        .delete(&format!("{}/policies/{}", base(&t.a1), p.a1_threshold))
        .await;
    assert_eq!(s, 204, "{e}");
    let a1_deny = policy(
        &api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["x.example.com"],
               "inheritable": true}),
    )
    .await;
    let a1_threshold = policy(
        &api,
        &t.a1,
        json!({"name": "A1 threshold", "kind": "blocking_threshold", "threshold": 40,
               "inheritable": true}),
    )
    .await;
    let own_deny = policy(
        &api,
        &t.a1x,
        json!({"name": "Own deny", "kind": "deny_list", "domains": ["y.example.com"]}),
    )
    .await;
    app.login_admin().await;
    for form in ["resolvers", "subnets"] {
        let select = policy_select(&app, &t.a1x, form).await;
        assert_eq!(selected(&select), Some(p.acme_deny), "{form}: {select}");
        assert!(
            !offers(&select, a1_deny) && !offers(&select, own_deny),
            "{select}"
        );
        assert!(offers(&select, a1_threshold), "another kind is offered");
    }
    // Kept as offered, the default saves.
    let r = app
        .post_form(
            &format!("/tenants/{}/resolvers/new", t.a1x.id),
            &[
                ("name", "dns"),
                ("address", "192.0.2.1"),
                ("policy_id", &p.acme_deny.to_string()),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
}

/// M1 + M4: the tenant's own override of the nearest inherited policy is the
/// default, and what applies in the effective view, ahead of another policy of its
/// own of that kind made earlier (a lower id).
#[tokio::test]
async fn an_override_is_the_default_and_the_effective_policy_of_its_kind() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let earlier = policy(
        &api,
        &t.g1,
        json!({"name": "Aaa own filter", "kind": "content_filter", "categories": ["gambling"]}),
    )
    .await;
    let over = override_of(
        &api,
        &t.g1,
        p.globex_filter,
        json!({"name": "G1 filter", "categories": ["malware"]}),
    )
    .await;
    assert!(earlier < over);
    app.login_admin().await;
    for form in ["resolvers", "subnets"] {
        let select = policy_select(&app, &t.g1, form).await;
        assert_eq!(selected(&select), Some(over), "{form}: {select}");
        assert!(offers(&select, p.globex_filter) && offers(&select, earlier));
    }
    let html = app
        .get_html(&format!("/tenants/{}/policies/effective", t.g1.id))
        .await;
    let row = between(&html, "<tr data-kind=\"content_filter\">", "</tr>");
    assert!(
        row.contains("G1 filter") && row.contains("override of Globex filter (Tenant globex)"),
        "{row}"
    );
    // The other policy of its own is not the one applied: listed as such.
    let applied = between(row, "<td>", "</td>");
    assert!(!applied.contains("Aaa own filter"), "{row}");
    let other = shadowed_row(&html, earlier);
    assert!(
        other.contains("Aaa own filter</a>")
            && other.contains("(own): shadowed by the override G1 filter"),
        "{other}"
    );
    // Without the override, the earlier policy of its own applies again.
    let (s, _) = api
        .delete(&format!("{}/policies/{over}", base(&t.g1)))
        .await;
    assert_eq!(s, 204);
    let html = app
        .get_html(&format!("/tenants/{}/policies/effective", t.g1.id))
        .await;
    let row = between(&html, "<tr data-kind=\"content_filter\">", "</tr>");
    assert!(
        row.contains("Aaa own filter") && row.contains(">own<"),
        "{row}"
    );
    // And the forms offer it first: what applies, not the inherited one it shadows.
    let select = policy_select(&app, &t.g1, "resolvers").await;
    assert_eq!(selected(&select), Some(earlier), "{select}");
}

/// M1: a second lock of a kind that is locked already (above, or by the tenant
/// itself) could never be used below it: 422 on `enforcement`, on create, on a
/// change to locked and on the form; the same policy not inheritable is no lock.
#[tokio::test]
async fn a_second_lock_of_a_locked_kind_is_refused_on_enforcement() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let locked = |name: &str| {
        json!({"name": name, "kind": "deny_list", "domains": ["z.example.com"],
               "inheritable": true, "enforcement": "locked"})
    };
    let refused = |e: &Value, starts: &str| {
        e["errors"]["enforcement"]
            .as_str()
            .is_some_and(|m| m.starts_with(starts))
    };
    // Below acme's lock.
    let (s, e) = api
        .post(&format!("{}/policies", base(&t.a1)), locked("A1 lock"))
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        refused(
            &e,
            "Tenant acme locks the deny list policy here already (Acme deny)"
        ),
        "{e}"
    );
    // Beside acme's own lock.
    let (s, e) = api
        .post(
            &format!("{}/policies", base(&t.acme)),
            locked("Acme lock 2"),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        refused(
            &e,
            "This tenant locks the deny list policy already with Acme deny"
        ),
        "{e}"
    );
    // Not inheritable: no lock on anyone, accepted; made inheritable: refused.
    let mut private = locked("Acme private lock");
    private["inheritable"] = json!(false);
    let private = policy(&api, &t.acme, private).await;
    let (s, e) = api
        .patch(
            &format!("{}/policies/{private}", base(&t.acme)),
            json!({"inheritable": true}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        refused(&e, "This tenant locks the deny list policy already"),
        "{e}"
    );
    // A change of its own lock is no second lock.
    let (s, e) = api
        .patch(
            &format!("{}/policies/{}", base(&t.acme), p.acme_deny),
            json!({"domains": ["other.example.com"]}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    // The form says so on the field, and keeps the input.
    app.login_admin().await;
    let (html, e) = refused_form(
        &app,
        &format!("/tenants/{}/policies/new", t.a1.id),
        &[
            ("name", "A1 lock"),
            ("kind", "deny_list"),
            ("domains", "z.example.com"),
            ("inheritable", "true"),
            ("enforcement", "locked"),
        ],
        "enforcement",
    )
    .await;
    assert!(
        e.unwrap_or_default()
            .starts_with("Tenant acme locks the deny list policy here already"),
        "{html}"
    );
    assert!(html.contains("value=\"A1 lock\""), "{html}");
    let (_, page) = api.get(&format!("{}/policies", base(&t.a1))).await;
    assert!(
        !page.to_string().contains("A1 lock"),
        "nothing written: {page}"
    );
}

/// Locked refusals beyond the create: a subnet's change through the API and the
/// edit forms of a resolver and a subnet refuse another policy of a locked kind;
/// keeping the item's policy is never refused.
#[tokio::test]
async fn a_locked_kind_is_refused_on_changes_of_resolvers_and_subnets_too() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let own_deny = policy(
        &api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["x.example.com"]}),
    )
    .await;
    let locked = "Tenant acme locks the deny list policy here: use Acme deny (or none).";
    let (s, r) = resolver(&api, &t.a1, "dns", Some(p.acme_deny)).await;
    assert_eq!(s, 201, "{r}");
    let (s, sn) = api
        .post(
            &format!("{}/subnets", base(&t.a1)),
            json!({"cidr": "10.0.0.0/24", "resolver_id": r["id"], "policy_id": p.acme_deny}),
        )
        .await;
    assert_eq!(s, 201, "{sn}");
    let subnet = format!("{}/subnets/{}", base(&t.a1), sn["id"]);
    let (s, e) = api.patch(&subnet, json!({"policy_id": own_deny})).await;
    assert_eq!(
        (s, e["errors"]["policy_id"].as_str()),
        (422, Some(locked)),
        "{e}"
    );
    let (s, e) = api.patch(&subnet, json!({"cidr": "10.0.1.0/24"})).await;
    assert_eq!(s, 200, "{e}");
    app.login_admin().await;
    let own = own_deny.to_string();
    let rid = r["id"].to_string();
    for (page, fields) in [
        (
            format!("/tenants/{}/resolvers/{}", t.a1.id, r["id"]),
            vec![
                ("name", "dns"),
                ("address", "192.0.2.53"),
                ("policy_id", own.as_str()),
            ],
        ),
        (
            format!("/tenants/{}/subnets/{}", t.a1.id, sn["id"]),
            vec![
                ("cidr", "10.0.1.0/24"),
                ("resolver_id", rid.as_str()),
                ("policy_id", own.as_str()),
            ],
        ),
    ] {
        let (_, e) = refused_form(&app, &page, &fields, "policy_id").await;
        assert_eq!(e.as_deref(), Some(locked), "{page}");
    }
    let (_, got) = api.get(&subnet).await;
    assert_eq!(got["policy_id"], json!(p.acme_deny), "unchanged: {got}");
}

/// M2: the ways to a tenant's policies: the nav of the acting tenant, the tenant
/// page, and on the resolver and subnet forms its policies and, for who may write
/// them, "Create a policy of its own"; none of them without Policies read.
#[tokio::test]
async fn the_nav_the_tenant_page_and_the_forms_lead_to_the_policies() {
    let (app, t, _api) = partner_app().await;
    app.login_admin().await;
    let html = app.get_html("/dashboard").await;
    assert!(
        html.contains(&format!(
            "href=\"/tenants/{}/policies\" id=\"nav-policies\"",
            app.root.id
        )),
        "{html}"
    );
    let html = app.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert!(
        html.contains(&format!(
            "href=\"/tenants/{}/policies\" id=\"tenant-policies\"",
            t.a1.id
        )),
        "{html}"
    );
    for form in ["resolvers", "subnets"] {
        let html = app
            .get_html(&format!("/tenants/{}/{form}/new", t.a1.id))
            .await;
        let links = between(&html, "id=\"policy-links\"", "</p>");
        assert!(
            links.contains(&format!("href=\"/tenants/{}/policies\"", t.a1.id)),
            "{links}"
        );
        assert!(
            links.contains(&format!(
                "href=\"/tenants/{}/policies/new\" id=\"new-policy\">Create a policy of its own",
                t.a1.id
            )),
            "{form}: {links}"
        );
    }
    // Resources full, Policies read: the list, not the new policy.
    let mut reads = Permissions::all(Level::Full);
    reads.set(Feature::Policies, Level::Read);
    app.user_with_role(&t.a1, "rita", reads).await;
    let rita = app.new_browser();
    assert_redirect_to(&rita.login("a1\\rita", PASSWORD).await, "/dashboard");
    let html = rita.get_html("/dashboard").await;
    assert!(html.contains("id=\"nav-policies\""), "{html}");
    let html = rita
        .get_html(&format!("/tenants/{}/resolvers/new", t.a1.id))
        .await;
    assert!(html.contains("id=\"policy-links\""), "{html}");
    assert!(!html.contains("id=\"new-policy\""), "{html}");
    // Without Policies read: no way in.
    let mut none = Permissions::all(Level::Full);
    none.set(Feature::Policies, Level::None);
    app.user_with_role(&t.a1, "nora", none).await;
    let nora = app.new_browser();
    assert_redirect_to(&nora.login("a1\\nora", PASSWORD).await, "/dashboard");
    let html = nora.get_html("/dashboard").await;
    assert!(!html.contains("id=\"nav-policies\""), "{html}");
    let html = nora.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert!(!html.contains("id=\"tenant-policies\""), "{html}");
    let html = nora
        .get_html(&format!("/tenants/{}/subnets/new", t.a1.id))
        .await;
    // Nor a policy to pick (review #15 L2): the form says why instead.
    assert!(
        !html.contains("<select id=\"policy_id\"")
            && !html.contains("id=\"policy-links\"")
            && html.contains("Your access to Tenant a1 does not include its policies"),
        "{html}"
    );
}

/// M3: a bulk move's preview names, per tenant, the policies its subtree would
/// lose and gain, as the single move's preview does (page and API `dry_run`).
#[tokio::test]
async fn the_bulk_move_preview_names_the_policies_gained_and_lost() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    // A choice the move clears (review #15 L4: said as the single preview says it).
    let (s, r) = resolver(&api, &t.a1, "dns", Some(p.acme_deny)).await;
    assert_eq!(s, 201, "{r}");
    let (s, page) = api
        .post(
            "/api/v1/tenants/bulk",
            json!({"ids": [t.a1.id, t.g1.id], "action": "move", "parent_id": t.globex.id,
                   "dry_run": true}),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let message = |id: i64| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == json!(id))
            .map(|i| i["message"].clone())
            .unwrap()
    };
    let a1 = message(t.a1.id);
    let a1 = a1.as_str().unwrap_or_default();
    assert!(
        a1.starts_with("loses policies Acme deny (Tenant acme)")
            && a1.ends_with(
                "; gains policies Globex filter (Tenant globex); clears the policy \
                 choices of 1 resolver",
            ),
        "{page}"
    );
    assert!(
        !a1.contains("A1 threshold") && !a1.contains("Acme only"),
        "{a1}"
    );
    // g1 stays where it is: nothing to say about policies.
    assert_eq!(page["items"][1]["outcome"], "unchanged", "{page}");
    assert!(!message(t.g1.id).to_string().contains("policies"), "{page}");
    // The page's preview says the same, and nothing moved yet.
    app.login_admin().await;
    let r = app
        .post_form(
            "/tenants/bulk",
            &[
                ("ids", &t.a1.id.to_string()),
                ("action", "move"),
                ("parent", &t.globex.id.to_string()),
            ],
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("loses policies Acme deny (Tenant acme)")
            && html.contains("gains policies Globex filter (Tenant globex)")
            && html.contains("clears the policy choices of 1 resolver"),
        "{html}"
    );
    assert_eq!(app.reload(&t.a1).await.unwrap().parent_id, Some(t.acme.id));
}

/// L2, L3, L4: the default name of an override is a free one ("… 2" when the
/// first is taken); a tenant that overrides a policy already is led to its
/// override instead of a second one; the differences say which side is which.
#[tokio::test]
async fn overrides_get_a_free_name_are_reached_again_and_label_their_differences() {
    let (app, t, api) = partner_app().await;
    let allow = policy(
        &api,
        &t.acme,
        json!({"name": "Acme allow", "kind": "allow_list",
               "domains": ["a.example.com", "b.example.com"], "inheritable": true}),
    )
    .await;
    policy(
        &api,
        &t.a2,
        json!({"name": "Acme allow (Tenant a2)", "kind": "allow_list",
               "domains": ["q.example.com"]}),
    )
    .await;
    app.login_admin().await;
    let form = format!("/tenants/{}/policies/{allow}/override", t.a2.id);
    let html = app.get_html(&form).await;
    assert!(
        html.contains("value=\"Acme allow (Tenant a2) 2\""),
        "the form offers a free name: {html}"
    );
    let (s, over) = api
        .post(
            &format!("{}/policies/{allow}/override", base(&t.a2)),
            json!({"domains": ["a.example.com", "c.example.com"]}),
        )
        .await;
    assert_eq!(
        (s, over["name"].as_str()),
        (201, Some("Acme allow (Tenant a2) 2")),
        "{over}"
    );
    let oid = over["id"].as_i64().unwrap();
    // The override form again leads to the override; the inherited policy links it.
    let r = app.get(&form).await;
    assert_redirect_to(&r, &format!("/tenants/{}/policies/{oid}", t.a2.id));
    let html = app
        .get_html(&format!("/tenants/{}/policies/{allow}", t.a2.id))
        .await;
    let note = between(&html, "id=\"overridden-by\"", "</p>");
    assert!(
        note.contains(&format!("href=\"/tenants/{}/policies/{oid}\"", t.a2.id)),
        "{note}"
    );
    assert!(!html.contains("id=\"override-policy\""), "{html}");
    // Labelled sides: on the override's page and in the report.
    let html = app
        .get_html(&format!("/tenants/{}/policies/{oid}", t.a2.id))
        .await;
    let diff = between(
        &html,
        "<table class=\"data\" id=\"differences\"",
        "</table>",
    );
    assert!(
        diff.contains(
            "<th scope=\"row\">domains</th><td>a.example.com, b.example.com</td>\
             <td>a.example.com, c.example.com</td>"
        ),
        "{diff}"
    );
    assert!(
        diff.contains("only in the inherited policy: b.example.com")
            && diff.contains("only in the override: c.example.com"),
        "{diff}"
    );
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    assert!(
        report.contains(
            "domains: only in the inherited policy: b.example.com → only in the override: \
             c.example.com"
        ),
        "{report}"
    );
}

/// L5, L6: a policy form with a one-value field sent twice is a 400 (the lists'
/// fields repeat by design), and the policy pages refuse unknown query parameters.
#[tokio::test]
async fn repeated_fields_and_unknown_parameters_are_refused() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    app.login_admin().await;
    let new = format!("/tenants/{}/policies/new", t.acme.id);
    for twice in [
        vec![
            ("name", "One"),
            ("name", "Two"),
            ("kind", "regulatory"),
            ("regulatory", "de_bpjm"),
        ],
        vec![
            ("name", "One"),
            ("kind", "regulatory"),
            ("kind", "deny_list"),
            ("regulatory", "de_bpjm"),
        ],
        vec![
            ("name", "One"),
            ("kind", "deny_list"),
            ("domains", "a.example.com"),
            ("domains", "b.example.com"),
        ],
    ] {
        let r = app.post_form(&new, &twice).await;
        assert_eq!(status(&r), 400, "{twice:?}");
    }
    let r = app
        .post_form(
            &format!("/tenants/{}/policies/{}", t.acme.id, p.acme_deny),
            &[
                ("name", "Acme deny"),
                ("enforcement", "locked"),
                ("enforcement", "default"),
            ],
        )
        .await;
    assert_eq!(status(&r), 400);
    // Two regulatory lists: one field, two values.
    let r = app
        .post_form(
            &new,
            &[
                ("name", "Regs"),
                ("kind", "regulatory"),
                ("regulatory", "de_bpjm"),
                ("regulatory", "uk_ofcom"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
    let (_, got) = api.get(&format!("{}/policies", base(&t.acme))).await;
    let regs = got["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Regs")
        .cloned()
        .unwrap();
    assert_eq!(regs["regulatory"], json!(["de_bpjm", "uk_ofcom"]));
    assert_eq!(
        got["items"].as_array().unwrap().len(),
        3,
        "the refused forms wrote nothing: {got}"
    );
    // The list ignores an unknown parameter, as every console list does (review
    // #15 L3); the other pages take none.
    let r = app.get(&format!("/tenants/{}/policies?x=1", t.a1.id)).await;
    assert_eq!(status(&r), 200);
    for page in [
        format!("/tenants/{}/policies/new?x=1", t.a1.id),
        format!("/tenants/{}/policies/effective?x=1", t.a1.id),
        format!("/tenants/{}/policies/overrides?x=1", t.a1.id),
        format!("/tenants/{}/policies/{}?x=1", t.a1.id, p.a1_threshold),
        format!(
            "/tenants/{}/policies/{}/override?x=1",
            t.a1x.id, p.a1_threshold
        ),
    ] {
        let r = app.get(&page).await;
        assert_eq!(status(&r), 400, "{page}");
        let ok = app.get(page.trim_end_matches("?x=1")).await;
        assert_eq!(status(&ok), 200, "{page}");
    }
}
