//! Outgoing mail: what the console sends (invitations), how it reaches a mail
//! server (SMTP through lettre, or the log in development), and the worker that
//! drains the outbox.

pub mod worker;

use crate::config::Settings;
use crate::db::models::branding::Brand;
use crate::db::models::outbox::{Attachment, MailTransport};
use askama::Template;
use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

/// Stands in a queued mail's bodies for the invitation link, which the worker
/// writes in only when sending (the link's token is never stored).
pub const LINK_PLACEHOLDER: &str = "[[invitation-link]]";

/// Stands in a queued mail's bodies for the console's address, written in by the
/// worker when it sends: the address of the tenant the mail links to
/// (`NewMail::link_tenant_id`, `ConsoleUrls::tenant_url`: its serving custom
/// domain, else its host under the base domain), else `TENANTRY_PUBLIC_URL`. The
/// services that queue mail run below the web layer and do not know it.
pub const PUBLIC_URL_PLACEHOLDER: &str = "[[public-url]]";

/// How long one SMTP delivery may take before it counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// A mail ready to go.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    /// The sender's display name (the branding's product name); `None`: the
    /// configured From as it is.
    pub from_name: Option<String>,
    /// The Reply-To address (the branding's support address); `None`: none.
    pub reply_to: Option<String>,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// How a delivery went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: the server is unreachable, busy or answered 4xx.
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help: a malformed address, a 5xx answer.
    #[error("{0}")]
    Permanent(String),
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// A real mail server.
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    /// No mail server configured: every mail is written to a file in `dir`; the log
    /// says where, never what (invitation links carry tokens).
    Folder {
        from: Mailbox,
        dir: std::path::PathBuf,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp { from, .. } => write!(f, "Mailer::Smtp(from {from})"),
            Mailer::Folder { from, dir } => {
                write!(f, "Mailer::Folder(from {from} into {})", dir.display())
            }
        }
    }
}

impl Mailer {
    /// SMTP when `TENANTRY_SMTP_URL` is set, files in `TENANTRY_MAIL_DIR` otherwise. Fails on a malformed
    /// URL or From address, so a misconfiguration stops the start.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let from: Mailbox = settings.mail_from.parse().map_err(|e| {
            anyhow::anyhow!(
                "TENANTRY_MAIL_FROM {:?} is not a mail address: {e}",
                settings.mail_from
            )
        })?;
        match &settings.smtp_url {
            None => Ok(Mailer::Folder {
                from,
                dir: settings.mail_dir.clone(),
            }),
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("TENANTRY_SMTP_URL cannot be used: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Mailer::Smtp {
                    transport: Box::new(transport),
                    from,
                })
            }
        }
    }

    /// How a delivered mail went out.
    pub fn via(&self) -> MailTransport {
        match self {
            Mailer::Smtp { .. } => MailTransport::Smtp,
            Mailer::Folder { .. } => MailTransport::File,
        }
    }

    /// Delivers one mail.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        match self {
            Mailer::Folder { from, dir } => {
                // The whole message as SMTP would carry it (attachments included), its
                // text parts unencoded so that the file reads as written.
                let message = build_message(from, mail, true)?;
                let path = write_to_folder(dir, mail, &message.formatted())
                    .await
                    .map_err(|e| {
                        SendError::Transient(format!("cannot write to {}: {e}", dir.display()))
                    })?;
                tracing::info!(
                    to = %mail.to,
                    subject = %mail.subject,
                    file = %path.display(),
                    "mail not sent: no mail server configured (TENANTRY_SMTP_URL); written to a file"
                );
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let message = build_message(from, mail, false)?;
                transport.send(message).await.map(|_| ()).map_err(|e| {
                    if e.is_permanent() {
                        SendError::Permanent(describe(&e))
                    } else {
                        SendError::Transient(describe(&e))
                    }
                })
            }
        }
    }
}

