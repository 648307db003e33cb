//! Issue #12's fourth review: the stats cursor bound to its tenant, an event's
//! number out of range as that event's error, a report's attachment name a mail
//! header carries whole, and the nits (a signed `limit`, a JSON body in another
//! charset, unknown parameters on the console's stats page).

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use crate::usage_ingest::key;
use crate::usage_mail::{first_mail_file, person, run_reports, set_clock, subscribe};
use crate::usage_review3::own_usage;
use crate::usage_stats::usage_everywhere;
use tenantry::domain::{GrantRole, Scope};

// ---------------------------------------------------------------- stats cursor

#[tokio::test]
async fn another_tenants_cursor_is_refused_like_another_periods() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let period = "from=2026-01&to=2026-02&limit=2";
    let (code, first) = api
        .get(&format!("/api/v1/tenants/{}/stats?{period}", t.acme.id))
        .await;
    assert_eq!(code, 200, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    // Its own tenant pages on.
    let (code, next) = api
        .get(&format!(
            "/api/v1/tenants/{}/stats?{period}&cursor={cursor}",
            t.acme.id
        ))
        .await;
    assert_eq!(code, 200, "{next}");
    // Another tenant, the same period and order: 422, naming no tenant.
    for other in [&t.globex, &t.a1, &app.root] {
        let (code, bad) = api
            .get(&format!(
                "/api/v1/tenants/{}/stats?{period}&cursor={cursor}",
                other.id
            ))
            .await;
        assert_eq!(code, 422, "{}: {bad}", other.subdomain);
        let message = bad["errors"]["cursor"].as_str().unwrap();
        assert!(message.contains("another tenant"), "{bad}");
        assert!(!message.contains(&t.acme.id.to_string()), "{bad}");
    }
}

// ---------------------------------------------------------------- ingestion

async fn post_raw(
    app: &TestApp,
    key: &str,
    content_type: &str,
    body: String,
) -> (u16, serde_json::Value) {
    send(
        Api::new(app, Some(key))
            .request(reqwest::Method::POST, "/api/v1/usage")
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

#[tokio::test]
async fn a_number_out_of_range_is_that_events_error_and_the_rest_counts() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let key = key(&app).await;
    let at = "2026-01-05T00:00:00Z";
    let body = format!(
        r#"{{"batch_id": "huge", "events": [
            {{"tenant": {id}, "at": "{at}", "queries": 7, "blocked": 1}},
            {{"tenant": {id}, "at": "{at}", "queries": 1e400, "blocked": 0}},
            {{"tenant": {id}, "at": "{at}", "queries": 1, "blocked": -1e400}},
            {{"tenant": 1e400, "at": "{at}", "queries": 1, "blocked": 0}},
            {{"tenant": {id}, "at": "{at}", "queries": [1e400], "blocked": 0}},
            [1e400],
            {{"tenant": "acme", "at": "{at}", "queries": 3, "blocked": 0}}
        ]}}"#,
        id = acme.id
    );
    let (code, answer) = post_raw(&app, &key, "application/json", body.clone()).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["accepted"], 2, "{answer}");
    let rejected: Vec<(u64, &str)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["error"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, "`queries` must be at most 1000000000000."),
            (2, "`blocked` must not be negative."),
            (
                3,
                "`tenant` must be a tenant id (a positive integer) or a subdomain."
            ),
            (4, "`queries` must be a whole number."),
            (5, "An event must be a JSON object."),
        ]
    );
    // A retry is the same batch: the first answer again, nothing counted twice.
    let (code, again) = post_raw(&app, &key, "application/json", body).await;
    assert_eq!((code, &again), (200, &answer));
    app.fold_usage().await;
    assert_eq!(own_usage(&app, acme.id).await, (10, 1));

    // Where no field takes it leniently, such a number is a malformed body still.
    let token = token_for(&app, &app.admin, false).await;
    let (code, problem) = send(
        Api::new(&app, Some(&token))
            .request(reqwest::Method::POST, "/api/v1/tenants")
            .header("content-type", "application/json")
            .body(r#"{"parent_id": 1e400, "name": "N", "subdomain": "n"}"#),
    )
    .await;
    assert_eq!(code, 400, "{problem}");
    assert_eq!(problem["type"], "urn:tenantry:problem:malformed-json");
}

