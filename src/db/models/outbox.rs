//! The outbox: mail written in the same transaction as what caused it, delivered
//! later by the worker (`crate::mail::worker`), retried with backoff.

use crate::db::schema::{outbox, outbox_attachments};
use crate::domain::text_enum::text_enum;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

text_enum! {
    /// Where one mail stands.
    pub enum OutboxStatus {
        /// Waiting for its (next) delivery attempt.
        Pending = "pending",
        Sent = "sent",
        /// Given up after the last attempt.
        Failed = "failed",
        /// No longer wanted (its invitation was resent, revoked or accepted).
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// How a delivered mail went out.
    pub enum MailTransport {
        Smtp = "smtp",
        /// Written to the mail folder (no mail server configured).
        File = "file",
        /// Only logged (no mail server, no folder).
        Log = "log",
    }
}

/// Deliveries tried before a mail is given up as failed.
pub const MAX_ATTEMPTS: i32 = 12;

/// A mail to queue.
pub struct NewMail<'a> {
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: Option<&'a str>,
    pub invitation_id: Option<i64>,
    /// The seed of the invitation link (see `InvitationToken::derive`).
    pub link_seed: Option<&'a str>,
    pub requested_by_user_id: Option<i64>,
    /// The sender's display name (the branding's product name).
    pub from_name: Option<&'a str>,
    /// The tenant whose address the mail's links lead to (the worker writes it in
    /// for `mail::PUBLIC_URL_PLACEHOLDER` and in invitation links); `None`: the
    /// console's public URL.
    pub link_tenant_id: Option<i64>,
    /// Where replies go (the branding's support address); `None`: to the sender.
    pub reply_to: Option<&'a str>,
}

impl<'a> NewMail<'a> {
    /// A plain-text mail the console sends on its own (alerts, reports): no
    /// invitation, no link to write in, no requester to rate-limit.
    pub fn notice(recipient: &'a str, subject: &'a str, body_text: &'a str) -> Self {
        NewMail {
            recipient,
            subject,
            body_text,
            body_html: None,
            invitation_id: None,
            link_seed: None,
            requested_by_user_id: None,
            from_name: None,
            link_tenant_id: None,
            reply_to: None,
        }
    }

    /// The same mail with replies going to `address` (none: to the sender).
    pub fn reply_to(self, address: Option<&'a str>) -> Self {
        NewMail {
            reply_to: address,
            ..self
        }
    }

    /// The same mail sent under `name` (a branding's product name).
    pub fn from_name(self, name: &'a str) -> Self {
        NewMail {
            from_name: Some(name),
            ..self
        }
    }

    /// The same mail with its links leading to tenant `id`'s address.
    pub fn linking_to(self, id: i64) -> Self {
        NewMail {
            link_tenant_id: Some(id),
            ..self
        }
    }

    /// Queued at `now`, due at once.
    pub async fn insert(
        &self,
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> QueryResult<i64> {
        diesel::insert_into(outbox::table)
            .values((
                outbox::created_at.eq(now),
                outbox::next_attempt_at.eq(now),
                outbox::recipient.eq(self.recipient),
                outbox::subject.eq(self.subject),
                outbox::body_text.eq(self.body_text),
                outbox::body_html.eq(self.body_html),
                outbox::invitation_id.eq(self.invitation_id),
                outbox::link_seed.eq(self.link_seed),
                outbox::requested_by_user_id.eq(self.requested_by_user_id),
                outbox::from_name.eq(self.from_name),
                outbox::link_tenant_id.eq(self.link_tenant_id),
                outbox::reply_to.eq(self.reply_to),
            ))
            .returning(outbox::id)
            .get_result(conn)
            .await
    }
}

/// A file sent with a mail (a report's CSV).
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Attachment {
    pub filename: String,
    /// A MIME type, `text/csv; charset=utf-8`.
    pub content_type: String,
    pub content: Vec<u8>,
}

impl Attachment {
    /// Adds this file to queued mail `outbox_id` (in the transaction that queued it).
    pub async fn attach_to(
        &self,
        conn: &mut AsyncPgConnection,
        outbox_id: i64,
    ) -> QueryResult<usize> {
        diesel::insert_into(outbox_attachments::table)
            .values((
                outbox_attachments::outbox_id.eq(outbox_id),
                outbox_attachments::filename.eq(&self.filename),
                outbox_attachments::content_type.eq(&self.content_type),
                outbox_attachments::content.eq(&self.content),
            ))
            .execute(conn)
            .await
    }

