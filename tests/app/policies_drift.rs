//! The second black-box review of policies (#15), each finding through the real
//! app: M3 the overrides report and an override's page show every real difference
//! (settings, reach below, enforcement) with both values; M4 the audit trail of a
//! policy's change (the fields changed, a label) and of what it cleared below (an
//! entry in each tenant touched); L1 two overrides of one policy at once: 201 and
//! 409s; L2 a long default override name keeps its tenant part whole; L5 the
//! effective view says which of several policies applies and lists the others; L6
//! `null` in a PATCH is refused naming the field; L7 internationalised domains are
//! taken, and every bad line of a list is named.

use crate::api::{partner_app, Api};
use crate::helpers::*;
use crate::policies::{base, policies, policy, resolver, shadowed_row};
use crate::policies_review::override_of;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;

/// The side-by-side table of override `id`'s page in `t`.
async fn differences(app: &TestApp, t: &Tenant, id: i64) -> String {
    let html = app
        .get_html(&format!("/tenants/{}/policies/{id}", t.id))
        .await;
    between(
        &html,
        "<table class=\"data\" id=\"differences\"",
        "</table>",
    )
    .to_string()
}

/// The overrides report's row of override `id` (empty when it is not listed).
pub(crate) fn report_row(report: &str, id: i64) -> String {
    let start = format!("<tr data-policy-id=\"{id}\">");
    if !report.contains(&start) {
        return String::new();
    }
    between(report, &start, "</tr>").to_string()
}

/// M3: an override that differs only in reaching below (not inheritable) or in its
/// enforcement is reported, and a locked one with a changed threshold by both
/// differences; its page shows both values of every field, marking those that
/// differ (the inherited entries too, not "—").
#[tokio::test]
async fn the_report_and_the_override_page_show_every_real_difference() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let threshold = policy(
        &api,
        &t.acme,
        json!({"name": "Acme threshold", "kind": "blocking_threshold", "threshold": 30,
               "inheritable": true}),
    )
    .await;
    let locked = override_of(
        &api,
        &t.a2,
        threshold,
        json!({"threshold": 70, "inheritable": true, "enforcement": "locked"}),
    )
    .await;
    let not_inheritable = override_of(&api, &t.a1, threshold, json!({"inheritable": false})).await;
    let only_locked = override_of(
        &api,
        &t.g1,
        p.globex_filter,
        json!({"inheritable": true, "enforcement": "locked"}),
    )
    .await;
    // Equal in every compared field: no drift, not listed.
    let same = override_of(&api, &t.a1x, p.a1_threshold, json!({"inheritable": true})).await;
    app.login_admin().await;
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.acme.id))
        .await;
    let row = report_row(&report, locked);
    assert!(
        row.contains("<li>threshold: 30 → 70</li>")
            && row.contains("<li>enforcement: default → locked</li>")
            && !row.contains("inheritable:"),
        "{report}"
    );
    let row = report_row(&report, not_inheritable);
    assert!(row.contains("<li>inheritable: yes → no</li>"), "{report}");
    assert!(!row.contains("threshold:"), "{row}");
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.globex.id))
        .await;
    let row = report_row(&report, only_locked);
    assert!(
        row.contains("<li>enforcement: default → locked</li>") && !row.contains("categories:"),
        "{report}"
    );
    let report = app
        .get_html(&format!("/tenants/{}/policies/overrides", t.a1.id))
        .await;
    assert!(report_row(&report, same).is_empty(), "{report}");
    assert!(report.contains("id=\"no-overrides\""), "{report}");
    // The override's page: every field side by side, the differences marked.
    let diff = differences(&app, &t.a2, locked).await;
    for row in [
        "<tr class=\"differs\"><th scope=\"row\">threshold</th><td>30</td><td>70</td>",
        "<tr class=\"same\"><th scope=\"row\">inheritable</th><td>yes</td><td>yes</td>",
        "<tr class=\"differs\"><th scope=\"row\">enforcement</th><td>default</td><td>locked</td>",
    ] {
        assert!(diff.contains(row), "{row}: {diff}");
    }
    let diff = differences(&app, &t.g1, only_locked).await;
    assert!(
        diff.contains(
            "<tr class=\"same\"><th scope=\"row\">categories</th><td>Adult, Malware</td>\
             <td>Adult, Malware</td>"
        ),
        "{diff}"
    );
    // An override that adds a domain: the inherited list is shown, not "—".
    let allow = policy(
        &api,
        &t.acme,
        json!({"name": "Acme allow", "kind": "allow_list", "domains": ["a.example.com"],
               "inheritable": true}),
    )
    .await;
    let more = override_of(
        &api,
        &t.a2,
        allow,
        json!({"domains": ["a.example.com", "b.example.com"], "inheritable": true}),
    )
    .await;
    let diff = differences(&app, &t.a2, more).await;
    assert!(
        diff.contains(
            "<tr class=\"differs\"><th scope=\"row\">domains</th><td>a.example.com</td>\
             <td>a.example.com, b.example.com</td>"
        ) && diff.contains("only in the override: b.example.com")
            && !diff.contains("—"),
        "{diff}"
    );
}

