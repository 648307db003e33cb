//! Usage statistics (#12): the stats page, its CSV export, its printable page and
//! `GET /api/v1/tenants/{id}/stats` — who sees which rows, the same numbers
//! everywhere, quota use, bad periods, formula cells, paging and streaming.

use crate::api::{token_for, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tenantry::auth::tokens;
use tenantry::db::models::usage::IngestionKey;
use tenantry::db::models::Tenant;
use tenantry::domain::usage::SentEvent;
use tenantry::domain::{Feature, GrantRole, Level, Permissions, Scope};
use tenantry::services::usage::{ingest, Batch};
use tenantry::services::usage_stats::EXPORT_CHUNK;

// ---------------------------------------------------------------- helpers

/// Ingests `events` (tenant id, `at`, queries, blocked) through the ingestion service
/// and folds the subtree totals.
pub(crate) async fn seed(app: &TestApp, events: &[(i64, &str, i64, i64)]) {
    let mut conn = app.conn().await;
    let secret = tokens::generate_ingestion_key();
    let key = IngestionKey::insert(
        &mut conn,
        // Names of usable keys are unique; every call makes a key of its own.
        &format!("seed {}", &secret[secret.len() - 8..]),
        &tokens::stored_hash(&secret),
        &secret[..10],
        None,
    )
    .await
    .unwrap();
    for chunk in events.chunks(10_000) {
        let events: Vec<SentEvent> = chunk
            .iter()
            .map(|(t, at, q, b)| json!({"tenant": t, "at": at, "queries": q, "blocked": b}).into())
            .collect();
        let batch_id = uuid::Uuid::new_v4().to_string();
        let answer = ingest(
            &mut conn,
            key.id,
            Batch {
                batch_id: &batch_id,
                events: &events,
                request_hash: batch_id.clone(),
            },
            app.clock.now(),
        )
        .await
        .unwrap();
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
    }
    // The stats read folded subtree totals (the folder would within a second).
    app.fold_usage().await;
}

pub(crate) async fn set_quota(app: &TestApp, tenant: &Tenant, quota: i64) {
    db(app)
        .await
        .execute(
            "UPDATE tenants SET monthly_query_quota = $2 WHERE id = $1",
            &[&tenant.id, &quota],
        )
        .await
        .unwrap();
}

/// Usage in January and February 2026 all over the partner tree:
/// acme 10/1, 20/2; a1 100/10; a1x 1000/100, 2000/200; a2 5; globex 7; g1 70.
pub(crate) async fn usage_everywhere(app: &TestApp, t: &PartnerTree) {
    seed(
        app,
        &[
            (t.acme.id, "2026-01-05T10:00:00Z", 10, 1),
            (t.acme.id, "2026-02-05T10:00:00Z", 20, 2),
            (t.a1.id, "2026-01-31T23:59:59Z", 100, 10),
            (t.a1x.id, "2026-01-10T00:00:00Z", 1000, 100),
            (t.a1x.id, "2026-02-01T00:00:00Z", 2000, 200),
            (t.a2.id, "2026-01-15T00:00:00Z", 5, 0),
            (t.globex.id, "2026-01-15T00:00:00Z", 7, 0),
            (t.g1.id, "2026-02-15T00:00:00Z", 70, 7),
        ],
    )
    .await;
}

const PERIOD: &str = "from=2026-01&to=2026-02";

/// One row as every view shows it: (tenant id, month) → (queries, blocked,
/// subtree queries, subtree blocked).
type Numbers = BTreeMap<(i64, String), (i64, i64, i64, i64)>;

fn digits(s: &str) -> i64 {
    s.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// The rows of the stats page's table.
fn page_numbers(html: &str) -> Numbers {
    let row = regex::Regex::new(
        r#"(?s)<tr class="stats-row[^"]*" data-tenant="(\d+)" data-month="([0-9-]+)">.*?class="num queries">([^<]*)<.*?class="num blocked">([^<]*)<.*?class="num subtree-queries">([^<]*)<.*?class="num subtree-blocked">([^<]*)<"#,
    )
    .unwrap();
    row.captures_iter(html)
        .map(|c| {
            (
                (c[1].parse().unwrap(), c[2].to_string()),
                (digits(&c[3]), digits(&c[4]), digits(&c[5]), digits(&c[6])),
            )
        })
        .collect()
}

/// The CSV's records as header → cell maps, parsed by the `csv` crate.
pub(crate) fn csv_records(body: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header.join(","),
        "tenant_id,subdomain,name,parent_id,month,queries,blocked,subtree_queries,subtree_blocked,quota"
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn csv_numbers(records: &[BTreeMap<String, String>]) -> Numbers {
    records
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].parse::<i64>().unwrap();
            (
                (n("tenant_id"), r["month"].clone()),
                (
                    n("queries"),
                    n("blocked"),
                    n("subtree_queries"),
                    n("subtree_blocked"),
                ),
            )
        })
        .collect()
}

