//! Issue #12's third review: a report subscriber who lost Owner (suspended, listed
//! and cancelled on the profile, where the mails link), ingestion's leniency made
//! consistent (integral numbers in any spelling, no trimming of subdomains, "at
//! most" for counts past 64 bits), an empty `limit=`, a quota of 0 in the API, and
//! the stats cursor carrying its period across a month change.

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use crate::invitations::app_with_sink;
use crate::usage_ingest::key;
use crate::usage_mail::{
    addr, count, delivered, person, queued, run_reports, set_clock, subscribe, suspension,
};
use crate::usage_stats::{set_quota, usage_everywhere};
use serde_json::Value;
use tenantry::domain::{GrantRole, Scope};

// ---------------------------------------------------------------- reports

/// The only subscription's id.
async fn subscription_id(app: &TestApp) -> i64 {
    count(app, "SELECT id FROM report_subscriptions").await
}

#[tokio::test]
async fn a_subscriber_who_lost_owner_gets_nothing_sees_why_on_the_profile_and_cancels_there() {
    let (app, sink) = app_with_sink(&[]).await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let (boss, owner) = person(&app, "boss", &t.acme, GrantRole::Owner, Scope::Subtree).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    assert_eq!(
        status(&subscribe(&owner, &t.acme, "5", "subtree").await),
        303
    );
    // January's report: its cancel link is the profile's list, which answers
    // whatever the subscriber's role becomes.
    assert_eq!(run_reports(&app, "2026-02-05T00:00:00Z").await.mails, 1);
    let mail = &delivered(&sink, &addr("boss"), 1).await[0];
    assert!(
        // Their home tenant's address (acme's host), as every mail's links.
        mail.body
            .contains(&format!("http://acme.{BASE_DOMAIN}/profile#reports")),
        "{}",
        mail.body
    );
    assert!(!mail.body.contains("/stats/reports"), "{}", mail.body);

    // Owner no more, Viewer still: the statistics are readable, a report is not
    // theirs to get. February's run sends nothing and says why.
    db(&app)
        .await
        .execute("DELETE FROM grants WHERE user_id = $1", &[&boss.id])
        .await
        .unwrap();
    app.grant(&boss, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let done = run_reports(&app, "2026-03-05T00:00:00Z").await;
    assert_eq!((done.handled, done.mails, done.suspended), (1, 0, 1));
    assert_eq!(queued(&app, &addr("boss")).await.len(), 1, "January's only");
    assert_eq!(suspension(&app).await.as_deref(), Some("not-owner"));

    // The tenant's own list refuses them (it is for Owners); the profile lists the
    // report, the tenant linked (they may read its statistics), and why it stopped.
    let browser = browser_as(&app, "acme\\boss").await;
    assert_eq!(
        status(
            &browser
                .get(&format!("/tenants/{}/stats/reports", t.acme.id))
                .await
        ),
        403
    );
    let profile = browser.get_html("/profile").await;
    let id = subscription_id(&app).await;
    let row = row_with(&profile, &format!(r#"data-subscription-id="{id}""#));
    assert!(
        row.contains(&format!(
            r#"<a href="/tenants/{}/stats">Tenant acme</a>"#,
            t.acme.id
        )),
        "{row}"
    );
    assert!(row.contains("one report of the whole subtree"), "{row}");
    assert!(row.contains("<td>5</td>"), "{row}");
    assert!(row.contains("suspended: no longer Owner"), "{row}");

    // Cancelling asks first, then works for a non-Owner.
    let cancel = format!("/profile/reports/{id}/cancel");
    let r = browser.post_form(&cancel, &[]).await;
    assert_eq!(status(&r), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Cancel your monthly report of Tenant acme?"));
    assert_eq!(subscription_id(&app).await, id, "nothing changed yet");
    let r = browser.post_form(&cancel, &[("confirm", "yes")]).await;
    assert_redirect_to(&r, "/profile#reports");
    assert_eq!(
        count(&app, "SELECT count(*) FROM report_subscriptions").await,
        0
    );
    assert!(browser
        .get_html("/profile")
        .await
        .contains(r#"id="reports-empty""#));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_events WHERE action = 'report.cancel'"
        )
        .await,
        1
    );
    // And the next month's run has nothing to send.
    assert_eq!(run_reports(&app, "2026-04-05T00:00:00Z").await.handled, 0);
}

#[tokio::test]
async fn only_the_subscriber_cancels_from_the_profile_even_one_who_lost_the_tenant() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let (boss, owner) = person(&app, "boss", &t.acme, GrantRole::Owner, Scope::Subtree).await;
    let (_, other) = person(&app, "boss2", &t.acme, GrantRole::Owner, Scope::Subtree).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    assert_eq!(status(&subscribe(&owner, &t.a1, "3", "subtree").await), 303);
    let id = subscription_id(&app).await;
    let cancel = format!("/profile/reports/{id}/cancel");
    // Someone else's, even an Owner of the same tenant: not found, asked or confirmed.
    assert_eq!(status(&other.post_form(&cancel, &[]).await), 404);
    assert_eq!(
        status(&other.post_form(&cancel, &[("confirm", "yes")]).await),
        404
    );
    assert!(!other.get_html("/profile").await.contains(&cancel));
    assert_eq!(subscription_id(&app).await, id);
    // A made-up or malformed id: 404 too.
    for bad in ["999999", "abc"] {
        let path = format!("/profile/reports/{bad}/cancel");
        assert_eq!(
            status(&owner.post_form(&path, &[("confirm", "yes")]).await),
            404
        );
    }

    // The subscriber loses every grant: a1 is no longer theirs to see. The report
    // is suspended for that; the profile names the tenant without a link.
    db(&app)
        .await
        .execute("DELETE FROM grants WHERE user_id = $1", &[&boss.id])
        .await
        .unwrap();
    assert_eq!(run_reports(&app, "2026-02-03T00:00:00Z").await.suspended, 1);
    let browser = browser_as(&app, "acme\\boss").await;
    let profile = browser.get_html("/profile").await;
    let row = row_with(&profile, &format!(r#"data-subscription-id="{id}""#));
    assert!(row.contains("Tenant a1"), "{row}");
    assert!(!row.contains("/stats\""), "not linked: {row}");
    assert!(
        row.contains("suspended: no access to its statistics"),
        "{row}"
    );
    let r = browser.post_form(&cancel, &[("confirm", "yes")]).await;
    assert_redirect_to(&r, "/profile#reports");
    assert_eq!(
        count(&app, "SELECT count(*) FROM report_subscriptions").await,
        0
    );
}

/// The `<tr …>` of `html` holding `marker`.
fn row_with(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let open = html[..at].rfind("<tr").unwrap();
    let close = at + html[at..].find("</tr>").unwrap();
    html[open..close].to_string()
}

// ---------------------------------------------------------------- ingestion

#[tokio::test]
async fn integral_numbers_count_in_any_spelling_and_a_spaced_subdomain_is_that_events_error() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let key = key(&app).await;
    let at = "2026-01-05T00:00:00Z";
    // Raw text: `1e3` and `3.0` are spellings a JSON value would normalise.
    let body = format!(
        r#"{{"batch_id": "review3", "events": [
            {{"tenant": " acme ", "at": "{at}", "queries": 1, "blocked": 0}},
            {{"tenant": "acme ", "at": "{at}", "queries": 1, "blocked": 0}},
            {{"tenant": {id}.0, "at": "{at}", "queries": 1e3, "blocked": 1.0e1}},
            {{"tenant": "ACME", "at": "{at}", "queries": 2.0, "blocked": 0}},
            {{"tenant": {id}, "at": "{at}", "queries": 1e19, "blocked": 0}},
            {{"tenant": {id}, "at": "{at}", "queries": 18446744073709551616, "blocked": 0}},
            {{"tenant": {id}, "at": "{at}", "queries": 1.5, "blocked": 0}}
        ]}}"#,
        id = acme.id
    );
    let (code, answer) = send(
        Api::new(&app, Some(&key))
            .request(reqwest::Method::POST, "/api/v1/usage")
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["accepted"], 2, "{answer}");
    let rejected: Vec<(u64, &str)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["error"].as_str().unwrap()))
        .collect();
    assert_eq!(rejected.len(), 5, "{answer}");
    for (i, (index, error)) in rejected[..2].iter().enumerate() {
        assert_eq!(*index, i as u64);
        assert!(error.contains("has spaces around it"), "{error}");
    }
    for (index, error) in &rejected[2..4] {
        assert!([4, 5].contains(index), "{answer}");
        assert_eq!(*error, "`queries` must be at most 1000000000000.");
    }
    assert_eq!(rejected[4], (6, "`queries` must be a whole number."));
    app.fold_usage().await;
    assert_eq!(own_usage(&app, acme.id).await, (1002, 10));
}

