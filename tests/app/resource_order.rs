//! #14 review: the resource lists sort (`sort`, `dir`) — instances by name,
//! storage, memory, status or creation; clouds by name, provider or creation;
//! resolvers by name, address or creation; devices by name, identifier or creation;
//! subnets by network or creation — in the API (keyset pages that neither skip nor
//! repeat a row, ties by id, a cursor bound to its order) and on the pages (column
//! headers that are links keeping the filters, from page 1). And every API list
//! refuses a cursor it cannot continue from alike: 422 on `cursor`, as the OpenAPI
//! document says.

use crate::api::{partner_app, Api};
use crate::helpers::*;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;

/// Every item of `list` (`…?sort=…&dir=…`), page by page of `limit`: the pages
/// joined, checked to be the single page of them all.
async fn paged(api: &Api, list: &str, limit: usize) -> Vec<Value> {
    let join = if list.contains('?') { '&' } else { '?' };
    let (s, whole) = api.get(&format!("{list}{join}limit=500")).await;
    assert_eq!(s, 200, "{list}: {whole}");
    let whole = whole["items"].as_array().unwrap().clone();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            Some(c) => format!("{list}{join}limit={limit}&cursor={c}"),
            None => format!("{list}{join}limit={limit}"),
        };
        let (s, body) = api.get(&page).await;
        assert_eq!(s, 200, "{page}: {body}");
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(items.len() <= whole.len(), "{list}: more pages than rows");
    }
    assert_eq!(items, whole, "{list}: the pages are not the whole list");
    items
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

