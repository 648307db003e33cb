//! Usage ingestion (`POST /api/v1/usage`) with ingestion keys, the keys page
//! (`/usage/keys`), and the monthly query quota of tenants (form and API).

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::auth::tokens;
use tenantry::db::models::usage::IngestionKey;
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Scope};

// ---------------------------------------------------------------- helpers

/// A new ingestion key, made directly in the database.
pub(crate) async fn key(app: &TestApp) -> String {
    let secret = tokens::generate_ingestion_key();
    let mut conn = app.conn().await;
    IngestionKey::insert(
        &mut conn,
        &format!("test {}", &secret[secret.len() - 8..]),
        &tokens::stored_hash(&secret),
        &secret[..10],
        Some(app.admin.id),
    )
    .await
    .unwrap();
    secret
}

async fn post(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    Api::new(app, Some(key)).post("/api/v1/usage", body).await
}

/// Posts a batch that must be answered 200; returns the answer.
async fn counted(app: &TestApp, key: &str, batch_id: &str, events: Value) -> Value {
    let (status, answer) = post(app, key, json!({"batch_id": batch_id, "events": events})).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// An app with one tenant under the root (`acme`) and an ingestion key.
async fn acme_with_key() -> (TestApp, Tenant, String) {
    let app = spawn_app().await;
    let t = app.tenant(&app.root, "acme", false).await;
    let key = key(&app).await;
    (app, t, key)
}

/// The partner tree with `events` counted in one batch, the key that posted them,
/// and an API client of the root's administrator.
async fn counted_tree(
    events: impl FnOnce(&PartnerTree) -> Value,
) -> (TestApp, PartnerTree, String, Api) {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let key = key(&app).await;
    counted(&app, &key, "before", events(&t)).await;
    let admin = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    (app, t, key, admin)
}

fn event(tenant: Value, at: &str, queries: i64, blocked: i64) -> Value {
    json!({"tenant": tenant, "at": at, "queries": queries, "blocked": blocked})
}

/// (queries, blocked, subtree_queries, subtree_blocked) of a tenant's month, zeros
/// when there is no row, after folding what is pending.
async fn month(app: &TestApp, tenant: &Tenant, first_day: &str) -> (i64, i64, i64, i64) {
    month_of(app, tenant.id, first_day).await
}

async fn month_of(app: &TestApp, tenant_id: i64, first_day: &str) -> (i64, i64, i64, i64) {
    app.fold_usage().await;
    let row = db(app)
        .await
        .query_opt(
            "SELECT queries, blocked, subtree_queries, subtree_blocked FROM usage_monthly \
             WHERE tenant_id = $1 AND month = $2::text::date",
            &[&tenant_id, &first_day],
        )
        .await
        .unwrap();
    row.map_or((0, 0, 0, 0), |r| (r.get(0), r.get(1), r.get(2), r.get(3)))
}

async fn day(app: &TestApp, tenant: &Tenant, day: &str) -> (i64, i64) {
    let row = db(app)
        .await
        .query_opt(
            "SELECT queries, blocked FROM usage_daily WHERE tenant_id = $1 AND day = $2::text::date",
            &[&tenant.id, &day],
        )
        .await
        .unwrap();
    row.map_or((0, 0), |r| (r.get(0), r.get(1)))
}

const JAN: &str = "2026-01-01";
const FEB: &str = "2026-02-01";

// ---------------------------------------------------------------- ingestion

#[tokio::test]
async fn a_batch_counts_per_day_and_month_for_the_tenant_and_every_tenant_above() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let key = key(&app).await;
    let (status, answer) = post(
        &app,
        &key,
        json!({"batch_id": "b1", "events": [
            event(json!(t.a1x.id), "2026-01-10T08:00:00Z", 100, 7),
            // By subdomain, in any case.
            event(json!("A2"), "2026-01-10T09:00:00Z", 50, 5),
            event(json!("a1x"), "2026-01-11T00:00:00Z", 1, 0),
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"accepted": 3, "rejected": []}));
    assert_eq!(month(&app, &t.a1x, JAN).await, (101, 7, 101, 7));
    assert_eq!(month(&app, &t.a1, JAN).await, (0, 0, 101, 7));
    assert_eq!(month(&app, &t.a2, JAN).await, (50, 5, 50, 5));
    assert_eq!(month(&app, &t.acme, JAN).await, (0, 0, 151, 12));
    assert_eq!(month(&app, &app.root, JAN).await, (0, 0, 151, 12));
    assert_eq!(month(&app, &t.globex, JAN).await, (0, 0, 0, 0));
    assert_eq!(day(&app, &t.a1x, "2026-01-10").await, (100, 7));
    assert_eq!(day(&app, &t.a1x, "2026-01-11").await, (1, 0));
    // Another batch adds to the same rows.
    let more = json!([event(json!(t.a2.id), "2026-01-20T00:00:00Z", 10, 1)]);
    counted(&app, &key, "b2", more).await;
    assert_eq!(month(&app, &t.a2, JAN).await, (60, 6, 60, 6));
    assert_eq!(month(&app, &app.root, JAN).await, (0, 0, 161, 13));
}

#[tokio::test]
async fn days_and_months_are_utc() {
    let (app, t, key) = acme_with_key().await;
    let (status, answer) = post(
        &app,
        &key,
        json!({"batch_id": "edges", "events": [
            event(json!(t.id), "2026-01-31T23:59:59Z", 1, 0),
            event(json!(t.id), "2026-02-01T00:00:00Z", 10, 0),
            // 23:30 at UTC-2 is 01:30 UTC on February 1.
            event(json!(t.id), "2026-01-31T23:30:00-02:00", 100, 0),
            // 00:30 at UTC+2 is 22:30 UTC on January 31.
            event(json!(t.id), "2026-02-01T00:30:00+02:00", 1000, 0),
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 4);
    assert_eq!(month(&app, &t, JAN).await.0, 1001);
    assert_eq!(month(&app, &t, FEB).await.0, 110);
    assert_eq!(day(&app, &t, "2026-01-31").await.0, 1001);
    assert_eq!(day(&app, &t, "2026-02-01").await.0, 110);
}

#[tokio::test]
async fn bad_events_are_answered_one_by_one_and_the_rest_is_counted() {
    let (app, t, key) = acme_with_key().await;
    let (status, answer) = post(
        &app,
        &key,
        json!({"batch_id": "mixed", "events": [
            event(json!(t.id), "2026-01-05T00:00:00Z", 5, 1),
            event(json!(999_999), "2026-01-05T00:00:00Z", 5, 1),
            event(json!("nosuchtenant"), "2026-01-05T00:00:00Z", 5, 1),
            event(json!(t.id), "2026-01-05T00:00:00Z", -5, 1),
            event(json!(t.id), "yesterday", 5, 1),
            {"tenant": t.id, "at": "2026-01-05T00:00:00Z", "queries": 5},
            "not an event",
            event(json!("acme"), "2026-01-06T00:00:00Z", 7, 0),
            event(json!(t.id), "2026-01-05T00:00:00Z", 5, 6),
            event(json!(t.id), "0001-01-01T00:00:00Z", 5, 1),
            event(json!(t.id), "2100-01-01T00:00:00Z", 5, 1),
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);
    let rejected = answer["rejected"].as_array().unwrap();
    let indexes: Vec<u64> = rejected
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [1, 2, 3, 4, 5, 6, 8, 9, 10]);
    let error = |i: usize| rejected[i]["error"].as_str().unwrap().to_string();
    assert!(
        error(0).contains("no tenant with the id 999999"),
        "{answer}"
    );
    assert!(
        error(1).contains("no tenant with the subdomain nosuchtenant"),
        "{answer}"
    );
    assert!(error(2).contains("must not be negative"), "{answer}");
    assert!(error(3).contains("RFC 3339"), "{answer}");
    assert!(error(4).contains("Missing blocked"), "{answer}");
    assert!(error(5).contains("JSON object"), "{answer}");
    assert!(error(6).contains("blocked` cannot exceed"), "{answer}");
    assert!(error(7).contains("before 2000-01-01"), "{answer}");
    assert!(
        error(8).contains("more than a day in the future"),
        "{answer}"
    );
    assert_eq!(month(&app, &t, JAN).await, (12, 1, 12, 1));
}

#[tokio::test]
async fn a_retried_batch_answers_the_first_answer_and_counts_nothing_twice() {
    let (app, t, key) = acme_with_key().await;
    let events = json!([
        event(json!(t.id), "2026-01-05T00:00:00Z", 5, 1),
        event(json!(t.id), "2026-01-05T10:00:00Z", 3, 0),
        event(json!(424_242), "2026-01-05T00:00:00Z", 1, 0),
    ]);
    let body = json!({"batch_id": "retry-1", "events": events});
    let first = post(&app, &key, body.clone()).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["accepted"], 2);
    // Duplicates within the batch are summed into one day.
    assert_eq!(day(&app, &t, "2026-01-05").await, (8, 1));
    let again = post(&app, &key, body.clone()).await;
    assert_eq!(again, first);
    // The same batch written differently (key order, spacing) is the same batch.
    let text = r#"{ "events": [
        {"blocked": 1, "queries": 5, "at": "2026-01-05T00:00:00Z", "tenant": TID},
        {"at": "2026-01-05T10:00:00Z", "tenant": TID, "queries": 3, "blocked": 0},
        {"tenant": 424242, "at": "2026-01-05T00:00:00Z", "queries": 1, "blocked": 0}
      ], "batch_id": "retry-1" }"#
        .replace("TID", &t.id.to_string());
    let reformatted = send(
        Api::new(&app, Some(&key))
            .request(reqwest::Method::POST, "/api/v1/usage")
            .header("content-type", "application/json")
            .body(text),
    )
    .await;
    assert_eq!(reformatted, first);
    assert_eq!(month(&app, &t, JAN).await, (8, 1, 8, 1));
    // The same id with other events: refused, nothing counted.
    let (status, problem) = post(
        &app,
        &key,
        json!({"batch_id": "retry-1", "events": [event(json!(t.id), "2026-01-05T00:00:00Z", 1000, 0)]}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("retry-1"),
        "{problem}"
    );
    assert_eq!(month(&app, &t, JAN).await, (8, 1, 8, 1));
    // Another key sending the same batch id is the same batch too (a rotated key).
    let other = self::key(&app).await;
    assert_eq!(post(&app, &other, body).await, first);
    assert_eq!(month(&app, &t, JAN).await, (8, 1, 8, 1));
}

#[tokio::test]
async fn identical_batches_arriving_together_count_once_and_get_the_same_answer() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let key = key(&app).await;
    let tenants = [t.a1x.id, t.a2.id, t.g1.id, t.acme.id];
    let events: Vec<Value> = (0..2000)
        .map(|i| {
            event(
                json!(tenants[i % tenants.len()]),
                &format!("2026-01-{:02}T12:00:00Z", 1 + i % 28),
                1,
                i64::from(i % 2 == 0),
            )
        })
        .chain([event(json!("nobody"), "2026-01-01T00:00:00Z", 1, 0)])
        .collect();
    for round in 0..3 {
        let body = json!({"batch_id": format!("together-{round}"), "events": events});
        let (a, b) = tokio::join!(
            post(&app, &key, body.clone()),
            post(&app, &key, body.clone())
        );
        assert_eq!(a.0, 200, "{}", a.1);
        assert_eq!(a, b);
        assert_eq!(a.1["accepted"], 2000);
        assert_eq!(a.1["rejected"][0]["index"], 2000);
        let rounds = round + 1;
        assert_eq!(
            month(&app, &app.root, JAN).await,
            (0, 0, 2000 * rounds, 1000 * rounds),
            "round {round}"
        );
        assert_eq!(month(&app, &t.a1x, JAN).await.0, 500 * rounds);
    }
}

/// Every monthly row whose subtree totals differ from the sum of the own counts of
/// the tenants below it (their paths now), as (tenant, month, stored, recounted),
/// after folding what is pending.
async fn subtree_totals_off(app: &TestApp) -> Vec<(i64, String, i64, i64)> {
    app.fold_usage().await;
    db(app)
        .await
        .query(
            "WITH recount AS ( \
                 SELECT a.id AS tenant_id, u.month, sum(u.queries) AS q, sum(u.blocked) AS b \
                 FROM usage_monthly u JOIN tenant_paths p ON p.tenant_id = u.tenant_id \
                 CROSS JOIN unnest(p.path) AS a(id) GROUP BY 1, 2) \
             SELECT coalesce(u.tenant_id, r.tenant_id), coalesce(u.month, r.month)::text, \
                    coalesce(u.subtree_queries, 0), coalesce(r.q, 0)::bigint \
             FROM usage_monthly u FULL JOIN recount r USING (tenant_id, month) \
             WHERE coalesce(u.subtree_queries, 0) <> coalesce(r.q, 0) \
                OR coalesce(u.subtree_blocked, 0) <> coalesce(r.b, 0)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

/// Different batches over the same ancestors (every one adds to the root's month)
/// at once, with a move of a subtree among them: each waits for the rows another
/// holds (all write in one order, so never in a circle), none fails or loses a
/// count, and every subtree total equals a recount along the paths after the move.
#[tokio::test]
async fn different_batches_at_once_all_count_and_the_subtree_totals_stay_exact() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let key = key(&app).await;
    let tenants = [
        t.a1x.id,
        t.a1.id,
        t.a2.id,
        t.acme.id,
        t.g1.id,
        t.globex.id,
        app.root.id,
    ];
    let batches: Vec<Value> = (0..6usize)
        .map(|b| {
            let events: Vec<Value> = (0..500usize)
                .map(|i| {
                    let month = 1 + (i + b) % 2;
                    event(
                        json!(tenants[(i * 7 + b) % tenants.len()]),
                        &format!("2026-{month:02}-{:02}T12:00:00Z", 1 + (i + b) % 28),
                        (i + b) as i64,
                        (i % 3) as i64,
                    )
                })
                .collect();
            json!({"batch_id": format!("mixed-{b}"), "events": events})
        })
        .collect();
    let admin = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let posts = futures_util::future::join_all(batches.iter().map(|b| post(&app, &key, b.clone())));
    let move_path = format!("/api/v1/tenants/{}/move", t.a1.id);
    let move_a1 = admin.post(&move_path, json!({"parent_id": t.globex.id}));
    let (answers, moved) = tokio::join!(posts, move_a1);
    assert_eq!(moved.0, 200, "{}", moved.1);
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        assert_eq!(answer["accepted"], 500, "{answer}");
    }
    assert_eq!(subtree_totals_off(&app).await, vec![]);
    let sent: i64 = (0..6i64)
        .map(|b| (0..500).map(|i| i + b).sum::<i64>())
        .sum();
    let (jan, feb) = (
        month(&app, &app.root, JAN).await,
        month(&app, &app.root, FEB).await,
    );
    assert_eq!(jan.2 + feb.2, sent);
}

#[tokio::test]
async fn a_subtree_takes_its_usage_history_along_when_it_moves() {
    let (app, t, key, admin) = counted_tree(|t| {
        json!([
            event(json!(t.a1x.id), "2026-01-05T00:00:00Z", 10, 1),
            event(json!(t.a1.id), "2026-02-05T00:00:00Z", 20, 2),
            event(json!(t.a2.id), "2026-01-05T00:00:00Z", 40, 4),
        ])
    })
    .await;
    let (status, moved) = admin
        .post(
            &format!("/api/v1/tenants/{}/move", t.a1.id),
            json!({"parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(month(&app, &t.acme, JAN).await, (0, 0, 40, 4));
    assert_eq!(month(&app, &t.acme, FEB).await, (0, 0, 0, 0));
    assert_eq!(month(&app, &t.globex, JAN).await, (0, 0, 10, 1));
    assert_eq!(month(&app, &t.globex, FEB).await, (0, 0, 20, 2));
    assert_eq!(month(&app, &app.root, JAN).await, (0, 0, 50, 5));
    assert_eq!(month(&app, &t.a1, FEB).await, (20, 2, 20, 2));
    // Counting after the move follows the new path.
    let one = json!([event(json!(t.a1x.id), "2026-01-06T00:00:00Z", 1, 0)]);
    counted(&app, &key, "after-move", one).await;
    assert_eq!(month(&app, &t.globex, JAN).await, (0, 0, 11, 1));
    assert_eq!(month(&app, &t.acme, JAN).await, (0, 0, 40, 4));
}

#[tokio::test]
async fn a_deleted_tenants_usage_stays_in_its_ancestors_totals() {
    let (app, t, key, admin) = counted_tree(|t| {
        json!([
            event(json!(t.a2.id), "2026-01-05T00:00:00Z", 40, 4),
            event(json!(t.a1x.id), "2026-01-05T00:00:00Z", 2, 0),
        ])
    })
    .await;
    let deleted = admin
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/tenants/{}?force=true", t.a2.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    assert!(app.reload(&t.a2).await.is_none());
    assert_eq!(month(&app, &t.acme, JAN).await, (0, 0, 42, 4));
    assert_eq!(month(&app, &app.root, JAN).await, (0, 0, 42, 4));
    // Its own rows are kept too.
    assert_eq!(month(&app, &t.a2, JAN).await, (40, 4, 40, 4));
    // Events for it are now unknown tenants.
    let gone = json!([event(json!(t.a2.id), "2026-01-06T00:00:00Z", 1, 0)]);
    let answer = counted(&app, &key, "after-delete", gone).await;
    assert_eq!(answer["accepted"], 0, "{answer}");
}

// ---------------------------------------------------------------- keys and bodies

#[tokio::test]
async fn ingestion_keys_only_post_usage_and_api_tokens_never_do() {
    let (app, t, key) = acme_with_key().await;
    let body =
        json!({"batch_id": "k", "events": [event(json!(t.id), "2026-01-05T00:00:00Z", 1, 0)]});
    // A key elsewhere in the API: 401, saying what it is.
    let (status, problem) = Api::new(&app, Some(&key)).get("/api/v1/tenants").await;
    assert_eq!(status, 401, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ingestion key"),
        "{problem}"
    );
    let (status, _) = Api::new(&app, Some(&key))
        .get(&format!("/api/v1/tenants/{}", t.id))
        .await;
    assert_eq!(status, 401);
    // A personal API token (of the root Owner, even) on the usage route: 401.
    let token = token_for(&app, &app.admin, false).await;
    let (status, problem) = post(&app, &token, body.clone()).await;
    assert_eq!(status, 401, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("personal API token cannot post usage"),
        "{problem}"
    );
    // No key, an unknown one.
    let (status, _) = Api::new(&app, None)
        .post("/api/v1/usage", body.clone())
        .await;
    assert_eq!(status, 401);
    let (status, _) = post(&app, "tni_unknown", body.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(month(&app, &t, JAN).await, (0, 0, 0, 0));
    // A revoked key stops working.
    assert_eq!(post(&app, &key, body.clone()).await.0, 200);
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE ingestion_keys SET revoked_at = now()"),
        &mut *app.conn().await,
    )
    .await
    .unwrap();
    let (status, problem) = post(
        &app,
        &key,
        json!({"batch_id": "k2", "events": [event(json!(t.id), "2026-01-05T00:00:00Z", 1, 0)]}),
    )
    .await;
    assert_eq!(status, 401, "{problem}");
    assert_eq!(month(&app, &t, JAN).await.0, 1);
}

#[tokio::test]
async fn a_bad_body_is_a_problem_never_a_fault() {
    let (app, t, key) = acme_with_key().await;
    let api = Api::new(&app, Some(&key));
    let raw = |content_type: &'static str, body: String| {
        api.request(reqwest::Method::POST, "/api/v1/usage")
            .header("content-type", content_type)
            .body(body)
    };
    let ev = event(json!(t.id), "2026-01-05T00:00:00Z", 1, 0);
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            raw("text/plain", "{}".into()),
            415,
            "unsupported-media-type",
        ),
        (raw("application/json", "{".into()), 400, "malformed-json"),
        (raw("application/json", "[]".into()), 400, "invalid-body"),
        (
            raw("application/json", json!({"events": [ev]}).to_string()),
            400,
            "invalid-body",
        ),
        (
            raw("application/json", json!({"batch_id": "x"}).to_string()),
            400,
            "invalid-body",
        ),
        (
            raw(
                "application/json",
                json!({"batch_id": "x", "events": {}}).to_string(),
            ),
            400,
            "invalid-body",
        ),
        (
            raw(
                "application/json",
                json!({"batch_id": 7, "events": []}).to_string(),
            ),
            400,
            "invalid-body",
        ),
        (
            raw(
                "application/json",
                json!({"batch_id": "", "events": []}).to_string(),
            ),
            400,
            "invalid-body",
        ),
        (
            raw(
                "application/json",
                json!({"batch_id": "a b", "events": []}).to_string(),
            ),
            400,
            "invalid-body",
        ),
        (
            raw(
                "application/json",
                json!({"batch_id": "x", "events": [], "more": 1}).to_string(),
            ),
            400,
            "unknown-field",
        ),
        (
            raw(
                "application/json",
                json!({"batch_id": "big", "events": vec![ev.clone(); 10_001]}).to_string(),
            ),
            422,
            "too-many-events",
        ),
        (
            raw("application/json", "x".repeat(3 * 1024 * 1024)),
            413,
            "payload-too-large",
        ),
    ];
    for (request, want, kind) in cases {
        let (status, problem) = send(request).await;
        assert_eq!(status, want, "{problem}");
        assert_eq!(
            problem["type"],
            format!("urn:tenantry:problem:{kind}"),
            "{problem}"
        );
    }
    assert_eq!(month(&app, &t, JAN).await, (0, 0, 0, 0));
    // Exactly 10,000 events are one batch; an empty batch is answered too.
    let (status, answer) = post(
        &app,
        &key,
        json!({"batch_id": "full", "events": vec![ev; 10_000]}),
    )
    .await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(10_000)));
    let (status, answer) = post(&app, &key, json!({"batch_id": "empty", "events": []})).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"accepted": 0, "rejected": []}));
    assert_eq!(month(&app, &t, JAN).await.0, 10_000);
}

