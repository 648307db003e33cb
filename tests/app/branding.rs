//! Issue #16, points 1–2: a tenant's branding, inherited down the tree, on its
//! page and through the API, and where it shows (headers and titles, login pages on
//! a tenant's host and custom domain, mail, error pages, printed statistics);
//! logos refused by content, served so that nothing in them runs.

use crate::api::{send, token_for, Api};
use crate::helpers::*;
use crate::invitations::{app_with_sink, invite_grant};
use reqwest::Method;
use serde_json::{json, Value};
use tenantry::db::models::Tenant;
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

/// The URL of the logo shown for `t` (the API's `logo.value`, as the root
/// administrator reads it), if one shows.
async fn shown_logo(app: &TestApp, t: &Tenant) -> Option<String> {
    let api = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let (code, b) = api.get(&format!("/api/v1/tenants/{}/branding", t.id)).await;
    assert_eq!(code, 200, "{b}");
    b["logo"]["value"].as_str().map(str::to_string)
}

/// Whether `url` is a logo's URL: by its content's hash, naming no tenant.
fn is_logo_url(url: &str) -> bool {
    url.strip_prefix("/branding/logo/")
        .is_some_and(|etag| etag.len() == 24 && etag.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(crate) const BOUNDARY: &str = "----tenantryTestBoundary7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body with the CSRF token and one file part `logo`.
pub(crate) fn multipart(
    csrf: Option<&str>,
    filename: &str,
    content_type: &str,
    file: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(token) = csrf {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) async fn upload(
    browser: &TestApp,
    tenant: &Tenant,
    filename: &str,
    file: &[u8],
) -> reqwest::Response {
    let token = browser.csrf().await;
    browser
        .client
        .post(browser.url(&format!("/tenants/{}/branding/logo", tenant.id)))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(Some(&token), filename, "image/png", file))
        .send()
        .await
        .unwrap()
}

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 30, 30, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn svg(body: &str) -> Vec<u8> {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">{body}</svg>"#
    )
    .into_bytes()
}

pub(crate) async fn save(
    browser: &TestApp,
    tenant: &Tenant,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post_form(&format!("/tenants/{}/branding", tenant.id), fields)
        .await
}

pub(crate) async fn reset(browser: &TestApp, tenant: &Tenant, field: &str) -> reqwest::Response {
    browser
        .post_form(
            &format!("/tenants/{}/branding/reset", tenant.id),
            &[("field", field)],
        )
        .await
}

pub(crate) fn fields<'a>(
    product: &'a str,
    color: &'a str,
    email: &'a str,
    url: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("product_name", product),
        ("primary_color", color),
        ("support_email", email),
        ("support_url", url),
    ]
}

/// The text of the element with `id`, its tags left out (elements of the same
/// name are not nested in what these tests read).
pub(crate) fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let tag: String = html[start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let open_end = at + html[at..].find('>').unwrap() + 1;
    let close = open_end + html[open_end..].find(&format!("</{tag}>")).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[open_end..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_string()
}

/// The partner tree with acme branded ("Acme Cloud", `color`, help@acme.example),
/// the admin logged in.
async fn acme_branded(color: &str) -> (TestApp, PartnerTree) {
    acme_branded_with(color, "").await
}

/// [`acme_branded`] with the support page `url` too.
pub(crate) async fn acme_branded_with(color: &str, url: &str) -> (TestApp, PartnerTree) {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    let r = save(
        &app,
        &t.acme,
        &fields("Acme Cloud", color, "help@acme.example", url),
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/branding", t.acme.id));
    (app, t)
}

#[tokio::test]
async fn fields_inherit_from_the_nearest_ancestor_and_reset_to_inherited() {
    let app = spawn_app().await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    assert_redirect_to(
        &save(
            &app,
            &app.root,
            &fields("Provider Console", "", "help@provider.example", ""),
        )
        .await,
        &format!("/tenants/{}/branding", app.root.id),
    );
    assert_redirect_to(
        &save(
            &app,
            &t.acme,
            &fields("Acme Cloud", "#0f766e", "", "https://help.acme.example/"),
        )
        .await,
        &format!("/tenants/{}/branding", t.acme.id),
    );
    assert_redirect_to(
        &save(&app, &t.a1, &fields("", "", "desk@a1.example", "")).await,
        &format!("/tenants/{}/branding", t.a1.id),
    );

    // Three levels down: each field from the nearest tenant that sets it.
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    let (code, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.a1x.id))
        .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["product_name"]["value"], "Acme Cloud");
    assert_eq!(b["product_name"]["source"]["tenant_id"], t.acme.id);
    assert_eq!(b["product_name"]["set_here"], false);
    assert_eq!(b["primary_color"]["value"], "#0f766e");
    assert_eq!(b["support_email"]["value"], "desk@a1.example");
    assert_eq!(b["support_email"]["source"]["name"], t.a1.name);
    assert_eq!(b["support_url"]["value"], "https://help.acme.example/");
    assert_eq!(b["logo"]["value"], Value::Null);
    assert_eq!(b["logo"]["source"], Value::Null);

    // The page says where each value comes from.
    let html = app
        .get_html(&format!("/tenants/{}/branding", t.a1x.id))
        .await;
    let source = text_of(&html, "product_name-source");
    assert!(
        source.contains("Acme Cloud") && source.contains("Inherited from Tenant acme"),
        "{source}"
    );
    assert!(
        text_of(&html, "support_email-source").contains("Inherited from Tenant a1"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"reset-product_name\""),
        "nothing set here to reset"
    );
    // On a1, its own email is set here, with Reset to inherited.
    let html = app
        .get_html(&format!("/tenants/{}/branding", t.a1.id))
        .await;
    assert!(
        text_of(&html, "support_email-source").contains("Set here"),
        "{html}"
    );
    assert!(html.contains("id=\"reset-support_email\""), "{html}");

    // Reset a1's email: the root's shows below it again.
    assert_redirect_to(
        &reset(&app, &t.a1, "support_email").await,
        &format!("/tenants/{}/branding", t.a1.id),
    );
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.a1x.id))
        .await;
    assert_eq!(b["support_email"]["value"], "help@provider.example");
    assert_eq!(b["support_email"]["source"]["tenant_id"], app.root.id);
    // Reset acme's name: the root's product name is a1x's now; its colour stays.
    reset(&app, &t.acme, "product_name").await;
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.a1x.id))
        .await;
    assert_eq!(b["product_name"]["value"], "Provider Console");
    assert_eq!(b["primary_color"]["value"], "#0f766e");
    // An unknown field to reset is a field error; nothing else changes.
    assert_eq!(status(&reset(&app, &t.acme, "nonsense").await), 422);
    // Another tenant's branch never sees acme's.
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.g1.id))
        .await;
    assert_eq!(b["primary_color"]["value"], Value::Null);
    assert_eq!(b["product_name"]["value"], "Provider Console");

    // Every change is audited once.
    let n: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM audit_events WHERE action LIKE 'branding.%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 5);
}

