//! Query strings: a parameter that cannot be read is named with what it takes, on
//! pages and in the API alike (`web::extract::Query`); and every search box takes
//! search text by one rule (`domain::SearchText`): at most 100 characters, no control
//! characters, refused with a message rather than cut short or cleaned silently.

use crate::api::{token_for, Api};
use crate::helpers::*;

const TOO_LONG: &str = "The search text must be at most 100 characters long.";
const CONTROL: &str = "The search text must not contain control characters.";

#[tokio::test]
async fn a_query_parameter_that_cannot_be_read_is_named_with_what_it_takes() {
    let app = spawn_app().await;
    app.login_admin().await;
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let root = app.root.id;
    for (path, detail) in [
        (
            "/api/v1/tenants?limit=abc".to_string(),
            "The query parameter “limit” must be a whole number.",
        ),
        (
            "/api/v1/tenants?subtree=true".into(),
            "The query parameter “subtree” must be a whole number.",
        ),
        (
            "/api/v1/tenants?status=on".into(),
            "The query parameter “status” must be one of “enabled”, “disabled”.",
        ),
        (
            "/api/v1/tenants?limit=0".into(),
            "The query parameter “limit” must be a whole number from 1 to 500.",
        ),
        (
            "/api/v1/tenants?q=a&q=b".into(),
            "The query parameter “q” is given more than once: give it once.",
        ),
        (
            format!("/api/v1/tenants/{root}/activity?limit=1e3"),
            "The query parameter “limit” must be a whole number.",
        ),
        (
            format!("/api/v1/tenants/{root}/activity?scope="),
            "The query parameter “scope” must not be empty or have blanks around it.",
        ),
        (
            format!("/api/v1/tenants/{root}/stats?limit=many"),
            "The query parameter “limit” must be a whole number.",
        ),
    ] {
        let (code, body) = api.get(&path).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert_eq!(body["type"], "urn:tenantry:problem:bad-request", "{path}");
        assert_eq!(body["detail"], detail, "{path}");
    }
    let (code, body) = api.get("/api/v1/tenants?colour=red").await;
    assert_eq!(code, 400);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("The query parameter “colour” is not known here (known: “q”,"),
        "{detail}"
    );
    let (code, body) = api
        .delete(&format!("/api/v1/tenants/{root}?force=yes"))
        .await;
    assert_eq!(code, 400);
    assert_eq!(
        body["detail"],
        "The query parameter “force” must be true or false."
    );

    // A page: the error page names the parameter (400).
    for (query, message) in [
        (
            "before=xyz",
            "The query parameter “before” must be a page start taken from a link of this page.",
        ),
        (
            "before=1_2&after=1_2",
            "The query parameter “after” cannot be given with “before”",
        ),
        (
            "actor=a&actor=b",
            "The query parameter “actor” is given more than once: give it once.",
        ),
    ] {
        let r = app.get(&format!("/tenants/{root}/activity?{query}")).await;
        assert_eq!(status(&r), 400, "{query}");
        let html = r.text().await.unwrap();
        assert!(html.contains(message), "{query}: {html}");
    }
}

/// `path` with `q` (already encoded) added to its query string.
fn with_q(path: &str, name: &str, q: &str) -> String {
    let join = if path.contains('?') { '&' } else { '?' };
    format!("{path}{join}{name}={q}")
}

