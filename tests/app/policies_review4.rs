//! The re-review of policies (#15), through the real app: M1 the overrides report
//! shows overrides of overrides (against the original) and resets them; H1
//! follow-ups: a lock clears the overrides of other policies it leaves without
//! effect (and the confirmation counts them), the report keeps such overrides
//! apart from the drift, the OpenAPI text names a lock between; the lows: a stale
//! confirmation asks again, Cancel keeps the form, a setting of another kind is
//! refused, override names do not nest, the effective view lists each policy once,
//! the report's empty text, readable labels, the resolver and subnet forms' default
//! and "none", their lists' Policy column, a policy form's fields per kind.

use crate::api::{partner_app, Api};
use crate::helpers::*;
use crate::policies::{
    a1_choice, base, cleared_lines, policy, resolver, shadowed_row, subnet, uses, ACME_ALLOW_LOCK,
};
use crate::policies_drift::{change_lines, events, report_row};
use crate::policies_review::{override_of, policy_select, selected};
use serde_json::{json, Value};
use tenantry::domain::{Level, Permissions};

/// The policy `id` of `t` as the API reads it.
async fn read(api: &Api, t: &tenantry::db::models::Tenant, id: i64) -> Value {
    let (s, got) = api.get(&format!("{}/policies/{id}", base(t))).await;
    assert_eq!(s, 200, "{got}");
    got
}

/// The names of the policies `t` owns or sees.
async fn names(api: &Api, t: &tenantry::db::models::Tenant) -> Vec<String> {
    let (_, page) = api.get(&format!("{}/policies?limit=500", base(t))).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// M1 (and L: names): acme's report shows a1x's override of a1's override of acme's
/// policy, compared with acme's policy (the original), naming the override between;
/// its Reset works from there. Compared with the original, an override of an
/// override equal to it is no drift for acme, while a1's report shows it.
#[tokio::test]
async fn the_report_shows_overrides_of_overrides_against_the_original() {
    let (app, t, api) = partner_app().await;
    let original = policy(
        &api,
        &t.acme,
        json!({"name": "Acme BT", "kind": "blocking_threshold", "threshold": 50,
               "inheritable": true}),
    )
    .await;
    let between_them = override_of(&api, &t.a1, original, json!({"threshold": 60})).await;
    let over = override_of(&api, &t.a1x, between_them, json!({"threshold": 90})).await;
    // Named after the original, not nested: "Acme BT (Tenant a1) (Tenant a1x)".
    assert_eq!(
        read(&api, &t.a1, between_them).await["name"],
        "Acme BT (Tenant a1)"
    );
    assert_eq!(
        read(&api, &t.a1x, over).await["name"],
        "Acme BT (Tenant a1x)"
    );
    app.login_admin().await;
    let report_url = format!("/tenants/{}/policies/overrides", t.acme.id);
    let report = app.get_html(&report_url).await;
    let row = report_row(&report, over);
    assert!(
        row.contains("<td>Tenant a1x</td>")
            && row.contains("through Acme BT (Tenant a1), the override of Tenant a1")
            && row.contains("<li>threshold: 50 → 90</li>"),
        "{report}"
    );
    assert!(report_row(&report, between_them).contains("<li>threshold: 50 → 60</li>"));
    let a1_report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.a1.id))
        .await;
    assert!(
        report_row(&a1_report, over).contains("<li>threshold: 60 → 90</li>"),
        "{a1_report}"
    );
    // Reset from acme's report: asked, then back to the report; a1x follows a1's
    // override again.
    let action = format!("/tenants/{}/policies/{over}/reset", t.a1x.id);
    let r = app
        .post_form(&action, &as_pairs(&hidden_fields(&report, &action)))
        .await;
    assert_eq!(status(&r), 200);
    let asked = r.text().await.unwrap();
    let r = app
        .post_form(&action, &as_pairs(&hidden_fields(&asked, &action)))
        .await;
    assert_redirect_to(&r, &report_url);
    let (s, _) = api.get(&format!("{}/policies/{over}", base(&t.a1x))).await;
    assert_eq!(s, 404, "reset");
    assert!(report_row(&app.get_html(&report_url).await, over).is_empty());
    // Equal to the original: nothing for acme; a1 sees it differ from its override.
    let back = override_of(&api, &t.a1x, between_them, json!({"threshold": 50})).await;
    assert!(report_row(&app.get_html(&report_url).await, back).is_empty());
    let a1_report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.a1.id))
        .await;
    assert!(report_row(&a1_report, back).contains("<li>threshold: 60 → 50</li>"));
}

