//! Issue #12's black-box review findings: the stats API's cursor pattern and its
//! binding to the order and period, months in the future, the subscribe form's
//! missing fields, the quota alert opt-in's stray value, the print page's wrapping.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::usage_stats::usage_everywhere;

#[tokio::test]
async fn a_real_stats_cursor_matches_the_documented_pattern_and_only_pages_its_own_order() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let base = format!(
        "/api/v1/tenants/{}/stats?from=2026-01&to=2026-02&sort=queries&dir=desc",
        t.acme.id
    );
    let (code, page) = api.get(&format!("{base}&limit=1")).await;
    assert_eq!(code, 200, "{page}");
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, doc) = Api::new(&app, None).get("/api/v1/openapi.json").await;
    let params = doc["paths"]["/api/v1/tenants/{id}/stats"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let schema = &params.iter().find(|p| p["name"] == "cursor").unwrap()["schema"];
    let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
    assert!(pattern.is_match(&cursor), "{cursor} {schema}");
    assert!(cursor.len() as u64 <= schema["maxLength"].as_u64().unwrap());
    // The same order and period go on from it.
    let (code, next) = api.get(&format!("{base}&limit=1&cursor={cursor}")).await;
    assert_eq!(code, 200, "{next}");
    assert_ne!(next["items"][0], page["items"][0]);
    // Another sort, direction or period refuse it.
    for other in [
        format!(
            "/api/v1/tenants/{}/stats?from=2026-01&to=2026-02&sort=name&dir=desc",
            t.acme.id
        ),
        format!(
            "/api/v1/tenants/{}/stats?from=2026-01&to=2026-02&sort=queries&dir=asc",
            t.acme.id
        ),
        format!(
            "/api/v1/tenants/{}/stats?from=2025-12&to=2026-02&sort=queries&dir=desc",
            t.acme.id
        ),
    ] {
        let (code, bad) = api.get(&format!("{other}&cursor={cursor}")).await;
        assert_eq!(code, 422, "{other} {bad}");
        // Saying which listing it goes on.
        assert!(
            bad["errors"]["cursor"]
                .as_str()
                .unwrap()
                .contains("continues the rows of 2026-01 to 2026-02 sorted by queries desc"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_month_after_the_current_one_is_refused() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let (code, bad) = api
        .get(&format!("/api/v1/tenants/{}/stats?from=9999-12", t.acme.id))
        .await;
    assert_eq!(code, 422, "{bad}");
    assert!(bad["errors"]["from"]
        .as_str()
        .unwrap()
        .contains("A month cannot be after the current month"));
    let (code, bad) = api
        .get(&format!("/api/v1/tenants/{}/stats?to=9999-12", t.acme.id))
        .await;
    assert_eq!(code, 422, "{bad}");
    assert!(bad["errors"]["to"].is_string(), "{bad}");
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/stats?from=9999-12", t.acme.id))
        .await;
    assert!(
        html.contains("A month cannot be after the current month"),
        "{html}"
    );
    let csv = app
        .get(&format!("/tenants/{}/stats.csv?from=9999-12", t.acme.id))
        .await;
    assert_eq!(status(&csv), 422);
    let print = app
        .get_html(&format!("/tenants/{}/stats/print?from=9999-12", t.acme.id))
        .await;
    assert!(
        print.contains("A month cannot be after the current month"),
        "{print}"
    );
}

#[tokio::test]
async fn subscribing_without_a_day_or_scope_field_is_refused() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let (_, browser) = crate::usage_mail::person(
        &app,
        "sub",
        &t.acme,
        tenantry::domain::GrantRole::Owner,
        tenantry::domain::Scope::Subtree,
    )
    .await;
    let url = format!("/tenants/{}/stats/reports", t.acme.id);
    for fields in [vec![("scope", "subtree")], vec![("day", "5")], vec![]] {
        let r = browser.post_form(&url, &fields).await;
        assert_eq!(status(&r), 422, "{fields:?}");
    }
    assert_eq!(
        crate::usage_mail::count(&app, "SELECT count(*) FROM report_subscriptions").await,
        0
    );
}

#[tokio::test]
async fn a_stray_quota_alert_answer_is_a_field_error() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let (_, browser) = crate::usage_mail::person(
        &app,
        "alerts",
        &t.acme,
        tenantry::domain::GrantRole::Owner,
        tenantry::domain::Scope::Subtree,
    )
    .await;
    let r = browser
        .post_form("/profile/quota-alerts", &[("alerts_from_below", "maybe")])
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("alerts_from_below-error"));
    let r = browser
        .post_form("/profile/quota-alerts", &[("alerts_from_below", "false")])
        .await;
    assert_eq!(status(&r), 303);
}

#[tokio::test]
async fn the_printed_page_breaks_long_names_and_subdomains() {
    let app = spawn_app().await;
    let css = app.get("/static/css/print.css").await.text().await.unwrap();
    // A subdomain wraps, but only after a hyphen (review 4: never mid-word); the
    // browser test prints one.
    assert!(
        css.contains(
            "td.subdomain { white-space: normal; overflow-wrap: normal; word-break: normal"
        ),
        "{css}"
    );
    assert!(css.contains("td.name { white-space: normal; min-width: 8em; overflow-wrap: anywhere"));
}