/// A tenant's own queries and blocked queries, all days together.
pub(crate) async fn own_usage(app: &TestApp, tenant_id: i64) -> (i64, i64) {
    let row = db(app)
        .await
        .query_one(
            "SELECT sum(queries)::bigint, sum(blocked)::bigint FROM usage_daily WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

// ---------------------------------------------------------------- stats API

#[tokio::test]
async fn an_empty_limit_is_no_number_on_every_list_alike() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    for path in [
        format!("/api/v1/tenants/{}/stats?limit=", t.acme.id),
        "/api/v1/tenants?limit=".to_string(),
    ] {
        let (code, problem) = api.get(&path).await;
        assert_eq!(code, 400, "{path}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("“limit”"),
            "{path}: {problem}"
        );
        // Left out, it is the default.
        let (code, _) = api.get(path.trim_end_matches("limit=")).await;
        assert_eq!(code, 200, "{path}");
    }
    let (_, doc) = Api::new(&app, None).get("/api/v1/openapi.json").await;
    for op in [
        &doc["paths"]["/api/v1/tenants/{id}/stats"]["get"],
        &doc["paths"]["/api/v1/tenants"]["get"],
    ] {
        let limit = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert!(
            limit["description"]
                .as_str()
                .unwrap()
                .contains("An empty `limit=` is no number"),
            "{limit}"
        );
    }
}

#[tokio::test]
async fn any_use_of_a_quota_of_0_is_over_it_in_the_api_and_on_the_page() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    set_quota(&app, &t.a2, 0).await;
    set_quota(&app, &t.a1x, 0).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let (code, page) = api
        .get(&format!(
            "/api/v1/tenants/{}/stats?from=2026-01&to=2026-02&limit=500",
            t.acme.id
        ))
        .await;
    assert_eq!(code, 200, "{page}");
    let percent = |subdomain: &str, month: &str| -> Value {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["subdomain"] == subdomain && i["month"] == month)
            .unwrap_or_else(|| panic!("{subdomain} {month} in {page}"))["quota_percent"]
            .clone()
    };
    // a2: 5 queries in January against 0; a1x: 1000 and 2000.
    assert_eq!(percent("a2", "2026-01"), 1_000_000);
    assert_eq!(percent("a1x", "2026-02"), 1_000_000);
    // No quota: null, as before.
    assert_eq!(percent("a1", "2026-01"), Value::Null);
    app.login_admin().await;
    let html = app
        .get_html(&format!(
            "/tenants/{}/stats?from=2026-01&to=2026-01",
            t.a2.id
        ))
        .await;
    assert!(html.contains("over the quota of 0"), "{html}");
}