/// H1 a: a lock made later clears the overrides below it of another policy of its
/// kind that it leaves without effect, and the confirmation counts them: by a PATCH
/// (409, then `cleared`) and by the new-policy form; each such tenant's trail says so.
#[tokio::test]
async fn a_lock_clears_the_overrides_of_other_policies_it_shuts_out() {
    let (app, t, api) = partner_app().await;
    let acme_deny = policy(
        &api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["bad.example.com"],
               "inheritable": true}),
    )
    .await;
    let over = override_of(
        &api,
        &t.a1x,
        acme_deny,
        json!({"name": "A1x deny", "domains": ["x.example.com"]}),
    )
    .await;
    let a1_deny = policy(
        &api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["a1.example.com"],
               "inheritable": true}),
    )
    .await;
    let item = format!("{}/policies/{a1_deny}", base(&t.a1));
    let (s, e) = api.patch(&item, json!({"enforcement": "locked"})).await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["detail"].as_str().unwrap().contains(": 1 override."),
        "{e}"
    );
    assert_eq!(read(&api, &t.a1x, over).await["overrides_id"], acme_deny);
    let (s, got) = api
        .patch(&item, json!({"enforcement": "locked", "confirm": true}))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        got["cleared"],
        json!({"resolvers": 0, "subnets": 0, "overrides": 1})
    );
    assert!(read(&api, &t.a1x, over).await["overrides_id"].is_null());
    let cleared = events(&api, &t.a1x, "policy.clear").await;
    assert_eq!(
        change_lines(&cleared[0]),
        [
            "policy A1x deny: override of Acme deny → plain policy (Tenant a1 locks the deny \
          list policy to A1 deny)"
        ]
    );
    // A new lock through the form asks, counting such an override, and clears it.
    let acme_allow = policy(
        &api,
        &t.acme,
        json!({"name": "Acme allow", "kind": "allow_list", "domains": ["ok.example.com"],
               "inheritable": true}),
    )
    .await;
    let over = override_of(
        &api,
        &t.a1x,
        acme_allow,
        json!({"domains": ["y.example.com"]}),
    )
    .await;
    app.login_admin().await;
    let action = format!("/tenants/{}/policies/new", t.a1.id);
    let r = app
        .post_form(
            &action,
            &[
                ("name", "A1 allow"),
                ("kind", "allow_list"),
                ("domains", "a1.example.com"),
                ("inheritable", "true"),
                ("enforcement", "locked"),
            ],
        )
        .await;
    assert_eq!(status(&r), 200, "asked");
    let html = r.text().await.unwrap();
    assert_eq!(cleared_lines(&html), ["Tenant a1x: 1 override"], "{html}");
    let r = app
        .post_form(&action, &as_pairs(&hidden_fields(&html, &action)))
        .await;
    assert_eq!(status(&r), 303);
    assert!(read(&api, &t.a1x, over).await["overrides_id"].is_null());
}

/// H1 b: an override a lock above its tenant leaves without effect (kept from
/// before locks cleared them) is not drift: the report lists it apart, naming the
/// lock, with its Reset.
#[tokio::test]
async fn the_report_keeps_overrides_without_effect_apart_from_the_drift() {
    let (app, t, api) = partner_app().await;
    let acme_deny = policy(
        &api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["bad.example.com"],
               "inheritable": true}),
    )
    .await;
    let over = override_of(
        &api,
        &t.a1x,
        acme_deny,
        json!({"domains": ["x.example.com"]}),
    )
    .await;
    policy(
        &api,
        &t.a1,
        json!({"name": "A1 lock", "kind": "deny_list", "domains": ["a1.example.com"],
               "inheritable": true, "enforcement": "locked", "confirm": true}),
    )
    .await;
    // As a store from before this release may hold it.
    db(&app)
        .await
        .execute(
            "UPDATE policies SET overrides_id = $1 WHERE id = $2",
            &[&acme_deny, &over],
        )
        .await
        .unwrap();
    app.login_admin().await;
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    assert!(report.contains("id=\"no-overrides\""), "no drift: {report}");
    let apart = between(&report, "<section id=\"without-effect\"", "</section>");
    let row = report_row(apart, over);
    assert!(
        row.contains("without effect: locked by Tenant a1 (A1 lock)")
            && row.contains(&format!(
                "action=\"/tenants/{}/policies/{over}/reset\"",
                t.a1x.id
            )),
        "{report}"
    );
}

