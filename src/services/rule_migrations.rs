//! Rule-set migrations between tenants (issue #13, part B; docs/ARCHITECTURE.md
//! "Rule-set migrations"). [`start`] locks both tenants (committed `rule_locks`
//! rows) and queues a job row; [`Runner`] — one in every `tenantry serve` —
//! claims jobs with `FOR UPDATE SKIP LOCKED` under a lease its heartbeat extends,
//! copies the source's rules with the mappings applied in batches (idempotent)
//! into a new generation of the target's rules, invisible until the swap: one
//! transaction that moves the target's head to that generation (a new version of
//! kind `migration`; the target's old rows stay as they are) and unlocks both. Any failure, or a lease that ran out (the
//! process died), leaves the job `failed`, the source unlocked and the target
//! locked, until [`rollback`] (the target back to exactly its version before) or
//! [`retry`].

use super::migration_plan::{self, Seen};
use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::migration_view::rule_counts;
use crate::db::models::rule_migration::{Claimed, Heartbeat, NewMigration, RuleMigration};
use crate::db::models::rules::{
    self as rules_model, lock_head, Application, Domain, NewVersion, RuleLock, RuleSetVersion,
};
use crate::db::models::Tenant;
use crate::db::set_lock_timeout;
use crate::db::transaction::in_transaction;
use crate::db::DbPool;
use crate::domain::activity::Action;
use crate::domain::rules::{CredentialStuffing, VersionKind};
use crate::error::{field_name, AppError, FieldErrors};
use crate::mail::{MigrationDone, MigrationFailed, PUBLIC_URL_PLACEHOLDER};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

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
/// The lock row's text. No tenant names: it is stored, and the locked pages name
/// the tenants per reader (`rules::lock::check`).
fn describe(id: i64) -> String {
    format!("Migration #{id} of the rules")
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

/// The ids of the tenant's applications and of its domains.
async fn object_ids(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<(BTreeSet<i64>, BTreeSet<i64>), AppError> {
    let apps = Application::all(conn, tenant.id).await?;
    let domains = Domain::all(conn, tenant.id).await?;
    Ok((
        apps.iter().map(|a| a.id).collect(),
        domains.iter().map(|d| d.id).collect(),
    ))
}

/// A mapping's error for a value that is not one of `target`'s applications
/// (another tenant's, a made-up number): the form and the API say the same.
pub fn not_targets_application(target: &Tenant) -> String {
    format!(
        "Choose one of the applications of {}, or none.",
        target.name
    )
}

/// [`not_targets_application`] for domains.
pub fn not_targets_domain(target: &Tenant) -> String {
    format!("Choose one of the domains of {}, or none.", target.name)
}

/// The field of [`unknown_sources`]: no form shows a field for an id the source
/// does not have.
pub const UNKNOWN_SOURCES: &str = "mappings";

/// Source ids the source does not have, in one message (`unknown`: "application
/// 9", "domain 12", applications first).
pub fn unknown_sources(unknown: &[String]) -> String {
    format!(
        "The source tenant has no {}; reload the page.",
        unknown.join(", ")
    )
}

/// The mappings' field errors: each source id must be one of the source's
/// applications (domains) — an unknown one is reported under `mappings`, since no
/// form shows a field for it — and each mapped id one of the target's
/// (`map_application_<id>`, `map_domain_<id>`); and no copied rule may end up
/// bound to a target application and to a domain bound to another one (the rule
/// forms refuse that too): reported at the rule's domain's field. The form's
/// preview, `start` and `retry` all ask it.
pub async fn check_mappings(
    conn: &mut AsyncPgConnection,
    source: &Tenant,
    target: &Tenant,
    m: &Mappings,
) -> Result<(), AppError> {
    let (src_apps, src_domains) = object_ids(conn, source).await?;
    let dst_apps: BTreeMap<i64, String> = Application::all(conn, target.id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let dst_domains: BTreeMap<i64, (String, Option<i64>)> = Domain::all(conn, target.id)
        .await?
        .into_iter()
        .map(|d| (d.id, (d.name, d.application_id)))
        .collect();
    let mut errors = FieldErrors::new();
    let mut unknown = Vec::new();
    for (from, to) in &m.applications {
        if !src_apps.contains(from) {
            unknown.push(format!("application {from}"));
        } else if to.is_some_and(|t| !dst_apps.contains_key(&t)) {
            errors.insert(
                field_name(format!("map_application_{from}")),
                not_targets_application(target),
            );
        }
    }
    for (from, to) in &m.domains {
        if !src_domains.contains(from) {
            unknown.push(format!("domain {from}"));
        } else if to.is_some_and(|t| !dst_domains.contains_key(&t)) {
            errors.insert(
                field_name(format!("map_domain_{from}")),
                not_targets_domain(target),
            );
        }
    }
    if !unknown.is_empty() {
        errors.insert(UNKNOWN_SOURCES, unknown_sources(&unknown));
    }
    if errors.is_empty() {
        let mapped = |map: &BTreeMap<i64, Option<i64>>, id: i64| map.get(&id).copied().flatten();
        for (app, domain) in RuleMigration::bound_pairs(conn, source.id).await? {
            let (Some(to_app), Some(to_domain)) =
                (mapped(&m.applications, app), mapped(&m.domains, domain))
            else {
                continue;
            };
            let Some((name, Some(bound))) = dst_domains.get(&to_domain) else {
                continue;
            };
            if *bound != to_app {
                let app_name = |id| dst_apps.get(&id).map_or("?", String::as_str);
                let (bound, to_app) = (app_name(*bound), app_name(to_app));
                errors
                    .entry(field_name(format!("map_domain_{domain}")))
                    .or_insert_with(|| {
                        format!(
                            "{name} belongs to {bound}, but rules with this domain are bound to an application mapped to {to_app}: choose one of the domains of {to_app} or none, or map that application to {bound}."
                        )
                    });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
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
    let m = in_transaction::<_, AppError, _>(conn, async |conn| {
        crate::fail_point!("migration-before-lock");
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
        // The source's head is held: its count stays true until the job ends.
        let total = rule_counts(conn, source.id).await?.total;
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
                total,
            },
            now,
        )
        .await?;
        let what = describe(m.id);
        for t in [source, target] {
            RuleLock::insert(conn, t.id, Some(m.id), actor.user_id, &what, now).await?;
        }
        let mut event = actor.event(Action::RuleMigrationStart, Some(source.id));
        event.after = Some(serde_json::json!({
            "migration": m.id, "source": source.id, "target": target.id, "mappings": m.mappings,
        }));
        event.record(conn).await?;
        Ok(m)
    })
    .await?;
    // Committed: the job is queued and both tenants locked; whoever dies now, a
    // runner (of any process) carries it out.
    crate::fail_point!("migration-after-lock");
    Ok(m)
}

/// What a migration whose source was deleted tells a retry (`source_name`: the
/// source as the reader may be told, `migration_plan::Seen::source_name`).
pub fn source_deleted(m: &RuleMigration, source_name: &str) -> AppError {
    AppError::Conflict(format!(
        "The source tenant, {source_name}, was deleted: migration #{} can no longer be retried. Roll it back to unlock {}.",
        m.id, m.target_name
    ))
}

/// What a migration whose target was deleted tells a rollback or retry (the target
/// cannot be deleted while the migration locks it, so only after it ended).
pub fn target_deleted(m: &RuleMigration) -> AppError {
    AppError::Conflict(format!(
        "The target tenant {} was deleted: migration #{} has nothing left to roll back or retry.",
        m.target_name, m.id
    ))
}

/// The target of a migration the user rolls back (it must still exist); the user
/// must hold `authz::can_roll_back_migration`.
fn target_for_rollback(p: &Principal, seen: &Seen) -> Result<Tenant, AppError> {
    let Some(target) = &seen.target else {
        return Err(target_deleted(&seen.migration));
    };
    if !authz::can_roll_back_migration(p, seen.source.as_ref(), target) {
        return Err(AppError::Forbidden);
    }
    Ok(target.clone())
}

/// Both tenants of a migration the user retries: they must still exist and the
/// user must hold the right to start it.
fn tenants_for_retry(p: &Principal, seen: &Seen) -> Result<(Tenant, Tenant), AppError> {
    let m = &seen.migration;
    let Some(target) = &seen.target else {
        return Err(target_deleted(m));
    };
    let Some(source) = &seen.source else {
        return Err(source_deleted(m, &seen.source_name));
    };
    if !authz::can_migrate_rules(p, source, target) {
        return Err(AppError::Forbidden);
    }
    Ok((source.clone(), target.clone()))
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
    let seen = migration_plan::find(conn, p, id).await?;
    let target = target_for_rollback(p, &seen)?;
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
        RuleMigration::drop_copy(conn, &m).await?;
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
                generation: None,
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
        let mut event = actor.event(Action::RuleMigrationRollback, Some(target.id));
        event.after =
            Some(serde_json::json!({ "migration": m.id, "version": next, "restored": before }));
        event.record(conn).await?;
        Ok(RuleMigration::find(conn, id).await?)
    })
    .await
}

/// Queues a failed migration again: the source locked again (423 if something
/// else holds it), its mapping checked again against the source as it is now (the
/// same field errors as `start`: the source may have changed since), one more
/// attempt; the copy resumes where it stopped unless the source changed.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> Result<RuleMigration, AppError> {
    let seen = migration_plan::find(conn, p, id).await?;
    let (source, target) = tenants_for_retry(p, &seen)?;
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        let m = RuleMigration::find_for_update(conn, id).await?;
        if m.state != "failed" {
            return Err(not_failed(&m, "retried"));
        }
        let source_version = lock_head(conn, source.id, now).await?;
        // Under the source's head, so no race is left: 423 naming what holds it,
        // as every other request meeting a locked tenant is answered.
        super::rules::lock::check(conn, p, source.id).await?;
        let mut mappings: Mappings = serde_json::from_value(m.mappings.clone())
            .map_err(|e| AppError::Unexpected(e.into()))?;
        // A source application or domain deleted since binds no rule any more (its
        // rules were unbound with it): its entry no longer matters, where a start's
        // form would be stale. Everything else is checked as `start` checks it.
        let (apps, domains) = object_ids(conn, &source).await?;
        mappings.applications.retain(|id, _| apps.contains(id));
        mappings.domains.retain(|id, _| domains.contains(id));
        check_mappings(conn, &source, &target, &mappings).await?;
        let what = describe(m.id);
        RuleLock::insert(conn, source.id, Some(m.id), actor.user_id, &what, now).await?;
        let total = rule_counts(conn, source.id).await?.total;
        RuleMigration::requeue(conn, m.id, source_version, total, now).await?;
        let mut event = actor.event(Action::RuleMigrationRetry, Some(source.id));
        event.after = Some(serde_json::json!({ "migration": m.id, "attempt": m.attempts + 1 }));
        event.record(conn).await?;
        Ok(RuleMigration::find(conn, id).await?)
    })
    .await
}

