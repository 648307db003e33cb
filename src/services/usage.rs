//! Usage statistics: ingesting a batch of usage events (exactly once, all or
//! nothing), and the ingestion keys that post them (created and revoked by root
//! Owners and Administrators, each change audited).

use super::Actor;
use crate::auth::tokens::{self, INGESTION_KEY_PREFIX};
use crate::auth::{authz, Principal};
use crate::db::models::usage::{self, AppliedBatch, Counts, CountsByKey, IngestionKey};
use crate::db::models::Tenant;
use crate::db::set_lock_timeout;
use crate::domain::activity::Action;
use crate::domain::usage::{parse_event, SentEvent, TenantRef, UsageEvent};
use crate::domain::TenantName;
use crate::error::{AppError, ProblemKind};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::collections::HashMap;

/// One event that was not counted, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    /// Its position in the batch's `events`, from 0.
    pub index: usize,
    pub error: String,
}

/// The answer to a batch (stored, and given again to a retry of it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchAnswer {
    /// How many events were counted.
    pub accepted: usize,
    pub rejected: Vec<Rejection>,
}

/// A batch as received: its id, its events as sent (each checked on its own), and
/// the hash that tells a retry of it from another batch under the same id.
pub struct Batch<'a> {
    pub batch_id: &'a str,
    pub events: &'a [SentEvent],
    pub request_hash: String,
}

/// Applies `batch` for ingestion key `key_id`, exactly once, in one transaction:
/// every valid event whose tenant exists is added to its tenant's day, and queued
/// for its month and the month's subtree totals of every tenant on its path (added
/// by the next [`fold`], within `TENANTRY_USAGE_FOLD_INTERVAL_MS`); each other event is
/// answered in `rejected`. Quota thresholds are alerted by the fold that adds the month. A batch id seen before answers that batch's answer again
/// and counts nothing — also when both copies arrive at once (the second waits for
/// the first's commit on the batch row). The same id with another body: 409.
pub async fn ingest(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    batch: Batch<'_>,
    now: DateTime<Utc>,
) -> Result<BatchAnswer, AppError> {
    // Checked before the transaction: nothing here needs the database.
    let checked: Vec<Result<UsageEvent, String>> =
        batch.events.iter().map(|e| parse_event(e, now)).collect();
    let result = conn
        .transaction(async |conn| {
            set_lock_timeout(conn).await?;
            if !AppliedBatch::claim(conn, batch.batch_id, key_id, &batch.request_hash, now).await? {
                return repeated(conn, &batch).await;
            }
            let answer = apply(conn, &checked).await?;
            let stored = serde_json::to_value(&answer)
                .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?;
            AppliedBatch::answered(conn, batch.batch_id, &stored).await?;
            Ok(answer)
        })
        .await;
    result.map_err(out_of_range)
}

/// The stored answer of a batch applied before, if this is that batch again.
async fn repeated(
    conn: &mut AsyncPgConnection,
    batch: &Batch<'_>,
) -> Result<BatchAnswer, AppError> {
    let first = AppliedBatch::find(conn, batch.batch_id).await?;
    if first.request_hash != batch.request_hash {
        return Err(AppError::Conflict(format!(
            "The batch_id {} was used before for another batch; nothing was counted. \
             Give every batch an id of its own.",
            batch.batch_id
        )));
    }
    let stored = first.answer.ok_or(AppError::Busy)?;
    serde_json::from_value(stored).map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))
}