/// Writes one mail's MIME message (`raw`) as an `.eml` file into `dir`, which is
/// created if missing; both readable by the server's user only.
async fn write_to_folder(
    dir: &std::path::Path,
    mail: &OutgoingMail,
    raw: &[u8],
) -> std::io::Result<std::path::PathBuf> {
    use tokio::io::AsyncWriteExt;
    tokio::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .await?;
    let name: String = mail
        .to
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(60)
        .collect();
    // The wall clock, not the app's: the stamp only sorts the files for a reader.
    let path = dir.join(format!(
        "{}-{name}-{:08x}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        rand::random::<u32>()
    ));
    // Written under a hidden name, then renamed: whoever watches the folder (a
    // developer's mail viewer, a test) never reads a mail half-written.
    let partial = dir.join(format!(
        ".{}.partial",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .await?;
    file.write_all(raw).await?;
    file.flush().await?;
    drop(file);
    tokio::fs::rename(&partial, &path).await?;
    Ok(path)
}

/// An SMTP error with its causes ("Connection error: Connection refused (os error 111)").
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The MIME message of `mail`. `readable`: the text parts unencoded ("binary": a
/// file for a developer to read, never sent), else as lettre chooses for SMTP
/// (7 bit, quoted-printable or base64).
fn build_message(
    from: &Mailbox,
    mail: &OutgoingMail,
    readable: bool,
) -> Result<Message, SendError> {
    use lettre::message::{header::ContentTransferEncoding, Body as Encoded};
    let text = |t: &str| -> Encoded {
        let binary = ContentTransferEncoding::Binary;
        match readable.then(|| Encoded::new_with_encoding(t.to_string(), binary)) {
            Some(Ok(body)) => body,
            _ => Encoded::new(t.to_string()),
        }
    };
    let to: Mailbox = mail.to.parse().map_err(|e| {
        SendError::Permanent(format!("the recipient {:?} cannot be used: {e}", mail.to))
    })?;
    let from = match &mail.from_name {
        Some(name) => Mailbox::new(Some(name.clone()), from.email.clone()),
        None => from.clone(),
    };
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone());
    // A support address that no longer parses as a mailbox is left out, not fatal.
    if let Some(reply_to) = mail
        .reply_to
        .as_deref()
        .and_then(|a| a.parse::<Mailbox>().ok())
    {
        builder = builder.reply_to(reply_to);
    }
    let plain = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(text(&mail.body_text));
    let built =
        |e: lettre::error::Error| SendError::Permanent(format!("the mail cannot be built: {e}"));
    let body = match &mail.body_html {
        Some(html) => Body::Parts(
            MultiPart::alternative().singlepart(plain).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(text(html)),
            ),
        ),
        None => Body::Plain(plain),
    };
    if mail.attachments.is_empty() {
        return match body {
            Body::Parts(parts) => builder.multipart(parts),
            Body::Plain(plain) => builder.singlepart(plain),
        }
        .map_err(built);
    }
    // multipart/mixed: the text (or its alternatives) first, then each file.
    let mut mixed = match body {
        Body::Parts(parts) => MultiPart::mixed().multipart(parts),
        Body::Plain(plain) => MultiPart::mixed().singlepart(plain),
    };
    for a in &mail.attachments {
        let kind = ContentType::parse(&a.content_type).map_err(|e| {
            SendError::Permanent(format!(
                "the attachment {:?} has no usable type {:?}: {e}",
                a.filename, a.content_type
            ))
        })?;
        mixed = mixed.singlepart(
            lettre::message::Attachment::new(a.filename.clone()).body(a.content.clone(), kind),
        );
    }
    builder.multipart(mixed).map_err(built)
}

/// The longest attachment file name (ASCII) whose header carries a plain
/// `filename="…"`: lettre writes a longer one only as RFC 2231 continuations
/// (`filename*0=`), which some mail programs do not read.
pub const PLAIN_FILENAME_MAX: usize = 31;

/// The first of `names` short enough for a plain `filename=` ([`PLAIN_FILENAME_MAX`]),
/// else the last.
pub fn plain_filename(names: impl IntoIterator<Item = String>) -> String {
    let mut last = String::new();
    for name in names {
        if name.len() <= PLAIN_FILENAME_MAX {
            return name;
        }
        last = name;
    }
    last
}

/// A mail's text part, alone or with its HTML alternative.
enum Body {
    Plain(SinglePart),
    Parts(MultiPart),
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    product: &'a str,
    inviter: &'a str,
    tenant: &'a str,
    offer: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    product: &'a str,
    support_email: Option<&'a str>,
    support_url: Option<&'a str>,
    inviter: &'a str,
    tenant: &'a str,
    offer: &'a str,
    link: &'a str,
    expires: String,
}

/// An invitation mail: subject, text and HTML, with [`LINK_PLACEHOLDER`] where the
/// link goes.
pub fn invitation(
    inviter: &str,
    tenant: &str,
    offer: &str,
    expires_at: DateTime<Utc>,
    brand: &Brand,
) -> anyhow::Result<(String, String, String)> {
    let expires = expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let product = brand.name();
    let text = InvitationText {
        product,
        inviter,
        tenant,
        offer,
        link: LINK_PLACEHOLDER,
        expires: expires.clone(),
    }
    .render()?;
    let text = signed(text, brand);
    let html = InvitationHtml {
        product,
        support_email: brand.support_email.as_deref(),
        support_url: brand.support_url.as_deref(),
        inviter,
        tenant,
        offer,
        link: LINK_PLACEHOLDER,
        expires,
    }
    .render()?;
    let subject = subject_line(format!("You are invited to {tenant} on {product}"));
    Ok((subject, text, html))
}

/// A text mail with the branding's signature: the product name and where to get
/// help (the support email and page of the tenant the mail is about).
pub fn signed(mut text: String, brand: &Brand) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("\n-- \n");
    text.push_str(brand.name());
    text.push('\n');
    if let Some(email) = &brand.support_email {
        text.push_str(&format!("Support: {email}\n"));
    }
    if let Some(url) = &brand.support_url {
        text.push_str(&format!("Help: {url}\n"));
    }
    text
}