fn api_numbers(items: &[Value]) -> Numbers {
    items
        .iter()
        .map(|i| {
            let n = |k: &str| i[k].as_i64().unwrap();
            (
                (n("tenant_id"), i["month"].as_str().unwrap().to_string()),
                (
                    n("queries"),
                    n("blocked"),
                    n("subtree_queries"),
                    n("subtree_blocked"),
                ),
            )
        })
        .collect()
}

pub(crate) async fn csv_body(browser: &TestApp, path: &str) -> String {
    let r = browser.get(path).await;
    assert_eq!(status(&r), 200, "GET {path}");
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    r.text().await.unwrap()
}

/// Every item of the API's listing, page by page (`limit` each).
async fn api_items(api: &Api, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = api.get(&url).await;
        assert_eq!(status, 200, "GET {url}: {body}");
        let page = body["items"].as_array().unwrap().clone();
        assert!(page.len() <= limit);
        items.extend(page);
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
}

/// `n` customers below `parent`, named "{name} 000"… with subdomains "{sub}000"….
async fn customers(app: &TestApp, parent: &Tenant, n: usize, name: &str, sub: &str) -> Vec<Tenant> {
    let fields: Vec<_> = (0..n)
        .map(|i| tenantry::db::models::tenant::TenantFields {
            name: format!("{name} {i:03}"),
            subdomain: format!("{sub}{i:03}"),
            description: String::new(),
            custom_domain: None,
            tenant_role_id: None,
            labels: None,
            monthly_query_quota: None,
            limits: Default::default(),
            max_users: None,
            plan_id: None,
            can_have_subtenants: false,
            enabled: true,
        })
        .collect();
    let children: Vec<_> = fields
        .iter()
        .map(|f| tenantry::db::models::tenant::NewChild {
            parent,
            tenant_role_id: parent.tenant_role_id,
            fields: f,
        })
        .collect();
    let mut conn = app.conn().await;
    Tenant::insert_children(&mut conn, &children).await.unwrap()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_subtree_administrator_sees_their_subtree_and_never_a_sibling() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let alice_user = app.user(&t.a1, "alice").await;
    app.grant(
        &alice_user,
        &t.a1,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let alice = browser_as(&app, "a1\\alice").await;

    // The page of a1: a1 and a1x, with a1's subtree totals (own + a1x).
    let html = alice
        .get_html(&format!("/tenants/{}/stats?{PERIOD}", t.a1.id))
        .await;
    let page = page_numbers(&html);
    let expected: Numbers = [
        ((t.a1.id, "2026-01".into()), (100, 10, 1100, 110)),
        ((t.a1.id, "2026-02".into()), (0, 0, 2000, 200)),
        ((t.a1x.id, "2026-01".into()), (1000, 100, 1000, 100)),
        ((t.a1x.id, "2026-02".into()), (2000, 200, 2000, 200)),
    ]
    .into_iter()
    .collect();
    assert_eq!(page, expected);
    for other in [&t.acme, &t.a2, &t.globex, &t.g1] {
        assert!(!html.contains(&other.name), "{} on the page", other.name);
    }

    // The CSV, the printable page and the API: the same rows, no sibling.
    let body = csv_body(&alice, &format!("/tenants/{}/stats.csv?{PERIOD}", t.a1.id)).await;
    let records = csv_records(&body);
    assert_eq!(csv_numbers(&records), expected);
    // a1's parent (acme) is above alice's reach: no id of it.
    let a1_row = records
        .iter()
        .find(|r| r["tenant_id"] == t.a1.id.to_string())
        .unwrap();
    assert_eq!(a1_row["parent_id"], "");
    let a1x_row = records
        .iter()
        .find(|r| r["tenant_id"] == t.a1x.id.to_string())
        .unwrap();
    assert_eq!(a1x_row["parent_id"], t.a1.id.to_string());
    let print = alice
        .get_html(&format!("/tenants/{}/stats/print?{PERIOD}", t.a1.id))
        .await;
    assert!(print.contains(&t.a1x.name) && print.contains("1,100"));
    let api = Api::new(&app, Some(&token_for(&app, &alice_user, true).await));
    let items = api_items(
        &api,
        &format!("/api/v1/tenants/{}/stats?{PERIOD}", t.a1.id),
        3,
    )
    .await;
    assert_eq!(api_numbers(&items), expected);
    for text in [
        &body,
        &print,
        &items.iter().map(Value::to_string).collect::<String>(),
    ] {
        for other in [&t.acme, &t.a2, &t.globex, &t.g1] {
            assert!(!text.contains(&other.name), "{} listed", other.name);
        }
    }

    // acme (above) and globex (beside): 404 everywhere, as a missing tenant.
    for tenant in [&t.acme, &t.globex, &t.g1] {
        for path in ["stats", "stats.csv", "stats/print"] {
            let r = alice.get(&format!("/tenants/{}/{path}", tenant.id)).await;
            assert_eq!(status(&r), 404, "{path} of {}", tenant.name);
        }
        let (status, _) = api
            .get(&format!("/api/v1/tenants/{}/stats", tenant.id))
            .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn a_user_who_sees_single_tenants_gets_only_those_rows_with_whole_subtree_totals() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    // Vic sees acme alone (tenant-only grant) and a1x: not a1, not a2.
    let vic = app.user(&t.g1, "vic").await;
    app.grant(&vic, &t.acme, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    app.grant(&vic, &t.a1x, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    let browser = browser_as(&app, "g1\\vic").await;
    let html = browser
        .get_html(&format!("/tenants/{}/stats?{PERIOD}", t.acme.id))
        .await;
    let page = page_numbers(&html);
    let tenants: Vec<i64> = page.keys().map(|(id, _)| *id).collect();
    assert!(tenants.iter().all(|id| *id == t.acme.id || *id == t.a1x.id));
    // acme's subtree total counts a1 and a2 (below a root vic sees), unnamed.
    assert_eq!(
        page[&(t.acme.id, "2026-01".to_string())],
        (10, 1, 1115, 111)
    );
    // ("Tenant a1" is the start of "Tenant a1x": whole names only.)
    for hidden in [&t.a1, &t.a2] {
        assert!(
            !html.contains(&format!(">{}<", hidden.name)),
            "{}",
            hidden.name
        );
        assert!(!html.contains(&format!("data-tenant=\"{}\"", hidden.id)));
    }
    assert!(page.contains_key(&(t.a1x.id, "2026-01".to_string())));
}

#[tokio::test]
async fn page_csv_and_api_agree_in_every_order() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    app.login_admin().await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let root = app.root.id;
    let row_key = regex::Regex::new(r#"data-tenant="(\d+)" data-month="([0-9-]+)""#).unwrap();
    // Read as a small subtree (sorted whole), then as a large one (in an index's
    // order, usage_stats::SMALL_SUBTREE): the same rows in the same order.
    let mut orders: Vec<Vec<(i64, String)>> = Vec::new();
    for (large, sort, dir) in [false, true].into_iter().flat_map(|large| {
        ["name", "subdomain", "month", "queries", "subtree_queries"]
            .into_iter()
            .flat_map(move |sort| ["asc", "desc"].map(|dir| (large, sort, dir)))
    }) {
        if large && sort == "name" && dir == "asc" {
            db(&app)
                .await
                .execute(
                    "UPDATE tenant_subtree_totals SET tenant_count = 1000000 WHERE tenant_id = $1",
                    &[&root],
                )
                .await
                .unwrap();
        }
        {
            let query = format!("{PERIOD}&sort={sort}&dir={dir}");
            let html = app
                .get_html(&format!("/tenants/{root}/stats?{query}"))
                .await;
            let page_order: Vec<(i64, String)> = row_key
                .captures_iter(&html)
                .map(|c| (c[1].parse().unwrap(), c[2].to_string()))
                .collect();
            let records =
                csv_records(&csv_body(&app, &format!("/tenants/{root}/stats.csv?{query}")).await);
            let csv_order: Vec<(i64, String)> = records
                .iter()
                .map(|r| (r["tenant_id"].parse().unwrap(), r["month"].clone()))
                .collect();
            // Pages of 2 walk the keyset through every order's ties.
            let items = api_items(&api, &format!("/api/v1/tenants/{root}/stats?{query}"), 2).await;
            let api_order: Vec<(i64, String)> = items
                .iter()
                .map(|i| {
                    (
                        i["tenant_id"].as_i64().unwrap(),
                        i["month"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert_eq!(page_order.len(), 12, "{query}");
            assert_eq!(csv_order, page_order, "{query}");
            assert_eq!(api_order, page_order, "{query}");
            assert_eq!(csv_numbers(&records), page_numbers(&html), "{query}");
            assert_eq!(api_numbers(&items), page_numbers(&html), "{query}");
            if large {
                assert_eq!(orders.remove(0), page_order, "{query}, large");
            } else {
                orders.push(page_order);
            }
        }
    }
    // The root's subtree total holds everything.
    let html = app
        .get_html(&format!("/tenants/{root}/stats?{PERIOD}"))
        .await;
    assert_eq!(
        page_numbers(&html)[&(root, "2026-01".to_string())],
        (0, 0, 1122, 111)
    );
    // The chart is SVG with a title and a description naming the months' totals.
    assert!(html.contains("<svg id=\"stats-chart\" role=\"img\""));
    assert!(html.contains("January 2026: 1,122 queries, 111 blocked"));
    assert!(html.contains("February 2026: 2,090 queries, 209 blocked"));
}

#[tokio::test]
async fn formula_cells_are_neutralised_and_names_survive_quoting() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let name = "=HYPERLINK(\"http://evil.example\",\"click, me\")";
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET name = $2 WHERE id = $1",
            &[&t.a2.id, &name],
        )
        .await
        .unwrap();
    seed(&app, &[(t.a2.id, "2026-01-15T00:00:00Z", 3, 1)]).await;
    app.login_admin().await;
    let body = csv_body(&app, &format!("/tenants/{}/stats.csv?{PERIOD}", t.acme.id)).await;
    assert!(body.contains("\r\n"), "CRLF lines");
    let records = csv_records(&body);
    let row = records
        .iter()
        .find(|r| r["tenant_id"] == t.a2.id.to_string())
        .unwrap();
    assert_eq!(row["name"], format!("'{name}"));
    assert_eq!(row["parent_id"], t.acme.id.to_string());
    assert_eq!(row["queries"], "3");
}

#[tokio::test]
async fn a_missing_month_is_filled_in_as_the_help_says() {
    let app = spawn_app().await;
    app.clock.advance(
        "2026-03-15T12:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            - app.clock.now(),
    );
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let id = t.acme.id;
    let html = app.get_html(&format!("/tenants/{id}/stats")).await;
    assert!(
        html.contains("From alone: 12 months from it, but not past this month"),
        "{html}"
    );
    assert!(html.contains("tenants without usage in the period are not listed"));
    for (query, period) in [
        ("", "April 2025 – March 2026"),
        ("from=2025-01", "January 2025 – December 2025"),
        ("from=2025-09", "September 2025 – March 2026"),
        ("from=2026-03", "March 2026"),
        ("to=2025-06", "July 2024 – June 2025"),
    ] {
        let html = app.get_html(&format!("/tenants/{id}/stats?{query}")).await;
        assert!(html.contains(&format!(", {period}.")), "{query}: {period}");
    }
}

#[tokio::test]
async fn bad_or_reversed_months_rerender_the_page_with_field_errors() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    let id = t.acme.id;
    for (query, field, words) in [
        ("from=2026-13&to=2026-02", "from", "YYYY-MM"),
        ("from=2026-01&to=soon", "to", "YYYY-MM"),
        ("from=2026-03&to=2026-01", "to", "cannot come before"),
        ("from=2020-01&to=2026-01", "to", "at most 36 months"),
        ("from=0000-01&to=2026-01", "from", "from 2000-01 on"),
    ] {
        let r = app.get(&format!("/tenants/{id}/stats?{query}")).await;
        assert_eq!(status(&r), 422, "{query}");
        let html = r.text().await.unwrap();
        let error =
            field_error(&html, field).unwrap_or_else(|| panic!("{query}: no {field} error"));
        assert!(error.contains(words), "{query}: {error}");
        // The input is kept.
        let typed = query.split('&').find(|p| p.starts_with(field)).unwrap();
        assert!(html.contains(&format!("value=\"{}\"", &typed[field.len() + 1..])));
        let r = app.get(&format!("/tenants/{id}/stats/print?{query}")).await;
        assert_eq!(status(&r), 422, "print {query}");
        assert!(r.text().await.unwrap().contains(words));
        assert_eq!(
            status(&app.get(&format!("/tenants/{id}/stats.csv?{query}")).await),
            422
        );
    }
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    // A period of the documented form that is not valid is 422 (as on the page); a
    // parameter not of its form is 400.
    for (query, expected) in [
        ("from=2026-13", 422),
        ("from=0000-00", 422),
        ("from=0000-01", 422),
        ("from=2026-03&to=2026-01", 422),
        ("sort=bogus", 400),
        ("dir=up", 400),
        ("cursor=xyz", 422),
        ("limit=0", 400),
    ] {
        let (status, _) = api
            .get(&format!("/api/v1/tenants/{id}/stats?{query}"))
            .await;
        assert_eq!(status, expected, "{query}");
    }
    // Without a period: the last twelve months, 200.
    assert_eq!(status(&app.get(&format!("/tenants/{id}/stats")).await), 200);
}

#[tokio::test]
async fn quota_use_is_marked_in_words_from_80_and_past_100_percent() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    set_quota(&app, &t.a1x, 1000).await;
    set_quota(&app, &t.a2, 100).await;
    set_quota(&app, &t.g1, 1000).await;
    seed(
        &app,
        &[
            (t.a1x.id, "2026-01-10T00:00:00Z", 1500, 0),
            (t.a2.id, "2026-01-10T00:00:00Z", 85, 0),
            (t.g1.id, "2026-01-10T00:00:00Z", 10, 0),
        ],
    )
    .await;
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{}/stats?{PERIOD}", app.root.id))
        .await;
    let cell = |tenant: &Tenant| {
        let start = html
            .find(&format!(
                "data-tenant=\"{}\" data-month=\"2026-01\"",
                tenant.id
            ))
            .unwrap();
        let row = &html[start..start + html[start..].find("</tr>").unwrap()];
        row[row.find("class=\"num quota").unwrap()..].to_string()
    };
    assert!(
        cell(&t.a1x).contains("quota-over")
            && cell(&t.a1x)
                .contains("150 % of 1,000 <strong class=\"quota-note\">(over the quota)")
    );
    assert!(
        cell(&t.a2).contains("quota-near")
            && cell(&t.a2).contains("85 % of 100 <strong class=\"quota-note\">(near the quota)")
    );
    assert!(!cell(&t.g1).contains("quota-") && cell(&t.g1).contains("1 % of 1,000<"));
    assert!(cell(&t.acme).contains("no quota"));
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));
    let items = api_items(
        &api,
        &format!("/api/v1/tenants/{}/stats?{PERIOD}", t.a2.id),
        10,
    )
    .await;
    assert_eq!(items[0]["quota"], 100);
    assert_eq!(items[0]["quota_percent"], 85);
}

#[tokio::test]
async fn viewers_see_statistics_and_pages_link_to_them() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let vic = app.user(&t.acme, "vic").await;
    app.grant(&vic, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let browser = browser_as(&app, "acme\\vic").await;
    let dashboard = browser.get_html("/dashboard").await;
    assert!(dashboard.contains(&format!("href=\"/tenants/{}/stats\"", t.acme.id)));
    let show = browser.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert!(show.contains(&format!("href=\"/tenants/{}/stats\"", t.a1.id)));
    let html = browser
        .get_html(&format!("/tenants/{}/stats?{PERIOD}", t.acme.id))
        .await;
    assert_eq!(page_numbers(&html).len(), 7);
}

#[tokio::test]
async fn the_stats_page_pages_and_costs_at_most_three_statements() {
    let app = spawn_app_with_env(&[("TENANTRY_DEV", "1")]).await;
    let t = partner_tree(&app).await;
    // 60 customers under a2's parent with a month each: 60 + acme's rows.
    let customers = customers(&app, &t.acme, 60, "Customer", "cust").await;
    let events: Vec<(i64, &str, i64, i64)> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id, "2026-01-10T00:00:00Z", i as i64 + 1, 0))
        .collect();
    seed(&app, &events).await;
    app.login_admin().await;
    let base = format!("/tenants/{}/stats?{PERIOD}", t.acme.id);
    let first = app.get_html(&base).await;
    assert_eq!(page_numbers(&first).len(), 50);
    assert!(first.contains("61 tenant-months"));
    assert!(first.contains("Page 1 of 2"));
    let second = app.get_html(&format!("{base}&page=2")).await;
    assert_eq!(page_numbers(&second).len(), 11);
    assert!(second.contains("Customer 059"));
    for path in [base.clone(), format!("{base}&page=2&sort=queries&dir=desc")] {
        for _ in 0..2 {
            let r = app.get(&path).await;
            let n: u32 = r.headers()[tenantry::db::statements::HEADER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(n <= 3, "GET {path}: {n} statements");
        }
    }
}

#[tokio::test]
async fn a_large_export_is_streamed_in_chunks_and_complete() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    // More than one export chunk: customers × 11 months (+ acme's 11).
    let n = usize::try_from(EXPORT_CHUNK).unwrap() / 11 + 10;
    let customers = customers(&app, &t.acme, n, "Bulk", "bulk").await;
    let months: Vec<String> = (1..=11)
        .map(|m| format!("2025-{m:02}-03T00:00:00Z"))
        .collect();
    let mut events = Vec::new();
    for c in &customers {
        for m in &months {
            events.push((c.id, m.as_str(), 1, 0));
        }
    }
    seed(&app, &events).await;
    app.login_admin().await;
    let r = app
        .get(&format!(
            "/tenants/{}/stats.csv?from=2025-01&to=2025-11",
            t.acme.id
        ))
        .await;
    assert_eq!(status(&r), 200);
    // Streamed: no length known in advance.
    assert!(r.headers().get("content-length").is_none());
    let records = csv_records(&r.text().await.unwrap());
    assert_eq!(records.len(), n * 11 + 11);
    assert!(records.len() > usize::try_from(EXPORT_CHUNK).unwrap());
    let acme_nov = records
        .iter()
        .find(|r| r["tenant_id"] == t.acme.id.to_string() && r["month"] == "2025-11")
        .unwrap();
    assert_eq!(acme_nov["subtree_queries"], n.to_string());

    // A client that stops reading halfway: the statement's task stops with it, and
    // the connections it used serve the next requests (pages and a whole export).
    let path = format!("/tenants/{}/stats.csv?from=2025-01&to=2025-11", t.acme.id);
    for _ in 0..3 {
        let mut r = app.get(&path).await;
        assert_eq!(status(&r), 200);
        assert!(r.chunk().await.unwrap().is_some());
        drop(r);
    }
    let page = app
        .get(&format!(
            "/tenants/{}/stats?from=2025-01&to=2025-11",
            t.acme.id
        ))
        .await;
    assert_eq!(status(&page), 200);
    let again = csv_records(&app.get(&path).await.text().await.unwrap());
    assert_eq!(again, records);
}