#[tokio::test]
async fn ingestion_keys_are_managed_by_root_owners_and_administrators_only() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let sub = app.tenant(&acme, "sub", false).await;
    app.login_admin().await;
    let html = app.get_html("/dashboard").await;
    assert!(html.contains(r#"href="/usage/keys""#), "nav link");
    let page = app.get("/usage/keys").await;
    assert_eq!(status(&page), 200);
    // An empty name: the form again, nothing made.
    let r = app.post_form("/usage/keys", &[("name", "  ")]).await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "name").is_some());
    // Created: the secret is shown this once.
    let r = app
        .post_form("/usage/keys", &[("name", "resolvers eu")])
        .await;
    assert_eq!(status(&r), 201);
    let html = r.text().await.unwrap();
    let secret = html
        .split(r#"<code id="key-secret">"#)
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string();
    assert!(secret.starts_with("tni_"), "{secret}");
    let list = app.get_html("/usage/keys").await;
    assert!(list.contains("resolvers eu") && !list.contains(&secret));
    // The name is taken (in any case): the form again with a field error, no key.
    let r = app
        .post_form("/usage/keys", &[("name", "Resolvers EU")])
        .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        field_error(&html, "name")
            .is_some_and(|e| e.contains("Another ingestion key has this name")),
        "{html}"
    );
    let keys: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM ingestion_keys", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 1);
    let body =
        json!({"batch_id": "page", "events": [event(json!(sub.id), "2026-01-05T00:00:00Z", 3, 0)]});
    assert_eq!(post(&app, &secret, body.clone()).await.0, 200);
    let id: i64 = db(&app)
        .await
        .query_one("SELECT id FROM ingestion_keys", &[])
        .await
        .unwrap()
        .get(0);
    // Revoking asks first and changes nothing until confirmed.
    let path = format!("/usage/keys/{id}/revoke");
    let r = app.post_form(&path, &[]).await;
    assert_eq!(status(&r), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Revoke the ingestion key resolvers eu?"));
    let again = json!({"batch_id": "page-2", "events": [event(json!(sub.id), "2026-01-05T00:00:00Z", 3, 0)]});
    assert_eq!(post(&app, &secret, again.clone()).await.0, 200);
    let r = app.post_form(&path, &[("confirm", "yes")]).await;
    assert_redirect_to(&r, "/usage/keys");
    assert_eq!(
        post(&app, &secret, json!({"batch_id": "page-3", "events": []}))
            .await
            .0,
        401
    );
    // Audited.
    let actions: Vec<String> = db(&app)
        .await
        .query(
            "SELECT action FROM audit_events WHERE action LIKE 'ingestion_key.%' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(actions, ["ingestion_key.create", "ingestion_key.revoke"]);

    // A root Administrator (scope: the root only) may; a root Viewer, the Owner of a
    // sub-tenant and a Viewer below may not: 404, and no link.
    let root_admin = app.user(&app.root, "rootadmin").await;
    app.grant(
        &root_admin,
        &app.root,
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    let b = browser_as(&app, "rootadmin").await;
    assert_eq!(status(&b.get("/usage/keys").await), 200);
    let viewer = app.user(&app.root, "rootviewer").await;
    app.grant(&viewer, &app.root, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let owner = app.user(&acme, "acmeowner").await;
    app.grant(&owner, &acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let sub_viewer = app.user(&sub, "subviewer").await;
    app.grant(&sub_viewer, &sub, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    for login in ["rootviewer", "acme\\acmeowner", "sub\\subviewer"] {
        let b = browser_as(&app, login).await;
        assert_eq!(status(&b.get("/usage/keys").await), 404, "{login}");
        assert_eq!(
            status(&b.post_form("/usage/keys", &[("name", "mine")]).await),
            404,
            "{login}"
        );
        assert_eq!(
            status(&b.post_form(&path, &[("confirm", "yes")]).await),
            404,
            "{login}"
        );
        assert!(
            !b.get_html("/dashboard").await.contains("/usage/keys"),
            "{login}"
        );
    }
    let keys: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM ingestion_keys", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 1);
}

// ---------------------------------------------------------------- quotas

#[tokio::test]
async fn the_monthly_query_quota_is_set_on_the_form_and_the_api_and_audited() {
    let app = spawn_app().await;
    let t = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    let edit = format!("/tenants/{}/edit", t.id);
    let html = app.get_html(&edit).await;
    assert!(html.contains(r#"name="monthly_query_quota""#));
    let save = |quota: &'static str| {
        let app = &app;
        let path = format!("/tenants/{}", t.id);
        async move {
            app.post_form(
                &path,
                &[
                    ("name", "Acme"),
                    ("subdomain", "acme"),
                    ("description", ""),
                    ("custom_domain", ""),
                    ("enabled", "true"),
                    ("monthly_query_quota", quota),
                ],
            )
            .await
        }
    };
    let r = save("-1").await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(field_error(&html, "monthly_query_quota")
        .unwrap()
        .contains("negative"));
    assert!(html.contains(r#"value="-1""#), "the input is kept");
    assert_eq!(status(&save("lots").await), 422);
    assert_eq!(app.reload(&t).await.unwrap().monthly_query_quota, None);
    assert_eq!(status(&save("5000000").await), 303);
    assert_eq!(
        app.reload(&t).await.unwrap().monthly_query_quota,
        Some(5_000_000)
    );
    assert!(app.get_html(&edit).await.contains(r#"value="5000000""#));
    assert!(app
        .get_html(&format!("/tenants/{}", t.id))
        .await
        .contains("5,000,000 queries a month"));
    assert_eq!(status(&save("").await), 303);
    assert_eq!(app.reload(&t).await.unwrap().monthly_query_quota, None);

    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let url = format!("/api/v1/tenants/{}", t.id);
    let (status, body) = api.patch(&url, json!({"monthly_query_quota": 10})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["monthly_query_quota"], 10);
    // Leaving it out keeps it; null removes it; a negative one is a field error.
    let (_, body) = api.patch(&url, json!({"description": "x"})).await;
    assert_eq!(body["monthly_query_quota"], 10);
    let (status, body) = api.patch(&url, json!({"monthly_query_quota": -1})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["monthly_query_quota"].is_string(), "{body}");
    let (_, body) = api.get(&url).await;
    assert_eq!(body["monthly_query_quota"], 10);
    let (_, body) = api.patch(&url, json!({"monthly_query_quota": null})).await;
    assert_eq!(body["monthly_query_quota"], Value::Null);
    let (status, created) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": app.root.id, "name": "Quota", "subdomain": "quota", "monthly_query_quota": 0}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["monthly_query_quota"], 0);
    let (status, _) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": app.root.id, "name": "Bad", "subdomain": "bad", "monthly_query_quota": -3}),
        )
        .await;
    assert_eq!(status, 422);
    // Each change is in the audit trail with the quota before and after.
    let changes: Vec<(Option<String>, Option<String>)> = db(&app)
        .await
        .query(
            "SELECT (before->'monthly_query_quota')::text, (after->'monthly_query_quota')::text \
             FROM audit_events WHERE action = 'tenant.update' AND tenant_id = $1 ORDER BY id",
            &[&t.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let change = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
    assert!(changes.contains(&change("null", "5000000")), "{changes:?}");
    assert!(changes.contains(&change("10", "null")), "{changes:?}");
}

// ---------------------------------------------------------------- folding

/// How many subtree deltas wait for the folder.
async fn pending(app: &TestApp) -> i64 {
    db(app)
        .await
        .query_one("SELECT count(*) FROM usage_pending", &[])
        .await
        .unwrap()
        .get(0)
}

/// The root's subtree queries in January as stored, without folding first.
async fn root_jan_unfolded(app: &TestApp) -> i64 {
    db(app)
        .await
        .query_opt(
            "SELECT subtree_queries FROM usage_monthly \
             WHERE tenant_id = $1 AND month = $2::text::date",
            &[&app.root.id, &JAN],
        )
        .await
        .unwrap()
        .map_or(0, |r| r.get(0))
}

/// Batches add to their tenants' days at once and to the months (own and subtree)
/// only when folded; after the fold, every subtree total equals a recount and
/// nothing is pending.
#[tokio::test]
async fn batches_then_a_fold_equal_a_recount() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let key = key(&app).await;
    for b in 0..3 {
        let events = json!([
            event(json!(t.a1x.id), "2026-01-05T00:00:00Z", 10 + b, 1),
            event(json!(t.a2.id), "2026-01-31T23:59:59Z", 20, 2),
            event(json!(t.g1.id), "2026-02-01T00:00:00Z", 30, 3),
        ]);
        counted(&app, &key, &format!("fold-{b}"), events).await;
    }
    assert!(pending(&app).await > 0);
    assert_eq!(root_jan_unfolded(&app).await, 0, "not folded yet");
    assert_eq!(
        day(&app, &t.a1x, "2026-01-05").await,
        (33, 3),
        "days at once"
    );
    assert!(app.fold_usage().await > 0);
    assert_eq!(pending(&app).await, 0);
    assert_eq!(subtree_totals_off(&app).await, vec![]);
    assert_eq!(month(&app, &app.root, JAN).await, (0, 0, 33 + 60, 9));
    assert_eq!(month(&app, &t.a1x, JAN).await, (33, 3, 33, 3));
    assert_eq!(month(&app, &t.globex, FEB).await, (0, 0, 90, 9));
    // A fold with nothing pending changes nothing.
    assert_eq!(app.fold_usage().await, 0);
    assert_eq!(month(&app, &app.root, JAN).await, (0, 0, 93, 9));
}

/// Two folders at once (on two connections, as two `serve` processes) while batches
/// still arrive: every delta is folded exactly once.
#[tokio::test]
async fn concurrent_folds_fold_each_delta_once() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let key = key(&app).await;
    let batch = |b: usize| {
        let events: Vec<Value> = (0..200usize)
            .map(|i| {
                let tenant = [t.a1x.id, t.a2.id, t.g1.id, app.root.id][(i + b) % 4];
                event(json!(tenant), "2026-01-10T00:00:00Z", 1, 0)
            })
            .collect();
        json!({"batch_id": format!("concurrent-{b}"), "events": events})
    };
    for b in 0..4 {
        let (status, answer) = post(&app, &key, batch(b)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let waiting = pending(&app).await;
    let folds = async {
        let (one, two) = tokio::join!(app.fold_usage(), app.fold_usage());
        one + two
    };
    let more = futures_util::future::join_all((4..8).map(|b| post(&app, &key, batch(b))));
    let (folded, answers) = tokio::join!(folds, more);
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
    }
    assert!(folded as i64 >= waiting, "{folded} < {waiting}");
    assert_eq!(subtree_totals_off(&app).await, vec![]);
    assert_eq!(pending(&app).await, 0);
    assert_eq!(month(&app, &app.root, JAN).await.2, 8 * 200);
}

/// A move while deltas of its subtree are pending: the move folds them first, so
/// the totals it shifts are complete, and the history moves along exactly.
#[tokio::test]
async fn a_move_with_pending_deltas_keeps_the_totals_exact() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let key = key(&app).await;
    let events = json!([
        event(json!(t.a1x.id), "2026-01-05T00:00:00Z", 10, 1),
        event(json!(t.a1.id), "2026-01-06T00:00:00Z", 20, 2),
        event(json!(t.a2.id), "2026-01-07T00:00:00Z", 40, 4),
    ]);
    counted(&app, &key, "pending-before-move", events).await;
    assert!(pending(&app).await > 0);
    let admin = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (status, moved) = admin
        .post(
            &format!("/api/v1/tenants/{}/move", t.a1.id),
            json!({"parent_id": t.globex.id}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(pending(&app).await, 0, "the move folded what was pending");
    assert_eq!(subtree_totals_off(&app).await, vec![]);
    assert_eq!(month(&app, &t.acme, JAN).await, (0, 0, 40, 4));
    assert_eq!(month(&app, &t.globex, JAN).await, (0, 0, 30, 3));
    assert_eq!(month(&app, &app.root, JAN).await, (0, 0, 70, 7));
}