/// One line: a subject with a line break would be cut by the mail library. And no
/// `=?` as typed: the library leaves ASCII words as they are, so a product name
/// holding `=?utf-8?q?hi?=` would be decoded by mail clients as "hi"; an
/// invisible word joiner after the `=` makes that word encoded, shown as typed.
fn subject_line(s: String) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace("=?", "=\u{2060}?")
}

/// What a quota alert says (the numbers already formatted for reading); its text
/// is `templates/mail/quota_alert.txt`.
#[derive(Template)]
#[template(path = "mail/quota_alert.txt")]
pub struct QuotaAlert<'a> {
    pub tenant: &'a str,
    pub subdomain: &'a str,
    /// "January 2026".
    pub month: &'a str,
    /// 80 or 100.
    pub threshold: i16,
    pub queries: &'a str,
    pub quota: &'a str,
    /// "85 %".
    pub percent: &'a str,
    /// The stats page of the month, starting with [`PUBLIC_URL_PLACEHOLDER`].
    pub link: &'a str,
    /// The profile's quota alert choice, starting with [`PUBLIC_URL_PLACEHOLDER`].
    pub profile_link: &'a str,
    /// For an Owner of a tenant above (opted in), not of the tenant itself.
    pub above: bool,
    /// More queries than the quota (at the 100 % threshold: not exactly reached).
    pub over: bool,
}

/// A quota alert mail: subject and text, signed with `brand`.
pub fn quota_alert(alert: &QuotaAlert<'_>, brand: &Brand) -> anyhow::Result<(String, String)> {
    let subject = if alert.over {
        format!("{} is over its query quota ({})", alert.tenant, alert.month)
    } else {
        format!(
            "{} reached {} % of its query quota ({})",
            alert.tenant, alert.threshold, alert.month
        )
    };
    Ok((subject_line(subject), signed(alert.render()?, brand)))
}

/// What a monthly usage report mail says; its text is `templates/mail/usage_report.txt`.
#[derive(Template)]
#[template(path = "mail/usage_report.txt")]
pub struct UsageReport<'a> {
    pub tenant: &'a str,
    pub subdomain: &'a str,
    /// "January 2026".
    pub month: &'a str,
    /// Rows in the attached CSV.
    pub rows: usize,
    /// Links starting with [`PUBLIC_URL_PLACEHOLDER`].
    pub print_link: &'a str,
    /// The profile's list of the subscriber's reports, where each is cancelled.
    pub manage_link: &'a str,
    pub day: i16,
}

/// A monthly usage report mail: subject and text, signed with `brand` (the CSV
/// goes as an attachment).
pub fn usage_report(report: &UsageReport<'_>, brand: &Brand) -> anyhow::Result<(String, String)> {
    let subject = format!("Usage report of {} for {}", report.tenant, report.month);
    Ok((subject_line(subject), signed(report.render()?, brand)))
}

/// What the notice of a finished rule migration says (to the one who started it);
/// its text is `templates/mail/migration_done.txt`.
#[derive(Template)]
#[template(path = "mail/migration_done.txt")]
pub struct MigrationDone<'a> {
    pub id: i64,
    pub source: &'a str,
    pub target: &'a str,
    /// "3 rules".
    pub copied: &'a str,
    pub replaced: &'a str,
    /// The migration's page, starting with [`PUBLIC_URL_PLACEHOLDER`].
    pub link: &'a str,
}

/// A finished migration's notice: subject and text, signed with `brand`.
pub fn migration_done(done: &MigrationDone<'_>, brand: &Brand) -> anyhow::Result<(String, String)> {
    let subject = format!("Migration #{} of the rules is done", done.id);
    Ok((subject_line(subject), signed(done.render()?, brand)))
}

/// What the notice of a failed rule migration says (to the one who started it):
/// what failed, what is locked, and where to roll it back or retry it; its text is
/// `templates/mail/migration_failed.txt`.
#[derive(Template)]
#[template(path = "mail/migration_failed.txt")]
pub struct MigrationFailed<'a> {
    pub id: i64,
    pub source: &'a str,
    pub target: &'a str,
    /// Why, as the migration's page shows it.
    pub error: &'a str,
    /// The migration's page, starting with [`PUBLIC_URL_PLACEHOLDER`].
    pub link: &'a str,
}

