//! The second black-box review of policies (#15), through the real app: M1 a
//! change that clears choices below (a lock, `inheritable` switched off) is asked
//! about first, with what it clears per tenant the user sees and one number for
//! the rest (the API: 409 without `"confirm": true`, the cleared counts with it);
//! M2 the move preview marks gained locks and counts exactly what the move clears;
//! L3 a policy under a lock of its kind above its owner says it has no effect; L4
//! the reset's confirmation says what goes and what goes back; L8 the delete's
//! confirmation names only the tenants the user sees.

use crate::api::{partner_app, Api};
use crate::helpers::*;
use crate::policies::{base, cleared_lines, policy, resolver, shadowed_row, subnet, uses};
use serde_json::{json, Value};
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

/// acme's deny list (inheritable, not locked yet) and what below chose otherwise:
/// a1's own inheritable deny list used by a resolver of a1 and a subnet of a1x;
/// a2's override of acme's list, used by a resolver of a2.
struct Choices {
    acme_deny: i64,
    r_a1: Value,
    sn_a1x: Value,
    r_a2: Value,
    a2_override: i64,
}

async fn choices(api: &Api, t: &PartnerTree) -> Choices {
    let acme_deny = policy(
        api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["bad.example.com"],
               "inheritable": true}),
    )
    .await;
    let a1_deny = policy(
        api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["x.example.com"],
               "inheritable": true}),
    )
    .await;
    let (s, r_a1) = resolver(api, &t.a1, "dns-a1", Some(a1_deny)).await;
    assert_eq!(s, 201, "{r_a1}");
    let sn_a1x = subnet(api, &t.a1x, "10.0.0.0/24", a1_deny).await;
    let (s, over) = api
        .post(
            &format!("{}/policies/{acme_deny}/override", base(&t.a2)),
            json!({"domains": ["y.example.com"]}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
    let a2_override = over["id"].as_i64().unwrap();
    let (s, r_a2) = resolver(api, &t.a2, "dns-a2", Some(a2_override)).await;
    assert_eq!(s, 201, "{r_a2}");
    Choices {
        acme_deny,
        r_a1,
        sn_a1x,
        r_a2,
        a2_override,
    }
}

/// The form fields of acme's deny list made a lock.
fn lock_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Acme deny"),
        ("kind", "deny_list"),
        ("domains", "bad.example.com"),
        ("inheritable", "true"),
        ("enforcement", "locked"),
    ]
}

/// M1 (pages): locking a policy asks first, naming per tenant what it clears;
/// nothing changes until confirmed; the confirmation's form applies it.
#[tokio::test]
async fn locking_a_policy_on_its_page_asks_first_with_what_it_clears() {
    let (app, t, api) = partner_app().await;
    let c = choices(&api, &t).await;
    app.login_admin().await;
    let page = format!("/tenants/{}/policies/{}", t.acme.id, c.acme_deny);
    let r = app.post_form(&page, &lock_fields()).await;
    assert_eq!(status(&r), 200, "asked, not saved");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Lock Acme deny for the tenants below?"),
        "{html}"
    );
    assert_eq!(
        cleared_lines(&html),
        [
            "Tenant a1: 1 resolver",
            "Tenant a1x: 1 subnet",
            "Tenant a2: 1 resolver and 1 override",
        ],
        "{html}"
    );
    let hidden = hidden_fields(&html, &page);
    assert!(
        hidden.contains(&("confirm".to_string(), "1".to_string())),
        "{hidden:?}"
    );
    // Nothing changed yet.
    let (_, got) = api
        .get(&format!("{}/policies/{}", base(&t.acme), c.acme_deny))
        .await;
    assert_eq!(got["enforcement"], "default", "{got}");
    assert!(uses(&api, &t.a1, "resolvers", &c.r_a1).await.is_i64());
    // The confirmation's own form saves it, and clears what it said.
    let r = app.post_form(&page, &as_pairs(&hidden)).await;
    assert_eq!(status(&r), 303);
    let (_, got) = api
        .get(&format!("{}/policies/{}", base(&t.acme), c.acme_deny))
        .await;
    assert_eq!(got["enforcement"], "locked", "{got}");
    assert!(uses(&api, &t.a1, "resolvers", &c.r_a1).await.is_null());
    assert!(uses(&api, &t.a1x, "subnets", &c.sn_a1x).await.is_null());
    assert!(uses(&api, &t.a2, "resolvers", &c.r_a2).await.is_null());
    let (_, over) = api
        .get(&format!("{}/policies/{}", base(&t.a2), c.a2_override))
        .await;
    assert!(over["overrides_id"].is_null(), "a plain policy: {over}");
    // A change that clears nothing is saved at once.
    let mut renamed = lock_fields();
    renamed[0] = ("name", "Acme deny list");
    let r = app.post_form(&page, &renamed).await;
    assert_eq!(status(&r), 303);
}