#[tokio::test]
async fn the_frame_of_every_page_shows_the_acting_tenants_branding() {
    let (app, t) = acme_branded("#0f766e").await;
    app.user_with_role(&t.a1x, "carol", Permissions::all(Level::Read))
        .await;
    let carol = browser_as(&app, "a1x\\carol").await;
    for path in ["/dashboard", &format!("/tenants/{}", t.a1x.id), "/profile"] {
        let html = carol.get_html(path).await;
        assert_eq!(text_of(&html, "product-name"), "Acme Cloud", "{path}");
        assert!(html.contains("· Acme Cloud</title>"), "{path}: {html}");
        assert!(
            html.contains("href=\"/branding/theme/0f766e.css\""),
            "{path}"
        );
        assert!(
            text_of(&html, "support").contains("help@acme.example")
                || html.contains("mailto:help@acme.example"),
            "{path}"
        );
    }
    // The root admin acting at home sees the installation's own name.
    let html = app.get_html("/dashboard").await;
    assert_eq!(text_of(&html, "product-name"), "tenantry");
    // Switched into a2 (below acme), the admin sees acme's branding.
    let r = app
        .post_form("/switch", &[("tenant_id", &t.a2.id.to_string())])
        .await;
    assert_eq!(status(&r), 303);
    let html = app.get_html("/dashboard").await;
    assert_eq!(text_of(&html, "product-name"), "Acme Cloud");
    // An error page in the frame names the support address.
    let r = carol.get("/tenants/999999999").await;
    assert_eq!(status(&r), 404);
    let html = r.text().await.unwrap();
    assert!(
        text_of(&html, "error-support").contains("help@acme.example"),
        "{html}"
    );
    // The theme: the accent colour, nothing else.
    let r = app.get("/branding/theme/0f766e.css").await;
    assert_eq!(status(&r), 200);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert!(r.text().await.unwrap().contains("--accent: #0f766e;"));
    for bad in ["/branding/theme/zzzzzz.css", "/branding/theme/0f766e0.css"] {
        assert_eq!(status(&app.get(bad).await), 404, "{bad}");
    }
}

#[tokio::test]
async fn the_printable_stats_page_carries_the_tenants_branding() {
    let (app, t) = acme_branded_with("", "https://help.acme.example/").await;
    let html = app
        .get_html(&format!(
            "/tenants/{}/stats/print?from=2026-01&to=2026-01",
            t.a2.id
        ))
        .await;
    assert!(
        text_of(&html, "print-brand").contains("Acme Cloud"),
        "{html}"
    );
    assert!(html.contains("· Acme Cloud</title>"), "{html}");
    // Both ways to reach support, as on every other page: paper has no links.
    assert!(
        html.contains("support: help@acme.example https://help.acme.example/"),
        "{html}"
    );
}