/// Queues the notice `compose` writes (given the migration's link and the
/// recipient's branding) to whoever started `m`, through the one path of notices
/// (`branding::queue_notice`). Without an address (or once the starter is deleted)
/// there is no one to mail; the migration's page says it all the same.
async fn notify_starter(
    conn: &mut AsyncPgConnection,
    m: &RuleMigration,
    now: DateTime<Utc>,
    compose: impl FnOnce(&str, &crate::db::models::branding::Brand) -> anyhow::Result<(String, String)>,
) -> Result<(), AppError> {
    let Some(uid) = m.started_by else {
        return Ok(());
    };
    let Some(to) = Principal::load(conn, uid)
        .await?
        .filter(|p| p.user.has_email())
    else {
        return Ok(());
    };
    // The link as other mails write theirs: the outbox fills in the console's
    // public URL when it sends.
    let link = format!("{PUBLIC_URL_PLACEHOLDER}/migrations/{}", m.id);
    super::branding::queue_notice(conn, &to, now, |brand| compose(&link, brand)).await?;
    Ok(())
}

/// Marks a job failed with `error`: the source unlocked, the target stays locked,
/// and the starter is told (as a done migration tells them) what failed and where
/// to roll it back or retry it.
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
        notify_starter(conn, m, now, |link, brand| {
            let failed = MigrationFailed {
                id: m.id,
                source: &m.source_name,
                target: &m.target_name,
                error,
                link,
            };
            crate::mail::migration_failed(&failed, brand)
        })
        .await?;
        let mut event =
            Actor::system("rule migrations").event(Action::RuleMigrationFail, m.target_tenant_id);
        event.after = Some(serde_json::json!({ "migration": m.id, "error": error }));
        event.record(conn).await?;
        Ok(())
    })
    .await
}