#[tokio::test]
async fn a_json_body_in_another_charset_is_415_utf_8_or_none_is_read() {
    let app = spawn_app().await;
    let _acme = app.tenant(&app.root, "acme", false).await;
    let key = key(&app).await;
    let body = |id: &str| format!(r#"{{"batch_id": "{id}", "events": []}}"#);
    for (i, content_type) in [
        "application/json; charset=utf-16",
        "application/json;charset=\"latin1\"",
        "application/json; Charset=ISO-8859-1",
    ]
    .iter()
    .enumerate()
    {
        let (code, problem) = post_raw(&app, &key, content_type, body(&format!("cs{i}"))).await;
        assert_eq!(code, 415, "{content_type}: {problem}");
        assert_eq!(
            problem["type"], "urn:tenantry:problem:unsupported-media-type",
            "{content_type}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains("UTF-8"),
            "{problem}"
        );
    }
    for (i, content_type) in [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=\"UTF-8\"",
    ]
    .iter()
    .enumerate()
    {
        let (code, answer) = post_raw(&app, &key, content_type, body(&format!("ok{i}"))).await;
        assert_eq!(code, 200, "{content_type}: {answer}");
    }
}

// ---------------------------------------------------------------- stats API nits

#[tokio::test]
async fn a_limit_is_digits_only_on_every_list() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let lists: Vec<String> = [
        format!("/api/v1/tenants/{}/stats", t.acme.id),
        format!("/api/v1/tenants/{}/activity", t.acme.id),
        "/api/v1/tenants".to_string(),
        "/api/v1/migrations".to_string(),
    ]
    .into_iter()
    .chain(
        [
            "rules",
            "applications",
            "domains",
            "clouds",
            "instances",
            "resolvers",
            "devices",
            "subnets",
        ]
        .map(|kind| format!("/api/v1/tenants/{}/{kind}", t.acme.id)),
    )
    .collect::<Vec<_>>();
    for list in &lists {
        for bad in ["%2B5", "%205", "5%20", "-5", "5.0", "0x5"] {
            let (code, problem) = api.get(&format!("{list}?limit={bad}")).await;
            assert_eq!(code, 400, "{list} limit={bad}: {problem}");
            assert!(
                problem["detail"].as_str().unwrap().contains("“limit”"),
                "{list} limit={bad}: {problem}"
            );
        }
        let (code, page) = api.get(&format!("{list}?limit=5")).await;
        assert_eq!(code, 200, "{list}: {page}");
        let (code, page) = api.get(&format!("{list}?limit=05")).await;
        assert_eq!(code, 200, "{list}: {page}");
    }
}

#[tokio::test]
async fn the_console_stats_pages_ignore_an_unknown_parameter_as_the_tenants_list_does() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    app.login_admin().await;
    for path in [
        "/tenants?utm_source=mail".to_string(),
        format!(
            "/tenants/{}/stats?from=2026-01&to=2026-02&utm_source=mail",
            t.acme.id
        ),
        format!(
            "/tenants/{}/stats/print?from=2026-01&to=2026-02&utm_source=mail",
            t.acme.id
        ),
        format!(
            "/tenants/{}/stats.csv?from=2026-01&to=2026-02&utm_source=mail",
            t.acme.id
        ),
    ] {
        let r = app.get(&path).await;
        assert_eq!(status(&r), 200, "{path}");
    }
    // The API, by contrast, names it (a client's typo there is a bug to see).
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let (code, _) = api
        .get(&format!(
            "/api/v1/tenants/{}/stats?utm_source=mail",
            t.acme.id
        ))
        .await;
    assert_eq!(code, 400);
}

// ---------------------------------------------------------------- report mail

#[tokio::test]
async fn a_long_subdomains_report_file_has_a_plain_filename_in_the_message() {
    let dir = std::env::temp_dir().join(format!("tenantry-mail-{}", uuid::Uuid::new_v4().simple()));
    let app = spawn_app_with_env(&[
        ("TENANTRY_OUTBOX_POLL_MS", "50"),
        ("TENANTRY_MAIL_DIR", &dir.display().to_string()),
    ])
    .await;
    let long = "customer-branch-office-0042-westeurope";
    let tenant = app.tenant(&app.root, long, false).await;
    let (_, owner) = person(&app, "boss", &tenant, GrantRole::Owner, Scope::Subtree).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    assert_eq!(
        status(&subscribe(&owner, &tenant, "5", "subtree").await),
        303
    );
    assert_eq!(run_reports(&app, "2026-02-05T00:00:00Z").await.mails, 1);
    let raw = first_mail_file(&dir).await;
    let name = format!("usage-{}-2026-01.csv", tenant.id);
    assert!(raw.contains(&format!("filename=\"{name}\"")), "{raw}");
    assert!(!raw.contains("filename*"), "{raw}");
    let _ = std::fs::remove_dir_all(&dir);
}
