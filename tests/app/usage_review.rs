//! Issue #12's last review findings: usage mail to accounts without an email
//! address (refused on subscribing and opting in, suspended with the true reason
//! later), the report list's last sent month, ingestion's per-event errors for a
//! repeated field or a NUL, the stats API's empty order and documented bad cursor,
//! the CSV and print page ignoring paging, and a quota reached exactly as 100 %.

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use crate::invitations::app_with_sink;
use crate::usage_ingest::key;
use crate::usage_mail::{
    addr, count, delivered, person, run_reports, set_clock, set_email, subscribe, suspension,
};
use crate::usage_stats::{csv_body, seed, set_quota, usage_everywhere};
use serde_json::Value;
use tenantry::domain::{GrantRole, Scope};

// ---------------------------------------------------------------- no address

#[tokio::test]
async fn an_account_without_an_email_address_cannot_subscribe_and_is_told_where_to_add_one() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    // The bootstrap admin has no address.
    app.login_admin().await;
    let r = subscribe(&app, &t.acme, "5", "subtree").await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"id="email-error""#)
            && html.contains("your account has no email address")
            && html.contains(r#"href="/profile#email""#),
        "{html}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM report_subscriptions").await,
        0
    );
    // The profile says where: the admin may edit their own account.
    let profile = app.get_html("/profile").await;
    let edit = format!("/tenants/{}/users/{}", app.root.id, app.admin.id);
    assert!(
        profile.contains(r#"id="email""#)
            && profile.contains(&format!(r#"<a href="{edit}">Add an email address</a>"#)),
        "{profile}"
    );
    assert_eq!(status(&app.get(&edit).await), 200);
    // Someone who may not edit their own account is told who can.
    let (owner, browser) = person(&app, "solo", &t.a1, GrantRole::Owner, Scope::Tenant).await;
    set_email(&app, owner.id, "").await;
    let r = subscribe(&browser, &t.a1, "5", "subtree").await;
    assert_eq!(status(&r), 422);
    let mut no_users = tenantry::domain::Permissions::all(tenantry::domain::Level::Read);
    no_users.set(
        tenantry::domain::Feature::Users,
        tenantry::domain::Level::None,
    );
    capped(&app, &t.a1, "No users", &no_users).await;
    let profile = browser.get_html("/profile").await;
    assert!(
        profile.contains("An administrator of Tenant a1 (Users) adds it for you."),
        "{profile}"
    );
    // With an address, the same subscription is taken.
    set_email(&app, app.admin.id, "admin@example.com").await;
    assert_eq!(status(&subscribe(&app, &t.acme, "5", "subtree").await), 303);
}

#[tokio::test]
async fn a_subscriber_who_loses_their_address_is_suspended_for_that_reason() {
    let (app, sink) = app_with_sink(&[]).await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let (boss, owner) = person(&app, "boss", &t.acme, GrantRole::Owner, Scope::Subtree).await;
    // Subscribed after this month's day: nothing was sent yet, though December
    // counts as handled.
    set_clock(&app, "2026-01-20T12:00:00Z");
    assert_eq!(
        status(&subscribe(&owner, &t.acme, "5", "subtree").await),
        303
    );
    let list_path = format!("/tenants/{}/stats/reports", t.acme.id);
    let list = owner.get_html(&list_path).await;
    assert!(list.contains("<td>none yet</td>"), "{list}");
    assert!(!list.contains("December 2025"), "{list}");

    set_email(&app, boss.id, "").await;
    let done = run_reports(&app, "2026-02-05T00:00:00Z").await;
    assert_eq!((done.handled, done.mails, done.suspended), (1, 0, 1));
    assert_eq!(suspension(&app).await.as_deref(), Some("no-email"));
    let browser = browser_as(&app, "acme\\boss").await;
    let list = browser.get_html(&list_path).await;
    assert!(
        list.contains("Your account has no email address: the report was not sent.")
            && list.contains(r#"href="/profile#email""#)
            && !list.contains("You may no longer read"),
        "{list}"
    );
    assert!(list.contains("<td>none yet</td>"), "{list}");

    // The address back: the next month's report goes, the suspension ends.
    set_email(&app, boss.id, &addr("boss")).await;
    assert_eq!(run_reports(&app, "2026-03-05T00:00:00Z").await.mails, 1);
    delivered(&sink, &addr("boss"), 1).await;
    assert_eq!(suspension(&app).await, None);
    let browser = browser_as(&app, "acme\\boss").await;
    let list = browser.get_html(&list_path).await;
    assert!(list.contains("<td>February 2026</td>"), "{list}");
}

#[tokio::test]
async fn opting_in_to_the_alerts_from_below_needs_an_address() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let (user, browser) = person(&app, "above", &t.acme, GrantRole::Owner, Scope::Subtree).await;
    let profile = browser.get_html("/profile").await;
    assert!(!profile.contains("quota-alerts-no-email"));
    set_email(&app, user.id, "").await;
    let profile = browser.get_html("/profile").await;
    assert!(
        profile.contains(r#"id="quota-alerts-no-email""#)
            && profile.contains("no alert is sent to you"),
        "{profile}"
    );
    let r = browser
        .post_form("/profile/quota-alerts", &[("alerts_from_below", "true")])
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        field_error(&html, "alerts_from_below").is_some_and(|e| e.contains("no email address")),
        "{html}"
    );
    // The box as the user left it: ticked, next to why it was not saved.
    assert!(
        html.contains(r#"name="alerts_from_below" type="checkbox" value="true" checked"#),
        "{html}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM quota_alert_opt_ins").await,
        0
    );
    // Opting out always works.
    let r = browser.post_form("/profile/quota-alerts", &[]).await;
    assert_redirect_to(&r, "/profile#quota-alerts");
}

// ---------------------------------------------------------------- ingestion

#[tokio::test]
async fn a_repeated_field_or_a_nul_in_the_tenant_is_that_events_error_only() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let key = key(&app).await;
    let at = "2026-01-05T00:00:00Z";
    // Raw text: a JSON value cannot hold a repeated key.
    let body = format!(
        r#"{{"batch_id": "review-1", "events": [
            {{"tenant": {id}, "tenant": 999999, "at": "{at}", "queries": 5, "blocked": 0}},
            {{"tenant": "ac\u0000me", "at": "{at}", "queries": 7, "blocked": 0}},
            {{"tenant": "acme", "at": "{at}", "queries": 11, "blocked": 1}},
            {{"tenant": {id}, "at": "{at}", "queries": 1, "blocked": 0, "blocked": 1}}
        ]}}"#,
        id = acme.id
    );
    let api = Api::new(&app, Some(&key));
    let post = |body: String| {
        send(
            api.request(reqwest::Method::POST, "/api/v1/usage")
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let (code, answer) = post(body.clone()).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["accepted"], 1, "{answer}");
    let rejected: Vec<(u64, String)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(rejected.len(), 3, "{answer}");
    assert_eq!(rejected[0].0, 0);
    assert!(
        rejected[0].1.contains("`tenant` is given twice"),
        "{answer}"
    );
    assert_eq!(rejected[1].0, 1);
    assert!(rejected[1].1.contains("control characters"), "{answer}");
    assert_eq!(rejected[2].0, 3);
    assert!(
        rejected[2].1.contains("`blocked` is given twice"),
        "{answer}"
    );
    // Only the valid event counted; a retry answers the same and counts nothing.
    app.fold_usage().await;
    let queries = || async {
        let row = db(&app)
            .await
            .query_one(
                "SELECT coalesce(sum(queries), 0)::bigint FROM usage_daily WHERE tenant_id = $1",
                &[&acme.id],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    assert_eq!(queries().await, 11);
    let (code, again) = post(body.clone()).await;
    assert_eq!((code, &again), (200, &answer));
    assert_eq!(queries().await, 11);
    // The same id with the repeated field's other value is another batch.
    let other = body.replacen("\"tenant\": 999999, ", "", 1);
    let (code, conflict) = post(other).await;
    assert_eq!(code, 409, "{conflict}");
}

// ---------------------------------------------------------------- stats

#[tokio::test]
async fn the_stats_api_takes_an_empty_order_as_the_default_and_documents_a_bad_cursor() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let base = format!(
        "/api/v1/tenants/{}/stats?from=2026-01&to=2026-02",
        t.acme.id
    );
    let (code, plain) = api.get(&base).await;
    assert_eq!(code, 200, "{plain}");
    for query in ["&sort=", "&dir=", "&sort=&dir=", "&sort=name&dir=asc"] {
        let (code, page) = api.get(&format!("{base}{query}")).await;
        assert_eq!((code, &page), (200, &plain), "{query}");
    }
    let (code, bad) = api.get(&format!("{base}&cursor=xyz")).await;
    assert_eq!(code, 422);
    assert!(bad["errors"]["cursor"]
        .as_str()
        .unwrap()
        .contains("The cursor is not valid"));
    let (_, doc) = Api::new(&app, None).get("/api/v1/openapi.json").await;
    let op = &doc["paths"]["/api/v1/tenants/{id}/stats"]["get"];
    let described = |code: &str| {
        op["responses"][code]["description"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(described("422").contains("cursor"), "{op}");
    assert!(!described("400").contains("cursor"), "{op}");
    let params = op["parameters"].as_array().unwrap();
    let sort = params.iter().find(|p| p["name"] == "sort").unwrap();
    assert!(
        sort["schema"]["enum"]
            .as_array()
            .unwrap()
            .contains(&Value::from("")),
        "{sort}"
    );
}

/// The `<tr>` of the stats page (or print page) showing `subdomain`'s row.
fn row_of(html: &str, subdomain: &str) -> String {
    let cell = [
        format!("<td><code>{subdomain}</code></td>"),
        format!("<td>{subdomain}</td>"),
        format!("<td class=\"subdomain\">{subdomain}</td>"),
    ]
    .into_iter()
    .find_map(|c| html.find(&c))
    .unwrap_or_else(|| panic!("no row of {subdomain} in {html}"));
    let open = html[..cell].rfind("<tr").unwrap();
    html[open..cell + html[cell..].find("</tr>").unwrap()].to_string()
}

#[tokio::test]
async fn the_csv_and_the_print_page_ignore_page_and_per_page() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    // More rows than a page of the stats page holds (50): 60 children of acme.
    let mut children = Vec::new();
    for n in 0..60 {
        children.push(app.tenant(&t.acme, &format!("c{n:02}"), false).await);
    }
    let events: Vec<(i64, &str, i64, i64)> = children
        .iter()
        .map(|c| (c.id, "2026-01-10T00:00:00Z", 1, 0))
        .collect();
    seed(&app, &events).await;
    app.login_admin().await;
    let base = format!("/tenants/{}/stats", t.acme.id);
    let all = csv_body(&app, &format!("{base}.csv?from=2026-01&to=2026-01")).await;
    assert_eq!(
        all.lines().count(),
        1 + 61,
        "header, acme and its 60 children"
    );
    for paging in [
        "&page=2",
        "&page=0",
        "&page=x",
        "&per_page=10",
        "&page=2&per_page=5",
    ] {
        let path = format!("{base}.csv?from=2026-01&to=2026-01{paging}");
        assert_eq!(csv_body(&app, &path).await, all, "{paging}");
        let r = app
            .get(&format!("{base}/print?from=2026-01&to=2026-01{paging}"))
            .await;
        assert_eq!(status(&r), 200, "{paging}");
        let print = r.text().await.unwrap();
        for c in [&children[0], &children[59]] {
            row_of(&print, &c.subdomain);
        }
    }
    // The page itself pages, and refuses a page number that is none.
    assert_eq!(
        status(
            &app.get(&format!("{base}?from=2026-01&to=2026-01&page=x"))
                .await
        ),
        400
    );
}

// ---------------------------------------------------------------- quota at 100 %

#[tokio::test]
async fn a_quota_reached_exactly_is_the_100_percent_level_and_just_below_is_not() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    for tenant in [&t.acme, &t.a1, &t.a1x, &t.a2] {
        set_quota(&app, tenant, 1000).await;
    }
    // Just below 80 %, exactly 80 %, just below 100 %, exactly 100 %.
    seed(
        &app,
        &[
            (t.a2.id, "2026-01-10T00:00:00Z", 799, 0),
            (t.a1.id, "2026-01-10T00:00:00Z", 800, 0),
            (t.acme.id, "2026-01-10T00:00:00Z", 999, 0),
            (t.a1x.id, "2026-01-10T00:00:00Z", 1000, 0),
        ],
    )
    .await;
    app.login_admin().await;
    for path in ["", "/print"] {
        let html = app
            .get_html(&format!(
                "/tenants/{}/stats{path}?from=2026-01&to=2026-01",
                t.acme.id
            ))
            .await;
        let (below80, at80) = (row_of(&html, "a2"), row_of(&html, "a1"));
        let (below100, at100) = (row_of(&html, "acme"), row_of(&html, "a1x"));
        assert!(
            !below80.contains("quota-") && below80.contains("79 % of 1,000"),
            "{path}: {below80}"
        );
        assert!(
            at80.contains("quota-near") && at80.contains("(near the quota)"),
            "{path}: {at80}"
        );
        assert!(
            below100.contains("quota-near") && below100.contains("99 % of 1,000"),
            "{path}: {below100}"
        );
        assert!(
            at100.contains("quota-over")
                && at100.contains("100 % of 1,000")
                && at100.contains("(quota reached)"),
            "{path}: {at100}"
        );
    }
}