#[tokio::test]
async fn the_login_page_on_a_tenant_host_or_custom_domain_shows_that_tenants_branding() {
    let (app, t) = acme_branded("#0f766e").await;
    assert_redirect_to(
        &upload(&app, &t.acme, "logo.png", &png(8, 4)).await,
        &format!("/tenants/{}/branding", t.acme.id),
    );
    save(&app, &t.a2, &fields("A2 Corp", "", "", "")).await;
    db(&app)
        .await
        .execute(
            "UPDATE tenants SET custom_domain = 'login.a2corp.example', custom_domain_status = 'verified', \
             custom_domain_token = 'tok', custom_domain_verified_at = now() WHERE id = $1",
            &[&t.a2.id],
        )
        .await
        .unwrap();

    let page = |host: String| {
        let app = &app;
        async move {
            let (client, base) = app.browser_for_host(&host);
            let r = client.get(format!("{base}/login")).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200, "{host}");
            r.text().await.unwrap()
        }
    };
    // acme's own host: its name, logo, colour and support address.
    let html = page(format!("acme.{BASE_DOMAIN}")).await;
    assert_eq!(text_of(&html, "product-name"), "Acme Cloud");
    assert!(html.contains("src=\"/branding/logo/"), "{html}");
    assert!(
        html.contains("href=\"/branding/theme/0f766e.css\""),
        "{html}"
    );
    assert!(text_of(&html, "login-support").contains("help@acme.example"));
    // a2's verified custom domain: its own name, acme's logo and colour inherited.
    let html = page("login.a2corp.example".into()).await;
    assert_eq!(text_of(&html, "product-name"), "A2 Corp");
    assert!(html.contains("src=\"/branding/logo/"), "{html}");
    assert!(html.contains("Log in to Tenant a2"), "{html}");
    // The console's own host: the root's (unset: the installation's own).
    let html = app.get_html("/login").await;
    assert_eq!(text_of(&html, "product-name"), "tenantry");
    assert!(!html.contains("/branding/"), "{html}");
    // A failed login on the tenant host keeps the branding.
    let (client, base) = app.browser_for_host(&format!("acme.{BASE_DOMAIN}"));
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_from(&html).unwrap();
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("username", "nobody"),
            ("password", "wrong"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        text_of(&r.text().await.unwrap(), "product-name"),
        "Acme Cloud"
    );
    // An anonymous visitor's error page on the tenant's host names its support.
    let r = client
        .get(format!("{base}/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let html = r.text().await.unwrap();
    assert!(
        text_of(&html, "error-support").contains("help@acme.example"),
        "{html}"
    );
    assert!(html.contains("· Acme Cloud</title>"), "{html}");
    // … and on the console's host, nothing of acme's.
    let html = app.new_browser().get_html("/no-such-page").await;
    assert!(!html.contains("acme"), "{html}");
}

#[tokio::test]
async fn an_invitation_mail_carries_the_branding() {
    let (app, sink) = app_with_sink(&[]).await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    save(
        &app,
        &t.acme,
        &fields(
            "Acme Cloud",
            "",
            "help@acme.example",
            "https://help.acme.example",
        ),
    )
    .await;
    let r = invite_grant(&app, &t.a1, "dave@example.com", "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303, "{}", r.text().await.unwrap());
    let mail = sink.wait_for("dave@example.com", 1).await;
    let mail = &mail;
    assert_eq!(
        mail.subject,
        format!("You are invited to {} on Acme Cloud", t.a1.name)
    );
    assert!(
        mail.from_header.contains("Acme Cloud"),
        "{}",
        mail.from_header
    );
    assert!(
        mail.from_header.contains("invitations@tenantry.test"),
        "{}",
        mail.from_header
    );
    assert!(mail.body.contains("on Acme Cloud, as"), "{}", mail.body);
    assert!(
        mail.body.replace("\r\n", "\n").contains(
            "-- \nAcme Cloud\nSupport: help@acme.example\nHelp: https://help.acme.example"
        ),
        "{}",
        mail.body
    );
    assert!(
        mail.html.contains("mailto:help@acme.example"),
        "{}",
        mail.html
    );
}

#[tokio::test]
async fn uploads_that_are_not_safe_images_are_refused() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let mut big = png(8, 8);
    big.resize(300 * 1024, 0);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // A name and a declared type say PNG; the content is text.
        (
            "logo.png",
            b"<html><script>alert(1)</script></html>".to_vec(),
            "must be a PNG, JPEG or SVG",
        ),
        (
            "logo.gif",
            b"GIF89a\x01\x00\x01\x00".to_vec(),
            "must be a PNG, JPEG or SVG",
        ),
        ("logo.png", big, "at most 256 KiB"),
        ("logo.svg", svg("<script>alert(1)</script>"), "<script>"),
        (
            "logo.svg",
            svg(r#"<rect width="5" height="5" onload="alert(1)"/>"#),
            "event handler",
        ),
        (
            "logo.svg",
            svg(r#"<use xlink:href="https://evil.example/sprite.svg#a"/>"#),
            "outside the file",
        ),
        (
            "logo.svg",
            svg("<foreignObject><p>hi</p></foreignObject>"),
            "<foreignObject>",
        ),
        ("logo.png", Vec::new(), "Choose an image file"),
    ];
    for (name, file, why) in &cases {
        let r = upload(&app, &acme, name, file).await;
        assert_eq!(status(&r), 422, "{name} {why}");
        let html = r.text().await.unwrap();
        let error = text_of(&html, "logo-error");
        assert!(
            error.contains(&why.replace('<', "&#60;").replace('>', "&#62;"))
                || error.contains(why)
                || error.contains(&why.replace('<', "&lt;").replace('>', "&gt;")),
            "{why}: {error}"
        );
    }
    // The API refuses them alike.
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    for (_, file, _) in &cases {
        let (code, body) = send(
            api.request(
                Method::PUT,
                &format!("/api/v1/tenants/{}/branding/logo", acme.id),
            )
            .header("content-type", "image/png")
            .body(file.clone()),
        )
        .await;
        assert_eq!(code, 422, "{body}");
        assert!(body["errors"]["logo"].is_string(), "{body}");
    }
    // Nothing was stored.
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", acme.id))
        .await;
    assert_eq!(b["logo"]["value"], Value::Null);
    // A multipart form without its CSRF token changes nothing.
    let r = app
        .client
        .post(app.url(&format!("/tenants/{}/branding/logo", acme.id)))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(None, "logo.png", "image/png", &png(4, 4)))
        .send()
        .await
        .unwrap();
    assert!(matches!(status(&r), 400 | 403), "{}", status(&r));
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", acme.id))
        .await;
    assert_eq!(b["logo"]["value"], Value::Null);
}

#[tokio::test]
async fn served_logos_carry_their_type_nosniff_and_a_policy_under_which_nothing_runs() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    // An SVG with a harmless title and an editor's metadata: kept, rebuilt.
    let file = svg(
        r##"<title>Acme</title><metadata><x/></metadata><rect width="10" height="10" fill="#0f766e"/>"##,
    );
    let (code, b) = send(
        api.request(
            Method::PUT,
            &format!("/api/v1/tenants/{}/branding/logo", acme.id),
        )
        .header("content-type", "application/octet-stream")
        .body(file),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    let url = b["logo"]["value"].as_str().unwrap().to_string();
    assert!(is_logo_url(&url), "{url}");
    let anonymous = app.new_browser();
    let r = anonymous.get(&url).await;
    assert_eq!(status(&r), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/svg+xml");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "{csp}");
    let etag = h["etag"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    assert!(
        body.contains("<rect") && !body.contains("metadata"),
        "{body}"
    );
    // Unchanged: 304 by its ETag.
    let r = anonymous
        .client
        .get(anonymous.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 304);
    // A PNG is served as PNG, encoded again.
    let (code, b) = send(
        api.request(
            Method::PUT,
            &format!("/api/v1/tenants/{}/branding/logo", acme.id),
        )
        .body(png(3, 3)),
    )
    .await;
    assert_eq!(code, 200);
    let png_url = b["logo"]["value"].as_str().unwrap().to_string();
    assert_ne!(png_url, url, "another image, another URL");
    let r = anonymous.get(&png_url).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    // Removed: the tenant has no logo of its own, nor an inherited one: its URL
    // serves nothing (404).
    let (code, b) = api
        .delete(&format!("/api/v1/tenants/{}/branding/logo", acme.id))
        .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["logo"]["value"], Value::Null);
    assert_eq!(status(&anonymous.get(&png_url).await), 404);
    assert_eq!(status(&anonymous.get("/branding/logo/abc").await), 404);
    // No URL by a tenant's id (which would tell who exists, and whose logo whose).
    assert_eq!(
        status(&anonymous.get(&format!("/branding/{}/logo", acme.id)).await),
        404
    );
}

#[tokio::test]
async fn the_api_sets_every_field_at_once_and_null_inherits() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let a1 = app.tenant(&acme, "a1", false).await;
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    let put = |id: i64, body: Value| {
        let api = &api;
        async move {
            send(
                api.request(Method::PUT, &format!("/api/v1/tenants/{id}/branding"))
                    .json(&body),
            )
            .await
        }
    };
    let (code, b) = put(
        acme.id,
        json!({"product_name": " Acme ", "primary_color": "#FFFF00", "support_email": "help@acme.example", "support_url": null}),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["product_name"]["value"], "Acme");
    assert_eq!(b["primary_color"]["value"], "#ffff00");
    // Yellow on white: saved, and warned.
    assert!(
        b["warnings"][0].as_str().unwrap().contains("contrast"),
        "{b}"
    );
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", a1.id))
        .await;
    assert_eq!(b["product_name"]["value"], "Acme");
    // Below, the colour is acme's to change: shown, not warned about.
    assert_eq!(b["primary_color"]["value"], "#ffff00");
    assert_eq!(b["warnings"], json!([]), "{b}");
    app.login_admin().await;
    let html = app.get_html(&format!("/tenants/{}/branding", a1.id)).await;
    assert!(!html.contains("has a contrast of"), "{html}");
    let html = app
        .get_html(&format!("/tenants/{}/branding", acme.id))
        .await;
    assert!(html.contains("has a contrast of"), "{html}");
    // Every field must be sent; an empty string is not null; bad values name their field.
    let (code, b) = put(acme.id, json!({"product_name": "Acme"})).await;
    assert_eq!(code, 400, "{b}");
    let (code, b) = put(
        acme.id,
        json!({"product_name": "", "primary_color": "red", "support_email": "x", "support_url": "javascript:alert(1)"}),
    )
    .await;
    assert_eq!(code, 422, "{b}");
    for field in [
        "product_name",
        "primary_color",
        "support_email",
        "support_url",
    ] {
        assert!(b["errors"][field].is_string(), "{field}: {b}");
    }
    let (code, _) = put(
        acme.id,
        json!({"product_name": null, "primary_color": null, "support_email": null, "support_url": null, "extra": 1}),
    )
    .await;
    assert_eq!(code, 400);
    // All null: acme inherits everything again.
    let (code, b) = put(
        acme.id,
        json!({"product_name": null, "primary_color": null, "support_email": null, "support_url": null}),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["product_name"]["value"], Value::Null);
    assert_eq!(b["warnings"], json!([]));
}

#[tokio::test]
async fn viewers_read_the_branding_and_only_settings_full_changes_it() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let other = app.tenant(&app.root, "other", false).await;
    let viewer = app.user(&acme, "vic").await;
    app.grant(&viewer, &acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let vic = browser_as(&app, "acme\\vic").await;
    let html = vic
        .get_html(&format!("/tenants/{}/branding", acme.id))
        .await;
    assert!(html.contains("id=\"branding-form\""), "{html}");
    assert!(
        !html.contains("id=\"save-branding\"") && !html.contains("id=\"logo-form\""),
        "{html}"
    );
    assert_eq!(
        status(&save(&vic, &acme, &fields("Mine", "", "", "")).await),
        403
    );
    assert_eq!(status(&upload(&vic, &acme, "a.png", &png(2, 2)).await), 403);
    assert_eq!(status(&reset(&vic, &acme, "product_name").await), 403);
    // A tenant one may not see: 404, whatever the method.
    assert_eq!(
        status(&vic.get(&format!("/tenants/{}/branding", other.id)).await),
        404
    );
    assert_eq!(
        status(&save(&vic, &other, &fields("Mine", "", "", "")).await),
        404
    );
    let token = token_for(&app, &viewer, false).await;
    let api = Api::new(&app, Some(&token));
    let (code, _) = api
        .get(&format!("/api/v1/tenants/{}/branding", acme.id))
        .await;
    assert_eq!(code, 200);
    let (code, _) = send(
        api.request(
            Method::PUT,
            &format!("/api/v1/tenants/{}/branding/logo", acme.id),
        )
        .body(png(2, 2)),
    )
    .await;
    assert_eq!(code, 403);
    let (code, _) = api
        .get(&format!("/api/v1/tenants/{}/branding", other.id))
        .await;
    assert_eq!(code, 404);
}

/// The service decides the right itself: called directly with a principal that
/// reads Settings but may not change them, every kind of change is refused (403)
/// and nothing is written, whatever the input.
#[tokio::test]
async fn the_branding_service_refuses_a_principal_without_the_right() {
    use tenantry::domain::branding::{BrandingFields, ProductName};
    use tenantry::services::branding::{change, BrandingChange, Field};
    use tenantry::services::change::Change;
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let mut read = Permissions::none();
    read.set(tenantry::domain::Feature::Settings, Level::Read);
    let reader = app.user_with_role(&acme, "reader", read).await;
    let p = app.principal(&reader).await;
    let actor = tenantry::services::Actor::system("test");
    let c = Change::new(&p, &actor, &acme, app.clock.now());
    let fields = BrandingFields {
        product_name: Some(ProductName::parse("Mine").unwrap()),
        ..Default::default()
    };
    let logo = tenantry::domain::logo::Logo::parse(&png(2, 2)).unwrap();
    for input in [
        Ok(BrandingChange::Fields(fields)),
        Ok(BrandingChange::Reset(Field::ProductName)),
        Ok(BrandingChange::Logo(logo)),
        Err(Default::default()),
    ] {
        let result = change(&mut *app.conn().await, &c, input).await;
        assert!(
            matches!(result, Err(tenantry::error::AppError::Forbidden)),
            "{result:?}"
        );
    }
    let rows: i64 = db(&app)
        .await
        .query_one("SELECT count(*) FROM tenant_branding", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
}

// ------------------------------------------------ review findings (f16b)

/// Sets a tenant's branding row directly (what a save would store).
async fn brand_directly(app: &TestApp, tenant: &Tenant, name: &str, support_email: &str) {
    db(app)
        .await
        .execute(
            "INSERT INTO tenant_branding (tenant_id, product_name, support_email, updated_at) \
             VALUES ($1, $2, $3, now()) ON CONFLICT (tenant_id) DO UPDATE \
             SET product_name = $2, support_email = $3",
            &[&tenant.id, &name, &support_email],
        )
        .await
        .unwrap();
}

/// M1: the invitation page (and its 422 again) shows the branding of the
/// invitation's tenant, as its mail does: title, logo, theme, support line.
#[tokio::test]
async fn the_invitation_page_shows_the_branding_of_the_invitations_tenant() {
    let (app, sink) = app_with_sink(&[]).await;
    app.login_admin().await;
    let t = partner_tree(&app).await;
    save(
        &app,
        &t.acme,
        &fields("Acme Cloud", "#0f766e", "help@acme.example", ""),
    )
    .await;
    upload(&app, &t.acme, "logo.png", &png(4, 4)).await;
    let r = invite_grant(&app, &t.a1, "dave@example.com", "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303, "{}", r.text().await.unwrap());
    let link = crate::invitations::link_in(&sink.wait_for("dave@example.com", 1).await);
    let check = |html: &str| {
        assert!(html.contains("· Acme Cloud</title>"), "{html}");
        assert!(!html.contains("· tenantry</title>"), "{html}");
        assert_eq!(text_of(html, "product-name"), "Acme Cloud");
        assert!(
            html.contains("href=\"/branding/theme/0f766e.css\""),
            "{html}"
        );
        assert!(html.contains("src=\"/branding/logo/"), "{html}");
        assert!(
            text_of(html, "invitation-support").contains("help@acme.example"),
            "{html}"
        );
    };
    let visitor = app.new_browser();
    let html = visitor.get_html(&link).await;
    check(&html);
    // The 422 of a bad new-account form keeps it.
    let token = csrf_from(&html).unwrap();
    let r = visitor
        .client
        .post(visitor.url(&link))
        .form(&[("username", ""), ("password", "x"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 422);
    check(&r.text().await.unwrap());
    // On the tenant's own host alike.
    let (client, base) = app.browser_for_host(&format!("acme.{BASE_DOMAIN}"));
    let html = client
        .get(format!("{base}{link}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    check(&html);
}

/// M2: an error answer to an htmx request shows the acting tenant's branding, as
/// the whole page does, not the host's.
#[tokio::test]
async fn htmx_error_answers_carry_the_acting_tenants_branding() {
    let (app, t) = acme_branded("#0f766e").await;
    save(
        &app,
        &app.root,
        &fields("Provider Console", "", "help@provider.example", ""),
    )
    .await;
    app.user_with_role(&t.a1x, "carol", Permissions::all(Level::Read))
        .await;
    let carol = browser_as(&app, "a1x\\carol").await;
    // 404 (a tenant carol cannot see) and 403 (a page she may read but not change).
    let r = carol.get_hx("/tenants/999999999").await;
    assert_eq!(status(&r), 404);
    let html = r.text().await.unwrap();
    assert!(
        text_of(&html, "error-support").contains("help@acme.example"),
        "{html}"
    );
    assert!(!html.contains("Provider Console"), "{html}");
    let r = carol
        .client
        .post(carol.url(&format!("/tenants/{}/branding", t.a1x.id)))
        .header("HX-Request", "true")
        .form(&[
            ("product_name", "x"),
            ("primary_color", ""),
            ("support_email", ""),
            ("support_url", ""),
            ("csrf_token", &carol.csrf().await),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("help@acme.example"), "{html}");
    assert!(!html.contains("help@provider.example"), "{html}");
}

/// M3: a quota alert and a monthly report carry the branding of the recipient's
/// home tenant, never that of the tenant they are about: a customer does not word
/// the mail its reseller's Owners get.
#[tokio::test]
async fn usage_mail_carries_the_branding_of_the_recipients_home_tenant() {
    use crate::usage_mail::{opt_in, person, run_reports, set_clock, subscribe};
    use crate::usage_stats::{seed, set_quota};
    use tenantry::domain::GrantRole::Owner;
    let (app, _sink) = app_with_sink(&[]).await;
    set_clock(&app, "2026-01-20T12:00:00Z");
    let t = partner_tree(&app).await;
    brand_directly(&app, &t.acme, "Acme Cloud", "help@acme.example").await;
    brand_directly(&app, &t.a1x, "Evil Corp", "phish@evil.example").await;
    set_quota(&app, &t.a1x, 1000).await;
    person(&app, "owner", &t.a1x, Owner, Scope::Tenant).await;
    let (_, above) = person(&app, "above", &t.acme, Owner, Scope::Subtree).await;
    opt_in(&above).await;
    seed(&app, &[(t.a1x.id, "2026-01-04T00:00:00Z", 800, 0)]).await;
    let mail = |to: &'static str| {
        let app = &app;
        async move {
            let rows = db(app)
                .await
                .query(
                    "SELECT from_name, body_text FROM outbox WHERE recipient = $1 ORDER BY id",
                    &[&format!("{to}@example.com")],
                )
                .await
                .unwrap();
            rows.iter()
                .map(|r| (r.get::<_, Option<String>>(0), r.get::<_, String>(1)))
                .collect::<Vec<_>>()
        }
    };
    let up = mail("above").await;
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0].0.as_deref(), Some("Acme Cloud"));
    assert!(up[0].1.contains("help@acme.example"), "{}", up[0].1);
    assert!(
        !up[0].1.contains("Evil") && !up[0].1.contains("phish@"),
        "{}",
        up[0].1
    );
    // a1x's own Owner gets a1x's own branding.
    let own = mail("owner").await;
    assert_eq!(own[0].0.as_deref(), Some("Evil Corp"));

    // A report of a1x subscribed by acme's Owner: acme's branding.
    let r = subscribe(&above, &t.a1x, "5", "subtree").await;
    assert_eq!(status(&r), 303);
    assert_eq!(run_reports(&app, "2026-02-05T00:00:00Z").await.mails, 1);
    let up = mail("above").await;
    let report = up.last().unwrap();
    assert_eq!(report.0.as_deref(), Some("Acme Cloud"), "{up:?}");
    assert!(!report.1.contains("Evil") && !report.1.contains("phish@"));
}

/// M4: CSS escapes and image functions do not smuggle a reference out of a logo.
#[tokio::test]
async fn svg_logos_with_css_escapes_or_image_functions_are_refused() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    for body in [
        r#"<rect width="5" height="5" fill="\75rl(https://evil.example/a)"/>"#,
        r#"<rect width="5" height="5" style="fill:u\72l(https://evil.example/a)"/>"#,
        r#"<rect width="5" height="5" style="background-image:image-set(&quot;https://evil.example/a&quot; 1x)"/>"#,
    ] {
        let r = upload(&app, &acme, "logo.svg", &svg(body)).await;
        assert_eq!(status(&r), 422, "{body}");
        let html = r.text().await.unwrap();
        assert!(
            text_of(&html, "logo-error").contains("cannot be used as a logo"),
            "{body}: {html}"
        );
    }
    let stored: i64 = db(&app)
        .await
        .query_one(
            "SELECT count(*) FROM tenant_branding WHERE logo IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);
}

/// L1, review 16 (later): a logo's URL names no tenant — neither the one viewed
/// nor the ancestor that stores it — but the image's hash, so that no one learns
/// tenant ids, or who is whose reseller, by asking for logos; an inherited logo
/// is the same URL as its owner's.
#[tokio::test]
async fn a_logo_url_names_no_tenant() {
    let (app, t) = acme_branded("").await;
    upload(&app, &t.acme, "logo.png", &png(5, 5)).await;
    app.user_with_role(&t.a1x, "carol", Permissions::all(Level::Read))
        .await;
    let carol = browser_as(&app, "a1x\\carol").await;
    let own = shown_logo(&app, &t.acme).await.expect("acme's logo");
    assert!(is_logo_url(&own), "{own}");
    let html = carol.get_html("/dashboard").await;
    assert!(html.contains(&format!("src=\"{own}\"")), "{html}");
    for tenant in [&t.acme, &t.a1x] {
        assert!(
            !html.contains(&format!("/branding/{}/", tenant.id)),
            "{html}"
        );
    }
    assert_eq!(
        shown_logo(&app, &t.a1x).await.as_deref(),
        Some(own.as_str())
    );
    // Served to anyone, with its ETag: the hash in the URL.
    let anonymous = app.new_browser();
    let r = anonymous.get(&own).await;
    assert_eq!(status(&r), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let etag = r.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert!(own.ends_with(&etag), "{own} {etag}");
    // A tenant with no logo on its path shows none; a made-up hash is 404.
    assert_eq!(shown_logo(&app, &t.g1).await, None);
    assert_eq!(
        status(
            &anonymous
                .get("/branding/logo/0123456789abcdef01234567")
                .await
        ),
        404
    );
    // Tenant ids name nothing any more.
    for tenant in [&t.acme, &t.a1x, &t.g1] {
        assert_eq!(
            status(
                &anonymous
                    .get(&format!("/branding/{}/logo", tenant.id))
                    .await
            ),
            404
        );
    }
}

/// L2: characters that show as nothing are refused in a product name, page and API.
#[tokio::test]
async fn invisible_characters_in_a_product_name_are_refused() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    for c in ['\u{3164}', '\u{00AD}', '\u{2028}', '\u{180E}', '\u{034F}'] {
        // Inside the name: trimming would take one off the end.
        let name = format!("Ac{c}me");
        let r = save(&app, &acme, &fields(&name, "", "", "")).await;
        assert_eq!(status(&r), 422, "U+{:04X}", c as u32);
        let html = r.text().await.unwrap();
        assert!(
            text_of(&html, "product_name-error").contains("invisible"),
            "{html}"
        );
        let (code, b) = send(
            api.request(
                Method::PUT,
                &format!("/api/v1/tenants/{}/branding", acme.id),
            )
            .json(&json!({"product_name": name, "primary_color": null, "support_email": null, "support_url": null})),
        )
        .await;
        assert_eq!(code, 422, "{b}");
        assert!(b["errors"]["product_name"].is_string(), "{b}");
    }
}

/// L3, L4, L5: a form without its fields, a reset of an unknown field, an SVG
/// outside SVG's namespace and two logo files are refused with a message; the
/// support page's hint says what is accepted.
#[tokio::test]
async fn incomplete_or_ambiguous_branding_forms_are_refused_with_a_message() {
    let (app, t) = acme_branded("").await;
    // L3: only the CSRF token: nothing is cleared.
    let r = save(&app, &t.acme, &[]).await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        text_of(&html, "product_name-error").contains("not sent"),
        "{html}"
    );
    let r = save(&app, &t.acme, &[("product_name", "Other")]).await;
    assert_eq!(status(&r), 422);
    let token = token_for(&app, &app.admin, false).await;
    let api = Api::new(&app, Some(&token));
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.acme.id))
        .await;
    assert_eq!(b["product_name"]["value"], "Acme Cloud");
    assert_eq!(b["support_email"]["value"], "help@acme.example");
    // L4: an unknown field to reset says so.
    let r = reset(&app, &t.acme, "nope").await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        text_of(&html, "form-error").contains("Choose a field to reset"),
        "{html}"
    );
    // L5: an SVG without SVG's namespace.
    let r = upload(
        &app,
        &t.acme,
        "logo.svg",
        br#"<svg viewBox="0 0 10 10"><rect width="5" height="5"/></svg>"#,
    )
    .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        text_of(&html, "logo-error").contains("SVG namespace"),
        "{html}"
    );
    // L5: two logo parts in one upload.
    let csrf = app.csrf().await;
    let mut body = multipart(Some(&csrf), "a.png", "image/png", &png(2, 2));
    // Drop the closing boundary, add a second `logo` part.
    body.truncate(body.len() - format!("--{BOUNDARY}--\r\n").len());
    body.extend_from_slice(&multipart(None, "b.png", "image/png", &png(3, 3)));
    let r = app
        .client
        .post(app.url(&format!("/tenants/{}/branding/logo", t.acme.id)))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        text_of(&html, "logo-error").contains("one logo file"),
        "{html}"
    );
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.acme.id))
        .await;
    assert_eq!(b["logo"]["value"], Value::Null);
    // L5: the support page's hint names both schemes.
    let html = app
        .get_html(&format!("/tenants/{}/branding", t.acme.id))
        .await;
    assert!(html.contains("https:// (or http://)"), "{html}");
}