/// The ids of `items` ordered by `key` (then id), descending when `desc`.
fn expected<K: Ord>(items: &[Value], key: impl Fn(&Value) -> K, desc: bool) -> Vec<i64> {
    let mut sorted: Vec<&Value> = items.iter().collect();
    sorted.sort_by(|a, b| {
        let o = key(a)
            .cmp(&key(b))
            .then(a["id"].as_i64().cmp(&b["id"].as_i64()));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    sorted.iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

/// An item's `created_at`.
fn created(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v["created_at"].as_str().unwrap()).unwrap()
}

async fn post(api: &Api, path: &str, body: Value) -> Value {
    let (s, v) = api.post(path, body).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// Instances of `t` on a cloud of its own: names in mixed case, sizes and statuses
/// with ties, created over time (some at the same moment).
async fn instances(app: &TestApp, api: &Api, t: &Tenant) {
    let b = format!("/api/v1/tenants/{}", t.id);
    let cloud = post(
        api,
        &format!("{b}/clouds"),
        json!({"name": "own", "provider": "gcp"}),
    )
    .await;
    for (i, (name, storage, memory, status)) in [
        ("delta", 40, 4, "running"),
        ("Alpha", 10, 8, "stopped"),
        ("charlie", 40, 2, "running"),
        ("Echo", 20, 8, "stopped"),
        ("bravo", 40, 4, "running"),
        ("foxtrot", 5, 1, "running"),
        ("golf", 20, 16, "stopped"),
    ]
    .into_iter()
    .enumerate()
    {
        if i % 2 == 0 {
            app.clock.advance(chrono::TimeDelta::minutes(1));
        }
        post(
            api,
            &format!("{b}/instances"),
            json!({"name": name, "cloud_id": cloud["id"], "storage_gb": storage,
                   "memory_gb": memory, "status": status}),
        )
        .await;
    }
}

#[tokio::test]
async fn the_instances_api_pages_through_every_order_without_skipping_or_repeating() {
    let (app, t, api) = partner_app().await;
    instances(&app, &api, &t.a2).await;
    let list = format!("/api/v1/tenants/{}/instances", t.a2.id);
    let all = paged(&api, &list, 3).await;
    assert_eq!(all.len(), 7);
    let text = |f: &'static str| move |v: &Value| v[f].as_str().unwrap().to_lowercase();
    let number = |f: &'static str| move |v: &Value| v[f].as_i64().unwrap();
    for desc in [false, true] {
        let dir = if desc { "desc" } else { "asc" };
        for (sort, want) in [
            ("name", expected(&all, text("name"), desc)),
            ("storage", expected(&all, number("storage_gb"), desc)),
            ("memory", expected(&all, number("memory_gb"), desc)),
            ("status", expected(&all, text("status"), desc)),
            ("created", expected(&all, created, desc)),
        ] {
            for limit in [1, 2, 3] {
                let got = paged(&api, &format!("{list}?sort={sort}&dir={dir}"), limit).await;
                assert_eq!(ids(&got), want, "sort={sort} dir={dir} limit={limit}");
            }
        }
    }
    // Without `sort`: by id, as before; `dir` alone turns it round.
    let by_id = ids(&paged(&api, &list, 2).await);
    let mut sorted = by_id.clone();
    sorted.sort_unstable();
    assert_eq!(by_id, sorted);
    let mut back = ids(&paged(&api, &format!("{list}?dir=desc"), 2).await);
    back.reverse();
    assert_eq!(back, sorted);
    // The filters still apply, in any order.
    let running = paged(
        &api,
        &format!("{list}?status=running&sort=storage&dir=desc"),
        2,
    )
    .await;
    assert_eq!(
        ids(&running),
        expected(
            &all.iter()
                .filter(|i| i["status"] == "running")
                .cloned()
                .collect::<Vec<_>>(),
            number("storage_gb"),
            true
        )
    );
}

#[tokio::test]
async fn a_cursor_pages_on_only_in_its_own_order_and_bad_orders_are_refused() {
    let (app, t, api) = partner_app().await;
    instances(&app, &api, &t.a2).await;
    let list = format!("/api/v1/tenants/{}/instances", t.a2.id);
    let (s, first) = api
        .get(&format!("{list}?sort=storage&dir=desc&limit=2"))
        .await;
    assert_eq!(s, 200, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    for other in ["sort=storage", "sort=name&dir=desc", "dir=desc", ""] {
        let (s, body) = api.get(&format!("{list}?{other}&cursor={cursor}")).await;
        assert_eq!(s, 422, "{other}: {body}");
        let why = body["errors"]["cursor"].as_str().unwrap();
        assert!(
            why.contains("sorted by storage desc") && why.contains("sort storage and dir desc"),
            "{why}"
        );
    }
    // Another tenant's list: refused without naming the tenant.
    let (s, body) = api
        .get(&format!(
            "/api/v1/tenants/{}/instances?sort=storage&dir=desc&cursor={cursor}",
            t.a1.id
        ))
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["cursor"]
        .as_str()
        .unwrap()
        .contains("another tenant"));
    // A column the list does not have, a direction that is none: 422 naming each.
    let (s, body) = api.get(&format!("{list}?sort=provider&dir=up")).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["sort"],
        "Sort by one of “name”, “storage”, “memory”, “status”, “created” (or leave sort out: by id)."
    );
    assert_eq!(
        body["errors"]["dir"],
        "Sort asc or desc (or leave dir out: asc)."
    );
    for bad in ["sort=", "sort=Name", "dir="] {
        let (s, body) = api.get(&format!("{list}?{bad}")).await;
        assert_eq!(s, 422, "{bad}: {body}");
    }
}

#[tokio::test]
async fn clouds_resolvers_devices_and_subnets_sort_by_their_columns_in_the_api() {
    let (app, t, api) = partner_app().await;
    let b = format!("/api/v1/tenants/{}", t.acme.id);
    for (name, provider) in [
        ("Zeta", "aws"),
        ("alpha", "vmware"),
        ("Mid", "aws"),
        ("beta", "azure"),
    ] {
        app.clock.advance(chrono::TimeDelta::minutes(1));
        post(
            &api,
            &format!("{b}/clouds"),
            json!({"name": name, "provider": provider}),
        )
        .await;
    }
    let mut resolvers = Vec::new();
    for (name, address) in [
        ("ns-b", "192.0.2.10"),
        ("NS-A", "192.0.2.9"),
        ("ns-c", "10.1.1.1"),
    ] {
        resolvers.push(
            post(
                &api,
                &format!("{b}/resolvers"),
                json!({"name": name, "address": address}),
            )
            .await,
        );
    }
    for (name, identifier) in [("phone", "ZZ-1"), ("Laptop", "aa-2"), ("desk", "mm-3")] {
        post(
            &api,
            &format!("{b}/devices"),
            json!({"name": name, "identifier": identifier, "resolver_id": resolvers[0]["id"]}),
        )
        .await;
    }
    for cidr in ["192.168.0.0/16", "10.0.2.0/24", "10.0.10.0/24", "9.0.0.0/8"] {
        post(
            &api,
            &format!("{b}/subnets"),
            json!({"cidr": cidr, "resolver_id": resolvers[1]["id"]}),
        )
        .await;
    }
    let text = |f: &'static str| move |v: &Value| v[f].as_str().unwrap().to_lowercase();
    let address = |f: &'static str| {
        move |v: &Value| {
            let raw = v[f].as_str().unwrap();
            let host = raw.split('/').next().unwrap();
            host.parse::<std::net::Ipv4Addr>().unwrap()
        }
    };
    for (list, sort, key) in [
        (
            "clouds",
            "name",
            Box::new(text("name")) as Box<dyn Fn(&Value) -> String>,
        ),
        ("clouds", "provider", Box::new(text("provider"))),
        (
            "clouds",
            "created",
            Box::new(|v: &Value| format!("{:020}", created(v).timestamp_micros())),
        ),
        ("resolvers", "name", Box::new(text("name"))),
        ("devices", "name", Box::new(text("name"))),
        ("devices", "identifier", Box::new(text("identifier"))),
        (
            "subnets",
            "created",
            Box::new(|v: &Value| format!("{:020}", created(v).timestamp_micros())),
        ),
    ] {
        let all = paged(&api, &format!("{b}/{list}"), 2).await;
        for desc in [false, true] {
            let dir = if desc { "desc" } else { "asc" };
            let got = paged(&api, &format!("{b}/{list}?sort={sort}&dir={dir}"), 2).await;
            assert_eq!(ids(&got), expected(&all, &key, desc), "{list} {sort} {dir}");
        }
    }
    for (list, sort, field) in [
        ("resolvers", "address", "address"),
        ("subnets", "cidr", "cidr"),
    ] {
        let all = paged(&api, &format!("{b}/{list}"), 2).await;
        for desc in [false, true] {
            let dir = if desc { "desc" } else { "asc" };
            let got = paged(&api, &format!("{b}/{list}?sort={sort}&dir={dir}"), 1).await;
            assert_eq!(
                ids(&got),
                expected(&all, address(field), desc),
                "{list} {sort} {dir}"
            );
        }
    }
    // Each list takes its own columns only.
    for (list, other) in [
        ("clouds", "storage"),
        ("resolvers", "identifier"),
        ("devices", "address"),
        ("subnets", "name"),
    ] {
        let (s, body) = api.get(&format!("{b}/{list}?sort={other}")).await;
        assert_eq!(s, 422, "{list}: {body}");
        assert!(body["errors"]["sort"].is_string(), "{body}");
    }
}

/// A page's HTML with `&` unescaped (askama writes `&#38;`), to find links in it.
async fn page_html(app: &TestApp, path: &str) -> String {
    app.get_html(path)
        .await
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The ids of the rows of a list in `html`, in order (`data-<attr>="…"`).
fn row_ids(html: &str, attr: &str) -> Vec<i64> {
    let marker = format!("data-{attr}=\"");
    html.split(&marker)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn list_pages_sort_by_their_column_headers_keeping_the_filters() {
    let (app, t, api) = partner_app().await;
    instances(&app, &api, &t.a2).await;
    let page = format!("/tenants/{}/instances", t.a2.id);
    let list = format!("/api/v1/tenants/{}/instances", t.a2.id);
    // More than a page (50) of them.
    let cloud = first_cloud(&api, &t.a2).await;
    for i in 0..60 {
        post(
            &api,
            &list,
            json!({"name": format!("more-{i:02}"), "cloud_id": cloud, "storage_gb": i % 7,
                   "memory_gb": 1}),
        )
        .await;
    }
    app.login_admin().await;
    let api_ids = |query: &'static str| {
        let (api, list) = (&api, &list);
        async move { ids(&paged(api, &format!("{list}?{query}"), 500).await) }
    };
    // By default: as created, the Created header marked.
    let html = page_html(&app, &page).await;
    assert_eq!(
        row_ids(&html, "instance-id"),
        api_ids("sort=created").await[..50]
    );
    assert!(
        html.contains("aria-sort=\"ascending\"><a class=\"sort\""),
        "{html}"
    );
    // A header: the list by its column, the filters kept, from page 1.
    let second = page_html(&app, &format!("{page}?status=running&page=2")).await;
    assert!(!row_ids(&second, "instance-id").is_empty());
    let header = format!("{page}?status=running&sort=storage&dir=asc");
    assert!(second.contains(&format!("href=\"{header}\"")), "{second}");
    let html = page_html(
        &app,
        &format!("{page}?status=running&sort=storage&dir=desc"),
    )
    .await;
    assert_eq!(
        row_ids(&html, "instance-id"),
        api_ids("status=running&sort=storage&dir=desc").await[..50]
    );
    assert!(html.contains("aria-sort=\"descending\""), "{html}");
    // The current column's header turns it round; the filter form keeps the order,
    // and so do the page links.
    assert!(html.contains(&format!("href=\"{header}\"")), "{html}");
    assert!(html.contains("<input type=\"hidden\" name=\"sort\" value=\"storage\">"));
    assert!(html.contains("<input type=\"hidden\" name=\"dir\" value=\"desc\">"));
    assert!(
        html.contains(&format!(
            "href=\"{page}?status=running&sort=storage&dir=desc&page=2\""
        )),
        "{html}"
    );
    let next = page_html(
        &app,
        &format!("{page}?status=running&sort=storage&dir=desc&page=2"),
    )
    .await;
    let both = [row_ids(&html, "instance-id"), row_ids(&next, "instance-id")].concat();
    assert_eq!(both, api_ids("status=running&sort=storage&dir=desc").await);
    // What the list does not take is ignored and said, never an error.
    let r = app.get(&format!("{page}?sort=colour&dir=sideways")).await;
    assert_eq!(status(&r), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("“colour” is not a column this list sorts by"),
        "{html}"
    );
    assert_eq!(
        row_ids(&html, "instance-id"),
        api_ids("sort=created").await[..50]
    );
}

async fn first_cloud(api: &Api, t: &Tenant) -> i64 {
    let (_, clouds) = api
        .get(&format!("/api/v1/tenants/{}/clouds?limit=1", t.id))
        .await;
    clouds["items"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_other_resource_pages_sort_by_their_headers_too() {
    let (app, t, api) = partner_app().await;
    let b = format!("/api/v1/tenants/{}", t.acme.id);
    for (name, provider) in [("Zeta", "aws"), ("alpha", "vmware"), ("beta", "azure")] {
        post(
            &api,
            &format!("{b}/clouds"),
            json!({"name": name, "provider": provider}),
        )
        .await;
    }
    let r1 = post(
        &api,
        &format!("{b}/resolvers"),
        json!({"name": "b", "address": "192.0.2.10"}),
    )
    .await;
    post(
        &api,
        &format!("{b}/resolvers"),
        json!({"name": "a", "address": "192.0.2.9"}),
    )
    .await;
    for (name, identifier) in [("x", "id-2"), ("y", "id-1")] {
        post(
            &api,
            &format!("{b}/devices"),
            json!({"name": name, "identifier": identifier, "resolver_id": r1["id"]}),
        )
        .await;
    }
    for cidr in ["10.0.2.0/24", "10.0.10.0/24"] {
        post(
            &api,
            &format!("{b}/subnets"),
            json!({"cidr": cidr, "resolver_id": r1["id"]}),
        )
        .await;
    }
    app.login_admin().await;
    for (list, attr, sort, headers) in [
        (
            "clouds",
            "cloud-id",
            "provider",
            &["name", "provider", "created"][..],
        ),
        (
            "resolvers",
            "resolver-id",
            "address",
            &["name", "address", "created"][..],
        ),
        (
            "devices",
            "device-id",
            "identifier",
            &["name", "identifier", "created"][..],
        ),
        ("subnets", "subnet-id", "cidr", &["cidr", "created"][..]),
    ] {
        let page = format!("/tenants/{}/{list}", t.acme.id);
        let html = page_html(&app, &page).await;
        for h in headers {
            assert!(
                html.contains(&format!("href=\"{page}?sort={h}&dir=")),
                "{list}: no header for {h}"
            );
        }
        for dir in ["asc", "desc"] {
            let html = page_html(&app, &format!("{page}?sort={sort}&dir={dir}")).await;
            let (s, body) = api.get(&format!("{b}/{list}?sort={sort}&dir={dir}")).await;
            assert_eq!(s, 200);
            assert_eq!(row_ids(&html, attr), ids(body["items"].as_array().unwrap()));
        }
    }
}

#[tokio::test]
async fn every_api_list_refuses_a_bad_cursor_alike_as_documented() {
    let (app, t, api) = partner_app().await;
    let (_, doc) = Api::new(&app, None).get("/api/v1/openapi.json").await;
    let mut lists = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let params = get["parameters"].as_array().cloned().unwrap_or_default();
        if !params.iter().any(|p| p["name"] == "cursor") {
            continue;
        }
        lists += 1;
        // The document: 422 on a cursor, and 400 says nothing of cursors.
        let described = |code: &str| {
            get["responses"][code]["description"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        assert!(described("422").contains("cursor"), "{path}");
        assert!(!described("400").contains("cursor"), "{path}");
        // The server: the same answer everywhere, for none and for another list's.
        let url = path.replace("{id}", &t.acme.id.to_string());
        for cursor in ["xyz", "not%20a%20cursor", &"A".repeat(2001)] {
            let (s, body) = api.get(&format!("{url}?cursor={cursor}")).await;
            assert_eq!(s, 422, "{url} {cursor}: {body}");
            assert!(
                body["errors"]["cursor"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("The cursor is not valid")),
                "{url}: {body}"
            );
        }
    }
    assert!(lists >= 14, "{lists}");
    // A cursor of another list: 422 too.
    post(
        &api,
        &format!("/api/v1/tenants/{}/clouds", t.acme.id),
        json!({"name": "one", "provider": "aws"}),
    )
    .await;
    post(
        &api,
        &format!("/api/v1/tenants/{}/clouds", t.acme.id),
        json!({"name": "two", "provider": "aws"}),
    )
    .await;
    let (_, page) = api
        .get(&format!("/api/v1/tenants/{}/clouds?limit=1", t.acme.id))
        .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (s, body) = api
        .get(&format!(
            "/api/v1/tenants/{}/instances?cursor={cursor}",
            t.acme.id
        ))
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["cursor"]
        .as_str()
        .unwrap()
        .contains("another list"));
}