/// M1 (API): a PATCH that would clear choices below is 409 naming the counts, and
/// changes nothing; with `"confirm": true` it applies and says what it cleared.
#[tokio::test]
async fn a_patch_that_clears_choices_below_needs_confirm() {
    let (_app, t, api) = partner_app().await;
    let c = choices(&api, &t).await;
    let item = format!("{}/policies/{}", base(&t.acme), c.acme_deny);
    let (s, e) = api.patch(&item, json!({"enforcement": "locked"})).await;
    assert_eq!(s, 409, "{e}");
    let detail = e["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("2 resolvers, 1 subnet and 1 override") && detail.contains("\"confirm\""),
        "{e}"
    );
    let (_, got) = api.get(&item).await;
    assert_eq!(got["enforcement"], "default", "nothing changed: {got}");
    assert!(uses(&api, &t.a2, "resolvers", &c.r_a2).await.is_i64());
    let (s, e) = api
        .patch(&item, json!({"enforcement": "locked", "confirm": false}))
        .await;
    assert_eq!(s, 409, "{e}");
    let (s, got) = api
        .patch(&item, json!({"enforcement": "locked", "confirm": true}))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        (got["enforcement"].as_str(), &got["cleared"]),
        (
            Some("locked"),
            &json!({"resolvers": 2, "subnets": 1, "overrides": 1})
        ),
        "{got}"
    );
    assert!(uses(&api, &t.a1x, "subnets", &c.sn_a1x).await.is_null());
    // Unticking `inheritable` takes it away from below: asked the same way.
    let a1_threshold = policy(
        &api,
        &t.a1,
        json!({"name": "A1 threshold", "kind": "blocking_threshold", "threshold": 40,
               "inheritable": true}),
    )
    .await;
    let (s, r) = resolver(&api, &t.a1x, "dns-x", Some(a1_threshold)).await;
    assert_eq!(s, 201, "{r}");
    let own = format!("{}/policies/{a1_threshold}", base(&t.a1));
    let (s, e) = api.patch(&own, json!({"inheritable": false})).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("1 resolver"), "{e}");
    let (s, got) = api
        .patch(&own, json!({"inheritable": false, "confirm": true}))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        got["cleared"],
        json!({"resolvers": 1, "subnets": 0, "overrides": 0})
    );
    assert!(uses(&api, &t.a1x, "resolvers", &r).await.is_null());
    // Nothing to clear: no confirmation needed, and the answer says so.
    let (s, got) = api.patch(&own, json!({"threshold": 50})).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        got["cleared"],
        json!({"resolvers": 0, "subnets": 0, "overrides": 0})
    );
    // An override that clears nothing takes `confirm` and needs none.
    let filter = policy(
        &api,
        &t.globex,
        json!({"name": "Globex filter", "kind": "content_filter", "categories": ["adult"],
               "inheritable": true}),
    )
    .await;
    let (s, got) = api
        .post(
            &format!("{}/policies/{filter}/override", base(&t.g1)),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(s, 201, "{got}");
    assert_eq!(
        got["cleared"],
        json!({"resolvers": 0, "subnets": 0, "overrides": 0})
    );
}