/// #16: the notice of a finished rule migration, like every other mail, is worded
/// in the branding of the recipient's home tenant (From name, signature, support
/// address), never in that of the tenants it is about.
#[tokio::test]
async fn the_rule_migration_notice_carries_the_branding_of_the_starters_home() {
    use crate::rule_migrations::{app as migration_app, runner, setup, start};
    let app = migration_app().await;
    let s = setup(&app, 3).await;
    app.admin_with_email().await;
    brand_directly(&app, &app.root, "Provider Console", "help@provider.example").await;
    brand_directly(&app, &s.source, "Evil Corp", "phish@evil.example").await;
    brand_directly(&app, &s.target, "Other Corp", "help@other.example").await;
    let m = start(&app, &s).await.unwrap();
    runner(5).tick(&app.pool, || app.clock.now()).await.unwrap();
    let row = db(&app)
        .await
        .query_one(
            "SELECT from_name, body_text FROM outbox WHERE subject LIKE 'Migration #%'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some("Provider Console")
    );
    let body: String = row.get(1);
    assert!(
        body.contains("-- \nProvider Console\nSupport: help@provider.example\n"),
        "{body}"
    );
    assert!(body.contains(&format!("/migrations/{}", m.id)), "{body}");
    assert!(
        !body.contains("Evil") && !body.contains("phish@") && !body.contains("Other Corp"),
        "{body}"
    );
}
// ------------------------------------------------ review findings (#16, M1 and LOWs)