/// A failed migration's notice: subject and text, signed with `brand`.
pub fn migration_failed(
    failed: &MigrationFailed<'_>,
    brand: &Brand,
) -> anyhow::Result<(String, String)> {
    let subject = format!("Migration #{} of the rules failed", failed.id);
    Ok((subject_line(subject), signed(failed.render()?, brand)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_mail_escapes_html_and_keeps_the_placeholder() {
        let (subject, text, html) = invitation(
            "root\\admin",
            "Acme <b>&</b>",
            "Viewer of Acme",
            Utc::now(),
            &Brand::default(),
        )
        .unwrap();
        assert_eq!(subject, "You are invited to Acme <b>&</b> on tenantry");
        assert!(text.contains(LINK_PLACEHOLDER));
        assert!(text.contains("Acme <b>&</b>"));
        assert!(text.contains("root\\admin"));
        assert!(html.contains(LINK_PLACEHOLDER));
        assert!(html.contains("Acme &#60;b&#62;&#38;&#60;/b&#62;") || html.contains("&lt;b&gt;"));
        assert!(!html.contains("<b>&</b>"));
    }

    #[test]
    fn a_subject_never_carries_an_encoded_word_as_typed() {
        let from: Mailbox = "tenantry@localhost".parse().unwrap();
        let typed = "You are invited to A on Evil =?utf-8?q?hi?= Co";
        let mail = OutgoingMail {
            from_name: None,
            reply_to: None,
            to: "alice@example.com".into(),
            subject: subject_line(typed.into()),
            body_text: "text".into(),
            body_html: None,
            attachments: Vec::new(),
        };
        let raw =
            String::from_utf8(build_message(&from, &mail, false).unwrap().formatted()).unwrap();
        let header = raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
        assert!(!header.contains("=?utf-8?q?hi?="), "{header}");
        // Shown as typed: only an invisible word joiner was added.
        assert_eq!(mail.subject.replace('\u{2060}', ""), typed);
        assert_eq!(subject_line("Plain".into()), "Plain");
    }

    #[test]
    fn messages_build_with_both_parts() {
        let from: Mailbox = "tenantry@localhost".parse().unwrap();
        let mail = OutgoingMail {
            from_name: None,
            reply_to: None,
            to: "alice@example.com".into(),
            subject: "Hello".into(),
            body_text: "text".into(),
            body_html: Some("<p>html</p>".into()),
            attachments: Vec::new(),
        };
        let m = build_message(&from, &mail, false).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"));
        let bad = OutgoingMail {
            to: "not an address".into(),
            ..mail.clone()
        };
        assert!(matches!(
            build_message(&from, &bad, false),
            Err(SendError::Permanent(_))
        ));
        let with_file = OutgoingMail {
            attachments: vec![Attachment {
                filename: "usage.csv".into(),
                content_type: "text/csv; charset=utf-8".into(),
                content: b"a,b\r\n1,2\r\n".to_vec(),
            }],
            ..mail
        };
        let raw = String::from_utf8(build_message(&from, &with_file, false).unwrap().formatted())
            .unwrap();
        assert!(raw.contains("multipart/mixed"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("filename=\"usage.csv\""));
        // For a file: the same parts, the text as written (no soft line breaks).
        let long = OutgoingMail {
            body_text: format!("Grüße {}", "x".repeat(120)),
            ..with_file
        };
        let raw =
            String::from_utf8(build_message(&from, &long, true).unwrap().formatted()).unwrap();
        assert!(raw.contains(&long.body_text), "{raw}");
        assert!(raw.contains("filename=\"usage.csv\""));
    }

    #[test]
    fn a_file_name_up_to_the_plain_maximum_is_a_plain_filename() {
        let from: Mailbox = "tenantry@localhost".parse().unwrap();
        let header = |len: usize| {
            let name = format!("{}.csv", "u".repeat(len - 4));
            let mail = OutgoingMail {
                from_name: None,
                reply_to: None,
                to: "alice@example.com".into(),
                subject: "Hello".into(),
                body_text: "text".into(),
                body_html: None,
                attachments: vec![Attachment {
                    filename: name.clone(),
                    content_type: "text/csv".into(),
                    content: b"a\r\n".to_vec(),
                }],
            };
            let raw =
                String::from_utf8(build_message(&from, &mail, false).unwrap().formatted()).unwrap();
            (raw.contains(&format!("filename=\"{name}\"")), raw)
        };
        let (plain, raw) = header(PLAIN_FILENAME_MAX);
        assert!(plain, "{raw}");
        let (plain, raw) = header(PLAIN_FILENAME_MAX + 1);
        assert!(!plain && raw.contains("filename*0="), "{raw}");
        assert_eq!(
            plain_filename(["a".repeat(32), "b".repeat(31), "c".into()]),
            "b".repeat(31)
        );
        assert_eq!(plain_filename(["a".repeat(40)]), "a".repeat(40));
    }
}
