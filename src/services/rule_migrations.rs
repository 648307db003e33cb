//! Rule-set migrations between tenants (issue #13, part B; docs/ARCHITECTURE.md
//! "Rule-set migrations"). [`start`] locks both tenants (committed `rule_locks`
//! rows) and queues a job row; [`Runner`] — one in every `tenantry serve` —
//! claims jobs with `FOR UPDATE SKIP LOCKED` under a lease its heartbeat extends,
//! stages the source's rules with the mappings applied in batches (idempotent),
//! then swaps them into the target in one transaction (a new version of kind
//! `migration`) and unlocks both. Any failure, or a lease that ran out (the
//! process died), leaves the job `failed`, the source unlocked and the target
//! locked, until [`rollback`] (the target back to exactly its version before) or
//! [`retry`].

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::outbox::NewMail;
use crate::db::models::rule_migration::{Claimed, NewMigration, RuleMigration};
use crate::db::models::rules::{
    self as rules_model, lock_head, Application, Domain, NewVersion, RuleLock, RuleSetVersion,
};
use crate::db::models::Tenant;
use crate::db::set_lock_timeout;
use crate::db::transaction::in_transaction;
use crate::domain::rules::{CredentialStuffing, VersionKind};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use std::collections::BTreeMap;

/// Source application (domain) id → target application (domain) id, `None`:
/// the copied rules are unbound.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mappings {
    pub applications: BTreeMap<i64, Option<i64>>,
    pub domains: BTreeMap<i64, Option<i64>>,
}

/// The states of a job, as stored.
pub const RUNNING: [&str; 3] = ["queued", "copying", "swapping"];

/// The lock description both tenants show on their locked pages.
fn describe(id: i64, source: &str, target: &str) -> String {
    format!("Migration #{id} of the rules from {source} to {target}")
}

