//! Custom domains: the console's own hosts cannot be claimed, the public host is
//! always the root's login, and a domain serves its tenant only once proven — by a
//! DNS TXT record (checked against a DNS server these tests run on loopback) or by
//! a root Owner's approval.

use crate::api::{token_for, Api};
use crate::helpers::*;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{GrantRole, Scope};
use tokio::net::UdpSocket;

/// The console's public host in these tests (`TENANTRY_PUBLIC_URL`).
const PUBLIC_HOST: &str = "console.provider.test";
/// A domain a tenant may claim.
const DOMAIN: &str = "login.acme-corp.example";
const CHALLENGE: &str = "_tenantry-challenge.login.acme-corp.example";

// ---------------------------------------------------------------- a DNS server on loopback

/// A small authoritative DNS server on 127.0.0.1 (UDP) answering TXT queries from a
/// table the test fills; every other name is NXDOMAIN.
struct DnsServer {
    addr: SocketAddr,
    txt: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl DnsServer {
    async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let txt: Arc<Mutex<HashMap<String, Vec<String>>>> = Default::default();
        let table = txt.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let answer = Self::answer(&query, &table.lock().unwrap());
                if let Ok(bytes) = answer.to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        DnsServer { addr, txt }
    }

    fn answer(query: &Message, table: &HashMap<String, Vec<String>>) -> Message {
        let mut response = Message::new();
        response
            .set_id(query.id())
            .set_message_type(MessageType::Response)
            .set_op_code(OpCode::Query)
            .set_authoritative(true)
            .set_recursion_desired(query.recursion_desired())
            .set_recursion_available(true);
        let mut code = ResponseCode::NoError;
        for q in query.queries() {
            response.add_query(q.clone());
            let name = q
                .name()
                .to_ascii()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            match table.get(&name) {
                Some(values) if q.query_type() == RecordType::TXT => {
                    for v in values {
                        response.add_answer(Record::from_rdata(
                            q.name().clone(),
                            60,
                            RData::TXT(TXT::new(vec![v.clone()])),
                        ));
                    }
                }
                Some(_) => {}
                None => code = ResponseCode::NXDomain,
            }
        }
        response.set_response_code(code);
        response
    }

    fn set_txt(&self, name: &str, values: &[&str]) {
        self.txt.lock().unwrap().insert(
            name.to_string(),
            values.iter().map(|v| v.to_string()).collect(),
        );
    }
}

// ---------------------------------------------------------------- fixture

/// The app with a public URL on `PUBLIC_HOST` and DNS checks sent to `resolver`.
async fn app_with_resolver(resolver: SocketAddr) -> TestApp {
    spawn_app_with_env(&[
        ("TENANTRY_PUBLIC_URL", &format!("http://{PUBLIC_HOST}:8080")),
        ("TENANTRY_DNS_RESOLVER", &resolver.to_string()),
    ])
    .await
}

/// The partner tree plus:
/// - mallory (acme): Administrator over acme and its sub-tenants, manages them — she
///   edits a1 and a2, the finding's "sub-tenant manager";
/// - radmin (root): Administrator over the whole tree, manages it — everything but
///   delete, move and approving domains;
/// - bob (a2): a plain user of a2, who logs in on a2's domain.
struct World {
    app: TestApp,
    tree: PartnerTree,
    mallory: TestApp,
    radmin: TestApp,
    owner: TestApp,
    mallory_user: User,
    radmin_user: User,
}