/// A user at home in acme with Policies full there who sees a1 (a grant on it
/// alone) and neither a1x nor a2, logged in.
async fn acme_user_seeing_a1(app: &TestApp, t: &PartnerTree) -> TestApp {
    let user = app
        .user_with_role(&t.acme, "lou", Permissions::all(Level::Full))
        .await;
    app.grant(&user, &t.a1, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    browser_as(app, "acme\\lou").await
}

/// M1 + L8: the confirmations of a lock and of a delete name only the tenants the
/// user sees; the rest is one number.
#[tokio::test]
async fn confirmations_name_only_the_tenants_the_user_sees() {
    let (app, t, api) = partner_app().await;
    let c = choices(&api, &t).await;
    let lou = acme_user_seeing_a1(&app, &t).await;
    let page = format!("/tenants/{}/policies/{}", t.acme.id, c.acme_deny);
    let r = lou.post_form(&page, &lock_fields()).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert_eq!(
        cleared_lines(&html),
        ["Tenant a1: 1 resolver", "3 in tenants you cannot see"],
        "{html}"
    );
    assert!(
        !html.contains("Tenant a1x") && !html.contains("Tenant a2"),
        "{html}"
    );
    // The delete's confirmation: what uses acme's list (a2's resolver through
    // its override does not), the override itself.
    let (s, r_a1) = resolver(&api, &t.a1, "dns-a1-2", Some(c.acme_deny)).await;
    assert_eq!(s, 201, "{r_a1}");
    let (s, r_a2) = resolver(&api, &t.a2, "dns-a2-2", Some(c.acme_deny)).await;
    assert_eq!(s, 201, "{r_a2}");
    subnet(&api, &t.a1x, "10.9.0.0/24", c.acme_deny).await;
    let r = lou.post_form(&format!("{page}/delete"), &[]).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    let detail = between(&html, "<p id=\"confirm-detail\">", "</p>");
    assert!(
        detail.contains("What uses it: Tenant a1: 1 resolver; 3 in tenants you cannot see."),
        "{detail}"
    );
    assert!(
        !detail.contains("Tenant a1x") && !detail.contains("Tenant a2"),
        "{detail}"
    );
    // Who sees them all is told them all.
    app.login_admin().await;
    let html = app
        .post_form(&format!("{page}/delete"), &[])
        .await
        .text()
        .await
        .unwrap();
    let detail = between(&html, "<p id=\"confirm-detail\">", "</p>");
    assert!(
        detail.contains(
            "What uses it: Tenant a1: 1 resolver; Tenant a1x: 1 subnet; \
             Tenant a2: 1 resolver and 1 override."
        ),
        "{detail}"
    );
}

/// The number of resolvers and subnets of these tenants that choose a policy, and
/// of their overrides.
async fn chosen(app: &TestApp, tenants: &[&Tenant]) -> (i64, i64) {
    let ids: Vec<i64> = tenants.iter().map(|t| t.id).collect();
    let db = db(app).await;
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM resolvers WHERE tenant_id = ANY ($1) \
                     AND policy_id IS NOT NULL) \
                  + (SELECT count(*) FROM subnets WHERE tenant_id = ANY ($1) \
                     AND policy_id IS NOT NULL), \
                    (SELECT count(*) FROM policies WHERE tenant_id = ANY ($1) \
                     AND overrides_id IS NOT NULL)",
            &[&ids],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// The number in the move preview's paragraph `id` (0 when it is not there).
fn preview_number(html: &str, id: &str) -> i64 {
    let marker = format!("<p id=\"{id}\"><strong>");
    match html.find(&marker) {
        Some(at) => {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('<').unwrap()].parse().unwrap()
        }
        None => 0,
    }
}

