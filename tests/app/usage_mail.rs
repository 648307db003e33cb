//! Usage by mail (#12 ★): quota threshold alerts (80 % and 100 % of a tenant's
//! monthly query quota, once per threshold and month, to its Owners and the opted-in
//! Owners above, never to anyone who may not read the statistics; exactly once under
//! concurrent ingestion) and monthly reports (subscribed on the stats page, sent by
//! the report job for a chosen date with the CSV export's rows attached, once per
//! month), against the real SMTP sink.

use crate::helpers::*;
use crate::invitations::{app_with_sink, Mail, SmtpSink};
use crate::usage_stats::{csv_body, csv_records, seed, set_quota, usage_everywhere};
use chrono::{DateTime, Utc};
use serde_json::json;
use tenantry::auth::tokens;
use tenantry::db::models::usage::IngestionKey;
use tenantry::db::models::{Tenant, User};
use tenantry::domain::usage::SentEvent;
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};
use tenantry::services::reports::run_due;
use tenantry::services::usage::{ingest, Batch, BatchAnswer};
use GrantRole::{Administrator, Owner, Viewer};
use Scope::{Subtree, Tenant as Only};

// ---------------------------------------------------------------- helpers

/// A user at home in `on` with the address `{name}@example.com`, holding `role` on
/// it, logged in.
pub(crate) async fn person(
    app: &TestApp,
    name: &str,
    on: &Tenant,
    role: GrantRole,
    scope: Scope,
) -> (User, TestApp) {
    let user = app.user(on, name).await;
    set_email(app, user.id, &addr(name)).await;
    app.grant(&user, on, role, scope, false).await;
    let browser = browser_as(app, &format!("{}\\{name}", on.subdomain)).await;
    (user, browser)
}

/// Sets the user's email address directly ("" removes it, as an administrator
/// clearing it would).
pub(crate) async fn set_email(app: &TestApp, user_id: i64, email: &str) {
    db(app)
        .await
        .execute(
            "UPDATE users SET email = $2 WHERE id = $1",
            &[&user_id, &email],
        )
        .await
        .unwrap();
}

pub(crate) fn addr(name: &str) -> String {
    format!("{name}@example.com")
}

