//! The outbox worker: a task in every `serve` process that claims due mail
//! (`FOR UPDATE SKIP LOCKED`, so processes never send the same row twice at once),
//! sends it, and marks it sent — or counts the failure, keeps the error and retries
//! with exponential backoff, giving up after `outbox::MAX_ATTEMPTS`. Nothing is lost
//! while the mail server is down: the rows wait in the database.

use super::{Mailer, OutgoingMail, SendError, LINK_PLACEHOLDER, PUBLIC_URL_PLACEHOLDER};
use crate::auth::tokens::InvitationToken;
use crate::clock::Clock;
use crate::db::models::outbox::{self, Attachment, QueuedMail, MAX_ATTEMPTS};
use crate::db::models::Tenant;
use crate::db::DbPool;
use crate::domain::domain_name::ConsoleUrls;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Mails claimed per round.
const BATCH: i64 = 20;
/// A claimed mail is left alone by other processes this long (longer than a send may take).
const LEASE_SECS: i64 = 120;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// At most one warning about an unreachable database per this period.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Everything the worker needs; built once per process.
pub struct Worker {
    pub pool: DbPool,
    /// When mail is due and when a failed one is retried.
    pub clock: Clock,
    pub mailer: Mailer,
    /// Where links in mail lead: a mail's tenant's own address
    /// (`ConsoleUrls::tenant_url`), else `TENANTRY_PUBLIC_URL`.
    pub urls: ConsoleUrls,
    /// Derives invitation tokens from their seeds.
    pub secret_key: SecretString,
    pub poll: Duration,
    /// First retry delay; doubles with every failed attempt.
    pub backoff: Duration,
    /// Woken by the console when it queued mail, so it goes out at once.
    pub wake: Arc<Notify>,
}

/// The delay before the next attempt after `failures` failed ones: `base · 2^(failures-1)`,
/// at most ten minutes.
pub fn backoff_after(base: Duration, failures: i32) -> Duration {
    let exponent = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF)
}

impl Worker {
    /// Runs until the process ends.
    pub async fn run(self) {
        let mut last_warning: Option<Instant> = None;
        let mut more = false;
        loop {
            // Wait first: at start the requests open the pool's connections, not the poller.
            if !more {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = self.wake.notified() => {}
                }
            }
            more = match self.round().await {
                // A full batch: more may be due right away.
                Ok(n) => n as i64 >= BATCH,
                Err(e) => {
                    if last_warning.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                        tracing::warn!(error = %e, "outbox: cannot reach the database; mail waits");
                        last_warning = Some(Instant::now());
                    }
                    false
                }
            };
        }
    }

    /// Claims and sends one batch; returns how many mails it handled.
    pub async fn round(&self) -> anyhow::Result<usize> {
        // Polling never opens a connection of its own: while every pooled one is busy,
        // requests need them more, and the next round comes soon.
        let status = self.pool.status();
        if status.size > 0 && status.available == 0 {
            return Ok(0);
        }
        let mut conn = self.pool.get().await?;
        let lease = chrono::Duration::seconds(LEASE_SECS);
        let due = outbox::claim_due(&mut conn, BATCH, lease, self.clock.now()).await?;
        let ids: Vec<i64> = due.iter().map(|m| m.id).collect();
        let mut files = Attachment::of_mails(&mut conn, &ids).await?;
        // Each mail's links lead to its tenant's address as it is now (a custom
        // domain verified since the mail was queued included).
        let tenants: Vec<i64> = due.iter().filter_map(|m| m.link_tenant_id).collect();
        let addresses = Tenant::addresses(&mut conn, &tenants).await?;
        for mail in &due {
            let mut attachments = Vec::new();
            files.retain(|(id, a)| {
                let mine = *id == mail.id;
                if mine {
                    attachments.push(a.clone());
                }
                !mine
            });
            let base = match mail.link_tenant_id {
                Some(id) => self.urls.tenant_url(addresses.get(&id)),
                None => self.urls.public_url.clone(),
            };
            self.deliver(&mut conn, mail, &base, attachments).await?;
        }
        Ok(due.len())
    }

    async fn deliver(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        queued: &QueuedMail,
        base: &str,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<()> {
        let mut mail = self.prepare(queued, base);
        mail.attachments = attachments;
        match self.mailer.send(&mail).await {
            Ok(()) => {
                outbox::mark_sent(conn, queued.id, self.mailer.via(), self.clock.now()).await?;
                tracing::info!(
                    outbox_id = queued.id,
                    via = self.mailer.via().as_str(),
                    "outbox: mail delivered"
                );
            }
            Err(e) => {
                let failures = queued.attempts + 1;
                let retry_at = match &e {
                    SendError::Transient(_) if failures < MAX_ATTEMPTS => {
                        let wait = backoff_after(self.backoff, failures);
                        Some(self.clock.now() + chrono::Duration::from_std(wait)?)
                    }
                    _ => None,
                };
                outbox::mark_attempt_failed(conn, queued.id, &e.to_string(), retry_at).await?;
                match retry_at {
                    Some(at) => tracing::warn!(
                        outbox_id = queued.id,
                        attempt = failures,
                        error = %e,
                        retry_at = %at,
                        "outbox: delivery failed; will retry"
                    ),
                    None => tracing::error!(
                        outbox_id = queued.id,
                        attempt = failures,
                        error = %e,
                        "outbox: delivery failed for good"
                    ),
                }
            }
        }
        Ok(())
    }

    /// The mail as it goes out: the invitation link and the console's address
    /// (`base`: its tenant's, else the public URL) written in for their placeholders.
    fn prepare(&self, queued: &QueuedMail, base: &str) -> OutgoingMail {
        let link = queued.link_seed.as_deref().map(|seed| {
            let token = InvitationToken::derive(self.secret_key.expose_secret().as_bytes(), seed);
            format!("{base}/invitations/{}", token.as_str())
        });
        let fill = |body: &str, escape: bool| {
            let body = match &link {
                Some(link) if escape => body.replace(LINK_PLACEHOLDER, &html_escape(link)),
                Some(link) => body.replace(LINK_PLACEHOLDER, link),
                None => body.to_string(),
            };
            if escape {
                body.replace(PUBLIC_URL_PLACEHOLDER, &html_escape(base))
            } else {
                body.replace(PUBLIC_URL_PLACEHOLDER, base)
            }
        };
        OutgoingMail {
            from_name: queued.from_name.clone(),
            reply_to: queued.reply_to.clone(),
            to: queued.recipient.clone(),
            subject: queued.subject.clone(),
            body_text: fill(&queued.body_text, false),
            body_html: queued.body_html.as_deref().map(|h| fill(h, true)),
            attachments: Vec::new(),
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        let base = Duration::from_secs(2);
        assert_eq!(backoff_after(base, 1), Duration::from_secs(2));
        assert_eq!(backoff_after(base, 2), Duration::from_secs(4));
        assert_eq!(backoff_after(base, 5), Duration::from_secs(32));
        assert_eq!(backoff_after(base, 10), Duration::from_secs(600));
        assert_eq!(backoff_after(base, 1000), Duration::from_secs(600));
        assert_eq!(backoff_after(base, 0), Duration::from_secs(2));
    }

    #[test]
    fn escapes_links_for_html() {
        assert_eq!(html_escape("a?b=1&c=\"2\""), "a?b=1&amp;c=&quot;2&quot;");
    }
}