/// M2: the move preview marks the locks the subtree gains and counts what the move
/// clears — choices of lost policies, choices a gained lock binds, overrides —
/// exactly (there and back).
#[tokio::test]
async fn the_move_preview_counts_what_the_move_clears_gained_locks_included() {
    let (app, t, api) = partner_app().await;
    let acme_deny = policy(
        &api,
        &t.acme,
        json!({"name": "Acme deny", "kind": "deny_list", "domains": ["bad.example.com"],
               "inheritable": true, "enforcement": "locked"}),
    )
    .await;
    let acme_filter = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["malware"],
               "inheritable": true}),
    )
    .await;
    policy(
        &api,
        &t.globex,
        json!({"name": "Globex regs", "kind": "regulatory", "regulatory": ["uk_ofcom"],
               "inheritable": true, "enforcement": "locked"}),
    )
    .await;
    let a1_regs = policy(
        &api,
        &t.a1,
        json!({"name": "A1 regs", "kind": "regulatory", "regulatory": ["de_bpjm"],
               "inheritable": true}),
    )
    .await;
    let a1_deny = policy(
        &api,
        &t.a1,
        json!({"name": "A1 deny", "kind": "deny_list", "domains": ["x.example.com"],
               "inheritable": true}),
    )
    .await;
    let (s, over) = api
        .post(
            &format!("{}/policies/{acme_filter}/override", base(&t.a1)),
            json!({"categories": ["adult"]}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
    // A lost policy's choice, and two a gained lock binds.
    let (s, _) = resolver(&api, &t.a1x, "dns-deny", Some(acme_deny)).await;
    assert_eq!(s, 201);
    let (s, _) = resolver(&api, &t.a1, "dns-regs", Some(a1_regs)).await;
    assert_eq!(s, 201);
    subnet(&api, &t.a1x, "10.1.0.0/24", a1_regs).await;
    app.login_admin().await;
    let subtree = [&t.a1, &t.a1x];
    let preview = app
        .get_html(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a1.id, t.globex.id
        ))
        .await;
    let impact = between(&preview, "id=\"impact-inherited\"", "</dd>");
    assert!(
        impact.contains(
            "Gains Globex regs (Tenant globex) <span class=\"badge locked\">locked</span>"
        ),
        "{impact}"
    );
    // One lost policy's choice and two a gained lock binds; a1's override.
    assert_eq!(
        (
            preview_number(impact, "impact-policy-uses"),
            impact.contains("<strong id=\"impact-policy-locked-out\">2</strong>"),
            preview_number(impact, "impact-policy-overrides"),
        ),
        (3, true, 1),
        "{impact}"
    );
    let (before, overrides_before) = chosen(&app, &subtree).await;
    let r = app
        .post_form(
            &format!("/tenants/{}/move", t.a1.id),
            &[("parent_id", &t.globex.id.to_string())],
        )
        .await;
    assert_eq!(status(&r), 303);
    let (after, overrides_after) = chosen(&app, &subtree).await;
    assert_eq!(
        (before - after, overrides_before - overrides_after),
        (3, 1),
        "the preview counted what the move cleared"
    );
    // Under globex, a1's own deny list is free to use; moving back under acme's
    // lock clears that choice, and the preview says so.
    let (s, _) = resolver(&api, &t.a1x, "dns-own-deny", Some(a1_deny)).await;
    assert_eq!(s, 201);
    let back = app
        .get_html(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a1.id, t.acme.id
        ))
        .await;
    let impact = between(&back, "id=\"impact-inherited\"", "</dd>");
    assert!(
        impact.contains("Gains Acme deny (Tenant acme) <span class=\"badge locked\">locked</span>"),
        "{impact}"
    );
    let (before, _) = chosen(&app, &subtree).await;
    let counted = preview_number(impact, "impact-policy-uses");
    assert_eq!(counted, 1, "{impact}");
    let r = app
        .post_form(
            &format!("/tenants/{}/move", t.a1.id),
            &[("parent_id", &t.acme.id.to_string())],
        )
        .await;
    assert_eq!(status(&r), 303);
    let (after, _) = chosen(&app, &subtree).await;
    assert_eq!(before - after, counted);
}