/// Counts the valid events of a claimed batch; the rest become rejections.
async fn apply(
    conn: &mut AsyncPgConnection,
    checked: &[Result<UsageEvent, String>],
) -> Result<BatchAnswer, AppError> {
    let tenants = resolve(conn, checked).await?;
    let mut answer = BatchAnswer::default();
    let (mut daily, mut monthly, mut subtree) =
        (CountsByKey::new(), CountsByKey::new(), CountsByKey::new());
    for (index, event) in checked.iter().enumerate() {
        let event = match event {
            Ok(e) => e,
            Err(error) => {
                answer.rejected.push(Rejection {
                    index,
                    error: error.clone(),
                });
                continue;
            }
        };
        let Some((id, path)) = tenants.get(&event.tenant) else {
            answer.rejected.push(Rejection {
                index,
                error: unknown(&event.tenant),
            });
            continue;
        };
        let counts = Counts {
            queries: event.queries,
            blocked: event.blocked,
        };
        // Duplicates within the batch are summed here: one row per key below.
        *daily.entry((*id, event.day())).or_default() += counts;
        let month = event.month();
        *monthly.entry((*id, month)).or_default() += counts;
        for ancestor in path {
            *subtree.entry((*ancestor, month)).or_default() += counts;
        }
        answer.accepted += 1;
    }
    usage::add_daily(conn, &daily).await?;
    // The months are folded later, set-wise over many batches (`fold`).
    usage::append_pending(conn, &monthly, &subtree).await?;
    Ok(answer)
}

fn unknown(tenant: &TenantRef) -> String {
    match tenant {
        TenantRef::Id(id) => format!("There is no tenant with the id {id}."),
        TenantRef::Subdomain(s) => format!("There is no tenant with the subdomain {s}."),
    }
}

/// The tenants the events name, with their paths. No move can run until this
/// transaction ends (`usage::hold_paths_for_ingestion`), so the subtree deltas are
/// expanded along the paths that hold at commit (a move folds them before it
/// changes a path). A tenant deleted meanwhile is counted
/// where it was: its usage stays in its ancestors' totals, as for any deleted tenant.
async fn resolve(
    conn: &mut AsyncPgConnection,
    checked: &[Result<UsageEvent, String>],
) -> Result<HashMap<TenantRef, (i64, Vec<i64>)>, AppError> {
    let mut ids: Vec<i64> = Vec::new();
    let mut subdomains: Vec<String> = Vec::new();
    for event in checked.iter().flatten() {
        match &event.tenant {
            TenantRef::Id(id) => ids.push(*id),
            TenantRef::Subdomain(s) => subdomains.push(s.clone()),
        }
    }
    subdomains.sort_unstable();
    subdomains.dedup();
    usage::hold_paths_for_ingestion(conn).await?;
    let by_subdomain = usage::tenant_ids_by_subdomain(conn, &subdomains).await?;
    ids.extend(by_subdomain.values());
    ids.sort_unstable();
    ids.dedup();
    let paths: HashMap<i64, Vec<i64>> = Tenant::paths_of(conn, &ids).await?.into_iter().collect();
    let mut found: HashMap<TenantRef, (i64, Vec<i64>)> = HashMap::new();
    for (subdomain, id) in by_subdomain {
        if let Some(path) = paths.get(&id) {
            found.insert(TenantRef::Subdomain(subdomain), (id, path.clone()));
        }
    }
    for (id, path) in paths {
        found.insert(TenantRef::Id(id), (id, path));
    }
    Ok(found)
}