#[tokio::test]
async fn a_tenant_whose_cap_takes_usage_away_is_left_out_of_the_rows_not_the_totals() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    usage_everywhere(&app, &t).await;
    let mut no_usage = Permissions::all(Level::Full);
    no_usage.set(Feature::Usage, Level::None);
    capped(&app, &t.a1, "No usage", &no_usage).await;
    let admin = app.new_browser();
    admin.login_admin().await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, true).await));

    // a1's own statistics are refused, to the root's Owner too.
    for path in ["stats", "stats.csv", "stats/print"] {
        let r = admin.get(&format!("/tenants/{}/{path}", t.a1.id)).await;
        assert_eq!(status(&r), 403, "{path}");
    }
    let (s, _) = api
        .get(&format!("/api/v1/tenants/{}/stats?{PERIOD}", t.a1.id))
        .await;
    assert_eq!(s, 403);

    // acme's views list acme, a1x (below a1, its own cap leaves Usage readable) and
    // a2, never a1; acme's subtree totals still hold a1's queries (a number about
    // acme, which the reader may read).
    let expected: Numbers = [
        ((t.acme.id, "2026-01".into()), (10, 1, 1115, 111)),
        ((t.acme.id, "2026-02".into()), (20, 2, 2020, 202)),
        ((t.a1x.id, "2026-01".into()), (1000, 100, 1000, 100)),
        ((t.a1x.id, "2026-02".into()), (2000, 200, 2000, 200)),
        ((t.a2.id, "2026-01".into()), (5, 0, 5, 0)),
    ]
    .into_iter()
    .collect();
    let html = admin
        .get_html(&format!("/tenants/{}/stats?{PERIOD}", t.acme.id))
        .await;
    assert_eq!(page_numbers(&html), expected);
    assert!(!html.contains(&format!("data-tenant=\"{}\"", t.a1.id)));
    let body = csv_body(
        &admin,
        &format!("/tenants/{}/stats.csv?{PERIOD}", t.acme.id),
    )
    .await;
    assert_eq!(csv_numbers(&csv_records(&body)), expected);
    let print = admin
        .get_html(&format!("/tenants/{}/stats/print?{PERIOD}", t.acme.id))
        .await;
    assert!(print.contains(&t.a1x.name) && print.contains("1,115"));
    assert!(!print.contains(&format!(">{}<", t.a1.name)), "{print}");
    let items = api_items(
        &api,
        &format!("/api/v1/tenants/{}/stats?{PERIOD}", t.acme.id),
        2,
    )
    .await;
    assert_eq!(api_numbers(&items), expected);

    // The root's page: every tenant but a1.
    let html = admin
        .get_html(&format!(
            "/tenants/{}/stats?{PERIOD}&sort=queries",
            app.root.id
        ))
        .await;
    let tenants: std::collections::BTreeSet<i64> =
        page_numbers(&html).keys().map(|(id, _)| *id).collect();
    let all_but_a1: std::collections::BTreeSet<i64> =
        [&app.root, &t.acme, &t.a1x, &t.a2, &t.globex, &t.g1]
            .iter()
            .map(|t| t.id)
            .collect();
    assert_eq!(tenants, all_but_a1);
}