/// The swap: one transaction that moves the target's head to the copy's
/// generation (its old rules are left as they are: older versions read them) and
/// replaces its settings with the source's (one version, kind `migration`),
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
    let swapped = in_transaction::<_, AppError, _>(conn, async |conn| {
        set_lock_timeout(conn).await?;
        if !RuleMigration::advance(conn, m.id, owner, "copying", "swapping", now).await? {
            return Ok(false);
        }
        crate::fail_point!("migration-before-swap");
        let head = lock_head(conn, target, now).await?;
        let next = head + 1;
        // The copy's rows are valid from the version after the one the target had
        // when it was locked; nothing moves a locked head.
        if head != m.target_version_before {
            return Err(AppError::Conflict(format!(
                "the target's rule set changed during the migration (version {head}, not {})",
                m.target_version_before
            )));
        }
        let lost = rule_counts(conn, target).await?.total;
        let got = RuleMigration::find(conn, m.id).await?.copied;
        let saved = rules_model::settings(conn, source).await?;
        RuleMigration::put_settings(conn, target, saved.as_ref(), now).await?;
        let settings = saved.unwrap_or_default();
        // No source name: the summary is stored and shown to every reader of the
        // target, who may not see the source.
        let summary = format!(
            "Migration #{}: {got} rules copied, {lost} replaced, settings replaced",
            m.id
        );
        RuleSetVersion::record(
            conn,
            target,
            NewVersion {
                version: next,
                generation: Some(m.generation),
                actor_user_id: m.started_by,
                actor_login: &m.started_by_login,
                kind: VersionKind::Migration,
                summary: &summary,
                settings: settings.to_json(),
            },
            now,
        )
        .await?;
        // The head names the copy's generation now (uncommitted).
        crate::fail_point!("migration-after-swap");
        crate::fail_point!("migration-before-unlock");
        RuleMigration::unlock(conn, m.id, source).await?;
        RuleMigration::unlock(conn, m.id, target).await?;
        RuleMigration::finish(conn, m.id, "done", None, now).await?;
        notify_starter(conn, m, now, |link, brand| {
            let done = MigrationDone {
                id: m.id,
                source: &m.source_name,
                target: &m.target_name,
                copied: &crate::domain::rules::rules_count(got),
                replaced: &crate::domain::rules::rules_count(lost),
                link,
            };
            crate::mail::migration_done(&done, brand)
        })
        .await?;
        let mut event = Actor::system("rule migrations").event(Action::RuleMigrationDone, Some(target));
        event.after = Some(serde_json::json!({ "migration": m.id, "version": next, "copied": got, "replaced": lost }));
        event.record(conn).await?;
        Ok(true)
    })
    .await?;
    if !swapped {
        return Ok(false);
    }
    // Committed: the job is done and both tenants unlocked, whatever happens next.
    crate::fail_point!("migration-after-commit");
    Ok(true)
}