/// L3: a lock taken above after a tenant's own lock of the kind leaves that one
/// without effect: the list, the effective view and its page say so.
#[tokio::test]
async fn a_lock_under_a_later_lock_above_says_it_has_no_effect() {
    let (app, t, api) = partner_app().await;
    let a1_lock = policy(
        &api,
        &t.a1,
        json!({"name": "A1 lock", "kind": "deny_list", "domains": ["x.example.com"],
               "inheritable": true, "enforcement": "locked"}),
    )
    .await;
    let acme_lock = policy(
        &api,
        &t.acme,
        json!({"name": "Acme lock", "kind": "deny_list", "domains": ["y.example.com"],
               "inheritable": true, "enforcement": "locked"}),
    )
    .await;
    app.login_admin().await;
    for tenant in [&t.a1, &t.a1x] {
        let html = app
            .get_html(&format!("/tenants/{}/policies", tenant.id))
            .await;
        let row = between(
            &html,
            &format!("<tr data-policy-id=\"{a1_lock}\">"),
            "</tr>",
        );
        assert!(
            row.contains("overridden by the lock of Tenant acme</span> (no effect)"),
            "{}: {row}",
            tenant.name
        );
        let row = between(
            &html,
            &format!("<tr data-policy-id=\"{acme_lock}\">"),
            "</tr>",
        );
        assert!(!row.contains("overridden"), "{row}");
        let html = app
            .get_html(&format!("/tenants/{}/policies/effective", tenant.id))
            .await;
        let row = between(&html, "<tr data-kind=\"deny_list\">", "</tr>");
        assert!(
            row.contains("locked by Tenant acme"),
            "{}: {row}",
            tenant.name
        );
        let other = shadowed_row(&html, a1_lock);
        assert!(
            other.contains("A1 lock</a>")
                && other.contains("lock")
                && other.contains("): overridden by the lock of Tenant acme (no effect)"),
            "{}: {other}",
            tenant.name
        );
    }
    let html = app
        .get_html(&format!("/tenants/{}/policies/{a1_lock}", t.a1.id))
        .await;
    let note = between(&html, "<p id=\"overruled\"", "</p>");
    assert!(
        note.contains("no effect: it is overridden by the lock of Tenant acme (Acme lock)"),
        "{note}"
    );
    let html = app
        .get_html(&format!("/tenants/{}/policies", t.acme.id))
        .await;
    assert!(!html.contains("overridden by the lock"), "{html}");
}

/// L4: the reset's confirmation says what goes (the override, with what it
/// changes) and what goes back to the inherited policy (named), and what below
/// used the override; confirmed, it does exactly that.
#[tokio::test]
async fn the_reset_confirmation_says_exactly_what_the_reset_does() {
    let (app, t, api) = partner_app().await;
    let filter = policy(
        &api,
        &t.acme,
        json!({"name": "Acme filter", "kind": "content_filter", "categories": ["malware"],
               "inheritable": true}),
    )
    .await;
    let (s, over) = api
        .post(
            &format!("{}/policies/{filter}/override", base(&t.a1)),
            json!({"name": "A1 filter", "categories": ["adult", "malware"], "inheritable": true}),
        )
        .await;
    assert_eq!(s, 201, "{over}");
    let oid = over["id"].as_i64().unwrap();
    let (s, r_b) = resolver(&api, &t.a1, "dns-b", Some(oid)).await;
    assert_eq!(s, 201, "{r_b}");
    let (s, r_a) = resolver(&api, &t.a1, "dns-a", Some(oid)).await;
    assert_eq!(s, 201, "{r_a}");
    let sn = subnet(&api, &t.a1, "10.2.0.0/24", oid).await;
    let (s, below) = resolver(&api, &t.a1x, "dns-x", Some(oid)).await;
    assert_eq!(s, 201, "{below}");
    app.login_admin().await;
    let reset = format!("/tenants/{}/policies/{oid}/reset", t.a1.id);
    let html = app.post_form(&reset, &[]).await.text().await.unwrap();
    let detail = between(&html, "<p id=\"confirm-detail\">", "</p>");
    for part in [
        "The override A1 filter is deleted with what it changes (categories: only in the \
         override: Adult).",
        "These of Tenant a1 use Acme filter (inherited from Tenant acme) again: resolvers \
         dns-a and dns-b; subnet 10.2.0.0/24.",
        "Below Tenant a1, the resolvers and subnets that use it follow their tenant&#39;s \
         effective policy and overrides of it become plain policies: Tenant a1x: 1 resolver.",
    ] {
        assert!(detail.contains(part), "{part}\n{detail}");
    }
    let r = app.post_form(&reset, &[("confirm", "yes")]).await;
    assert_eq!(status(&r), 303);
    for r in [&r_a, &r_b] {
        assert_eq!(uses(&api, &t.a1, "resolvers", r).await, json!(filter));
    }
    assert_eq!(uses(&api, &t.a1, "subnets", &sn).await, json!(filter));
    assert!(uses(&api, &t.a1x, "resolvers", &below).await.is_null());
}