/// The mails queued for `to` so far (the outbox, written in the transaction that
/// decided them: exact at once, unlike the sink, which the worker fills later).
pub(crate) async fn queued(app: &TestApp, to: &str) -> Vec<String> {
    db(app)
        .await
        .query(
            "SELECT subject FROM outbox WHERE recipient = $1 ORDER BY id",
            &[&to],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The one number `sql` answers.
pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

/// The reason the (only) subscription is suspended for, if it is.
pub(crate) async fn suspension(app: &TestApp) -> Option<String> {
    db(app)
        .await
        .query_one("SELECT suspended_reason FROM report_subscriptions", &[])
        .await
        .unwrap()
        .get(0)
}

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The report job run at the time `now`, which the app's clock is set to (the outbox
/// worker sends what is due by it).
pub(crate) async fn run_reports(
    app: &TestApp,
    now: &str,
) -> tenantry::services::reports::RunSummary {
    set_clock(app, now);
    run_due(&mut *app.conn().await, app.clock.now())
        .await
        .unwrap()
}

/// Opts the browser's user in to the alerts of the tenants below those they own.
pub(crate) async fn opt_in(browser: &TestApp) {
    let r = browser
        .post_form("/profile/quota-alerts", &[("alerts_from_below", "true")])
        .await;
    assert_redirect_to(&r, "/profile#quota-alerts");
    let html = browser.get_html("/profile").await;
    assert!(
        html.contains(r#"name="alerts_from_below" type="checkbox" value="true" checked"#),
        "the profile shows the choice saved"
    );
}

/// Where every alert test starts: the app (with the SMTP sink) at `now`, the partner
/// tree, a1x's quota at 1,000 queries a month, and a1x's own Owner,
/// `owner@example.com` (who gets its alerts).
struct Alerts {
    app: TestApp,
    sink: SmtpSink,
    t: PartnerTree,
}

async fn alerts_at(now: &str) -> Alerts {
    let (app, sink) = app_with_sink(&[]).await;
    set_clock(&app, now);
    let t = partner_tree(&app).await;
    set_quota(&app, &t.a1x, 1000).await;
    person(&app, "owner", &t.a1x, Owner, Only).await;
    Alerts { app, sink, t }
}

impl Alerts {
    /// The subjects of the alerts queued for a1x's Owner so far.
    async fn owners_mail(&self) -> Vec<String> {
        queued(&self.app, &addr("owner")).await
    }

    /// An ingestion key to post batches with (the service, not HTTP: the tests
    /// decide when the fold runs).
    async fn key(&self, name: &str) -> i64 {
        let secret = tokens::generate_ingestion_key();
        IngestionKey::insert(
            &mut *self.app.conn().await,
            name,
            &tokens::stored_hash(&secret),
            &secret[..10],
            None,
        )
        .await
        .unwrap()
        .id
    }

    /// Ingests `queries` of a1x at `at` as batch `batch_id`, without folding.
    async fn ingest(&self, key: i64, batch_id: &str, at: &str, queries: i64) -> BatchAnswer {
        let events: Vec<SentEvent> = vec![
            json!({"tenant": self.t.a1x.id, "at": at, "queries": queries, "blocked": 0}).into(),
        ];
        ingest(
            &mut *self.app.conn().await,
            key,
            Batch {
                batch_id,
                events: &events,
                request_hash: batch_id.to_string(),
            },
            self.app.clock.now(),
        )
        .await
        .unwrap()
    }
}

// ---------------------------------------------------------------- alerts

#[tokio::test]
async fn crossing_80_then_100_percent_mails_each_threshold_once_a_month_to_those_who_may_read() {
    // Alerts are for the current month: January 2026 it is.
    let Alerts { app, sink, t } = alerts_at("2026-01-20T12:00:00Z").await;
    // a1x's own Owner (the fixture's); Owners of the subtrees above, one opted in
    // and one not; a Viewer of a1x; an opted-in Owner of an unrelated subtree.
    let (_, above) = person(&app, "above", &t.acme, Owner, Subtree).await;
    opt_in(&above).await;
    let (_, _) = person(&app, "quiet", &t.a1, Owner, Subtree).await;
    let (_, _) = person(&app, "viewer", &t.a1x, Viewer, Only).await;
    let (_, other) = person(&app, "other", &t.globex, Owner, Subtree).await;
    opt_in(&other).await;
    let told = [addr("owner"), addr("above")];
    let never = [addr("quiet"), addr("viewer"), addr("other")];

    // 79.9 %: nothing; other tenants' usage counts for nothing.
    seed(
        &app,
        &[
            (t.a1x.id, "2026-01-03T00:00:00Z", 799, 799),
            (t.a1.id, "2026-01-03T00:00:00Z", 5000, 0),
        ],
    )
    .await;
    for to in told.iter().chain(&never) {
        assert!(queued(&app, to).await.is_empty(), "{to}");
    }
    // 80 %: one mail each.
    seed(&app, &[(t.a1x.id, "2026-01-04T00:00:00Z", 1, 0)]).await;
    for to in &told {
        assert_eq!(queued(&app, to).await.len(), 1, "{to}");
    }
    let mail = sink.wait_for(&addr("owner"), 1).await;
    assert_eq!(
        mail.subject,
        "Tenant a1x reached 80 % of its query quota (January 2026)"
    );
    // The use said once: the percentage reached, then the figures.
    assert!(
        mail.body.contains(
            "Tenant a1x has used 80 % of its monthly query quota in January 2026: 800 \
             queries of 1,000."
        ),
        "{}",
        mail.body
    );
    assert!(!mail.body.contains("per month ("), "{}", mail.body);
    for part in [
        "Tenant a1x (a1x)",
        "January 2026",
        "800",
        "1,000",
        "80 %",
        // The address of the recipient's home tenant (a1x's host).
        &format!(
            "http://a1x.{BASE_DOMAIN}/tenants/{}/stats?from=2026-01&to=2026-01",
            t.a1x.id
        ),
    ] {
        assert!(mail.body.contains(part), "{part} in {}", mail.body);
    }
    let above_mail = sink.wait_for(&addr("above"), 1).await;
    assert!(above_mail.body.contains("or a tenant above it"));
    // Both link to the profile's choice, the page that stops (or explains) them.
    for (m, home) in [(&mail, "a1x"), (&above_mail, "acme")] {
        assert!(
            m.body
                .contains(&format!("http://{home}.{BASE_DOMAIN}/profile#quota-alerts")),
            "{}",
            m.body
        );
    }
    // The stats page says the same.
    let page = app.new_browser();
    page.login_admin().await;
    let html = page
        .get_html(&format!(
            "/tenants/{}/stats?from=2026-01&to=2026-01",
            t.a1x.id
        ))
        .await;
    assert!(html.contains("80 % of 1,000") && html.contains("(near the quota)"));
    // Just below 100 % (999): nothing more.
    seed(&app, &[(t.a1x.id, "2026-01-05T00:00:00Z", 199, 0)]).await;
    for to in &told {
        assert_eq!(queued(&app, to).await.len(), 1, "{to}");
    }
    // Exactly the quota: 100 % reached, the second mail.
    seed(&app, &[(t.a1x.id, "2026-01-06T00:00:00Z", 1, 0)]).await;
    for to in &told {
        assert_eq!(queued(&app, to).await.len(), 2, "{to}");
    }
    let full = sink.wait_for(&addr("owner"), 2).await;
    assert_eq!(
        full.subject,
        "Tenant a1x reached 100 % of its query quota (January 2026)"
    );
    assert!(
        full.body.contains(
            "has used all of its monthly query quota in January 2026: 1,000 queries of 1,000."
        ) && full.body.contains("Quota:   1,000 per month")
            && !full.body.contains("per month ("),
        "{}",
        full.body
    );
    let html = page
        .get_html(&format!(
            "/tenants/{}/stats?from=2026-01&to=2026-01",
            t.a1x.id
        ))
        .await;
    assert!(html.contains("(quota reached)"), "{html}");
    // Past it, and further use that month: nothing more (100 % was alerted).
    seed(&app, &[(t.a1x.id, "2026-01-07T00:00:00Z", 1, 0)]).await;
    seed(&app, &[(t.a1x.id, "2026-01-20T00:00:00Z", 5000, 0)]).await;
    for to in &told {
        assert_eq!(queued(&app, to).await.len(), 2, "{to}");
    }
    let html = page
        .get_html(&format!(
            "/tenants/{}/stats?from=2026-01&to=2026-01",
            t.a1x.id
        ))
        .await;
    assert!(html.contains("(over the quota)"));
    // The next month starts again; one batch past both thresholds sends one mail.
    set_clock(&app, "2026-02-01T12:00:00Z");
    seed(&app, &[(t.a1x.id, "2026-02-01T00:00:00Z", 1500, 0)]).await;
    for to in &told {
        let subjects = queued(&app, to).await;
        assert_eq!(subjects.len(), 3, "{to}: {subjects:?}");
        assert_eq!(
            subjects[2],
            "Tenant a1x is over its query quota (February 2026)"
        );
    }
    let over = sink.wait_for(&addr("owner"), 3).await;
    assert!(
        over.body.contains(
            "has used more than its monthly query quota in February 2026: 1,500 queries, 150 % \
             of 1,000."
        ),
        "{}",
        over.body
    );
    for to in &never {
        assert!(queued(&app, to).await.is_empty(), "{to} is never told");
    }
    let rows = db(&app)
        .await
        .query(
            "SELECT month::text, threshold FROM quota_alerts WHERE tenant_id = $1 ORDER BY 1, 2",
            &[&t.a1x.id],
        )
        .await
        .unwrap();
    let rows: Vec<(String, i16)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        rows,
        [
            ("2026-01-01".to_string(), 80),
            ("2026-01-01".to_string(), 100),
            ("2026-02-01".to_string(), 80),
            ("2026-02-01".to_string(), 100)
        ]
    );
    sink.wait_for(&addr("above"), 3).await;
}

#[tokio::test]
async fn exactly_80_percent_alerts_just_below_does_not_on_an_uneven_quota() {
    let Alerts {
        app,
        t,
        sink: _sink,
    } = alerts_at("2026-06-10T12:00:00Z").await;
    // 80 % of 9 is 7.2: 7 queries is just below, 8 past it; 9 is exactly 100 %.
    set_quota(&app, &t.a2, 9).await;
    person(&app, "a2owner", &t.a2, Owner, Only).await;
    seed(&app, &[(t.a2.id, "2026-06-01T00:00:00Z", 7, 0)]).await;
    assert!(queued(&app, &addr("a2owner")).await.is_empty());
    seed(&app, &[(t.a2.id, "2026-06-02T00:00:00Z", 1, 0)]).await;
    assert_eq!(
        queued(&app, &addr("a2owner")).await,
        ["Tenant a2 reached 80 % of its query quota (June 2026)"]
    );
    seed(&app, &[(t.a2.id, "2026-06-03T00:00:00Z", 1, 0)]).await;
    assert_eq!(
        queued(&app, &addr("a2owner")).await[1..],
        ["Tenant a2 reached 100 % of its query quota (June 2026)"]
    );
    // And a1x (quota 1,000) at exactly 800 in one batch: 80 %.
    seed(&app, &[(t.a1x.id, "2026-06-04T00:00:00Z", 800, 0)]).await;
    assert_eq!(
        queued(&app, &addr("owner")).await,
        ["Tenant a1x reached 80 % of its query quota (June 2026)"]
    );
}

#[tokio::test]
async fn an_opted_out_owner_above_and_one_who_lost_access_are_not_told() {
    let Alerts {
        app,
        t,
        sink: _sink,
    } = alerts_at("2026-03-01T12:00:00Z").await;
    set_quota(&app, &t.a2, 100).await;
    let (_, above) = person(&app, "above", &t.acme, Owner, Subtree).await;
    opt_in(&above).await;
    // Opting out again.
    let r = above.post_form("/profile/quota-alerts", &[]).await;
    assert_redirect_to(&r, "/profile#quota-alerts");
    // An Owner of a2 whose account is disabled.
    let (gone, _) = person(&app, "gone", &t.a2, Owner, Only).await;
    db(&app)
        .await
        .execute(
            "UPDATE users SET enabled = false WHERE id = $1",
            &[&gone.id],
        )
        .await
        .unwrap();
    seed(&app, &[(t.a2.id, "2026-03-01T00:00:00Z", 90, 0)]).await;
    assert!(queued(&app, &addr("above")).await.is_empty());
    assert!(queued(&app, &addr("gone")).await.is_empty());
    // The crossing is recorded all the same: it does not alert again later.
    let n: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM quota_alerts WHERE tenant_id = $1",
            &[&t.a2.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_raised_quota_alerts_again_only_for_a_threshold_not_yet_alerted_that_month() {
    let alerts = alerts_at("2026-04-03T12:00:00Z").await;
    let Alerts { app, t, .. } = &alerts;
    seed(app, &[(t.a1x.id, "2026-04-01T00:00:00Z", 850, 0)]).await;
    assert_eq!(alerts.owners_mail().await.len(), 1);
    set_quota(app, &t.a1x, 2000).await;
    // 85 % of the new quota: 80 % was alerted this month already.
    seed(app, &[(t.a1x.id, "2026-04-02T00:00:00Z", 850, 0)]).await;
    assert_eq!(alerts.owners_mail().await.len(), 1);
    // Past the new quota: 100 % had not been alerted.
    seed(app, &[(t.a1x.id, "2026-04-03T00:00:00Z", 301, 0)]).await;
    let subjects = alerts.owners_mail().await;
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects[1].contains("is over its query quota"));
}

#[tokio::test]
async fn two_batches_crossing_at_once_alert_once() {
    let alerts = alerts_at("2026-05-02T12:00:00Z").await;
    let Alerts { app, t, .. } = &alerts;
    let key = alerts.key("race").await;
    // Each round a month at 70 %; two batches, each alone taking it past 80 %, at
    // once, then two folds at once.
    for round in 1..=5u32 {
        let day = format!("2026-{:02}-02T00:00:00Z", round + 4);
        set_clock(app, &format!("2026-{:02}-02T12:00:00Z", round + 4));
        seed(app, &[(t.a1x.id, &day, 700, 0)]).await;
        let (id1, id2) = (format!("race-{round}-1"), format!("race-{round}-2"));
        let (a, b) = tokio::join!(
            alerts.ingest(key, &id1, &day, 150),
            alerts.ingest(key, &id2, &day, 150)
        );
        assert_eq!((a.accepted, b.accepted), (1, 1));
        // The months are alerted by the fold that adds them: two folds at once
        // (two processes' folders) still alert once.
        tokio::join!(app.fold_usage(), app.fold_usage());
        let subjects = alerts.owners_mail().await;
        assert_eq!(
            subjects.len(),
            round as usize,
            "one alert per month: {subjects:?}"
        );
    }
}

#[tokio::test]
async fn usage_backfilled_two_months_back_alerts_nothing_the_current_and_previous_month_do() {
    let alerts = alerts_at("2026-03-10T12:00:00Z").await;
    let Alerts { app, t, .. } = &alerts;
    // January is two months back: late data past both thresholds changes its
    // numbers only.
    seed(app, &[(t.a1x.id, "2026-01-27T00:00:00Z", 1500, 0)]).await;
    assert!(alerts.owners_mail().await.is_empty());
    assert_eq!(
        count(app, "SELECT count(*) FROM quota_alerts").await,
        0,
        "nor is the crossing recorded (it never alerts later)"
    );
    app.login_admin().await;
    let html = app
        .get_html(&format!(
            "/tenants/{}/stats?from=2026-01&to=2026-01",
            t.a1x.id
        ))
        .await;
    assert!(html.contains("(over the quota)"), "the numbers are there");
    // February, the month just closed (resolvers' late batches): alerted.
    seed(app, &[(t.a1x.id, "2026-02-28T23:59:00Z", 1500, 0)]).await;
    let subjects = alerts.owners_mail().await;
    assert_eq!(
        subjects,
        ["Tenant a1x is over its query quota (February 2026)"],
        "{subjects:?}"
    );
    // The same use in March, the current month: alerted.
    seed(app, &[(t.a1x.id, "2026-03-01T00:00:00Z", 1500, 0)]).await;
    let subjects = alerts.owners_mail().await;
    assert_eq!(
        subjects,
        [
            "Tenant a1x is over its query quota (February 2026)",
            "Tenant a1x is over its query quota (March 2026)"
        ],
        "{subjects:?}"
    );
}

#[tokio::test]
async fn usage_folded_by_a_move_is_alerted_like_the_folders() {
    let alerts = alerts_at("2026-05-10T12:00:00Z").await;
    let Alerts { app, t, .. } = &alerts;
    let key = alerts.key("move").await;
    // Counted but not folded yet (no folder runs in the tests)…
    let answer = alerts
        .ingest(key, "before-move", "2026-05-09T00:00:00Z", 900)
        .await;
    assert_eq!(answer.accepted, 1);
    assert!(alerts.owners_mail().await.is_empty());
    // …then a move folds it before the paths change: its 80 % is alerted there.
    tenantry::services::tenants::tree::move_tenant(
        &mut *app.conn().await,
        &tenantry::services::Actor::system("test"),
        t.a1x.id,
        t.acme.id,
        &|_, _, _| Ok(()),
        &|_, _| Ok(()),
        &|_| true,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(count(app, "SELECT count(*) FROM usage_pending").await, 0);
    assert_eq!(app.fold_usage().await, 0, "the move folded everything");
    assert_eq!(
        alerts.owners_mail().await,
        ["Tenant a1x reached 80 % of its query quota (May 2026)"]
    );
}

// ---------------------------------------------------------------- reports

/// Sets the app's clock to `now` (subscribing reads it).
pub(crate) fn set_clock(app: &TestApp, now: &str) {
    app.clock.advance(at(now) - app.clock.now());
}

pub(crate) async fn subscribe(
    browser: &TestApp,
    tenant: &Tenant,
    day: &str,
    scope: &str,
) -> reqwest::Response {
    browser
        .post_form(
            &format!("/tenants/{}/stats/reports", tenant.id),
            &[("day", day), ("scope", scope)],
        )
        .await
}

/// The mails that reached the sink for `to` once `count` have.
pub(crate) async fn delivered(sink: &SmtpSink, to: &str, count: usize) -> Vec<Mail> {
    sink.wait_for(to, count).await;
    sink.mails()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .collect()
}

/// The text of the first mail file the outbox writes into `dir`, once written.
pub(crate) async fn first_mail_file(dir: &std::path::Path) -> String {
    let file = loop {
        let files: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        // Only whole mails: one being written has a hidden `.partial` name.
        if let Some(f) = files
            .into_iter()
            .find(|f| f.extension().is_some_and(|e| e == "eml"))
        {
            break f;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    std::fs::read_to_string(&file).unwrap()
}

#[tokio::test]
async fn without_a_mail_server_the_report_file_is_the_whole_mime_message() {
    let dir = std::env::temp_dir().join(format!("tenantry-mail-{}", uuid::Uuid::new_v4().simple()));
    let app = spawn_app_with_env(&[
        ("TENANTRY_OUTBOX_POLL_MS", "50"),
        ("TENANTRY_MAIL_DIR", &dir.display().to_string()),
    ])
    .await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let (_, owner) = person(&app, "boss", &t.acme, Owner, Subtree).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    let r = subscribe(&owner, &t.acme, "5", "subtree").await;
    assert_eq!(status(&r), 303);
    assert_eq!(run_reports(&app, "2026-02-05T00:00:00Z").await.mails, 1);
    let raw = first_mail_file(&dir).await;
    // What SMTP would carry: multipart, the text readable, the CSV attached.
    assert!(raw.contains("To: boss@example.com"), "{raw}");
    assert!(raw.contains("multipart/mixed"), "{raw}");
    assert!(raw.contains("January 2026"), "{raw}");
    assert!(
        raw.contains(r#"filename="usage-acme-2026-01.csv""#),
        "{raw}"
    );
    // The attachment (quoted-printable) decodes to the export's header and rows.
    let part = raw
        .split(r#"filename="usage-acme-2026-01.csv""#)
        .nth(1)
        .unwrap();
    assert!(
        part.contains("Content-Transfer-Encoding: quoted-printable"),
        "{part}"
    );
    let body = part.split("\r\n\r\n").nth(1).unwrap();
    let body = body.split("\r\n--").next().unwrap().replace("=\r\n", "");
    let mut bytes = Vec::new();
    let mut rest = body.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' && tail.len() >= 2 {
            let hex = std::str::from_utf8(&tail[..2]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    let csv = String::from_utf8(bytes).unwrap();
    assert!(
        csv.starts_with("tenant_id,subdomain,name,parent_id,month"),
        "{csv}"
    );
    assert!(csv.contains("a1x"), "{csv}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_subscribed_report_arrives_on_its_day_once_with_the_csv_exports_rows() {
    let (app, sink) = app_with_sink(&[]).await;
    let t = partner_tree(&app).await;
    set_quota(&app, &t.a1x, 5000).await;
    usage_everywhere(&app, &t).await;
    let (_, owner) = person(&app, "boss", &t.acme, Owner, Subtree).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    // The stats page offers the form (no JavaScript needed: a plain POST).
    let html = owner
        .get_html(&format!("/tenants/{}/stats", t.acme.id))
        .await;
    assert!(html.contains(r#"id="report-form""#));
    let r = subscribe(&owner, &t.acme, "5", "subtree").await;
    assert_redirect_to(&r, &format!("/tenants/{}/stats/reports", t.acme.id));
    let list = owner
        .get_html(&format!("/tenants/{}/stats/reports", t.acme.id))
        .await;
    assert!(list.contains("one report of the whole subtree"), "{list}");
    // What the subscriber downloads (now: their session ends as the clock moves on).
    let export = csv_body(
        &owner,
        &format!("/tenants/{}/stats.csv?from=2026-01&to=2026-01", t.acme.id),
    )
    .await;

    // Not before its day; on it, one mail; a second run that day, and another
    // process's run, send nothing more.
    assert_eq!(run_reports(&app, "2026-02-04T23:59:59Z").await.mails, 0);
    assert_eq!(run_reports(&app, "2026-02-05T00:00:00Z").await.mails, 1);
    assert_eq!(run_reports(&app, "2026-02-05T18:00:00Z").await.mails, 0);
    assert_eq!(run_reports(&app, "2026-02-27T00:00:00Z").await.mails, 0);
    let mails = delivered(&sink, &addr("boss"), 1).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject, "Usage report of Tenant acme for January 2026");
    assert!(mail.body.contains(&format!(
        "http://acme.{BASE_DOMAIN}/tenants/{}/stats/print?from=2026-01&to=2026-01",
        t.acme.id
    )));
    assert_eq!(mail.attachments.len(), 1);
    let file = &mail.attachments[0];
    assert_eq!(file.filename, "usage-acme-2026-01.csv");
    assert_eq!(file.content_type, "text/csv");
    // The rows are the CSV export's for the subscriber, over the same month.
    let rows = csv_records(&file.content);
    assert_eq!(rows, csv_records(&export));
    let tenants: Vec<&str> = rows.iter().map(|r| r["subdomain"].as_str()).collect();
    assert_eq!(tenants.len(), 4, "acme, a1, a1x, a2: {tenants:?}");
    assert!(!tenants.contains(&"globex"));
    assert!(rows
        .iter()
        .any(|r| r["subdomain"] == "a1x" && r["queries"] == "1000" && r["quota"] == "5000"));

    // The next month: February's report.
    assert_eq!(run_reports(&app, "2026-03-05T01:00:00Z").await.mails, 1);
    let mails = delivered(&sink, &addr("boss"), 2).await;
    assert_eq!(
        mails[1].subject,
        "Usage report of Tenant acme for February 2026"
    );
    let feb = csv_records(&mails[1].attachments[0].content);
    // a1x's queries, and the subtree totals above it that hold them.
    let feb: Vec<(&str, &str, &str)> = feb
        .iter()
        .map(|r| {
            (
                r["subdomain"].as_str(),
                r["queries"].as_str(),
                r["subtree_queries"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        feb,
        [
            ("a1", "0", "2000"),
            ("a1x", "2000", "2000"),
            ("acme", "20", "2020")
        ]
    );
}

#[tokio::test]
async fn a_children_report_is_one_mail_per_direct_child() {
    let (app, sink) = app_with_sink(&[]).await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let (_, owner) = person(&app, "boss", &t.acme, Owner, Subtree).await;
    set_clock(&app, "2026-01-01T00:00:00Z");
    let r = subscribe(&owner, &t.acme, "1", "children").await;
    assert_eq!(status(&r), 303);
    let done = run_reports(&app, "2026-02-01T08:00:00Z").await;
    assert_eq!((done.handled, done.mails), (1, 2));
    let mails = delivered(&sink, &addr("boss"), 2).await;
    let mut files: Vec<(String, Vec<String>)> = mails
        .iter()
        .map(|m| {
            let f = &m.attachments[0];
            let rows = csv_records(&f.content);
            (
                f.filename.clone(),
                rows.iter().map(|r| r["subdomain"].clone()).collect(),
            )
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            (
                "usage-a1-2026-01.csv".to_string(),
                vec!["a1".to_string(), "a1x".to_string()]
            ),
            ("usage-a2-2026-01.csv".to_string(), vec!["a2".to_string()]),
        ]
    );
    assert_eq!(run_reports(&app, "2026-02-01T09:00:00Z").await.mails, 0);
}

#[tokio::test]
async fn only_owners_subscribe_and_a_bad_day_is_a_field_error() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let (_, owner) = person(&app, "boss", &t.acme, Owner, Subtree).await;
    let (_, viewer) = person(&app, "look", &t.acme, Viewer, Subtree).await;
    let (_, admin) = person(&app, "adm", &t.acme, Administrator, Subtree).await;
    // Viewers and Administrators read the statistics but get no form and may not subscribe.
    for who in [&viewer, &admin] {
        let html = who.get_html(&format!("/tenants/{}/stats", t.a1.id)).await;
        assert!(html.contains(r#"id="stats""#) || html.contains("stats-empty"));
        assert!(!html.contains(r#"id="report-form""#));
        assert_eq!(status(&subscribe(who, &t.a1, "5", "subtree").await), 403);
        assert_eq!(
            status(
                &who.get(&format!("/tenants/{}/stats/reports", t.a1.id))
                    .await
            ),
            403
        );
    }
    // A tenant they cannot see: 404, as a missing one.
    assert_eq!(
        status(&subscribe(&owner, &t.globex, "5", "subtree").await),
        404
    );
    assert_eq!(
        status(&subscribe(&owner, &t.acme, "5", "subtree").await),
        303
    );
    // Bad input: the form again with the field's message, nothing stored.
    for (day, scope, field) in [
        ("0", "subtree", "day-error"),
        ("29", "subtree", "day-error"),
        ("x", "subtree", "day-error"),
        ("5", "everything", "scope-error"),
        // The same report again.
        ("7", "subtree", "scope-error"),
    ] {
        let r = subscribe(&owner, &t.acme, day, scope).await;
        assert_eq!(status(&r), 422, "{day} {scope}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"id="{field}""#)),
            "{day} {scope}: {html}"
        );
    }
    // An Owner of a1 alone does not see its children: no report per child.
    let (_, solo) = person(&app, "solo", &t.a1, Owner, Only).await;
    let r = subscribe(&solo, &t.a1, "5", "children").await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        field_error(&html, "scope").is_some_and(|e| e.contains("do not see this tenant")),
        "{html}"
    );
    let n = count(&app, "SELECT count(*) FROM report_subscriptions").await;
    assert_eq!(n, 1);
    // The whole subtree (what they see of it) they may have; the subtree's Owner
    // may have one per child.
    assert_eq!(status(&subscribe(&solo, &t.a1, "5", "subtree").await), 303);
    assert_eq!(
        status(&subscribe(&owner, &t.a1, "5", "children").await),
        303
    );
}

#[tokio::test]
async fn cancelling_asks_first_and_only_the_subscriber_may() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let (_, owner) = person(&app, "boss", &t.acme, Owner, Subtree).await;
    let (_, other) = person(&app, "boss2", &t.acme, Owner, Subtree).await;
    assert_eq!(
        status(&subscribe(&owner, &t.acme, "3", "children").await),
        303
    );
    let id = count(&app, "SELECT id FROM report_subscriptions").await;
    let cancel = format!("/tenants/{}/stats/reports/{id}/cancel", t.acme.id);
    // Someone else's: not found, asked or confirmed.
    assert_eq!(status(&other.post_form(&cancel, &[]).await), 404);
    assert_eq!(
        status(&other.post_form(&cancel, &[("confirm", "yes")]).await),
        404
    );
    // The subscriber is asked first.
    let r = owner.post_form(&cancel, &[]).await;
    assert_eq!(status(&r), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Cancel the monthly report of Tenant acme?"));
    let r = owner.post_form(&cancel, &[("confirm", "yes")]).await;
    assert_redirect_to(&r, &format!("/tenants/{}/stats/reports", t.acme.id));
    let n = count(&app, "SELECT count(*) FROM report_subscriptions").await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_subscriber_who_lost_access_gets_nothing_and_the_subscription_is_suspended() {
    let (app, sink) = app_with_sink(&[]).await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let (boss, owner) = person(&app, "boss", &t.acme, Owner, Subtree).await;
    set_clock(&app, "2026-01-01T00:00:00Z");
    assert_eq!(
        status(&subscribe(&owner, &t.acme, "2", "subtree").await),
        303
    );
    db(&app)
        .await
        .execute("DELETE FROM grants WHERE user_id = $1", &[&boss.id])
        .await
        .unwrap();
    let done = run_reports(&app, "2026-02-02T00:00:00Z").await;
    assert_eq!((done.handled, done.mails, done.suspended), (1, 0, 1));
    assert!(queued(&app, &addr("boss")).await.is_empty());
    assert_eq!(suspension(&app).await.as_deref(), Some("no-access"));
    // Access back: the next month's report goes out and the suspension ends.
    app.grant(&boss, &t.acme, GrantRole::Owner, Scope::Subtree, false)
        .await;
    assert_eq!(run_reports(&app, "2026-03-02T00:00:00Z").await.mails, 1);
    delivered(&sink, &addr("boss"), 1).await;
    let reason = suspension(&app).await;
    assert_eq!(reason, None);
}

#[tokio::test]
async fn a_report_leaves_out_a_tenant_whose_cap_takes_usage_away() {
    let (app, sink) = app_with_sink(&[]).await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let (_, owner) = person(&app, "boss", &t.acme, Owner, Subtree).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    let r = subscribe(&owner, &t.acme, "5", "subtree").await;
    assert_redirect_to(&r, &format!("/tenants/{}/stats/reports", t.acme.id));
    let mut no_usage = Permissions::all(Level::Full);
    no_usage.set(Feature::Usage, Level::None);
    capped(&app, &t.a1, "No usage", &no_usage).await;

    assert_eq!(run_reports(&app, "2026-02-05T00:00:00Z").await.mails, 1);
    let mails = delivered(&sink, &addr("boss"), 1).await;
    let rows = csv_records(&mails[0].attachments[0].content);
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["subdomain"].as_str(),
                r["queries"].as_str(),
                r["subtree_queries"].as_str(),
            )
        })
        .collect();
    // a1x (below a1, readable) and acme's total, which holds a1's 100 queries.
    assert_eq!(
        rows,
        [
            ("a1x", "1000", "1000"),
            ("a2", "5", "5"),
            ("acme", "10", "1115")
        ]
    );
}