/// A plan through the API (`body`), `tenant` put on it; the plan's id.
async fn on_new_plan(app: &TestApp, tenant: &Tenant, body: Value) -> i64 {
    let api = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let (code, b) = api.post("/api/v1/plans", body).await;
    assert_eq!(code, 201, "{b}");
    let id = b["id"].as_i64().unwrap();
    let (code, b) = api
        .patch(
            &format!("/api/v1/tenants/{}", tenant.id),
            json!({ "plan_id": id }),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    id
}

/// Review M1: a tenant whose plan loses custom branding keeps its own values, but
/// they stop taking effect everywhere (frame, login page, logo, API) and the page
/// shows them as kept, not shown; back on a plan with the option they show again.
#[tokio::test]
async fn own_branding_stops_taking_effect_while_the_plan_lacks_custom_branding() {
    let (app, t) = acme_branded("#0f766e").await;
    save(&app, &t.a1, &fields("A1 Cloud", "#123456", "", "")).await;
    assert_redirect_to(
        &upload(&app, &t.a1, "logo.png", &png(8, 4)).await,
        &format!("/tenants/{}/branding", t.a1.id),
    );
    app.user_with_role(&t.a1x, "carol", Permissions::all(Level::Read))
        .await;
    let carol = browser_as(&app, "a1x\\carol").await;
    assert_eq!(
        text_of(&carol.get_html("/dashboard").await, "product-name"),
        "A1 Cloud"
    );
    // Switching a1 to a plan without the option is allowed (#16 M1): its branding
    // is kept, not shown, and the answer says so.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (code, b) = api.post("/api/v1/plans", json!({"name": "Basic"})).await;
    assert_eq!(code, 201, "{b}");
    let basic = b["id"].as_i64().unwrap();
    let (code, b) = api
        .patch(
            &format!("/api/v1/tenants/{}", t.a1.id),
            json!({ "plan_id": basic }),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(
        b["warnings"],
        json!([
            "Tenant a1's own branding is kept but not shown while on Basic.",
            "Tenant a1 has 1 sub-tenant: it stays, no new ones while on Basic.",
        ])
    );
    // The frame of a1x (below a1) and a1's login page show acme's branding.
    let html = carol.get_html("/dashboard").await;
    assert_eq!(text_of(&html, "product-name"), "Acme Cloud");
    assert!(html.contains("/branding/theme/0f766e.css"), "{html}");
    let (client, base) = app.browser_for_host(&format!("a1.{BASE_DOMAIN}"));
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    let login = login.text().await.unwrap();
    assert_eq!(text_of(&login, "product-name"), "Acme Cloud");
    // a1's logo is not shown: nothing above has one.
    assert_eq!(shown_logo(&app, &t.a1).await, None);
    // The API: the value in effect, a1's own kept with the reason.
    let (_, b) = api
        .get(&format!("/api/v1/tenants/{}/branding", t.a1.id))
        .await;
    assert_eq!(b["product_name"]["value"], "Acme Cloud", "{b}");
    assert_eq!(b["product_name"]["set_here"], false, "{b}");
    assert_eq!(b["product_name"]["kept"]["value"], "A1 Cloud", "{b}");
    assert_eq!(b["product_name"]["kept"]["reason"], "Not in plan Basic.");
    assert!(b["logo"]["kept"]["value"].is_string(), "{b}");
    // The page: what shows, and a1's own values kept, not shown, resettable.
    let html = app
        .get_html(&format!("/tenants/{}/branding", t.a1.id))
        .await;
    assert!(text_of(&html, "product_name-source").contains("Acme Cloud"));
    assert_eq!(
        text_of(&html, "product_name-kept"),
        "Set here: A1 Cloud — kept, not shown: not in plan Basic."
    );
    assert!(text_of(&html, "logo-kept").contains("kept, not shown: not in plan Basic."));
    assert!(html.contains("id=\"reset-product_name\""), "{html}");
    assert!(html.contains("id=\"reset-logo\""), "{html}");
    // On a plan with the option again, its own values show again.
    on_new_plan(
        &app,
        &t.a1,
        json!({"name": "Branded", "custom_branding": true}),
    )
    .await;
    assert_eq!(
        text_of(&carol.get_html("/dashboard").await, "product-name"),
        "A1 Cloud"
    );
    let url = shown_logo(&app, &t.a1).await.expect("a1's own logo");
    assert_eq!(status(&app.new_browser().get(&url).await), 200);
}

/// A logo's URL names its content, so it is cached for long; another logo is
/// another URL, and the one replaced is served no more (304 by its ETag before).
#[tokio::test]
async fn a_logo_url_is_cached_for_long_and_changes_with_the_logo() {
    let (app, t) = acme_branded("#0f766e").await;
    upload(&app, &t.acme, "logo.png", &png(8, 4)).await;
    let first = shown_logo(&app, &t.acme).await.unwrap();
    let anonymous = app.new_browser();
    let r = anonymous.get(&first).await;
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(
        cache.contains("max-age=31536000") && cache.contains("immutable"),
        "{cache}"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = anonymous
        .client
        .get(anonymous.url(&first))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 304);
    upload(&app, &t.acme, "logo.png", &png(6, 6)).await;
    let second = shown_logo(&app, &t.acme).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(status(&anonymous.get(&second).await), 200);
    assert_eq!(status(&anonymous.get(&first).await), 404);
}

/// Review LOW: a form post the plan refuses shows the form again with the reason
/// (409), not a bare error page.
#[tokio::test]
async fn a_plan_refused_branding_post_shows_the_form_with_the_reason() {
    let (app, t) = acme_branded("#0f766e").await;
    on_new_plan(&app, &t.a1, json!({"name": "Basic"})).await;
    let r = save(&app, &t.a1, &fields("Mine", "", "", "")).await;
    assert_eq!(status(&r), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"branding-form\""), "{html}");
    assert_eq!(
        text_of(&html, "form-error"),
        "Custom branding: Not in plan Basic."
    );
    let r = upload(&app, &t.a1, "logo.png", &png(8, 4)).await;
    assert_eq!(status(&r), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Custom branding: Not in plan Basic."));
}

/// Review 16 M3: an SVG as Illustrator exports it (a DOCTYPE naming SVG 1.1's DTD,
/// a `<style>` of classes) is accepted and served without its DOCTYPE, with its
/// style sheet; a style sheet that loads from elsewhere, or a DOCTYPE declaring
/// entities, is still refused.
#[tokio::test]
async fn illustrator_svg_logos_are_accepted_without_their_doctype() {
    let app = spawn_app().await;
    app.login_admin().await;
    let acme = app.tenant(&app.root, "acme", true).await;
    let file = br#"<?xml version="1.0" encoding="utf-8"?>
<!-- Generator: Adobe Illustrator 27.0.0, SVG Export Plug-In . SVG Version: 6.00 Build 0)  -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg version="1.1" id="Layer_1" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" x="0px" y="0px"
	 viewBox="0 0 100 40" style="enable-background:new 0 0 100 40;" xml:space="preserve">
<style type="text/css">
	.st0{fill:#1F6FEB;}
</style>
<rect class="st0" width="40" height="40"/>
</svg>
"#;
    assert_redirect_to(
        &upload(&app, &acme, "logo.svg", file).await,
        &format!("/tenants/{}/branding", acme.id),
    );
    let url = shown_logo(&app, &acme).await.unwrap();
    let r = app.new_browser().get(&url).await;
    assert_eq!(status(&r), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let body = r.text().await.unwrap();
    assert!(!body.contains("DOCTYPE"), "{body}");
    assert!(
        body.contains("<style>") && body.contains(".st0{fill:#1F6FEB;}"),
        "{body}"
    );
    assert!(body.contains(r#"<rect class="st0""#), "{body}");
    for (file, why) in [
        (
            svg("<style>.a{fill:url(https://evil.example/a)}</style>"),
            "more than plain CSS",
        ),
        (
            svg("<style>@import 'https://evil.example/a.css';</style>"),
            "more than plain CSS",
        ),
        (svg(r"<style>.a{fill:u\72l(x)}</style>"), "more than plain CSS"),
        (
            br#"<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>"#
                .to_vec(),
            "DOCTYPE",
        ),
    ] {
        let r = upload(&app, &acme, "logo.svg", &file).await;
        assert_eq!(status(&r), 422);
        let html = r.text().await.unwrap();
        let error = text_of(&html, "logo-error");
        assert!(error.contains(why), "{error}");
    }
}