/// H1 c: the OpenAPI text of an override names a lock between the policy's owner
/// and the tenant.
#[tokio::test]
async fn the_openapi_text_names_a_lock_between_owner_and_tenant() {
    let (app, _t, _api) = partner_app().await;
    let (s, doc) = Api::new(&app, None).get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    let paths = doc["paths"].as_object().unwrap();
    let (_, item) = paths
        .iter()
        .find(|(path, _)| path.ends_with("/policies/{pid}/override"))
        .unwrap_or_else(|| panic!("{:?}", paths.keys().collect::<Vec<_>>()));
    let text = format!(
        "{} {}",
        item["post"]["summary"], item["post"]["description"]
    )
    .replace("\\n", " ")
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ");
    assert!(
        text.contains("a lock above its owner, or between its owner and the tenant, overrules it"),
        "{text}"
    );
}

/// LOW: a confirmation whose counts changed before it was confirmed asks again with
/// the new counts (nothing saved); confirmed then, the message names what it cleared.
#[tokio::test]
async fn a_stale_confirmation_asks_again_and_the_saved_message_names_the_counts() {
    let (app, t, api) = partner_app().await;
    let r_a1 = a1_choice(&api, &t).await;
    app.login_admin().await;
    let action = format!("/tenants/{}/policies/new", t.acme.id);
    let fields = ACME_ALLOW_LOCK;
    let html = app.post_form(&action, &fields).await.text().await.unwrap();
    assert_eq!(cleared_lines(&html), ["Tenant a1: 1 resolver"], "{html}");
    let seen = hidden_fields(&html, &action);
    // Meanwhile a resolver of a2 picks a policy the lock would take from it too.
    let a2_own = policy(
        &api,
        &t.a2,
        json!({"name": "A2 allow", "kind": "allow_list", "domains": ["a2.example.com"]}),
    )
    .await;
    let sn_a2 = subnet(&api, &t.a2, "10.3.0.0/24", a2_own).await;
    let r = app.post_form(&action, &as_pairs(&seen)).await;
    assert_eq!(status(&r), 200, "asked again, not saved");
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"confirm-stale\""), "{html}");
    assert_eq!(
        cleared_lines(&html),
        ["Tenant a1: 1 resolver", "Tenant a2: 1 subnet"],
        "{html}"
    );
    assert!(!names(&api, &t.acme)
        .await
        .contains(&"Acme allow".to_string()));
    assert!(uses(&api, &t.a2, "subnets", &sn_a2).await.is_i64());
    let r = app
        .post_form(&action, &as_pairs(&hidden_fields(&html, &action)))
        .await;
    assert_eq!(status(&r), 303);
    let list = app
        .get_html(&format!("/tenants/{}/policies", t.acme.id))
        .await;
    assert!(
        list.contains("Created policy Acme allow. Cleared below: 1 resolver and 1 subnet"),
        "{list}"
    );
    assert!(uses(&api, &t.a1, "resolvers", &r_a1).await.is_null());
}

/// Posts `fields` to `action`, which asks to confirm, then that confirmation's
/// Cancel: the page it answers (200).
async fn cancelled(app: &TestApp, action: &str, fields: &[(&str, &str)]) -> String {
    let r = app.post_form(action, fields).await;
    assert_eq!(status(&r), 200, "asked");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"confirm-cancel\" name=\"back\""),
        "{html}"
    );
    let mut back = hidden_fields(&html, action);
    back.push(("back".into(), "1".into()));
    let r = app.post_form(action, &as_pairs(&back)).await;
    assert_eq!(status(&r), 200);
    r.text().await.unwrap()
}