/// Folds every pending delta into the monthly own and subtree totals, and alerts
/// the quota thresholds this crosses (`quota_alerts`), in one transaction: a
/// crossing and its mails commit with the fold that made it. Returns how many
/// deltas it folded and how many mails it queued. Run by the folder in every
/// `serve` process (`usage_folder`), and by whoever needs the totals exact now
/// (tests, the benchmark's recount). Safe with several processes: each delta is
/// folded once.
pub async fn fold(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<FoldOutcome, AppError> {
    let folded = conn
        .transaction(async |conn| fold_in(conn, now).await)
        .await;
    folded.map_err(out_of_range)
}

/// The folder's run (every `TENANTRY_USAGE_FOLD_INTERVAL_MS` in each `serve`):
/// [`fold`], then, when it took deltas, their dead rows vacuumed away at once
/// (`usage::vacuum_pending`), so that the next fold does not read a burst's worth
/// of them whether or not autovacuum runs. Not inside a transaction.
pub async fn fold_and_reclaim(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<FoldOutcome, AppError> {
    let done = fold(conn, now).await?;
    if done.deltas > 0 {
        usage::vacuum_pending(conn).await?;
    }
    Ok(done)
}

/// Folds every pending delta and alerts the crossings it makes, inside the caller's
/// transaction: the one way usage is folded, by the folder ([`fold`]) and by a move
/// (which folds before it changes paths), so that no fold adds usage unalerted.
pub(crate) async fn fold_in(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<FoldOutcome, AppError> {
    let folded = usage::fold_pending(conn).await?;
    let mails = super::quota_alerts::alert_crossings(conn, &folded.grown, now).await?;
    Ok(FoldOutcome {
        deltas: folded.deltas,
        mails,
    })
}

/// What [`fold`] did.
#[derive(Debug, Clone, Copy, Default)]
pub struct FoldOutcome {
    pub deltas: usize,
    pub mails: usize,
}

/// Sums past what a BIGINT holds are refused, not a fault (only absurd counts get
/// there: each event is capped at `domain::usage::MAX_COUNT`).
fn out_of_range(e: AppError) -> AppError {
    match e {
        AppError::Unexpected(cause) if format!("{cause:#}").contains("out of range") => {
            AppError::problem(
                ProblemKind::ValidationFailed,
                "These counts would take a total past what can be stored; nothing was counted.",
            )
        }
        other => other,
    }
}

// ---------------------------------------------------------------- keys

/// Every ingestion key with its creator's login, newest first (404 unless `p` may
/// manage them).
pub async fn keys(
    conn: &mut AsyncPgConnection,
    p: &Principal,
) -> Result<Vec<(IngestionKey, Option<String>)>, AppError> {
    authz::require_ingestion_keys(p)?;
    Ok(IngestionKey::all(conn).await?)
}

/// Creates an ingestion key named `name` as `p`; returns it with its secret, which
/// is never stored. A name a usable key has already (in any case) is a field error
/// (the unique index decides, also between two requests at once).
pub async fn create_key(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    name: &TenantName,
) -> Result<(IngestionKey, String), AppError> {
    authz::require_ingestion_keys(p)?;
    let secret = tokens::generate_ingestion_key();
    let prefix: String = secret
        .chars()
        .take(INGESTION_KEY_PREFIX.len() + 6)
        .collect();
    let hash = tokens::stored_hash(&secret);
    let root = p.home.path.first().copied();
    conn.transaction(async |conn| {
        let key = IngestionKey::insert(conn, name.as_str(), &hash, &prefix, Some(p.user.id))
            .await
            .map_err(key_name_taken)?;
        let mut event = actor.event(Action::IngestionKeyCreate, root);
        event.after = Some(serde_json::json!({ "key_id": key.id, "name": key.name }));
        event.record(conn).await?;
        Ok((key, secret))
    })
    .await
}

fn key_name_taken(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("ingestion_keys_name") =>
        {
            AppError::field(
                "name",
                "Another ingestion key has this name; give this one a name of its own.",
            )
        }
        _ => e.into(),
    }
}

/// Revokes ingestion key `id` as `p` (404 for an unknown id); audited the first time.
pub async fn revoke_key(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<IngestionKey, AppError> {
    authz::require_ingestion_keys(p)?;
    let root = p.home.path.first().copied();
    conn.transaction(async |conn| {
        let key = IngestionKey::find(conn, id).await?;
        if IngestionKey::revoke(conn, id, now).await? {
            let mut event = actor.event(Action::IngestionKeyRevoke, root);
            event.before = Some(serde_json::json!({ "key_id": key.id, "name": key.name }));
            event.record(conn).await?;
        }
        Ok(key)
    })
    .await
}

/// The key `id` for its revoke confirmation (404 unless `p` may manage keys).
pub async fn key(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    id: i64,
) -> Result<IngestionKey, AppError> {
    authz::require_ingestion_keys(p)?;
    Ok(IngestionKey::find(conn, id).await?)
}