#[tokio::test]
async fn every_search_box_takes_search_text_by_one_rule() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let longest = "a".repeat(100);
    let long = "a".repeat(101);
    let huge = "b".repeat(5000);
    // Whole pages: 422 with the message, the typed text kept in the box (without
    // the control characters a page cannot show), nothing searched, never a count
    // "matching" the text.
    let pages = [
        ("/tenants".to_string(), "q"),
        ("/users".into(), "q"),
        (format!("/tenants/{}/users", t.acme.id), "q"),
        (format!("/tenants/{}/activity", t.acme.id), "actor"),
        (format!("/tenants/{}/move", t.a2.id), "q"),
        (format!("/tenants/{}/access", t.acme.id), "user"),
        ("/switch".into(), "q"),
    ];
    for (path, name) in &pages {
        for (q, message, kept) in [
            (long.as_str(), TOO_LONG, long.as_str()),
            (huge.as_str(), TOO_LONG, huge.as_str()),
            ("ac%00me", CONTROL, "acme"),
            ("ac%07me", CONTROL, "acme"),
        ] {
            let url = with_q(path, name, q);
            let r = app.get(&url).await;
            assert_eq!(status(&r), 422, "{path}?{name}=…{}", q.len());
            let html = r.text().await.unwrap();
            assert!(html.contains(message), "{path}: {html}");
            assert!(
                html.contains(&format!("value=\"{kept}\"")),
                "{path}: the box keeps the text"
            );
            assert!(
                !html.contains(&format!("matching “{kept}")),
                "{path}: nothing was searched"
            );
        }
        // A hundred characters is a search like any other.
        let r = app.get(&with_q(path, name, &longest)).await;
        assert_eq!(status(&r), 200, "{path}");
    }
    // The fragments htmx swaps in (the switcher, the pickers, the move page's
    // results) answer 200 with the message, so that it is shown in place.
    let fragments = [
        "/switch/search".to_string(),
        "/users/search".into(),
        "/tenants/destinations".into(),
        format!("/tenants/{}/move", t.a2.id),
    ];
    for path in &fragments {
        for (q, message) in [(long.as_str(), TOO_LONG), ("ac%00me", CONTROL)] {
            let r = app.get_hx(&with_q(path, "q", q)).await;
            assert_eq!(status(&r), 200, "{path}");
            let html = r.text().await.unwrap();
            assert!(html.contains(message), "{path}: {html}");
        }
    }
    // The bulk bar's destination, typed and sent without JavaScript, likewise.
    let r = app
        .post_form(
            "/tenants/bulk",
            &[
                ("ids", &t.a2.id.to_string()),
                ("action", "move"),
                ("destination", &long),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains(TOO_LONG));

    // Every search input's maxlength is the server's cap.
    for path in [
        "/tenants".to_string(),
        "/users".into(),
        format!("/tenants/{}/users", t.acme.id),
        format!("/tenants/{}/activity", t.acme.id),
        format!("/tenants/{}/move", t.a2.id),
        "/switch".into(),
    ] {
        let html = app.get_html(&path).await;
        for input in html.split("<input").skip(1) {
            let input = &input[..input.find('>').unwrap_or(input.len())];
            if input.contains("type=\"search\"") && !input.contains("name=\"label\"") {
                assert!(input.contains("maxlength=\"100\""), "{path}: {input}");
            }
        }
    }

    // The API: the same rule, a 400 naming the parameter.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    for (path, name) in [
        ("/api/v1/tenants".to_string(), "q"),
        ("/api/v1/tenants".into(), "name"),
        (format!("/api/v1/tenants/{}/activity", t.acme.id), "actor"),
    ] {
        for (q, expects) in [
            (long.as_str(), "must be at most 100 characters long"),
            ("ac%00me", "must not contain control characters"),
        ] {
            let (code, body) = api.get(&with_q(&path, name, q)).await;
            assert_eq!(code, 400, "{path} {name}");
            assert_eq!(
                body["detail"],
                format!("The query parameter “{name}” {expects}."),
                "{path}"
            );
        }
        let (code, _) = api.get(&with_q(&path, name, &longest)).await;
        assert_eq!(code, 200, "{path} {name}");
    }
    let (code, body) = api
        .post(
            "/api/v1/tenants/bulk",
            serde_json::json!({"filter": {"q": "ac\u{0}me"}, "action": "disable", "dry_run": true}),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["detail"],
        "filter.q must not contain control characters."
    );
}

/// Every paged or sorted page refuses a page, order or direction no link sends, as
/// the Tenants list and the API do (400 naming the parameter); empty ones mean the
/// default.
#[tokio::test]
async fn the_lists_refuse_a_page_or_order_no_link_sends() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let whole = "must be a whole number from 1 to 1000000";
    let lists = [
        "/users".to_string(),
        format!("/tenants/{}/users", t.acme.id),
        format!("/tenants/{}/stats", t.acme.id),
    ];
    for list in &lists {
        for (query, message) in [
            ("page=0", format!("The query parameter “page” {whole}")),
            ("page=x", format!("The query parameter “page” {whole}")),
        ] {
            let path = format!("{list}?{query}");
            for r in [app.get(&path).await, app.get_hx(&path).await] {
                assert_eq!(status(&r), 400, "{path}");
                let html = r.text().await.unwrap();
                assert!(html.contains(&message), "{path}: {html}");
            }
        }
        let r = app.get(&format!("{list}?page=")).await;
        assert_eq!(status(&r), 200, "{list}?page=");
    }
    let stats = format!("/tenants/{}/stats", t.acme.id);
    for (query, message) in [
        (
            "sort=bogus",
            "The query parameter “sort” must be one of “name”,",
        ),
        (
            "dir=up",
            "The query parameter “dir” must be one of “asc”, “desc”",
        ),
    ] {
        let r = app.get(&format!("{stats}?{query}")).await;
        assert_eq!(status(&r), 400, "{query}");
        assert!(r.text().await.unwrap().contains(message), "{query}");
    }
    let r = app
        .get(&format!("{stats}?sort=&dir=&page=&from=&to="))
        .await;
    assert_eq!(status(&r), 200);
}

/// A malformed tenant id in a query parameter is a 400 naming the parameter, on
/// every page that takes one (in a path it is 404: tests/app/matrix.rs).
#[tokio::test]
async fn a_malformed_tenant_id_in_a_query_is_named() {
    let app = spawn_app().await;
    app.login_admin().await;
    for (path, name) in [
        ("/tenants?parent=abc", "parent"),
        ("/tenants?within=x", "within"),
        ("/tenants?parent=99999999999999999999", "parent"),
        ("/tenants/new?parent_id=abc", "parent_id"),
        ("/tenants/tree?parent=0", "parent"),
        ("/users?within=x", "within"),
    ] {
        for r in [app.get(path).await, app.get_hx(path).await] {
            assert_eq!(status(&r), 400, "{path}");
            let message = format!("The query parameter “{name}” must be a tenant id.");
            assert!(r.text().await.unwrap().contains(&message), "{path}");
        }
    }
    // An id one may not see (or that names nothing) stays "not found".
    assert_eq!(status(&app.get("/tenants/tree?parent=99999999").await), 404);
}
