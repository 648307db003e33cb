//! Invitations by email against a real SMTP server (`tests/support/smtp_sink.py`,
//! aiosmtpd from the repository's `.venv`): the mail and its link, single use,
//! the rights given, expiry, revocation, resending, delivery while the mail server
//! is down, the inviter's rights at acceptance, who may invite what, duplicates,
//! the rate limit and forged links.

use crate::helpers::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tenantry::auth::Principal;
use tenantry::db::models::role::UserRole;
use tenantry::db::models::{AuditEvent, Grant, Tenant, User};
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

pub(crate) const PUBLIC_URL: &str = "http://console.tenantry.test";
pub(crate) const NEW_PASSWORD: &str = "invitee-password-123";

// ---------------------------------------------------------------- the SMTP sink

/// A real SMTP server (aiosmtpd) writing every message it receives to a file.
pub(crate) struct SmtpSink {
    child: Child,
    file: PathBuf,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Mail {
    /// The From header as written (display name and address).
    #[serde(default)]
    pub(crate) from_header: String,
    /// The Reply-To header as written ("" without one).
    #[serde(default)]
    pub(crate) reply_to_header: String,
    pub(crate) to: Vec<String>,
    pub(crate) subject: String,
    pub(crate) body: String,
    pub(crate) html: String,
    #[serde(default)]
    pub(crate) attachments: Vec<MailAttachment>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct MailAttachment {
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) content: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

impl SmtpSink {
    /// Starts the sink on `port` and waits until it accepts connections.
    fn start(port: u16) -> SmtpSink {
        let file = std::env::temp_dir().join(format!(
            "tenantry-smtp-{}-{}.jsonl",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect(
                "start tests/support/smtp_sink.py (run scripts/ensure-test-tools.sh for aiosmtpd)",
            );
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read from the SMTP sink");
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (is aiosmtpd installed in .venv?)"
        );
        SmtpSink { child, file }
    }

    pub(crate) fn mails(&self) -> Vec<Mail> {
        let Ok(text) = std::fs::read_to_string(&self.file) else {
            return Vec::new();
        };
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Waits until `count` mails to `to` have arrived; returns the newest.
    pub(crate) async fn wait_for(&self, to: &str, count: usize) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let to_them: Vec<Mail> = self
                .mails()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t == to))
                .collect();
            if to_them.len() >= count {
                return to_them[count - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no mail #{count} to {to} within 30 s; got {:?}",
                self.mails()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// The app, sending mail to a sink on a free port, with fast retries.
pub(crate) async fn app_with_sink(extra: &[(&str, &str)]) -> (TestApp, SmtpSink) {
    let port = free_port();
    let sink = SmtpSink::start(port);
    let app = app_with_smtp_port(port, extra).await;
    (app, sink)
}

async fn app_with_smtp_port(port: u16, extra: &[(&str, &str)]) -> TestApp {
    let url = format!("smtp://127.0.0.1:{port}");
    let mut env = vec![
        ("TENANTRY_SMTP_URL", url.as_str()),
        ("TENANTRY_MAIL_FROM", "invitations@tenantry.test"),
        ("TENANTRY_PUBLIC_URL", PUBLIC_URL),
        ("TENANTRY_OUTBOX_POLL_MS", "50"),
        ("TENANTRY_OUTBOX_BACKOFF_MS", "100"),
    ];
    env.extend_from_slice(extra);
    spawn_app_with_env(&env).await
}

// ---------------------------------------------------------------- helpers

/// The link in a mail's text (its path); it starts with the address of the
/// tenant invited into: the public URL for the root, else the tenant's host under
/// the base domain (`review16m` tests which one).
pub(crate) fn link_in(mail: &Mail) -> String {
    const PATH: &str = "/invitations/";
    let at = mail
        .body
        .find(PATH)
        .unwrap_or_else(|| panic!("no invitation link in {:?}", mail.body));
    let base_start = mail.body[..at].rfind("http://").expect("an address");
    let base = &mail.body[base_start..at];
    assert!(
        base == PUBLIC_URL || base.ends_with(&format!(".{BASE_DOMAIN}")),
        "{base}"
    );
    let prefix = format!("{base}{PATH}");
    let start = base_start;
    let token: String = mail.body[start + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 43, "a 256-bit token in the link");
    assert!(mail.html.contains(&format!("{prefix}{token}")));
    format!("/invitations/{token}")
}

pub(crate) async fn invite(
    browser: &TestApp,
    tenant: &Tenant,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post_form(&format!("/tenants/{}/invitations", tenant.id), fields)
        .await
}

pub(crate) async fn invite_grant(
    browser: &TestApp,
    tenant: &Tenant,
    email: &str,
    role: &str,
    scope: &str,
    manage: bool,
) -> reqwest::Response {
    let mut fields = vec![
        ("email", email),
        ("kind", "grant"),
        ("role", role),
        ("scope", scope),
    ];
    if manage {
        fields.push(("manage_subtenants", "true"));
    }
    invite(browser, tenant, &fields).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    db(app).await.query_one(sql, &[]).await.unwrap().get(0)
}

async fn invitation_id(app: &TestApp, email: &str) -> i64 {
    db(app)
        .await
        .query_one(
            "SELECT id FROM invitations WHERE email = $1 ORDER BY id DESC LIMIT 1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}

/// Accepts with a new account from a fresh browser.
async fn create_account(app: &TestApp, link: &str, username: &str) -> (TestApp, reqwest::Response) {
    let invitee = app.new_browser();
    let page = invitee.get(link).await;
    assert_eq!(status(&page), 200, "the link opens");
    let r = invitee
        .post_form(link, &[("username", username), ("password", NEW_PASSWORD)])
        .await;
    (invitee, r)
}

pub(crate) async fn user_named(app: &TestApp, tenant: &Tenant, username: &str) -> Option<User> {
    User::find_for_login(&mut *app.conn().await, &tenant.subdomain, username)
        .await
        .unwrap()
        .map(|(u, _)| u)
}

pub(crate) async fn actions(app: &TestApp, tenant: &Tenant) -> Vec<String> {
    AuditEvent::actions_for_tenant(&mut *app.conn().await, tenant.id)
        .await
        .unwrap()
}

/// Waits until the invitations page shows `text`.
async fn wait_for_list(browser: &TestApp, tenant: &Tenant, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let html = browser
            .get_html(&format!("/tenants/{}/invitations", tenant.id))
            .await;
        if html.contains(text) {
            return html;
        }
        assert!(
            Instant::now() < deadline,
            "the list never showed {text:?}:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------- the whole flow

#[tokio::test]
async fn mailed_link_creates_the_account_with_the_invited_grant_once() {
    let (app, sink) = app_with_sink(&[]).await;
    let partner = app.tenant(&app.root, "partner", true).await;
    let customer = app.tenant(&partner, "customer", false).await;
    let sibling = app.tenant(&app.root, "sibling", false).await;
    app.login_admin().await;

    let form = app
        .get_html(&format!("/tenants/{}/invitations/new", partner.id))
        .await;
    for field in [
        "name=\"email\"",
        "name=\"role\"",
        "name=\"scope\"",
        "name=\"manage_subtenants\"",
    ] {
        assert!(form.contains(field), "the form has {field}");
    }
    let r = invite_grant(
        &app,
        &partner,
        "Bob@Example.com",
        "administrator",
        "subtree",
        false,
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", partner.id));

    let mail = sink.wait_for("Bob@Example.com", 1).await;
    assert!(mail.subject.contains("Tenant partner"), "{}", mail.subject);
    assert!(
        mail.body.contains("root\\admin"),
        "the mail names the inviter"
    );
    let link = link_in(&mail);

    // Only a hash of the token is stored, and nothing stored rebuilds the link.
    let token = link.trim_start_matches("/invitations/").to_string();
    let db = db(&app).await;
    // The worker marks the mail sent (and forgets the seed) just after the SMTP
    // server accepted it: allow it a moment.
    let mut waited = 0;
    let (hash, tokens_stored): (String, i64) = loop {
        let row = db
            .query_one(
                "SELECT token_hash, (SELECT count(*) FROM outbox WHERE link_seed IS NOT NULL OR body_text LIKE '%' || $1 || '%') FROM invitations",
                &[&token],
            )
            .await
            .unwrap();
        let found: (String, i64) = (row.get(0), row.get(1));
        if found.1 == 0 || waited >= 50 {
            break found;
        }
        waited += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_ne!(hash, token);
    assert_eq!(hash.len(), 64);
    assert_eq!(
        tokens_stored, 0,
        "no token or seed left in the outbox after delivery"
    );

    // The page says who invited them where, with which rights.
    let page = app.new_browser().get_html(&link).await;
    assert!(page.contains("root\\admin"), "{page}");
    assert!(page.contains("Tenant partner"));
    assert!(page.contains("Administrator of Tenant partner and all its sub-tenants"));
    assert!(page.contains("name=\"username\"") && page.contains("name=\"password\""));

    let (invitee, r) = create_account(&app, &link, "bob").await;
    assert_redirect_to(&r, "/dashboard");
    let dashboard = invitee.get_html("/dashboard").await;
    assert!(
        dashboard.contains("id=\"acting-tenant\" href=\"/tenants/")
            && dashboard.contains(">Tenant partner</a>"),
        "acting in the invited tenant:\n{dashboard}"
    );

    // The account: home in the tenant, no role, the grant with its scope.
    let bob = user_named(&app, &partner, "bob").await.expect("bob exists");
    assert_eq!(bob.email, "Bob@Example.com");
    assert_eq!(bob.role_id, None);
    let p = Principal::load(&mut *app.conn().await, bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.home.id, partner.id);
    assert_eq!(
        p.grants
            .iter()
            .map(|g| (g.tenant_id, g.role, g.scope, g.manage_subtenants))
            .collect::<Vec<_>>(),
        vec![(partner.id, GrantRole::Administrator, Scope::Subtree, false)]
    );
    // The scope works: the sub-tenant is visible, the sibling is not.
    assert_eq!(
        status(&invitee.get(&format!("/tenants/{}", customer.id)).await),
        200
    );
    assert_eq!(
        status(&invitee.get(&format!("/tenants/{}", sibling.id)).await),
        404
    );

    // Single use.
    assert_eq!(status(&app.new_browser().get(&link).await), 410);
    let again = app.new_browser();
    again.get(&link).await;
    let r = again
        .post_form(&link, &[("username", "bob2"), ("password", NEW_PASSWORD)])
        .await;
    assert_eq!(status(&r), 410);
    assert!(r.text().await.unwrap().contains("already been accepted"));
    assert!(user_named(&app, &partner, "bob2").await.is_none());

    // The list shows it accepted and delivered; the audit trail has both events.
    let list = app
        .get_html(&format!("/tenants/{}/invitations", partner.id))
        .await;
    assert!(
        list.contains("Bob@Example.com") && list.contains(">accepted<") && list.contains(">sent<"),
        "{list}"
    );
    let events = actions(&app, &partner).await;
    for e in ["invitation.create", "invitation.accept", "user.create"] {
        assert!(events.contains(&e.to_string()), "{e} in {events:?}");
    }
}

#[tokio::test]
async fn a_role_invitation_makes_a_plain_user_of_the_tenant() {
    let (app, sink) = app_with_sink(&[]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let role = UserRole::insert(
        &mut *app.conn().await,
        acme.id,
        "Support",
        &Permissions::all(Level::Read),
        false,
    )
    .await
    .unwrap();
    app.login_admin().await;
    // An offer of a kind the form does not have is refused, not guessed.
    let r = invite(
        &app,
        &acme,
        &[
            ("email", "carol@example.com"),
            ("kind", "x"),
            ("role", "viewer"),
        ],
    )
    .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "kind").is_some());
    let r = invite(
        &app,
        &acme,
        &[
            ("email", "carol@example.com"),
            ("role_id", &role.id.to_string()),
        ],
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", acme.id));
    let link = link_in(&sink.wait_for("carol@example.com", 1).await);
    assert!(app
        .new_browser()
        .get_html(&link)
        .await
        .contains("a user of Tenant acme with the role “Support”"));

    // A bad password comes back as a field error, nothing created.
    let invitee = app.new_browser();
    invitee.get(&link).await;
    let r = invitee
        .post_form(&link, &[("username", "carol"), ("password", "short")])
        .await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("password-error"));
    assert!(user_named(&app, &acme, "carol").await.is_none());

    let r = invitee
        .post_form(&link, &[("username", "carol"), ("password", NEW_PASSWORD)])
        .await;
    assert_redirect_to(&r, "/dashboard");
    let carol = user_named(&app, &acme, "carol").await.unwrap();
    assert_eq!(carol.role_id, Some(role.id));
    assert!(Grant::for_user(&mut *app.conn().await, carol.id)
        .await
        .unwrap()
        .is_empty());
    // She logs in with her new password.
    let b = app.new_browser();
    assert_redirect_to(&b.login("acme\\carol", NEW_PASSWORD).await, "/dashboard");
}

// ---------------------------------------------------------------- expiry, revocation, resend

#[tokio::test]
async fn expired_and_revoked_links_are_refused_and_change_nothing() {
    // Links last an hour: the admin's session outlives them.
    let (app, sink) = app_with_sink(&[("TENANTRY_INVITATION_TTL_HOURS", "1")]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    invite_grant(&app, &acme, "old@example.com", "viewer", "tenant", false).await;
    // Only the first link's hour is over.
    app.clock.advance(chrono::Duration::minutes(61));
    invite_grant(&app, &acme, "gone@example.com", "viewer", "tenant", false).await;
    let old = link_in(&sink.wait_for("old@example.com", 1).await);
    let gone = link_in(&sink.wait_for("gone@example.com", 1).await);
    let r = app.new_browser().get(&old).await;
    assert_eq!(status(&r), 410);
    assert!(r.text().await.unwrap().contains("expired"));
    let (_, r) = {
        let b = app.new_browser();
        b.get("/login").await;
        let r = b
            .post_form(&old, &[("username", "old"), ("password", NEW_PASSWORD)])
            .await;
        (b, r)
    };
    assert_eq!(status(&r), 410);
    assert!(user_named(&app, &acme, "old").await.is_none());

    let id = invitation_id(&app, "gone@example.com").await;
    let r = app
        .post_form(
            &format!("/tenants/{}/invitations/{id}/revoke", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", acme.id));
    let r = app.new_browser().get(&gone).await;
    assert_eq!(status(&r), 410);
    assert!(r.text().await.unwrap().contains("withdrawn"));
    let b = app.new_browser();
    b.get("/login").await;
    let r = b
        .post_form(&gone, &[("username", "gone"), ("password", NEW_PASSWORD)])
        .await;
    assert_eq!(status(&r), 410);
    assert!(user_named(&app, &acme, "gone").await.is_none());

    let list = app
        .get_html(&format!("/tenants/{}/invitations", acme.id))
        .await;
    assert!(
        list.contains(">expired<") && list.contains(">revoked<"),
        "{list}"
    );
    // Revoking twice is a conflict, not a change.
    let r = app
        .post_form(
            &format!("/tenants/{}/invitations/{id}/revoke", acme.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 409);
    let events = actions(&app, &acme).await;
    assert!(events.contains(&"invitation.revoke".to_string()));
    assert_eq!(count(&app, "SELECT count(*) FROM grants WHERE tenant_id <> (SELECT id FROM tenants WHERE parent_id IS NULL)").await, 0);
}

#[tokio::test]
async fn resending_kills_the_old_link_and_renews_an_expired_one() {
    // Links last an hour: the admin's session outlives them.
    let (app, sink) = app_with_sink(&[("TENANTRY_INVITATION_TTL_HOURS", "1")]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    invite_grant(&app, &acme, "dave@example.com", "viewer", "tenant", false).await;
    let first = link_in(&sink.wait_for("dave@example.com", 1).await);
    app.clock.advance(chrono::Duration::minutes(61));

    let id = invitation_id(&app, "dave@example.com").await;
    let r = app
        .post_form(
            &format!("/tenants/{}/invitations/{id}/resend", acme.id),
            &[],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", acme.id));
    let second = link_in(&sink.wait_for("dave@example.com", 2).await);
    assert_ne!(first, second);

    let r = app.new_browser().get(&first).await;
    assert_eq!(status(&r), 404, "the old link is dead");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("only the newest link works"));
    assert_eq!(
        status(&app.new_browser().get(&second).await),
        200,
        "the new one works and is not expired"
    );
    let (_, r) = create_account(&app, &second, "dave").await;
    assert_redirect_to(&r, "/dashboard");
    assert!(actions(&app, &acme)
        .await
        .contains(&"invitation.resend".to_string()));
}

// ---------------------------------------------------------------- delivery

#[tokio::test]
async fn mail_waits_while_the_server_is_down_and_goes_out_when_it_is_up() {
    let port = free_port();
    let app = app_with_smtp_port(port, &[]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    let r = invite_grant(&app, &acme, "erin@example.com", "viewer", "tenant", false).await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", acme.id));

    // The console shows the retries and the error; the mail stays queued.
    let list = wait_for_list(&app, &acme, ">retrying<").await;
    assert!(list.contains("Attempt "), "{list}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM outbox WHERE status = 'pending' AND attempts >= 1 AND last_error IS NOT NULL").await,
        1
    );

    let sink = SmtpSink::start(port);
    let mail = sink.wait_for("erin@example.com", 1).await;
    let link = link_in(&mail);
    wait_for_list(&app, &acme, ">sent<").await;
    assert_eq!(
        count(&app, "SELECT count(*) FROM outbox WHERE status = 'sent'").await,
        1
    );
    assert_eq!(status(&app.new_browser().get(&link).await), 200);
}

#[tokio::test]
async fn without_a_mail_server_the_mail_is_filed_not_logged() {
    let dir = std::env::temp_dir().join(format!("tenantry-mail-{}", uuid::Uuid::new_v4().simple()));
    let app = spawn_app_with_env(&[
        ("TENANTRY_OUTBOX_POLL_MS", "50"),
        ("TENANTRY_MAIL_DIR", &dir.display().to_string()),
    ])
    .await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    invite_grant(&app, &acme, "fay@example.com", "viewer", "tenant", false).await;
    let list = wait_for_list(&app, &acme, ">filed<").await;
    assert!(list.contains("mail folder"), "{list}");
    // One file, readable by the server's user only, with a working link in it.
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "mail file mode {mode:o}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("To: fay@example.com"), "{text}");
    let start = text.find("/invitations/").expect("a link in the mail") + "/invitations/".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let r = app
        .new_browser()
        .get(&format!("/invitations/{token}"))
        .await;
    assert_eq!(status(&r), 200);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- rights

#[tokio::test]
async fn acceptance_fails_when_the_inviter_lost_the_right() {
    let (app, sink) = app_with_sink(&[]).await;
    let partner = app.tenant(&app.root, "partner", true).await;
    let owner = app.user(&partner, "powner").await;
    app.grant(&owner, &partner, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let browser = browser_as(&app, "partner\\powner").await;
    let r = invite_grant(
        &browser,
        &partner,
        "gil@example.com",
        "owner",
        "tenant",
        false,
    )
    .await;
    assert_redirect_to(&r, &format!("/tenants/{}/invitations", partner.id));
    let link = link_in(&sink.wait_for("gil@example.com", 1).await);

    // The inviter is demoted to Administrator: they can no longer give Owner.
    app.grant(
        &owner,
        &partner,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let r = app.new_browser().get(&link).await;
    assert_eq!(status(&r), 409);
    let b = app.new_browser();
    b.get("/login").await;
    let r = b
        .post_form(&link, &[("username", "gil"), ("password", NEW_PASSWORD)])
        .await;
    assert_eq!(status(&r), 409);
    let text = r.text().await.unwrap();
    assert!(text.contains("may no longer give these rights"), "{text}");
    assert!(
        user_named(&app, &partner, "gil").await.is_none(),
        "nothing created"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM invitations WHERE status = 'pending'"
        )
        .await,
        1,
        "the invitation stays open"
    );
    assert!(actions(&app, &partner)
        .await
        .contains(&"invitation.fail".to_string()));

    // Rights back: it works.
    app.grant(&owner, &partner, GrantRole::Owner, Scope::Subtree, true)
        .await;
    let (_, r) = create_account(&app, &link, "gil").await;
    assert_redirect_to(&r, "/dashboard");
}

/// A tenant `partner` with an Administrator (`padmin`) and a Viewer (`pviewer`) of
/// it and its sub-tenants, neither managing sub-tenants.
async fn partner_with_admin_and_viewer(app: &TestApp) -> (Tenant, User, User) {
    let partner = app.tenant(&app.root, "partner", true).await;
    let admin = app.user(&partner, "padmin").await;
    app.grant(
        &admin,
        &partner,
        GrantRole::Administrator,
        Scope::Subtree,
        false,
    )
    .await;
    let viewer = app.user(&partner, "pviewer").await;
    app.grant(&viewer, &partner, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    (partner, admin, viewer)
}

#[tokio::test]
async fn who_may_invite_what() {
    let app = spawn_app().await;
    let (partner, admin, _viewer) = partner_with_admin_and_viewer(&app).await;
    app.user_with_role(&partner, "plain", Permissions::all(Level::Full))
        .await;
    let strong = UserRole::insert(
        &mut *app.conn().await,
        partner.id,
        "Everything",
        &Permissions::all(Level::Full),
        false,
    )
    .await
    .unwrap();

    // An Administrator is offered Administrator and Viewer only, and cannot send Owner.
    let b = browser_as(&app, "partner\\padmin").await;
    let form = b
        .get_html(&format!("/tenants/{}/invitations/new", partner.id))
        .await;
    assert!(form.contains("value=\"administrator\"") && form.contains("value=\"viewer\""));
    assert!(
        !form.contains("value=\"owner\""),
        "Owner is not offered to an Administrator"
    );
    assert!(
        !form.contains("name=\"manage_subtenants\""),
        "nor managing sub-tenants"
    );
    let r = invite_grant(&b, &partner, "x@example.com", "owner", "tenant", false).await;
    assert_eq!(status(&r), 422);
    assert!(r.text().await.unwrap().contains("role-error"));
    let r = invite_grant(&b, &partner, "x@example.com", "viewer", "subtree", true).await;
    assert_eq!(
        status(&r),
        422,
        "no “may manage sub-tenants” without holding it"
    );
    // Any user role of the tenant: an Administrator holds everything the tenant allows.
    let r = invite(
        &b,
        &partner,
        &[
            ("email", "y@example.com"),
            ("role_id", &strong.id.to_string()),
        ],
    )
    .await;
    assert_eq!(status(&r), 303);
    let r = invite_grant(
        &b,
        &partner,
        "z@example.com",
        "administrator",
        "subtree",
        false,
    )
    .await;
    assert_eq!(status(&r), 303);

    // Viewers and plain users cannot invite at all, nor revoke or resend.
    let pending = app.invitation(&partner, &admin, "v@example.com").await;
    for login in ["partner\\pviewer", "partner\\plain"] {
        let b = browser_as(&app, login).await;
        let r = b
            .get(&format!("/tenants/{}/invitations/new", partner.id))
            .await;
        assert_eq!(status(&r), 403, "{login} opens the form");
        let r = invite_grant(&b, &partner, "w@example.com", "viewer", "tenant", false).await;
        assert_eq!(status(&r), 403, "{login} posts it");
        for action in ["revoke", "resend"] {
            let r = b
                .post_form(
                    &format!("/tenants/{}/invitations/{pending}/{action}", partner.id),
                    &[],
                )
                .await;
            assert_eq!(status(&r), 403, "{login} may not {action}");
        }
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM invitations WHERE status = 'pending' AND email = 'v@example.com'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM invitations WHERE email IN ('x@example.com', 'w@example.com')"
        )
        .await,
        0,
        "nothing stored for refused invitations"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM outbox").await, 2);
}

#[tokio::test]
async fn a_second_invitation_to_the_same_address_offers_to_resend() {
    let app = spawn_app().await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    invite_grant(&app, &acme, "hal@example.com", "viewer", "tenant", false).await;
    let r = invite_grant(
        &app,
        &acme,
        "HAL@example.com",
        "administrator",
        "tenant",
        false,
    )
    .await;
    assert_eq!(status(&r), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("email-error") && html.contains("already has a pending invitation"),
        "{html}"
    );
    let id = invitation_id(&app, "hal@example.com").await;
    assert!(
        html.contains(&format!("/tenants/{}/invitations/{id}/resend", acme.id)),
        "a resend button for the pending one"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM invitations").await, 1);
    // Another tenant may invite the same address.
    let other = app.tenant(&app.root, "other", false).await;
    let r = invite_grant(&app, &other, "hal@example.com", "viewer", "tenant", false).await;
    assert_eq!(status(&r), 303);
}

#[tokio::test]
async fn invitations_are_rate_limited_per_inviter() {
    let app = spawn_app_with_env(&[("TENANTRY_INVITATIONS_PER_HOUR", "2")]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    app.login_admin().await;
    for who in ["a", "b"] {
        let r = invite_grant(
            &app,
            &acme,
            &format!("{who}@example.com"),
            "viewer",
            "tenant",
            false,
        )
        .await;
        assert_eq!(status(&r), 303);
    }
    let r = invite_grant(&app, &acme, "c@example.com", "viewer", "tenant", false).await;
    assert_eq!(status(&r), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("as many invitations as allowed in one hour"));
    let id = invitation_id(&app, "a@example.com").await;
    let r = app
        .post_form(
            &format!("/tenants/{}/invitations/{id}/resend", acme.id),
            &[],
        )
        .await;
    assert_eq!(status(&r), 429, "resending counts too");
    assert_eq!(count(&app, "SELECT count(*) FROM invitations").await, 2);
    assert_eq!(count(&app, "SELECT count(*) FROM outbox").await, 2);
}

// ---------------------------------------------------------------- the invitee's side

#[tokio::test]
async fn forged_and_malformed_links_answer_a_clear_page() {
    let app = spawn_app().await;
    let forged = "A".repeat(43);
    for path in [
        "/invitations/x".to_string(),
        format!("/invitations/{forged}"),
        format!("/invitations/{}", "é".repeat(20)),
        format!("/invitations/{}%00", "a".repeat(42)),
        format!("/invitations/{}", "b".repeat(5000)),
    ] {
        let b = app.new_browser();
        let r = b.get(&path).await;
        assert_eq!(status(&r), 404, "GET {path}");
        assert!(r.text().await.unwrap().contains("Invitation not found"));
        b.get("/login").await;
        for post in [path.clone(), format!("{path}/accept")] {
            let r = b
                .post_form(
                    &post,
                    &[("username", "mallory"), ("password", NEW_PASSWORD)],
                )
                .await;
            assert_eq!(status(&r), 404, "POST {post}");
        }
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM users WHERE username = 'mallory'"
        )
        .await,
        0
    );
    // Without the CSRF token of the page, the form is refused.
    let r = app
        .new_browser()
        .client
        .post(app.url(&format!("/invitations/{forged}")))
        .form(&[("username", "mallory"), ("password", NEW_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
}

#[tokio::test]
async fn an_existing_user_accepts_a_grant_into_their_account() {
    let (app, sink) = app_with_sink(&[]).await;
    let acme = app.tenant(&app.root, "acme", false).await;
    let home = app.tenant(&app.root, "home", false).await;
    let ivy = app.user(&home, "ivy").await;
    // Only the account of the invited address may accept into itself (its case may differ).
    db(&app)
        .await
        .execute(
            "UPDATE users SET email = 'Ivy@Example.com' WHERE id = $1",
            &[&ivy.id],
        )
        .await
        .unwrap();
    let role = UserRole::insert(
        &mut *app.conn().await,
        acme.id,
        "Support",
        &Permissions::all(Level::Read),
        false,
    )
    .await
    .unwrap();
    app.login_admin().await;
    invite_grant(
        &app,
        &acme,
        "ivy@example.com",
        "administrator",
        "tenant",
        false,
    )
    .await;
    invite(
        &app,
        &acme,
        &[
            ("email", "ivy2@example.com"),
            ("role_id", &role.id.to_string()),
        ],
    )
    .await;
    let grant_link = link_in(&sink.wait_for("ivy@example.com", 1).await);
    let role_link = link_in(&sink.wait_for("ivy2@example.com", 1).await);

    // Logged out: accepting needs a login.
    let anonymous = app.new_browser();
    anonymous.get("/login").await;
    let r = anonymous
        .post_form(&format!("{grant_link}/accept"), &[])
        .await;
    assert_redirect_to(&r, "/login");

    let b = browser_as(&app, "home\\ivy").await;
    let page = b.get_html(&grant_link).await;
    assert!(page.contains("Accept as home\\ivy"), "{page}");
    // A role invitation makes a new account; accepting it into this one is refused.
    let r = b.post_form(&format!("{role_link}/accept"), &[]).await;
    assert_eq!(status(&r), 409);
    assert!(r.text().await.unwrap().contains("makes a new account"));

    let r = b.post_form(&format!("{grant_link}/accept"), &[]).await;
    assert_redirect_to(&r, "/dashboard");
    let grant = Grant::existing(&mut *app.conn().await, ivy.id, acme.id)
        .await
        .unwrap()
        .expect("the grant was added");
    assert_eq!(
        (grant.role.as_str(), grant.scope.as_str()),
        ("administrator", "tenant")
    );
    let dashboard = b.get_html("/dashboard").await;
    assert!(
        dashboard.contains(">Tenant acme</a>"),
        "acting in the invited tenant"
    );
    // Once.
    let r = b.post_form(&format!("{grant_link}/accept"), &[]).await;
    assert_eq!(status(&r), 410);
}

#[tokio::test]
async fn the_service_decides_what_an_invitation_may_offer() {
    use tenantry::domain::email::Email;
    use tenantry::domain::invitation::Offer;
    use tenantry::error::AppError;
    use tenantry::services::invitations::{self as service, InvitationInput};
    use tenantry::services::Actor;

    let app = spawn_app().await;
    let (partner, admin, viewer) = partner_with_admin_and_viewer(&app).await;
    let other = app.tenant(&app.root, "other", false).await;
    let elsewhere = UserRole::insert(
        &mut *app.conn().await,
        other.id,
        "Elsewhere",
        &Permissions::all(Level::Read),
        false,
    )
    .await
    .unwrap();
    let settings = settings(&app.db_url);
    let now = app.clock.now();
    let mut conn = app.conn().await;
    let mut principals = Vec::new();
    for id in [admin.id, viewer.id, app.admin.id] {
        principals.push(Principal::load(&mut conn, id).await.unwrap().unwrap());
    }
    let [as_admin, as_viewer, as_root] = <[Principal; 3]>::try_from(principals).unwrap();
    let input = |email: &str, offer: Offer| InvitationInput {
        email: Ok(Email::parse(email).unwrap()),
        offer: Ok(offer),
    };
    let grant = |role, scope, manage| Offer::grant(role, scope, manage).unwrap();

    // Called directly, with no handler in front: the offer's rights are the service's.
    for (p, offer, field) in [
        (
            &as_admin,
            grant(GrantRole::Owner, Scope::Tenant, false),
            "role",
        ),
        (
            &as_admin,
            grant(GrantRole::Viewer, Scope::Subtree, true),
            "role",
        ),
        (&as_admin, Offer::Role(elsewhere.id), "role_id"),
    ] {
        let actor = Actor::user(p, partner.id, None);
        let refused = service::create(
            &mut conn,
            p,
            &actor,
            &settings,
            &partner,
            input("x@example.com", offer),
            now,
        )
        .await
        .expect_err("an offer beyond the inviter's rights");
        assert!(
            matches!(&refused, AppError::Validation(e) if e.contains_key(field)),
            "{offer:?}: {refused:?}"
        );
    }
    let viewer_offer = grant(GrantRole::Viewer, Scope::Tenant, false);
    let refused = service::create(
        &mut conn,
        &as_viewer,
        &Actor::user(&as_viewer, partner.id, None),
        &settings,
        &partner,
        input("x@example.com", viewer_offer),
        now,
    )
    .await
    .expect_err("a Viewer invites nobody");
    assert!(matches!(refused, AppError::Forbidden), "{refused:?}");

    // An Owner invitation: the Administrator may neither revoke nor resend it.
    let owner_offer = grant(GrantRole::Owner, Scope::Subtree, true);
    let root_actor = Actor::user(&as_root, app.root.id, None);
    let owner_inv = service::create(
        &mut conn,
        &as_root,
        &root_actor,
        &settings,
        &partner,
        input("owner@example.com", owner_offer),
        now,
    )
    .await
    .expect("the root administrator offers Owner");
    let admin_actor = Actor::user(&as_admin, partner.id, None);
    let refused = service::revoke(
        &mut conn,
        &as_admin,
        &admin_actor,
        &partner,
        owner_inv.id,
        now,
    )
    .await
    .expect_err("revoking an Owner invitation as an Administrator");
    assert!(matches!(refused, AppError::Forbidden), "{refused:?}");
    let refused = service::resend(
        &mut conn,
        &as_admin,
        &admin_actor,
        &settings,
        &partner,
        owner_inv.id,
        now,
    )
    .await
    .expect_err("resending an Owner invitation as an Administrator");
    assert!(matches!(refused, AppError::Forbidden), "{refused:?}");
    drop(conn);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM invitations WHERE email = 'x@example.com'"
        )
        .await,
        0,
        "nothing stored for refused invitations"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM invitations WHERE email = 'owner@example.com' AND status = 'pending'"
        )
        .await,
        1,
        "the Owner invitation stays pending"
    );

    // What the Administrator may give, the service lets them give and manage.
    let mut conn = app.conn().await;
    let given = service::create(
        &mut conn,
        &as_admin,
        &admin_actor,
        &settings,
        &partner,
        input("v@example.com", viewer_offer),
        now,
    )
    .await
    .expect("an Administrator offers Viewer");
    let revoked = service::revoke(&mut conn, &as_admin, &admin_actor, &partner, given.id, now)
        .await
        .expect("and revokes it");
    assert_eq!(revoked.email, "v@example.com");
}
