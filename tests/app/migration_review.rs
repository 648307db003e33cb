//! #13's black-box review: a reader of one side of a migration is never told the
//! other tenant's name or the starter's login (locked page, API 423, versions);
//! `Idempotency-Key` on the migrate POST; a 423 is never stored under a key; no
//! notice mail to a starter without an email address.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::migration_pages::{app, run, setup, Setup};
use serde_json::json;
use tenantry::services::rule_migrations::Ran;

/// Neither the other tenant's name nor the starter's login (the root `admin`).
fn assert_hidden(what: &str, text: &str, other: &str) {
    assert!(!text.contains(other), "{what} names {other}: {text}");
    assert!(
        !text.contains("\\admin"),
        "{what} names the starter: {text}"
    );
    assert!(text.contains("a tenant you cannot see"), "{what}: {text}");
}

/// The root's admin (through an API token) starts migrating acme's rules to
/// globex: their API client and the 202's migration.
pub(crate) async fn started(app: &TestApp, s: &Setup) -> (Api, serde_json::Value) {
    let admin = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let (status, v) = admin
        .post(
            &format!("/api/v1/tenants/{}/rules/migrate", s.t.acme.id),
            json!({"target": s.t.globex.id}),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    (admin, v)
}

#[tokio::test]
async fn one_sided_readers_see_no_other_tenant_name_nor_the_starter() {
    let app = app().await;
    let s = setup(&app).await;
    let (src, dst) = (s.t.acme.id, s.t.globex.id);
    let (admin, v) = started(&app, &s).await;
    let mid = v["id"].as_i64().unwrap();

    // Who may see both is told both names.
    let (status, v) = admin.get(&format!("/api/v1/tenants/{dst}/rules")).await;
    assert_eq!(status, 423, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains(&s.t.acme.name) && detail.contains(&s.t.globex.name),
        "{detail}"
    );

    for (home, tenant, other) in [
        (&s.t.globex, dst, &s.t.acme.name),
        (&s.t.acme, src, &s.t.globex.name),
    ] {
        let login = format!("one{}", tenant);
        let user = app.user(home, &login).await;
        app.grant(
            &user,
            home,
            tenantry::domain::GrantRole::Administrator,
            tenantry::domain::Scope::Subtree,
            true,
        )
        .await;
        let page = browser_as(&app, &format!("{}\\{login}", home.subdomain)).await;
        let r = page.get(&format!("/tenants/{tenant}/rules")).await;
        assert_eq!(status_of(&r), 423);
        let html = r.text().await.unwrap();
        assert_hidden("the locked page", &html, other);
        assert!(html.contains("a user you cannot see"), "{html}");
        // Its page would answer 404: no link to it.
        assert!(!html.contains("id=\"locked-migration\""), "{html}");

        let api = Api::new(&app, Some(&token_for(&app, &user, false).await));
        let (status, v) = api.get(&format!("/api/v1/tenants/{tenant}/rules")).await;
        assert_eq!(status, 423, "{v}");
        assert_hidden("the API's 423", v["detail"].as_str().unwrap(), other);
    }

    // Done: the target's versions list does not name the source.
    assert_eq!(run(&app).await, Ran::Done(mid));
    let reader = browser_as(&app, &format!("globex\\one{dst}")).await;
    let r = reader.get(&format!("/tenants/{dst}/rules/versions")).await;
    assert_eq!(status_of(&r), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("Migration #{mid}")), "{html}");
    assert!(!html.contains(&s.t.acme.name), "{html}");
    // Nor who made a version (the starter, the root's admin through a token): the
    // "By" column names them as the locked page does.
    assert!(!html.contains("\\admin"), "{html}");
    assert!(
        html.contains("<td class=\"by\">a user you cannot see</td>"),
        "{html}"
    );
    // Who may find them is told (the start came through an API token).
    app.login_admin().await;
    let html = app
        .get_html(&format!("/tenants/{dst}/rules/versions"))
        .await;
    assert!(
        html.contains("<td class=\"by\">root\\admin (API token "),
        "{html}"
    );
}

fn status_of(r: &reqwest::Response) -> u16 {
    r.status().as_u16()
}

#[tokio::test]
async fn migrate_honours_idempotency_keys_and_a_423_is_not_remembered() {
    let app = app().await;
    let s = setup(&app).await;
    let (src, dst) = (s.t.acme.id, s.t.globex.id);
    // The bootstrap admin has no email address: no notice mail to "" (item 4).
    db(&app)
        .await
        .execute(
            "UPDATE users SET email = '' WHERE id = $1",
            &[&app.admin.id],
        )
        .await
        .unwrap();
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let url = format!("/api/v1/tenants/{src}/rules/migrate");
    let post = |key: &'static str, body: serde_json::Value| {
        let r = api
            .request(reqwest::Method::POST, &url)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let r = r.send().await.unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap();
            (status, replayed, v)
        }
    };
    let (status, replayed, first) = post("m-1", json!({"target": dst})).await;
    assert_eq!((status, replayed), (202, false), "{first}");
    let (status, replayed, again) = post("m-1", json!({"target": dst})).await;
    assert_eq!((status, replayed), (202, true), "{again}");
    assert_eq!(again["id"], first["id"]);
    let (status, _, v) = post("m-1", json!({"target": dst, "applications": {}})).await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["type"]
            .as_str()
            .unwrap()
            .ends_with("idempotency-key-reused"),
        "{v}"
    );
    let mid = first["id"].as_i64().unwrap();
    let (_, list) = api.get("/api/v1/migrations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // Locked: a create under a key answers 423 and the key stays unused.
    let rules = format!("/api/v1/tenants/{dst}/rules");
    let create = || {
        api.request(reqwest::Method::POST, &rules)
            .header("Idempotency-Key", "r-1")
            .json(&json!({"kind": "block_ip", "value": "9.9.9.9", "action": "block"}))
            .send()
    };
    assert_eq!(create().await.unwrap().status().as_u16(), 423);
    assert_eq!(run(&app).await, Ran::Done(mid));
    let r = create().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(!r.headers().contains_key("idempotent-replayed"));

    // Done without an address: no mail queued to "".
    let empty =
        crate::usage_mail::count(&app, "SELECT count(*) FROM outbox WHERE recipient = ''").await;
    assert_eq!(empty, 0);
}