/// LOW: Cancel on a lock's confirmation returns to the form as filled in (a new
/// policy's, an edited one's), and saves nothing.
#[tokio::test]
async fn cancel_on_a_confirmation_returns_to_the_filled_form() {
    let (app, t, api) = partner_app().await;
    let r_a1 = a1_choice(&api, &t).await;
    app.login_admin().await;
    let action = format!("/tenants/{}/policies/new", t.acme.id);
    let form = cancelled(
        &app,
        &action,
        &[
            ("name", "Acme allow"),
            ("kind", "allow_list"),
            ("domains", "acme.example.com\nmore.example.com"),
            ("inheritable", "true"),
            ("enforcement", "locked"),
        ],
    )
    .await;
    assert!(
        form.contains("id=\"policy-form\"")
            && form.contains("value=\"Acme allow\"")
            && form.contains(">acme.example.com\nmore.example.com</textarea>")
            && form.contains("<option value=\"locked\" selected>")
            && between(&form, "id=\"inheritable\"", ">").contains("checked"),
        "{form}"
    );
    assert!(!names(&api, &t.acme)
        .await
        .contains(&"Acme allow".to_string()));
    assert!(uses(&api, &t.a1, "resolvers", &r_a1).await.is_i64());
    // An edit's Cancel keeps the edit on its form, and changes nothing.
    let acme = policy(
        &api,
        &t.acme,
        json!({"name": "Acme allow 2", "kind": "allow_list", "domains": ["b.example.com"],
               "inheritable": true}),
    )
    .await;
    let form = cancelled(
        &app,
        &format!("/tenants/{}/policies/{acme}", t.acme.id),
        &[
            ("name", "Acme allow 2"),
            ("kind", "allow_list"),
            ("domains", "c.example.com"),
            ("inheritable", "true"),
            ("enforcement", "locked"),
        ],
    )
    .await;
    assert!(
        form.contains(">c.example.com</textarea>")
            && form.contains("<option value=\"locked\" selected>"),
        "{form}"
    );
    let got = read(&api, &t.acme, acme).await;
    assert_eq!(
        (got["enforcement"].as_str(), &got["domains"]),
        (Some("default"), &json!(["b.example.com"]))
    );
}

/// LOW: a setting of another kind in a PATCH (or an override's body) is a 422
/// naming it, not ignored; nothing changes.
#[tokio::test]
async fn a_setting_of_another_kind_is_refused_by_name() {
    let (_app, t, api) = partner_app().await;
    let threshold = policy(
        &api,
        &t.acme,
        json!({"name": "Acme threshold", "kind": "blocking_threshold", "threshold": 40,
               "inheritable": true}),
    )
    .await;
    let item = format!("{}/policies/{threshold}", base(&t.acme));
    let (s, e) = api
        .patch(&item, json!({"domains": ["x.example.com"]}))
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(
        e["errors"]["domains"],
        "A blocking threshold policy has no domains: its setting is threshold.",
        "{e}"
    );
    let (s, e) = api
        .patch(&item, json!({"threshold": 50, "categories": ["adult"]}))
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["errors"]["categories"].is_string() && e["errors"].get("threshold").is_none());
    assert_eq!(read(&api, &t.acme, threshold).await["threshold"], 40);
    let (s, e) = api
        .post(
            &format!("{}/policies/{threshold}/override", base(&t.a1)),
            json!({"regulatory": ["de_bpjm"]}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["errors"]["regulatory"].is_string(), "{e}");
}

/// The effective view's table.
async fn effective_table(app: &TestApp, t: &tenantry::db::models::Tenant) -> String {
    let html = app
        .get_html(&format!("/tenants/{}/policies/effective", t.id))
        .await;
    between(&html, "<table class=\"data\" id=\"effective\"", "</table>").to_string()
}

/// LOW: the effective view lists every policy the tenant sees once: the applied one
/// in its kind's row, each other below it with what shadows it — an inherited one
/// from farther up too, and an own one under a lock only once.
#[tokio::test]
async fn the_effective_view_lists_each_policy_once_with_what_shadows_it() {
    let (app, t, api) = partner_app().await;
    let acme_deny = policy(
        &api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["a.example.com"],
               "inheritable": true}),
    )
    .await;
    let a1_deny = policy(
        &api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["b.example.com"],
               "inheritable": true}),
    )
    .await;
    let own_allow = policy(
        &api,
        &t.a1x,
        json!({"name": "A1x allow", "kind": "allow_list", "domains": ["c.example.com"]}),
    )
    .await;
    let lock = policy(
        &api,
        &t.acme,
        json!({"name": "Acme allow lock", "kind": "allow_list", "domains": ["d.example.com"],
               "inheritable": true, "enforcement": "locked"}),
    )
    .await;
    app.login_admin().await;
    let table = effective_table(&app, &t.a1x).await;
    let row = between(&table, "<tr data-kind=\"deny_list\">", "</tr>");
    assert!(
        row.contains("A1 deny") && row.contains("inherited from Tenant a1"),
        "{row}"
    );
    assert!(
        shadowed_row(&table, acme_deny).contains(
            "(inherited from Tenant acme): shadowed by A1 deny, inherited from Tenant a1: the \
             nearest inherited policy applies"
        ),
        "{table}"
    );
    assert!(
        shadowed_row(&table, own_allow)
            .contains("(own): overridden by the lock of Tenant acme (no effect)"),
        "{table}"
    );
    for id in [acme_deny, a1_deny, own_allow, lock] {
        let link = format!("/policies/{id}\">");
        assert_eq!(table.matches(&link).count(), 1, "{id} once: {table}");
    }
}