async fn world(app: TestApp) -> World {
    let tree = partner_tree(&app).await;
    let mallory_user = app.user(&tree.acme, "mallory").await;
    app.grant(
        &mallory_user,
        &tree.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let radmin_user = app.user(&app.root, "radmin").await;
    app.grant(
        &radmin_user,
        &app.root,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    app.user(&tree.a2, "bob").await;
    let mallory = browser_as(&app, "acme\\mallory").await;
    let radmin = browser_as(&app, "radmin").await;
    let owner = app.new_browser();
    owner.login_admin().await;
    World {
        app,
        tree,
        mallory,
        radmin,
        owner,
        mallory_user,
        radmin_user,
    }
}

/// Posts the edit form of `tenant` as its current values with this custom domain.
async fn set_domain_by_form(browser: &TestApp, tenant: &Tenant, domain: &str) -> reqwest::Response {
    let mut fields = vec![
        ("name", tenant.name.as_str()),
        ("subdomain", tenant.subdomain.as_str()),
        ("description", tenant.description.as_str()),
        ("custom_domain", domain),
        ("enabled", "true"),
    ];
    if tenant.can_have_subtenants {
        fields.push(("can_have_subtenants", "true"));
    }
    browser
        .post_form(&format!("/tenants/{}/edit", tenant.id), &fields)
        .await
}

/// The message of `<p class="field-error" id="{field}-error">`, if shown.
fn field_error(html: &str, field: &str) -> Option<String> {
    let marker = format!("<p class=\"field-error\" id=\"{field}-error\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find("</p>")? + start;
    Some(html[start..end].to_string())
}

/// The text of the element with this id (up to its first closing tag).
fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[at..].find('>')? + at + 1;
    let end = html[start..].find("</")? + start;
    Some(html[start..end].to_string())
}

/// A browser reaching the app under `host`.
struct HostBrowser {
    client: reqwest::Client,
    base: String,
}

impl HostBrowser {
    fn new(app: &TestApp, host: &str) -> Self {
        let (client, base) = app.browser_for_host(host);
        Self { client, base }
    }

    async fn login_page(&self) -> String {
        self.client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        let token = csrf_from(&self.login_page().await).expect("csrf token");
        self.client
            .post(format!("{}/login", self.base))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap()
    }
}

const NEUTRAL_HEADING: &str = "<h1>Log in to tenantry</h1>";

fn heading_for(tenant: &Tenant) -> String {
    format!("<h1>Log in to {}</h1>", tenant.name)
}

/// Sets a tenant's custom domain and its state directly in the database (a row as an
/// earlier release, or another process, left it).
pub(crate) async fn force_domain(app: &TestApp, tenant: &Tenant, domain: &str, status: &str) {
    let verified = status != "pending";
    db(app)
        .await
        .execute(
            "UPDATE tenants SET custom_domain = $1, custom_domain_status = $2, \
             custom_domain_token = 'legacytoken', \
             custom_domain_verified_at = CASE WHEN $3 THEN now() END WHERE id = $4",
            &[&domain, &status, &verified, &tenant.id],
        )
        .await
        .unwrap();
}

async fn audit_count(app: &TestApp, action: &str, tenant: &Tenant) -> i64 {
    db(app)
        .await
        .query_one(
            "SELECT count(*) FROM audit_events WHERE action = $1 AND tenant_id = $2",
            &[&action, &tenant.id],
        )
        .await
        .unwrap()
        .get(0)
}

// ---------------------------------------------------------------- reserved hosts

#[tokio::test]
async fn the_public_host_cannot_be_claimed_by_form_or_api() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;

    for claim in [PUBLIC_HOST, "Console.Provider.TEST."] {
        let r = set_domain_by_form(&w.mallory, a2, claim).await;
        assert_eq!(status(&r), 422, "{claim}");
        let html = r.text().await.unwrap();
        let error = field_error(&html, "custom_domain").unwrap_or_else(|| panic!("{html}"));
        assert!(error.contains("address of the console itself"), "{error}");
    }
    // Nor on a new tenant.
    let r = w
        .mallory
        .post_form(
            "/tenants",
            &[
                ("name", "Squat"),
                ("subdomain", "squat"),
                ("custom_domain", PUBLIC_HOST),
                ("parent_id", &w.tree.acme.id.to_string()),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "custom_domain").is_some());

    let api = Api::new(
        &w.app,
        Some(&token_for(&w.app, &w.mallory_user, false).await),
    );
    let (code, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", a2.id),
            json!({"custom_domain": PUBLIC_HOST}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(
        body["errors"]["custom_domain"]
            .as_str()
            .unwrap()
            .contains("address of the console itself"),
        "{body}"
    );
    let (code, body) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": w.tree.acme.id, "name": "Squat", "subdomain": "squat", "custom_domain": PUBLIC_HOST}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(body["errors"]["custom_domain"].is_string(), "{body}");

    let mut conn = w.app.conn().await;
    assert_eq!(w.app.reload(a2).await.unwrap().custom_domain, None);
    assert!(Tenant::by_subdomain(&mut conn, "squat")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_base_domain_and_its_subdomains_cannot_be_claimed() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;
    let api = Api::new(
        &w.app,
        Some(&token_for(&w.app, &w.mallory_user, false).await),
    );
    for claim in [
        BASE_DOMAIN.to_string(),
        format!("globex.{BASE_DOMAIN}"),
        format!("deep.acme.{BASE_DOMAIN}"),
    ] {
        let r = set_domain_by_form(&w.mallory, a2, &claim).await;
        assert_eq!(status(&r), 422, "{claim}");
        let html = r.text().await.unwrap();
        let error = field_error(&html, "custom_domain").unwrap_or_else(|| panic!("{html}"));
        assert!(error.contains("tenant subdomains"), "{claim}: {error}");

        let (code, body) = api
            .patch(
                &format!("/api/v1/tenants/{}", a2.id),
                json!({"custom_domain": claim}),
            )
            .await;
        assert_eq!(code, 422, "{claim}: {body}");
        assert!(body["errors"]["custom_domain"].is_string(), "{body}");
        let (code, body) = api
            .post(
                "/api/v1/tenants",
                json!({"parent_id": w.tree.acme.id, "name": "Sq", "subdomain": "sq", "custom_domain": claim}),
            )
            .await;
        assert_eq!(code, 422, "{claim}: {body}");
        assert!(body["errors"]["custom_domain"].is_string(), "{body}");
    }
    assert_eq!(w.app.reload(a2).await.unwrap().custom_domain, None);
}

// ---------------------------------------------------------------- the public host

#[tokio::test]
async fn the_public_host_is_the_roots_login_even_with_a_row_claiming_it() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;
    // A row from before the rules, even marked approved, names the public host.
    force_domain(&w.app, a2, PUBLIC_HOST, "approved").await;
    // Control: the same state on a domain of its own serves a2.
    force_domain(&w.app, &w.tree.a1, "login.a1.example", "approved").await;
    let a1_host = HostBrowser::new(&w.app, "login.a1.example");
    assert!(a1_host
        .login_page()
        .await
        .contains(&heading_for(&w.tree.a1)));

    let public = HostBrowser::new(&w.app, PUBLIC_HOST);
    let html = public.login_page().await;
    assert!(html.contains(NEUTRAL_HEADING), "{html}");
    assert!(!html.contains(&a2.name), "{html}");
    // Bare usernames are the root's: a2's bob does not get in, the root's admin does.
    assert_eq!(status(&public.login("bob", PASSWORD).await), 401);
    assert_redirect_to(
        &public.login(ADMIN_USER, ADMIN_PASSWORD).await,
        "/dashboard",
    );
    // And the tenant page says the domain never serves, without a way to approve it.
    let html = w.owner.get_html(&format!("/tenants/{}", a2.id)).await;
    assert!(html.contains("address of the console itself"), "{html}");
    assert!(!html.contains("/custom-domain/approve"), "{html}");
}

// ---------------------------------------------------------------- pending domains

#[tokio::test]
async fn a_pending_domain_does_not_serve_until_approved() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;
    assert_redirect_to(
        &set_domain_by_form(&w.mallory, a2, DOMAIN).await,
        &format!("/tenants/{}", a2.id),
    );
    let saved = w.app.reload(a2).await.unwrap();
    assert_eq!(saved.custom_domain.as_deref(), Some(DOMAIN));
    assert_eq!(saved.domain_claim.status.as_deref(), Some("pending"));

    let host = HostBrowser::new(&w.app, DOMAIN);
    let html = host.login_page().await;
    assert!(html.contains(NEUTRAL_HEADING), "{html}");
    assert!(!html.contains(&a2.name), "{html}");
    assert_eq!(status(&host.login("bob", PASSWORD).await), 401);

    // The tenant page tells what to do; the sub-tenant manager may check, not approve.
    let html = w.mallory.get_html(&format!("/tenants/{}", a2.id)).await;
    assert_eq!(
        element_text(&html, "custom-domain-status").as_deref(),
        Some("pending")
    );
    assert_eq!(element_text(&html, "txt-name").as_deref(), Some(CHALLENGE));
    let token = saved.domain_claim.token.clone().unwrap();
    assert_eq!(
        element_text(&html, "txt-value"),
        Some(format!("tenantry-verify={token}"))
    );
    assert!(html.contains(&format!("/tenants/{}/custom-domain/check", a2.id)));
    assert!(!html.contains("/custom-domain/approve"), "{html}");
    // The edit form shows the state too.
    let form = w
        .mallory
        .get_html(&format!("/tenants/{}/edit", a2.id))
        .await;
    assert!(form.contains("id=\"custom_domain-status\""), "{form}");
    assert!(form.contains("domain-pending"), "{form}");

    // The root Owner sees "Approve" and approves: the domain serves.
    let page = w.owner.get_html(&format!("/tenants/{}", a2.id)).await;
    assert!(page.contains(&format!("/tenants/{}/custom-domain/approve", a2.id)));
    let r = w
        .owner
        .post_form(
            &format!("/tenants/{}/custom-domain/approve", a2.id),
            &[("custom_domain", DOMAIN)],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", a2.id));
    let html = w.owner.get_html(&format!("/tenants/{}", a2.id)).await;
    assert!(
        html.contains(&format!("{DOMAIN} is approved now")),
        "{html}"
    );
    assert_eq!(
        element_text(&html, "custom-domain-status").as_deref(),
        Some("approved")
    );
    let host = HostBrowser::new(&w.app, DOMAIN);
    assert!(host.login_page().await.contains(&heading_for(a2)));
    assert_redirect_to(&host.login("bob", PASSWORD).await, "/dashboard");
    assert_eq!(
        audit_count(&w.app, "tenant.custom_domain.approve", a2).await,
        1
    );
}

#[tokio::test]
async fn changing_the_domain_starts_over_with_a_new_token() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;
    set_domain_by_form(&w.mallory, a2, DOMAIN).await;
    let first = w.app.reload(a2).await.unwrap();
    let token = first.domain_claim.token.clone().unwrap();
    dns.set_txt(CHALLENGE, &[&format!("tenantry-verify={token}")]);
    let r = w
        .mallory
        .post_form(&format!("/tenants/{}/custom-domain/check", a2.id), &[])
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", a2.id));
    assert_eq!(
        w.app
            .reload(a2)
            .await
            .unwrap()
            .domain_claim
            .status
            .as_deref(),
        Some("verified")
    );

    // Other edits keep the proof.
    let api = Api::new(
        &w.app,
        Some(&token_for(&w.app, &w.mallory_user, false).await),
    );
    let (code, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", a2.id),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["custom_domain_status"], json!("verified"));
    // Another domain: pending again, with another token; the old host stops serving.
    let (code, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", a2.id),
            json!({"custom_domain": "portal.acme-corp.example"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["custom_domain_status"], json!("pending"));
    assert_eq!(body["custom_domain_verified_at"], Value::Null);
    assert_eq!(
        body["custom_domain_txt_name"],
        json!("_tenantry-challenge.portal.acme-corp.example")
    );
    let value = body["custom_domain_txt_value"].as_str().unwrap();
    assert!(value.starts_with("tenantry-verify="), "{value}");
    assert_ne!(value, format!("tenantry-verify={token}"));
    assert!(HostBrowser::new(&w.app, DOMAIN)
        .login_page()
        .await
        .contains(NEUTRAL_HEADING));
    // Back to the first domain: still a new token, still pending.
    let (_, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", a2.id),
            json!({"custom_domain": DOMAIN}),
        )
        .await;
    assert_eq!(body["custom_domain_status"], json!("pending"));
    assert_ne!(
        body["custom_domain_txt_value"],
        json!(format!("tenantry-verify={token}"))
    );
    // No domain: no state either.
    let (_, body) = api
        .patch(
            &format!("/api/v1/tenants/{}", a2.id),
            json!({"custom_domain": null}),
        )
        .await;
    for field in [
        "custom_domain",
        "custom_domain_status",
        "custom_domain_txt_name",
        "custom_domain_txt_value",
    ] {
        assert_eq!(body[field], Value::Null, "{field}: {body}");
    }
}

// ---------------------------------------------------------------- DNS verification

#[tokio::test]
async fn a_txt_record_with_the_token_verifies_the_domain() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;
    set_domain_by_form(&w.mallory, a2, DOMAIN).await;
    let token = w.app.reload(a2).await.unwrap().domain_claim.token.unwrap();
    dns.set_txt(
        CHALLENGE,
        &["v=spf1 -all", &format!("tenantry-verify={token}")],
    );

    let r = w
        .mallory
        .post_form(&format!("/tenants/{}/custom-domain/check", a2.id), &[])
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", a2.id));
    let html = w.mallory.get_html(&format!("/tenants/{}", a2.id)).await;
    assert!(
        html.contains(&format!("{DOMAIN} is verified now")),
        "{html}"
    );
    assert_eq!(
        element_text(&html, "custom-domain-status").as_deref(),
        Some("verified")
    );
    assert!(!html.contains("/custom-domain/check"), "{html}");

    let host = HostBrowser::new(&w.app, DOMAIN);
    assert!(host.login_page().await.contains(&heading_for(a2)));
    assert_redirect_to(&host.login("bob", PASSWORD).await, "/dashboard");
    assert_eq!(
        audit_count(&w.app, "tenant.custom_domain.verify", a2).await,
        1
    );

    // The API shows the state; checking again changes nothing.
    let api = Api::new(
        &w.app,
        Some(&token_for(&w.app, &w.mallory_user, false).await),
    );
    let (code, body) = api.get(&format!("/api/v1/tenants/{}", a2.id)).await;
    assert_eq!(code, 200);
    assert_eq!(body["custom_domain_status"], json!("verified"));
    assert_eq!(body["custom_domain_txt_name"], json!(CHALLENGE));
    assert_eq!(
        body["custom_domain_txt_value"],
        json!(format!("tenantry-verify={token}"))
    );
    assert!(body["custom_domain_verified_at"].is_string(), "{body}");
    let (code, body) = api
        .post(
            &format!("/api/v1/tenants/{}/custom-domain/verify", a2.id),
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["custom_domain_status"], json!("verified"));
    assert_eq!(
        audit_count(&w.app, "tenant.custom_domain.verify", a2).await,
        1
    );
}

#[tokio::test]
async fn a_verification_through_the_api() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let api = Api::new(
        &w.app,
        Some(&token_for(&w.app, &w.mallory_user, false).await),
    );
    let (code, created) = api
        .post(
            "/api/v1/tenants",
            json!({"parent_id": w.tree.acme.id, "name": "Initech", "subdomain": "initech", "custom_domain": DOMAIN}),
        )
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["custom_domain_status"], json!("pending"));
    assert_eq!(created["custom_domain_txt_name"], json!(CHALLENGE));
    let value = created["custom_domain_txt_value"].as_str().unwrap();
    let id = created["id"].as_i64().unwrap();

    let verify = format!("/api/v1/tenants/{id}/custom-domain/verify");
    let (code, body) = api.post(&verify, json!({})).await;
    assert_eq!(code, 422, "{body}");
    let message = body["errors"]["custom_domain"].as_str().unwrap();
    assert!(message.contains("No TXT record found at"), "{message}");
    assert!(message.contains(value), "{message}");

    dns.set_txt(CHALLENGE, &[value]);
    let (code, body) = api.post(&verify, json!({})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["custom_domain_status"], json!("verified"));
}

#[tokio::test]
async fn a_missing_or_wrong_txt_record_fails_with_a_clear_message() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;
    set_domain_by_form(&w.mallory, a2, DOMAIN).await;
    let token = w.app.reload(a2).await.unwrap().domain_claim.token.unwrap();
    let check = format!("/tenants/{}/custom-domain/check", a2.id);

    // No record at all.
    let r = w.mallory.post_form(&check, &[]).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let message = element_text(&html, "custom-domain-error").unwrap_or_else(|| panic!("{html}"));
    assert!(
        message.contains(&format!("No TXT record found at {CHALLENGE}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("tenantry-verify={token}")),
        "{message}"
    );

    // A record with another tenant's (or an old) token.
    dns.set_txt(
        CHALLENGE,
        &["tenantry-verify=0123456789abcdef0123456789abcdef"],
    );
    let r = w.mallory.post_form(&check, &[]).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    let message = element_text(&html, "custom-domain-error").unwrap_or_else(|| panic!("{html}"));
    assert!(
        message.contains(&format!(
            "The TXT record at {CHALLENGE} does not hold tenantry-verify={token}"
        )),
        "{message}"
    );

    // The token at the wrong name does not count either.
    dns.set_txt(DOMAIN, &[&format!("tenantry-verify={token}")]);
    assert_eq!(status(&w.mallory.post_form(&check, &[]).await), 422);

    let after = w.app.reload(a2).await.unwrap();
    assert_eq!(after.domain_claim.status.as_deref(), Some("pending"));
    assert!(HostBrowser::new(&w.app, DOMAIN)
        .login_page()
        .await
        .contains(NEUTRAL_HEADING));
    assert_eq!(
        audit_count(&w.app, "tenant.custom_domain.verify", a2).await,
        0
    );
}

#[tokio::test]
async fn a_resolver_that_does_not_answer_times_out_with_a_clear_message() {
    // A UDP socket that takes queries and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let w = world(app_with_resolver(silent.local_addr().unwrap()).await).await;
    let a2 = &w.tree.a2;
    set_domain_by_form(&w.mallory, a2, DOMAIN).await;

    let started = std::time::Instant::now();
    let r = w
        .mallory
        .post_form(&format!("/tenants/{}/custom-domain/check", a2.id), &[])
        .await;
    let took = started.elapsed();
    assert_eq!(status(&r), 503);
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    let html = r.text().await.unwrap();
    let message = element_text(&html, "custom-domain-error").unwrap_or_else(|| panic!("{html}"));
    assert!(
        message.contains(&format!("Could not look up {CHALLENGE}"))
            && message.contains("the DNS resolver did not answer in time")
            && message.contains("Nothing was changed"),
        "{message}"
    );

    let api = Api::new(
        &w.app,
        Some(&token_for(&w.app, &w.mallory_user, false).await),
    );
    let (code, body) = api
        .post(
            &format!("/api/v1/tenants/{}/custom-domain/verify", a2.id),
            json!({}),
        )
        .await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(
        body["type"],
        json!("urn:tenantry:problem:service-unavailable")
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("the DNS resolver did not answer in time"),
        "{body}"
    );
    assert_eq!(
        w.app
            .reload(a2)
            .await
            .unwrap()
            .domain_claim
            .status
            .as_deref(),
        Some("pending")
    );
    drop(silent);
}

// ---------------------------------------------------------------- approval

#[tokio::test]
async fn only_an_owner_of_the_root_approves() {
    let dns = DnsServer::start().await;
    let w = world(app_with_resolver(dns.addr).await).await;
    let a2 = &w.tree.a2;
    set_domain_by_form(&w.mallory, a2, DOMAIN).await;
    let approve = format!("/tenants/{}/custom-domain/approve", a2.id);
    let form = [("custom_domain", DOMAIN)];

    // The sub-tenant manager and a root Administrator see the tenant: 403.
    assert_eq!(status(&w.mallory.post_form(&approve, &form).await), 403);
    assert_eq!(status(&w.radmin.post_form(&approve, &form).await), 403);
    let html = w.radmin.get_html(&format!("/tenants/{}", a2.id)).await;
    assert!(html.contains("/custom-domain/check"), "{html}");
    assert!(!html.contains("/custom-domain/approve"), "{html}");
    // A manager of another branch does not see it: 404.
    let gina = w.app.user(&w.tree.globex, "gina").await;
    w.app
        .grant(
            &gina,
            &w.tree.globex,
            GrantRole::Owner,
            Scope::Subtree,
            true,
        )
        .await;
    let gina_browser = browser_as(&w.app, "globex\\gina").await;
    assert_eq!(status(&gina_browser.post_form(&approve, &form).await), 404);
    // The same through the API.
    let api_path = format!("/api/v1/tenants/{}/custom-domain/approve", a2.id);
    for (user, want) in [(&w.mallory_user, 403), (&w.radmin_user, 403), (&gina, 404)] {
        let api = Api::new(&w.app, Some(&token_for(&w.app, user, false).await));
        let (code, body) = api.post(&api_path, json!({"custom_domain": DOMAIN})).await;
        assert_eq!(code, want, "{}: {body}", user.username);
    }
    assert_eq!(
        w.app
            .reload(a2)
            .await
            .unwrap()
            .domain_claim
            .status
            .as_deref(),
        Some("pending")
    );
    assert_eq!(
        audit_count(&w.app, "tenant.custom_domain.approve", a2).await,
        0
    );

    // The root Owner approves only the domain they were shown.
    let owner_api = Api::new(&w.app, Some(&token_for(&w.app, &w.app.admin, false).await));
    let (code, body) = owner_api
        .post(&api_path, json!({"custom_domain": "other.example"}))
        .await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(DOMAIN), "{body}");
    let (code, body) = owner_api
        .post(&api_path, json!({"custom_domain": DOMAIN}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["custom_domain_status"], json!("approved"));
    assert!(body["custom_domain_verified_at"].is_string(), "{body}");
    assert_eq!(
        audit_count(&w.app, "tenant.custom_domain.approve", a2).await,
        1
    );
    assert!(HostBrowser::new(&w.app, DOMAIN)
        .login_page()
        .await
        .contains(&heading_for(a2)));
}