// ---------------------------------------------------------------- stats cursor

#[tokio::test]
async fn a_default_periods_cursor_goes_on_in_its_period_after_the_month_changes() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let base = format!("/api/v1/tenants/{}/stats", t.acme.id);
    // The last hour of February 2026: the default period is 2025-03 to 2026-02.
    set_clock(&app, "2026-02-28T23:30:00Z");
    let (code, whole) = api
        .get(&format!("{base}?from=2025-03&to=2026-02&limit=500"))
        .await;
    assert_eq!(code, 200, "{whole}");
    let whole = whole["items"].as_array().unwrap().clone();
    assert!(whole.len() >= 6, "{whole:?}");
    let (code, first) = api.get(&format!("{base}?limit=2")).await;
    assert_eq!(code, 200, "{first}");
    let mut rows = first["items"].as_array().unwrap().clone();
    let mut cursor = first["next_cursor"].as_str().unwrap().to_string();

    // Midnight passes: March's default period would begin at 2025-04. The cursor's
    // listing goes on, page by page, to its end.
    set_clock(&app, "2026-03-01T00:30:00Z");
    // Its period given again, or left out: the same next page.
    let (code, explicit) = api
        .get(&format!(
            "{base}?from=2025-03&to=2026-02&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(code, 200, "{explicit}");
    loop {
        let (code, page) = api.get(&format!("{base}?limit=2&cursor={cursor}")).await;
        assert_eq!(code, 200, "{page}");
        if rows.len() == 2 {
            assert_eq!(page, explicit);
        }
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(
        rows, whole,
        "exactly the rows of the listing begun in February"
    );

    // Another period with its cursor says which one the cursor continues.
    let (_, first) = api
        .get(&format!("{base}?from=2025-03&to=2026-02&limit=2"))
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    for other in ["from=2025-04", "to=2026-03", "from=2025-04&to=2026-03"] {
        let (code, bad) = api
            .get(&format!("{base}?{other}&limit=2&cursor={cursor}"))
            .await;
        assert_eq!(code, 422, "{other}: {bad}");
        assert!(
            bad["errors"]["cursor"]
                .as_str()
                .unwrap()
                .contains("continues the rows of 2025-03 to 2026-02 sorted by name asc"),
            "{other}: {bad}"
        );
    }
    // Without a cursor the default period is March's now.
    let (_, now) = api.get(&format!("{base}?limit=500")).await;
    assert!(now["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["month"].as_str().unwrap() >= "2025-04"));
}