/// The events of `action` in `t`'s own trail, newest first.
pub(crate) async fn events(api: &Api, t: &Tenant, action: &str) -> Vec<Value> {
    let (s, page) = api
        .get(&format!("{}/activity?action={action}", base(t)))
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// An event's changes as `field: before → after` lines.
pub(crate) fn change_lines(event: &Value) -> Vec<String> {
    event["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let side = |v: &Value| v.as_str().unwrap_or("none").to_string();
            format!(
                "{}: {} → {}",
                c["field"].as_str().unwrap(),
                side(&c["before"]),
                side(&c["after"])
            )
        })
        .collect()
}

/// M4: a policy's change is recorded with the fields it changed, before and
/// after, under a label; each tenant whose resolvers, subnets or overrides it
/// cleared gets an entry in its own trail saying which and why, for a policy
/// made not inheritable and for a lock taking effect.
#[tokio::test]
async fn a_change_records_what_it_changed_and_each_tenant_what_it_cleared() {
    let (app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let shared = policy(
        &api,
        &t.acme,
        json!({"name": "Acme share", "kind": "allow_list", "domains": ["a.example.com"],
               "inheritable": true}),
    )
    .await;
    let (s, r) = resolver(&api, &t.a1, "dns", Some(shared)).await;
    assert_eq!(s, 201, "{r}");
    let (s, r2) = resolver(&api, &t.a2, "dns2", None).await;
    assert_eq!(s, 201, "{r2}");
    let (s, sn) = api
        .post(
            &format!("{}/subnets", base(&t.a2)),
            json!({"cidr": "10.0.0.0/24", "resolver_id": r2["id"], "policy_id": shared}),
        )
        .await;
    assert_eq!(s, 201, "{sn}");
    override_of(&api, &t.a1, shared, json!({"name": "A1 share"})).await;
    let (s, e) = api
        .patch(
            &format!("{}/policies/{shared}", base(&t.acme)),
            json!({"inheritable": false, "domains": ["b.example.com"], "confirm": true}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let update = events(&api, &t.acme, "policy.update").await;
    assert_eq!(update.len(), 1, "{update:?}");
    let update = &update[0];
    assert_eq!(update["action_label"], "Changed a policy", "{update}");
    assert_eq!(
        change_lines(update),
        [
            "domains: a.example.com → b.example.com",
            "inheritable: true → false"
        ],
        "{update}"
    );
    assert_eq!(
        update["before"],
        json!({"policy_id": shared, "domains": "a.example.com", "inheritable": true}),
        "{update}"
    );
    // Each tenant touched has its entry, in its own trail.
    let why = "(Tenant acme made Acme share not inheritable)";
    let a1 = events(&api, &t.a1, "policy.clear").await;
    assert_eq!(a1.len(), 1, "{a1:?}");
    assert_eq!(a1[0]["tenant_id"], json!(t.a1.id));
    assert_eq!(
        a1[0]["action_label"],
        "Cleared policy choices that no longer apply"
    );
    assert_eq!(
        change_lines(&a1[0]),
        [
            format!("policy A1 share: override of Acme share → plain policy {why}"),
            format!("resolver dns: Acme share → none {why}"),
        ]
    );
    let a2 = events(&api, &t.a2, "policy.clear").await;
    assert_eq!(
        change_lines(&a2[0]),
        [format!("subnet 10.0.0.0/24: Acme share → none {why}")]
    );
    assert!(events(&api, &t.g1, "policy.clear").await.is_empty());
    // The activity page of a1 says so too.
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/activity", t.a1.id))
        .await;
    let event = between(&html, "data-action=\"policy.clear\"", "</tr>");
    assert!(
        event.contains("Cleared policy choices that no longer apply")
            && event.contains("<span class=\"field-name\">resolver dns</span>"),
        "{event}"
    );
    // A lock taking effect: the choices of another policy of its kind below.
    let (s, r) = resolver(&api, &t.g1, "g-dns", Some(p.globex_filter)).await;
    assert_eq!(s, 201, "{r}");
    let own = policy(
        &api,
        &t.g1,
        json!({"name": "G1 filter", "kind": "content_filter", "categories": ["gambling"]}),
    )
    .await;
    let (s, r) = resolver(&api, &t.g1, "g-dns2", Some(own)).await;
    assert_eq!(s, 201, "{r}");
    policy(
        &api,
        &t.globex,
        json!({"name": "Globex lock", "kind": "content_filter", "categories": ["weapons"],
               "inheritable": true, "enforcement": "locked",
               "confirm": true}),
    )
    .await;
    let g1 = events(&api, &t.g1, "policy.clear").await;
    assert_eq!(
        change_lines(&g1[0]),
        [
            "resolver g-dns: Globex filter → none (Tenant globex locks the content filter \
             policy to Globex lock)",
            "resolver g-dns2: G1 filter → none (Tenant globex locks the content filter \
             policy to Globex lock)",
        ]
    );
    let create = events(&api, &t.globex, "policy.create").await;
    assert!(
        change_lines(&create[0])
            .iter()
            .all(|l| !l.starts_with("cleared:")),
        "{create:?}"
    );
}

/// L1: overrides of one policy in one tenant at the same time, with the same
/// (default) name: one is created, and every other one gets the answer a second
/// override made afterwards gets (409 naming the policy and its override), never
/// the name's 422 nor the bare unique violation. Several rounds, the requests all
/// in flight at once.
#[tokio::test]
async fn concurrent_overrides_of_one_policy_are_one_201_and_409s() {
    let (_app, t, api) = partner_app().await;
    for round in 0..10 {
        let of = policy(
            &api,
            &t.acme,
            json!({"name": format!("Acme deny {round}"), "kind": "deny_list",
                   "domains": ["x.example.com"], "inheritable": true}),
        )
        .await;
        let path = format!("{}/policies/{of}/override", base(&t.a2));
        let answers = futures_util::future::join_all(
            (0..10).map(|_| api.post(&path, json!({"domains": ["y.example.com"]}))),
        )
        .await;
        let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{answers:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 409),
            "{answers:?}"
        );
        for (s, e) in &answers {
            if *s == 409 {
                assert!(
                    e["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("This tenant overrides Acme deny")),
                    "{e}"
                );
            }
        }
    }
}

/// L2: the default name of an override of a long-named policy is shortened in the
/// inherited policy's name, so that "(tenant)" and the number stay whole.
#[tokio::test]
async fn a_long_default_override_name_keeps_its_tenant_and_number_whole() {
    let (app, t, api) = partner_app().await;
    let long = "Blocklist ".repeat(10);
    let long = long.trim();
    let of = policy(
        &api,
        &t.acme,
        json!({"name": long, "kind": "deny_list", "domains": ["x.example.com"],
               "inheritable": true}),
    )
    .await;
    let (s, first) = api
        .post(
            &format!("{}/policies/{of}/override", base(&t.a2)),
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{first}");
    let name = first["name"].as_str().unwrap();
    assert!(name.ends_with("… (Tenant a2)"), "{name}");
    assert!(name.chars().count() <= 100, "{name}");
    assert!(name.starts_with("Blocklist Blocklist"), "{name}");
    // With that name taken by a plain policy elsewhere, the form offers "… 2".
    let (s, _) = api
        .delete(&format!("{}/policies/{}", base(&t.a2), first["id"]))
        .await;
    assert_eq!(s, 204);
    policy(
        &api,
        &t.a2,
        json!({"name": name, "kind": "allow_list", "domains": ["ok.example.com"]}),
    )
    .await;
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/policies/{of}/override", t.a2.id))
        .await;
    let marker = "id=\"name\" name=\"name\" type=\"text\" value=\"";
    let offered = between(&html, marker, "\" maxlength").trim_start_matches(marker);
    assert!(offered.ends_with("… (Tenant a2) 2"), "{offered}");
    assert!(offered.chars().count() <= 100, "{offered}");
}

/// L5: with several policies of one kind of its own, the effective view names the
/// one that applies, the rule that chose it, and lists the others as not applied.
#[tokio::test]
async fn the_effective_view_says_which_of_several_own_policies_applies() {
    let (app, t, api) = partner_app().await;
    let _ = policies(&api, &t).await;
    let first = policy(
        &api,
        &t.a2,
        json!({"name": "Zz first allow", "kind": "allow_list", "domains": ["a.example.com"]}),
    )
    .await;
    let second = policy(
        &api,
        &t.a2,
        json!({"name": "Aa second allow", "kind": "allow_list", "domains": ["b.example.com"]}),
    )
    .await;
    assert!(first < second);
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/policies/effective", t.a2.id))
        .await;
    let row = between(&html, "<tr data-kind=\"allow_list\">", "</tr>");
    assert!(
        between(row, "<td>", "</td>").contains("Zz first allow"),
        "the oldest applies: {row}"
    );
    let other = shadowed_row(&html, second);
    assert!(
        other.contains(
            "(own): shadowed by Zz first allow: of this tenant&#39;s own allow list \
             policies, the oldest (created first) applies"
        ) && other.contains(&format!(
            "<a href=\"/tenants/{}/policies/{second}\">Aa second allow</a>",
            t.a2.id
        )),
        "{other}"
    );
    // Inherited ones of the same owner: the oldest applies, the other is named.
    let second = policy(
        &api,
        &t.globex,
        json!({"name": "Globex filter 2", "kind": "content_filter", "categories": ["adult"],
               "inheritable": true}),
    )
    .await;
    let html = app
        .get_html(&format!("/tenants/{}/policies/effective", t.g1.id))
        .await;
    let other = shadowed_row(&html, second);
    assert!(
        other.contains("Globex filter 2</a>")
            && other.contains(
                "(inherited from Tenant globex): shadowed by Globex filter: of the content \
                 filter policies Tenant globex passes down, the oldest (created first) applies"
            ),
        "{other}"
    );
}

/// L6: `null` for `name`, `inheritable` or `enforcement` in a PATCH (and an
/// override's body) is a 422 naming each, and changes nothing.
#[tokio::test]
async fn null_fields_in_a_patch_are_refused_by_name() {
    let (_app, t, api) = partner_app().await;
    let p = policies(&api, &t).await;
    let path = format!("{}/policies/{}", base(&t.a1), p.a1_threshold);
    for field in ["name", "inheritable", "enforcement"] {
        let mut body = json!({"threshold": 50});
        body[field] = Value::Null;
        let (s, e) = api.patch(&path, body).await;
        assert_eq!(s, 422, "{field}: {e}");
        assert!(
            e["errors"][field]
                .as_str()
                .is_some_and(|m| m.starts_with("May not be null")),
            "{field}: {e}"
        );
    }
    let (s, e) = api
        .patch(
            &path,
            json!({"name": null, "inheritable": null, "enforcement": null}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["errors"].as_object().unwrap().len(), 3, "{e}");
    let (_, got) = api.get(&path).await;
    assert_eq!(
        (got["threshold"].as_i64(), got["name"].as_str()),
        (Some(40), Some("A1 threshold")),
        "unchanged: {got}"
    );
    let (s, e) = api
        .post(
            &format!("{}/policies/{}/override", base(&t.a1x), p.a1_threshold),
            json!({"name": null}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["errors"]["name"].is_string(), "{e}");
}

/// L7: internationalised domains in a list are taken and stored as punycode;
/// every bad line is named with its line number (the form counts blank lines),
/// through the form and the API.
#[tokio::test]
async fn idn_domains_are_taken_and_every_bad_line_is_named() {
    let (app, t, api) = partner_app().await;
    let (s, p) = api
        .post(
            &format!("{}/policies", base(&t.acme)),
            json!({"name": "Idn", "kind": "deny_list",
                   "domains": ["Bücher.example", "москва.рф", "ok.example.com"]}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        p["domains"],
        json!([
            "ok.example.com",
            "xn--80adxhks.xn--p1ai",
            "xn--bcher-kva.example"
        ])
    );
    let (s, e) = api
        .post(
            &format!("{}/policies", base(&t.acme)),
            json!({"name": "Bad", "kind": "allow_list",
                   "domains": ["ok.example.com", "bad_host", "x", "fine.example"]}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let message = e["errors"]["domains"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Lines 2 and 3 are not domains. Line 2 (bad_host): ")
            && message.contains(" Line 3 (x): "),
        "{e}"
    );
    app.login_admin().await;
    let (html, e) = refused_form(
        &app,
        &format!("/tenants/{}/policies/new", t.acme.id),
        &[
            ("name", "Form list"),
            ("kind", "deny_list"),
            (
                "domains",
                "bücher.example\n\nbad one\nok.example.com\n-x.example",
            ),
        ],
        "domains",
    )
    .await;
    let e = e.unwrap_or_default();
    assert!(
        e.starts_with("Lines 3 and 5 are not domains. Line 3 (bad one): ")
            && e.contains(" Line 5 (-x.example): "),
        "{html}"
    );
    let r = app
        .post_form(
            &format!("/tenants/{}/policies/new", t.acme.id),
            &[
                ("name", "Form list"),
                ("kind", "deny_list"),
                ("domains", "bücher.example\n\nok.example.com"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303);
}