    /// The files of these mails, each mail's in the order they were added.
    pub async fn of_mails(
        conn: &mut AsyncPgConnection,
        outbox_ids: &[i64],
    ) -> QueryResult<Vec<(i64, Attachment)>> {
        outbox_attachments::table
            .filter(outbox_attachments::outbox_id.eq_any(outbox_ids))
            .order((outbox_attachments::outbox_id, outbox_attachments::id))
            .select((
                outbox_attachments::outbox_id,
                (
                    outbox_attachments::filename,
                    outbox_attachments::content_type,
                    outbox_attachments::content,
                ),
            ))
            .load(conn)
            .await
    }
}

/// A mail claimed for delivery.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(Pg))]
pub struct QueuedMail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub invitation_id: Option<i64>,
    pub link_seed: Option<String>,
    /// Failed deliveries so far.
    pub attempts: i32,
    pub from_name: Option<String>,
    /// See [`NewMail::link_tenant_id`].
    pub link_tenant_id: Option<i64>,
    /// See [`NewMail::reply_to`].
    pub reply_to: Option<String>,
}

/// The delivery state of one mail, for the console.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(Pg))]
pub struct MailState {
    pub id: i64,
    pub invitation_id: Option<i64>,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_via: Option<MailTransport>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Claims up to `limit` due mails: locks them with `FOR UPDATE SKIP LOCKED` (so
/// several processes never take the same row) and leases them by moving their next
/// attempt `lease` ahead, in one transaction. A process that dies while sending
/// leaves the mail to be retried when the lease runs out.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease: chrono::Duration,
    now: DateTime<Utc>,
) -> QueryResult<Vec<QueuedMail>> {
    conn.transaction(async |conn| {
        let ids: Vec<i64> = outbox::table
            .filter(outbox::status.eq(OutboxStatus::Pending))
            .filter(outbox::next_attempt_at.le(now))
            .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
            .limit(limit)
            .select(outbox::id)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set(outbox::next_attempt_at.eq(now + lease))
            .returning(QueuedMail::as_returning())
            .get_results(conn)
            .await
    })
    .await
}

/// Delivered (`via` is `smtp`, or `log` without a mail server). The link seed
/// goes: nothing stored can rebuild a delivered link.
pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    id: i64,
    via: MailTransport,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(OutboxStatus::Sent),
            outbox::link_seed.eq(None::<String>),
            outbox::sent_via.eq(Some(via)),
            outbox::sent_at.eq(Some(now)),
        ))
        .execute(conn)
        .await
}

/// A failed delivery: counted, its error kept, retried at `retry_at` or, with
/// `None`, given up for good.
pub async fn mark_attempt_failed(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<usize> {
    let error: String = error.chars().take(1000).collect();
    let target = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::status.eq(OutboxStatus::Pending));
    match retry_at {
        Some(at) => {
            diesel::update(target)
                .set((
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::last_error.eq(Some(error)),
                    outbox::next_attempt_at.eq(at),
                ))
                .execute(conn)
                .await
        }
        None => {
            diesel::update(target)
                .set((
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::last_error.eq(Some(error)),
                    outbox::status.eq(OutboxStatus::Failed),
                    outbox::link_seed.eq(None::<String>),
                ))
                .execute(conn)
                .await
        }
    }
}

/// Cancels the mails of an invitation not delivered yet (resent or revoked).
pub async fn cancel_for_invitation(
    conn: &mut AsyncPgConnection,
    invitation_id: i64,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::invitation_id.eq(invitation_id))
            .filter(outbox::status.eq(OutboxStatus::Pending)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Cancelled),
        outbox::last_error.eq(Some(reason)),
        outbox::link_seed.eq(None::<String>),
    ))
    .execute(conn)
    .await
}

/// Mails queued at the request of this user since `since` (rate limits).
pub async fn requested_since(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::requested_by_user_id.eq(user_id))
        .filter(outbox::created_at.gt(since))
        .count()
        .get_result(conn)
        .await
}

/// The newest mail of each of these invitations.
pub async fn latest_for_invitations(
    conn: &mut AsyncPgConnection,
    invitation_ids: &[i64],
) -> QueryResult<Vec<MailState>> {
    outbox::table
        .filter(outbox::invitation_id.eq_any(invitation_ids))
        .order((outbox::invitation_id.asc(), outbox::id.desc()))
        .distinct_on(outbox::invitation_id)
        .select(MailState::as_select())
        .load(conn)
        .await
}