/// 409 when the tenant is locked, naming what holds it.
async fn refuse_locked(conn: &mut AsyncPgConnection, tenant: &Tenant) -> Result<(), AppError> {
    if let Some((lock, _)) = RuleLock::find(conn, tenant.id).await? {
        let by = lock
            .migration_id
            .map_or_else(|| lock.description.clone(), |m| format!("migration #{m}"));
        return Err(AppError::Conflict(format!(
            "{} is locked by {by} since {}; nothing was started.",
            tenant.name,
            lock.since.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    Ok(())
}

/// Every source application and domain must be in the mapping's keys' domain (an
/// unknown source id is refused), every target id the target's.
async fn check_mappings(
    conn: &mut AsyncPgConnection,
    source: &Tenant,
    target: &Tenant,
    m: &Mappings,
) -> Result<(), AppError> {
    let src_apps: Vec<i64> = Application::all(conn, source.id)
        .await?
        .iter()
        .map(|a| a.id)
        .collect();
    let src_domains: Vec<i64> = Domain::all(conn, source.id)
        .await?
        .iter()
        .map(|d| d.id)
        .collect();
    let dst_apps: Vec<i64> = Application::all(conn, target.id)
        .await?
        .iter()
        .map(|a| a.id)
        .collect();
    let dst_domains: Vec<i64> = Domain::all(conn, target.id)
        .await?
        .iter()
        .map(|d| d.id)
        .collect();
    // The field names carry ids, so the refusal names them in its message.
    let mut errors = Vec::new();
    for (from, to) in &m.applications {
        if !src_apps.contains(from) {
            errors.push(format!(
                "map_application_{from}: the source tenant has no such application"
            ));
        } else if to.is_some_and(|t| !dst_apps.contains(&t)) {
            errors.push(format!(
                "map_application_{from}: choose one of {}'s applications, or none",
                target.name
            ));
        }
    }
    for (from, to) in &m.domains {
        if !src_domains.contains(from) {
            errors.push(format!(
                "map_domain_{from}: the source tenant has no such domain"
            ));
        } else if to.is_some_and(|t| !dst_domains.contains(&t)) {
            errors.push(format!(
                "map_domain_{from}: choose one of {}'s domains, or none",
                target.name
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::problem(
            crate::error::ProblemKind::ValidationFailed,
            format!(
                "The mapping is not valid ({}); nothing was started.",
                errors.join("; ")
            ),
        ))
    }
}

/// Starts a migration of `source`'s rules and settings to `target` (both visible:
/// the caller answered 404 otherwise): Owner or Administrator over both with Rules
/// full in both (403), different tenants, neither locked (409), mappings valid
/// (422). One transaction: both heads locked in id order, the job queued, both
/// lock rows, an audit event.
pub async fn start(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    source: &Tenant,
    target: &Tenant,
    mappings: &Mappings,
    now: DateTime<Utc>,
) -> Result<RuleMigration, AppError> {
    if !authz::can_migrate_rules(p, source, target) {
        return Err(AppError::Forbidden);
    }
    if source.id == target.id {
        return Err(AppError::field(
            "target",
            "Choose another tenant than the source.",
        ));
    }
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        let (first, second) = if source.id < target.id {
            (source, target)
        } else {
            (target, source)
        };
        let v1 = lock_head(conn, first.id, now).await?;
        let v2 = lock_head(conn, second.id, now).await?;
        let (source_version, target_version) = if first.id == source.id {
            (v1, v2)
        } else {
            (v2, v1)
        };
        refuse_locked(conn, source).await?;
        refuse_locked(conn, target).await?;
        check_mappings(conn, source, target, mappings).await?;
        let target_settings_before = rules_model::settings(conn, target.id)
            .await?
            .map(|s| s.to_json());
        let m = RuleMigration::insert(
            conn,
            NewMigration {
                source_tenant_id: source.id,
                target_tenant_id: target.id,
                source_name: &source.name,
                target_name: &target.name,
                started_by: actor.user_id,
                started_by_login: &actor.login,
                mappings: serde_json::to_value(mappings).unwrap_or_default(),
                target_version_before: target_version,
                source_version,
                target_settings_before,
            },
            now,
        )
        .await?;
        let what = describe(m.id, &source.name, &target.name);
        for t in [source, target] {
            RuleLock::insert(conn, t.id, Some(m.id), actor.user_id, &what, now).await?;
        }
        let mut event = actor.event("rule_migration.start", Some(source.id));
        event.after = Some(serde_json::json!({
            "migration": m.id, "source": source.id, "target": target.id, "mappings": m.mappings,
        }));
        event.record(conn).await?;
        Ok(m)
    })
    .await
}

/// May the user see this migration (`authz::can_see_migration`: both tenants seen
/// with Rules read; a tenant deleted since hides it from everyone but global
/// administrators).
pub async fn visible(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    m: &RuleMigration,
) -> Result<bool, AppError> {
    let mut tenants = Vec::new();
    for id in [m.source_tenant_id, m.target_tenant_id] {
        tenants.push(match id {
            Some(id) => Some(Tenant::find(conn, id).await?),
            None => None,
        });
    }
    Ok(authz::can_see_migration(
        p,
        tenants[0].as_ref(),
        tenants[1].as_ref(),
    ))
}

/// The migration `id` if the user may see it (404 otherwise).
pub async fn find(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    id: i64,
) -> Result<RuleMigration, AppError> {
    let m = RuleMigration::find(conn, id).await?;
    if visible(conn, p, &m).await? {
        Ok(m)
    } else {
        Err(AppError::NotFound)
    }
}

/// The migrations the user may see, newest first (at most 200).
pub async fn list(
    conn: &mut AsyncPgConnection,
    p: &Principal,
) -> Result<Vec<RuleMigration>, AppError> {
    let all = RuleMigration::touching(conn, None, 200).await?;
    let mut out = Vec::new();
    for m in all {
        if visible(conn, p, &m).await? {
            out.push(m);
        }
    }
    Ok(out)
}

/// Both tenants of a migration the user acts on (rollback, retry): they must
/// still exist and the user must hold the right to start it.
async fn tenants_for_action(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    m: &RuleMigration,
) -> Result<(Tenant, Tenant), AppError> {
    let (Some(s), Some(t)) = (m.source_tenant_id, m.target_tenant_id) else {
        return Err(AppError::Conflict(
            "A tenant of this migration was deleted; it can no longer be rolled back or retried."
                .into(),
        ));
    };
    let source = Tenant::find(conn, s).await?;
    let target = Tenant::find(conn, t).await?;
    if !authz::can_migrate_rules(p, &source, &target) {
        return Err(AppError::Forbidden);
    }
    Ok((source, target))
}

fn not_failed(m: &RuleMigration, what: &str) -> AppError {
    AppError::Conflict(format!(
        "Migration #{} is {}: only a failed migration can be {what}.",
        m.id,
        m.state.replace('_', " ")
    ))
}

/// Rolls a failed migration back: the target's rules and settings become exactly
/// those of its version before the migration (a new version, kind `rollback`), the
/// target is unlocked, the job `rolled_back`. One transaction.
pub async fn rollback(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<RuleMigration, AppError> {
    let m = find(conn, p, id).await?;
    let (_, target) = tenants_for_action(conn, p, &m).await?;
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        let m = RuleMigration::find_for_update(conn, id).await?;
        if m.state != "failed" {
            return Err(not_failed(&m, "rolled back"));
        }
        let head = lock_head(conn, target.id, now).await?;
        let next = head + 1;
        let before = m.target_version_before;
        RuleMigration::restore_rules(conn, target.id, before, next).await?;
        let saved = m
            .target_settings_before
            .as_ref()
            .map(CredentialStuffing::from_json);
        RuleMigration::put_settings(conn, target.id, saved.as_ref(), now).await?;
        let settings = saved.unwrap_or_default();
        let summary = format!("Rolled back migration #{} to version {before}", m.id);
        RuleSetVersion::record(
            conn,
            target.id,
            NewVersion {
                version: next,
                actor_user_id: actor.user_id,
                actor_login: &actor.login,
                kind: VersionKind::Rollback,
                summary: &summary,
                settings: settings.to_json(),
            },
            now,
        )
        .await?;
        RuleMigration::unlock(conn, m.id, target.id).await?;
        RuleMigration::finish(conn, m.id, "rolled_back", m.error.as_deref(), now).await?;
        let mut event = actor.event("rule_migration.rollback", Some(target.id));
        event.after =
            Some(serde_json::json!({ "migration": m.id, "version": next, "restored": before }));
        event.record(conn).await?;
        Ok(RuleMigration::find(conn, id).await?)
    })
    .await
}

/// Queues a failed migration again: the source locked again (409 if something
/// else holds it), one more attempt; the copy resumes from the staged rows.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<RuleMigration, AppError> {
    let m = find(conn, p, id).await?;
    let (source, _) = tenants_for_action(conn, p, &m).await?;
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        let m = RuleMigration::find_for_update(conn, id).await?;
        if m.state != "failed" {
            return Err(not_failed(&m, "retried"));
        }
        let source_version = lock_head(conn, source.id, now).await?;
        refuse_locked(conn, &source).await?;
        let what = describe(m.id, &m.source_name, &m.target_name);
        RuleLock::insert(conn, source.id, Some(m.id), actor.user_id, &what, now).await?;
        RuleMigration::requeue(conn, m.id, source_version, now).await?;
        let mut event = actor.event("rule_migration.retry", Some(source.id));
        event.after = Some(serde_json::json!({ "migration": m.id, "attempt": m.attempts + 1 }));
        event.record(conn).await?;
        Ok(RuleMigration::find(conn, id).await?)
    })
    .await
}