/// LOW: a reader who may not see the tenants below is not told that no override
/// below changes anything, only none that they may see.
#[tokio::test]
async fn the_empty_report_says_what_the_reader_may_see() {
    let (app, t, api) = partner_app().await;
    let shared = policy(
        &api,
        &t.acme,
        json!({"name": "Acme threshold", "kind": "blocking_threshold", "threshold": 40,
               "inheritable": true}),
    )
    .await;
    override_of(&api, &t.a1, shared, json!({"threshold": 80})).await;
    app.user_with_role(&t.acme, "vic", Permissions::all(Level::Read))
        .await;
    let vic = browser_as(&app, "acme\\vic").await;
    let report = vic
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    let empty = between(&report, "<p class=\"empty\" id=\"no-overrides\">", "</p>");
    assert!(
        empty.contains("No override below that you may see changes anything."),
        "{report}"
    );
}

/// LOW (L3): diff rows, the report and the audit trail read categories and
/// regulatory lists by their labels, and name the kind's setting, never `entries`.
#[tokio::test]
async fn differences_and_the_audit_trail_read_as_labels() {
    let (app, t, api) = partner_app().await;
    let filter = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["adult"],
               "inheritable": true}),
    )
    .await;
    let over = override_of(
        &api,
        &t.a1,
        filter,
        json!({"categories": ["adult", "social_media"]}),
    )
    .await;
    app.login_admin().await;
    let page = app
        .get_html(&format!("/tenants/{}/policies/{over}", t.a1.id))
        .await;
    let diff = between(&page, "id=\"differences\"", "</table>");
    assert!(
        diff.contains(
            "<th scope=\"row\">categories</th><td>Adult</td><td>Adult, Social media</td>"
        ) && diff.contains("only in the override: Social media"),
        "{diff}"
    );
    assert!(
        page.contains("> Social media</label>"),
        "the form's labels: {page}"
    );
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    assert!(
        report_row(&report, over)
            .contains("<li>categories: only in the override: Social media</li>"),
        "{report}"
    );
    let (s, _) = api
        .patch(
            &format!("{}/policies/{filter}", base(&t.acme)),
            json!({"categories": ["adult", "weapons"]}),
        )
        .await;
    assert_eq!(s, 200);
    let update = events(&api, &t.acme, "policy.update").await;
    assert_eq!(
        change_lines(&update[0]),
        ["categories: Adult → Adult, Weapons"],
        "{update:?}"
    );
    let regs = policy(
        &api,
        &t.acme,
        json!({"name": "Acme regs", "kind": "regulatory", "regulatory": ["de_bpjm"]}),
    )
    .await;
    let _ = regs;
    let create = events(&api, &t.acme, "policy.create").await;
    assert_eq!(
        create[0]["after"]["regulatory"], "BPjM index (Germany)",
        "{create:?}"
    );
    assert!(
        create.iter().all(|e| e["after"].get("entries").is_none()),
        "{create:?}"
    );
}

/// LOW (L5): a new resolver's or subnet's form offers as the default the policy
/// that applies to the tenant for the nearest inherited kind (its own oldest, not
/// the inherited one), and its "none" names what applies then.
#[tokio::test]
async fn the_forms_default_is_the_effective_policy_and_none_names_it() {
    let (app, t, api) = partner_app().await;
    let own = policy(
        &api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["a1.example.com"]}),
    )
    .await;
    let inherited = policy(
        &api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["a.example.com"],
               "inheritable": true}),
    )
    .await;
    policy(
        &api,
        &t.acme,
        json!({"name": "Acme threshold", "kind": "blocking_threshold", "threshold": 40,
               "inheritable": true}),
    )
    .await;
    app.login_admin().await;
    for form in ["resolvers", "subnets"] {
        let select = policy_select(&app, &t.a1, form).await;
        assert_eq!(selected(&select), Some(own), "{form}: {select}");
        assert!(
            select.contains(&format!("value=\"{inherited}\"")),
            "{select}"
        );
        assert!(
            select.contains(
                "<option value=\"\">(none: the effective policies of Tenant a1 apply — \
                 Acme threshold, A1 deny)</option>"
            ),
            "{select}"
        );
    }
    let select = policy_select(&app, &t.g1, "resolvers").await;
    assert!(
        select.contains("(none: no policy applies to Tenant g1 yet)"),
        "{select}"
    );
}