/// The job runner of one process: its lease owner id and timings.
#[derive(Clone, Debug)]
pub struct Runner {
    /// Unique per process (host, pid, start time).
    pub owner: String,
    pub lease: chrono::Duration,
    /// Source rules copied per transaction.
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
    /// The lease was lost to another process mid-run: this runner stopped.
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
            batch: 25_000,
        }
    }

    /// How often a running job's lease is renewed: a third of the lease, so two
    /// heartbeats may fail (a database hiccup) before it runs out.
    pub fn beat(&self) -> std::time::Duration {
        (self.lease / 3)
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_millis(50))
    }

    /// Claims and runs at most one job on a connection of `pool`, while a
    /// heartbeat on another renews its lease every [`Runner::beat`]; the heartbeat
    /// lives inside this call, so it never outlives the job. `now` is read again
    /// for every step.
    pub async fn tick(
        &self,
        pool: &DbPool,
        now: impl Fn() -> DateTime<Utc> + Sync,
    ) -> Result<Ran, AppError> {
        let mut conn = pool.get().await?;
        let conn = &mut *conn;
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
        let lost = AtomicBool::new(false);
        let run = self.run(conn, &m, &now, &lost);
        let heartbeat = self.heartbeat_until_lost(pool, m.id, &now, &lost);
        // The job decides when this ends; the heartbeat only ever flags a lost lease.
        let result = tokio::select! {
            biased;
            r = run => r,
            never = heartbeat => match never {},
        };
        match result {
            Ok(true) => Ok(Ran::Done(m.id)),
            Ok(false) => {
                tracing::warn!(migration = m.id, "rule migration: lease lost, stopped");
                Ok(Ran::LostLease(m.id))
            }
            Err(e) => {
                // Not ours any more: whoever holds it now decides how it ends.
                if lost.load(Ordering::Relaxed)
                    || RuleMigration::heartbeat(conn, m.id, &self.owner, now() + self.lease).await?
                        == Heartbeat::Lost
                {
                    tracing::warn!(migration = m.id, error = %e, "rule migration: lease lost, stopped");
                    return Ok(Ran::LostLease(m.id));
                }
                let msg = e.to_string();
                tracing::warn!(migration = m.id, error = %msg, "rule migration failed");
                fail(conn, &m, &msg, now()).await?;
                Ok(Ran::Failed(m.id))
            }
        }
    }

    /// The copy in batches, then the swap; `Ok(false)` as soon as the lease is
    /// known lost (the heartbeat's flag, or a batch's own check).
    async fn run(
        &self,
        conn: &mut AsyncPgConnection,
        m: &RuleMigration,
        now: &impl Fn() -> DateTime<Utc>,
        lost: &AtomicBool,
    ) -> Result<bool, AppError> {
        crate::fail_point!("migration-after-claim");
        loop {
            if lost.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let copied =
                RuleMigration::copy_batch(conn, m.id, &self.owner, self.batch, now()).await?;
            crate::fail_point!("migration-after-batch");
            // Also a check that the lease is still ours: a batch of a runner that
            // lost it copied nothing, and it must not go on to the swap.
            if RuleMigration::heartbeat(conn, m.id, &self.owner, now() + self.lease).await?
                == Heartbeat::Lost
            {
                return Ok(false);
            }
            if copied < self.batch {
                break;
            }
        }
        if lost.load(Ordering::Relaxed) {
            return Ok(false);
        }
        swap(conn, m, &self.owner, now()).await
    }

    /// Renews job `id`'s lease every [`Runner::beat`] on a pooled connection of
    /// its own until it finds the lease lost (flagged in `lost`); never returns.
    /// A failed renewal (database away) is tried again at the next beat.
    async fn heartbeat_until_lost(
        &self,
        pool: &DbPool,
        id: i64,
        now: &impl Fn() -> DateTime<Utc>,
        lost: &AtomicBool,
    ) -> std::convert::Infallible {
        let mut tick = tokio::time::interval(self.beat());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if lost.load(Ordering::Relaxed) {
                continue;
            }
            let beat = match pool.get().await {
                Ok(mut c) => RuleMigration::heartbeat(&mut c, id, &self.owner, now() + self.lease)
                    .await
                    .map_err(AppError::from),
                Err(e) => Err(e.into()),
            };
            match beat {
                Ok(Heartbeat::Lost) => lost.store(true, Ordering::Relaxed),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(migration = id, error = %e, "rule migration heartbeat failed")
                }
            }
        }
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