/// Marks a job failed with `error`: the source unlocked, the target stays locked.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    m: &RuleMigration,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    in_transaction(conn, async |conn| {
        if let Some(source) = m.source_tenant_id {
            RuleMigration::unlock(conn, m.id, source).await?;
        }
        RuleMigration::finish(conn, m.id, "failed", Some(error), now).await?;
        let mut event =
            Actor::system("rule migrations").event("rule_migration.fail", m.target_tenant_id);
        event.after = Some(serde_json::json!({ "migration": m.id, "error": error }));
        event.record(conn).await?;
        Ok(())
    })
    .await
}

/// The swap: one transaction that replaces the target's rules with the staged
/// copy and its settings with the source's (one version, kind `migration`),
/// finishes the job, unlocks both tenants and queues the starter's notice.
/// Refused (`Ok(false)`) when this process no longer holds the lease.
async fn swap(
    conn: &mut AsyncPgConnection,
    m: &RuleMigration,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let (Some(source), Some(target)) = (m.source_tenant_id, m.target_tenant_id) else {
        return Err(AppError::Conflict(
            "a tenant of the migration was deleted".into(),
        ));
    };
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        if !RuleMigration::advance(conn, m.id, owner, "copying", "swapping", now).await? {
            return Ok(false);
        }
        crate::fail_point!("migration-before-swap");
        let head = lock_head(conn, target, now).await?;
        let next = head + 1;
        let (lost, got) = RuleMigration::swap_rules(conn, m.id, target, next).await?;
        let saved = rules_model::settings(conn, source).await?;
        RuleMigration::put_settings(conn, target, saved.as_ref(), now).await?;
        let settings = saved.unwrap_or_default();
        let summary = format!(
            "Migration #{} from {}: {got} rules copied, {lost} replaced, settings replaced",
            m.id, m.source_name
        );
        RuleSetVersion::record(
            conn,
            target,
            NewVersion {
                version: next,
                actor_user_id: m.started_by,
                actor_login: &m.started_by_login,
                kind: VersionKind::Migration,
                summary: &summary,
                settings: settings.to_json(),
            },
            now,
        )
        .await?;
        crate::fail_point!("migration-before-unlock");
        RuleMigration::unlock(conn, m.id, source).await?;
        RuleMigration::unlock(conn, m.id, target).await?;
        RuleMigration::finish(conn, m.id, "done", None, now).await?;
        if let Some(uid) = m.started_by {
            if let Some(user) = Principal::load(conn, uid).await?.map(|p| p.user) {
                let subject = format!("Migration #{} of the rules is done", m.id);
                let text = format!(
                    "The rules of {} were migrated to {}: {got} rules copied, {lost} rules replaced, the credential-stuffing settings replaced. Both tenants are unlocked.\n",
                    m.source_name, m.target_name
                );
                NewMail::notice(&user.email, &subject, &text).insert(conn, now).await?;
            }
        }
        let mut event = Actor::system("rule migrations").event("rule_migration.done", Some(target));
        event.after = Some(serde_json::json!({ "migration": m.id, "version": next, "copied": got, "replaced": lost }));
        event.record(conn).await?;
        Ok(true)
    })
    .await
}