/// LOW (L6): the resolver and subnet lists name each one's policy, or none.
#[tokio::test]
async fn the_resolver_and_subnet_lists_have_a_policy_column() {
    let (app, t, api) = partner_app().await;
    let deny = policy(
        &api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["a.example.com"],
               "inheritable": true}),
    )
    .await;
    let (s, with) = resolver(&api, &t.a1, "dns-with", Some(deny)).await;
    assert_eq!(s, 201, "{with}");
    let (s, without) = resolver(&api, &t.a1, "dns-without", None).await;
    assert_eq!(s, 201, "{without}");
    let sn = subnet(&api, &t.a1, "10.4.0.0/24", deny).await;
    app.login_admin().await;
    let list = app
        .get_html(&format!("/tenants/{}/resolvers", t.a1.id))
        .await;
    assert!(list.contains("<th scope=\"col\">Policy</th>"), "{list}");
    let link = format!(
        "<td class=\"policy\"><a href=\"/tenants/{}/policies/{deny}\">Acme deny</a></td>",
        t.a1.id
    );
    let row = between(
        &list,
        &format!("data-resolver-id=\"{}\"", with["id"]),
        "</tr>",
    );
    assert!(row.contains(&link), "{row}");
    let row = between(
        &list,
        &format!("data-resolver-id=\"{}\"", without["id"]),
        "</tr>",
    );
    assert!(
        row.contains("none (the tenant's effective policies)"),
        "{row}"
    );
    let list = app.get_html(&format!("/tenants/{}/subnets", t.a1.id)).await;
    let row = between(&list, &format!("data-subnet-id=\"{}\"", sn["id"]), "</tr>");
    assert!(row.contains(&link), "{row}");
}

/// LOW (L8): a policy's page shows only its kind's fields; the new-policy form shows
/// every kind's, each labelled, until a kind is chosen (`?kind=`, which htmx asks for
/// when the kind is chosen), then only that kind's.
#[tokio::test]
async fn policy_pages_show_only_their_kinds_fields() {
    let (app, t, api) = partner_app().await;
    let threshold = policy(
        &api,
        &t.acme,
        json!({"name": "Acme threshold", "kind": "blocking_threshold", "threshold": 40,
               "inheritable": true}),
    )
    .await;
    app.login_admin().await;
    let settings = ["threshold", "categories", "regulatory", "domains"];
    let shown = |html: &str| -> Vec<&str> {
        settings
            .iter()
            .copied()
            .filter(|f| html.contains(&format!("name=\"{f}\"")))
            .collect()
    };
    for path in [
        format!("/tenants/{}/policies/{threshold}", t.acme.id),
        format!("/tenants/{}/policies/{threshold}", t.a1.id),
        format!("/tenants/{}/policies/{threshold}/override", t.a1.id),
    ] {
        let html = app.get_html(&path).await;
        assert_eq!(shown(&html), ["threshold"], "{path}");
    }
    let new = format!("/tenants/{}/policies/new", t.acme.id);
    let html = app.get_html(&new).await;
    assert_eq!(shown(&html), settings, "every kind's before one is chosen");
    assert!(html.contains("(for a content filter)"), "{html}");
    let kind = between(&html, "<select id=\"kind\"", ">");
    assert!(
        kind.contains(&format!("hx-get=\"{new}\""))
            && kind.contains("hx-target=\"#policy-settings\""),
        "{kind}"
    );
    let html = app.get_html(&format!("{new}?kind=deny_list")).await;
    assert_eq!(shown(&html), ["domains"]);
    assert!(
        html.contains("<option value=\"deny_list\" selected>"),
        "{html}"
    );
    let r = app.get_hx(&format!("{new}?kind=regulatory")).await;
    let fragment = r.text().await.unwrap();
    assert!(
        fragment.contains("id=\"policy-settings\"") && shown(&fragment) == ["regulatory"],
        "{fragment}"
    );
    assert_eq!(status(&app.get(&format!("{new}?kind=nope")).await), 400);
    // A form sent back with errors keeps to the chosen kind.
    let (html, error) = refused_form(
        &app,
        &new,
        &[("name", "X"), ("kind", "content_filter")],
        "categories",
    )
    .await;
    assert!(error.is_some());
    assert_eq!(shown(&html), ["categories"]);
}