/// The job runner of one process: its lease owner id and timings.
#[derive(Clone, Debug)]
pub struct Runner {
    /// Unique per process (host, pid, start time).
    pub owner: String,
    pub lease: chrono::Duration,
    /// Source rules staged per transaction.
    pub batch: i64,
}

/// What one [`Runner::tick`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    Idle,
    /// A crashed run found and marked failed.
    Recovered(i64),
    Done(i64),
    Failed(i64),
    /// The lease was lost to another process mid-run.
    LostLease(i64),
}

impl Runner {
    pub fn new(lease: std::time::Duration) -> Self {
        Self {
            owner: format!(
                "{}-{}-{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
                std::process::id(),
                Utc::now().timestamp_micros()
            ),
            lease: chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30)),
            batch: 5_000,
        }
    }

    /// Claims and runs at most one job. `heartbeat` runs beside it on its own
    /// connection (see `startup`); `now` is read again for every step.
    pub async fn tick(
        &self,
        conn: &mut AsyncPgConnection,
        now: impl Fn() -> DateTime<Utc>,
    ) -> Result<Ran, AppError> {
        let t = now();
        let Some(claimed) = RuleMigration::claim(conn, &self.owner, t + self.lease, t).await?
        else {
            return Ok(Ran::Idle);
        };
        let m = match claimed {
            Claimed::Crashed(m) => {
                fail(
                    conn,
                    &m,
                    "The process running it stopped (its lease ran out).",
                    now(),
                )
                .await?;
                return Ok(Ran::Recovered(m.id));
            }
            Claimed::Run(m) => m,
        };
        match self.run(conn, &m, &now).await {
            Ok(true) => Ok(Ran::Done(m.id)),
            Ok(false) => Ok(Ran::LostLease(m.id)),
            Err(e) => {
                let msg = e.to_string();
                tracing::warn!(migration = m.id, error = %msg, "rule migration failed");
                fail(conn, &m, &msg, now()).await?;
                Ok(Ran::Failed(m.id))
            }
        }
    }

    async fn run(
        &self,
        conn: &mut AsyncPgConnection,
        m: &RuleMigration,
        now: &impl Fn() -> DateTime<Utc>,
    ) -> Result<bool, AppError> {
        crate::fail_point!("migration-after-claim");
        loop {
            let staged =
                RuleMigration::copy_batch(conn, m.id, &self.owner, self.batch, now()).await?;
            crate::fail_point!("migration-after-batch");
            // The heartbeat: each batch takes milliseconds, far below the lease.
            if !self.heartbeat(conn, m.id, now()).await? {
                return Ok(false);
            }
            if staged < self.batch {
                break;
            }
        }
        swap(conn, m, &self.owner, now()).await
    }

    /// Extends the lease of job `id`; `false` once it is no longer ours.
    pub async fn heartbeat(
        &self,
        conn: &mut AsyncPgConnection,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        Ok(RuleMigration::heartbeat(conn, id, &self.owner, now + self.lease).await?)
    }
}

/// The running or last state of `tenant_id`'s lock's migration, for the locked
/// page's progress: (copied, total, state).
pub async fn progress(
    conn: &mut AsyncPgConnection,
    migration_id: i64,
) -> Result<RuleMigration, AppError> {
    Ok(RuleMigration::find(conn, migration_id).await?)
}
