//! What the migration form and pages ask around `rule_migrations::{start, rollback,
//! retry}` (issue #13, part B): the tenants a user may migrate a source's rules
//! into (the target search), the target a form names, the preview of a planned
//! migration and its mapping's field errors, the migrations a user may see (a page
//! of them), and a migration's progress. Rights are `authz::can_migrate_rules_from`,
//! `can_migrate_rules`, `can_see_migration` and `can_follow_migration`.

use crate::auth::{authz, Principal};
use crate::db::models::migration_view::{rule_counts, RuleCounts};
use crate::db::models::rule_migration::RuleMigration;
use crate::db::models::rules::{self as rules_model, Application, Domain, RuleLock};
use crate::db::models::{Tenant, User};
use crate::domain::rules::{CredentialStuffing, MigrationProgress};
use crate::error::AppError;
use crate::services::rule_migrations::{self, Mappings};
use diesel::OptionalExtension;
use diesel_async::AsyncPgConnection;
use std::collections::{BTreeMap, HashMap};

/// Field name → message: the mapping's fields are named after source ids
/// (`map_application_<id>`), so the names are not `'static`.
pub type PlanErrors = BTreeMap<String, String>;

/// The form field of a source application's mapping.
pub fn application_field(id: i64) -> String {
    format!("map_application_{id}")
}

/// The form field of a source domain's mapping.
pub fn domain_field(id: i64) -> String {
    format!("map_domain_{id}")
}

/// 403 unless the user may open `source`'s migration form.
pub fn require_source(p: &Principal, source: &Tenant) -> Result<(), AppError> {
    if authz::can_migrate_rules_from(p, source) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The visible tenants matching `q` (the switcher's search) that the user could
/// migrate `source`'s rules into, never the source itself: at most `limit`.
pub async fn targets(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    source: &Tenant,
    q: &str,
    limit: usize,
) -> Result<Vec<Tenant>, AppError> {
    // Searched wider than shown: some matches are filtered out by the right.
    let found = Tenant::search(conn, &authz::visibility(p), q, 200).await?;
    Ok(found
        .into_iter()
        .filter(|t| t.id != source.id && authz::can_migrate_rules(p, source, t))
        .take(limit)
        .collect())
}

/// The target a form names (`target`, a tenant id), or the message of its field
/// error: a tenant missing and one the user may not see read the same.
pub async fn target(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    source: &Tenant,
    raw: &str,
) -> Result<Result<Tenant, String>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Err("Choose the tenant to migrate the rules to.".into()));
    }
    let unknown = || -> Result<Tenant, String> {
        Err(
            "No tenant you may migrate these rules to has this id; choose one from the search."
                .into(),
        )
    };
    let Some(id) = raw.parse::<i64>().ok().filter(|id| *id > 0) else {
        return Ok(unknown());
    };
    if id == source.id {
        return Ok(Err("Choose another tenant than the source.".into()));
    }
    let tenant = match Tenant::find(conn, id).await.optional()? {
        Some(t) if authz::can_see(p, &t) => t,
        _ => return Ok(unknown()),
    };
    if !authz::can_migrate_rules(p, source, &tenant) {
        return Ok(Err(format!(
            "You may not replace the rules of {}: it takes Owner or Administrator with Rules full there.",
            tenant.name
        )));
    }
    if let Some((lock, _)) = RuleLock::find(conn, tenant.id).await? {
        let by = lock
            .migration_id
            .map_or_else(|| lock.description.clone(), |m| format!("migration #{m}"));
        return Ok(Err(format!(
            "{} is locked by {by} since {}; a second migration cannot touch it until it is unlocked.",
            tenant.name,
            lock.since.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    Ok(Ok(tenant))
}

/// What a migration from `source` to `target` would do: the form's choices and
/// its summary.
pub struct Plan {
    pub source_applications: Vec<Application>,
    pub source_domains: Vec<Domain>,
    pub target_applications: Vec<Application>,
    pub target_domains: Vec<Domain>,
    /// The rules copied.
    pub copied: RuleCounts,
    /// The target's rules it replaces.
    pub lost: RuleCounts,
    pub source_settings: CredentialStuffing,
    /// The target's credential-stuffing settings it replaces.
    pub target_settings: CredentialStuffing,
}

/// The plan of a migration the user may start (403 otherwise).
pub async fn plan(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    source: &Tenant,
    target: &Tenant,
) -> Result<Plan, AppError> {
    if !authz::can_migrate_rules(p, source, target) {
        return Err(AppError::Forbidden);
    }
    Ok(Plan {
        source_applications: Application::all(conn, source.id).await?,
        source_domains: Domain::all(conn, source.id).await?,
        target_applications: Application::all(conn, target.id).await?,
        target_domains: Domain::all(conn, target.id).await?,
        copied: rule_counts(conn, source.id).await?,
        lost: rule_counts(conn, target.id).await?,
        source_settings: rules_model::settings(conn, source.id)
            .await?
            .unwrap_or_default(),
        target_settings: rules_model::settings(conn, target.id)
            .await?
            .unwrap_or_default(),
    })
}

impl Plan {
    /// The mapping as a form sent it to `target` (`fields`: name → value; a missing
    /// or empty value keeps the rules unbound), or each bad field's message — in
    /// the words of `start`'s checks, which the API answers with: a value that is
    /// not one of the target's ids; fields naming no source application or domain
    /// (a stale or forged form), in one message under `mappings`.
    pub fn mappings(
        &self,
        target: &Tenant,
        fields: &BTreeMap<String, String>,
    ) -> Result<Mappings, PlanErrors> {
        let mut m = Mappings::default();
        let mut errors = PlanErrors::new();
        let pick = |field: &str, allowed: &[i64]| -> Result<Option<i64>, ()> {
            match fields.get(field).map(|v| v.trim()).unwrap_or("") {
                "" => Ok(None),
                v => v
                    .parse::<i64>()
                    .ok()
                    .filter(|id| allowed.contains(id))
                    .map(Some)
                    .ok_or(()),
            }
        };
        let apps: Vec<i64> = self.target_applications.iter().map(|a| a.id).collect();
        let domains: Vec<i64> = self.target_domains.iter().map(|d| d.id).collect();
        for a in &self.source_applications {
            let field = application_field(a.id);
            match pick(&field, &apps) {
                Ok(to) => {
                    m.applications.insert(a.id, to);
                }
                Err(()) => {
                    errors.insert(field, rule_migrations::not_targets_application(target));
                }
            }
        }
        for d in &self.source_domains {
            let field = domain_field(d.id);
            match pick(&field, &domains) {
                Ok(to) => {
                    m.domains.insert(d.id, to);
                }
                Err(()) => {
                    errors.insert(field, rule_migrations::not_targets_domain(target));
                }
            }
        }
        let unknown = self.unknown_sources(fields);
        if !unknown.is_empty() {
            errors.insert(
                rule_migrations::UNKNOWN_SOURCES.to_string(),
                rule_migrations::unknown_sources(&unknown),
            );
        }
        if errors.is_empty() {
            Ok(m)
        } else {
            Err(errors)
        }
    }

    /// The mapping fields of `fields` naming no source application or domain, as
    /// [`rule_migrations::unknown_sources`] lists them: "application 77",
    /// applications first, each by id (the text after the prefix, at most 40
    /// characters, when it is no id).
    fn unknown_sources(&self, fields: &BTreeMap<String, String>) -> Vec<String> {
        let mut apps = BTreeMap::new();
        let mut domains = BTreeMap::new();
        for name in fields.keys() {
            let (rest, known, into) = if let Some(rest) = name.strip_prefix("map_application_") {
                let known = self
                    .source_applications
                    .iter()
                    .any(|a| application_field(a.id) == *name);
                (rest, known, &mut apps)
            } else if let Some(rest) = name.strip_prefix("map_domain_") {
                let known = self
                    .source_domains
                    .iter()
                    .any(|d| domain_field(d.id) == *name);
                (rest, known, &mut domains)
            } else {
                continue;
            };
            if !known {
                // Ids in numeric order; anything else after them, as sent.
                let key = rest.parse::<i64>().map_or((1, 0), |id| (0, id));
                into.insert(
                    (key, rest.to_string()),
                    rest.chars().take(40).collect::<String>(),
                );
            }
        }
        let named = |what: &str, m: BTreeMap<_, String>| {
            m.into_values()
                .map(|id| format!("{what} {id}"))
                .collect::<Vec<_>>()
        };
        let mut unknown = named("application", apps);
        unknown.extend(named("domain", domains));
        unknown
    }

    /// The mapping's default: each source application (domain) to the target's of
    /// the same name (any case), if there is one, else unbound.
    pub fn suggested(&self) -> BTreeMap<String, String> {
        let mut fields = BTreeMap::new();
        for a in &self.source_applications {
            let to = self
                .target_applications
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(&a.name))
                .map(|t| t.id.to_string());
            fields.insert(application_field(a.id), to.unwrap_or_default());
        }
        for d in &self.source_domains {
            let to = self
                .target_domains
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(&d.name))
                .map(|t| t.id.to_string());
            fields.insert(domain_field(d.id), to.unwrap_or_default());
        }
        fields
    }
}

/// A migration with its tenants (`None`: deleted since).
pub struct Seen {
    pub migration: RuleMigration,
    pub source: Option<Tenant>,
    pub target: Option<Tenant>,
    /// Who started it, as the reader may be told (`authz::actor_for`).
    pub started_by: String,
    /// The source's name as the reader may be told: once it is deleted, only as
    /// `authz::migration_source_name` allows.
    pub source_name: String,
}

impl Seen {
    /// May the user roll it back (the page shows the form)? Once the source is
    /// deleted the target's rights are enough: the rollback only touches it.
    pub fn can_roll_back(&self, p: &Principal) -> bool {
        self.target
            .as_ref()
            .is_some_and(|t| authz::can_roll_back_migration(p, self.source.as_ref(), t))
    }

    /// May the user retry it (the page shows the form)? Both tenants must exist.
    pub fn can_retry(&self, p: &Principal) -> bool {
        match (&self.source, &self.target) {
            (Some(s), Some(t)) => authz::can_migrate_rules(p, s, t),
            _ => false,
        }
    }
}

/// What is done to a failed migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Rollback,
    Retry,
}

impl Action {
    /// "rolled back", "retried".
    pub fn verb(self) -> &'static str {
        match self {
            Action::Rollback => "rolled back",
            Action::Retry => "retried",
        }
    }
}

async fn tenant(
    conn: &mut AsyncPgConnection,
    cache: &mut HashMap<i64, Option<Tenant>>,
    id: Option<i64>,
) -> Result<Option<Tenant>, AppError> {
    let Some(id) = id else { return Ok(None) };
    if let Some(t) = cache.get(&id) {
        return Ok(t.clone());
    }
    let t = Tenant::find(conn, id).await.optional()?;
    cache.insert(id, t.clone());
    Ok(t)
}

/// Who started the migration, named for `p`; `homes` caches each starter's home.
async fn starter(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    homes: &mut HashMap<i64, Option<Tenant>>,
    m: &RuleMigration,
) -> Result<String, AppError> {
    let home = match m.started_by {
        Some(uid) => match homes.get(&uid) {
            Some(home) => home.clone(),
            None => {
                let home = User::find_with_tenant(conn, uid).await?.map(|(_, t)| t);
                homes.insert(uid, home.clone());
                home
            }
        },
        None => None,
    };
    Ok(authz::actor_for(
        p,
        m.started_by,
        home.as_ref(),
        &m.started_by_login,
    ))
}

/// Migration `m` with its tenants as `p` is shown it, if `p` may see it
/// (`authz::can_see_migration`); `tenants` and `homes` cache the rows read.
async fn seen(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenants: &mut HashMap<i64, Option<Tenant>>,
    homes: &mut HashMap<i64, Option<Tenant>>,
    migration: RuleMigration,
) -> Result<Option<Seen>, AppError> {
    let source = tenant(conn, tenants, migration.source_tenant_id).await?;
    let target = tenant(conn, tenants, migration.target_tenant_id).await?;
    if !authz::can_see_migration(p, source.as_ref(), target.as_ref()) {
        return Ok(None);
    }
    let source_name = match &source {
        Some(_) => migration.source_name.clone(),
        None => authz::migration_source_name(p, migration.started_by, &migration.source_name),
    };
    Ok(Some(Seen {
        started_by: starter(conn, p, homes, &migration).await?,
        source_name,
        migration,
        source,
        target,
    }))
}

/// The migration `id` if the user may see it (404 otherwise).
pub async fn find(conn: &mut AsyncPgConnection, p: &Principal, id: i64) -> Result<Seen, AppError> {
    let migration = RuleMigration::find(conn, id).await?;
    seen(conn, p, &mut HashMap::new(), &mut HashMap::new(), migration)
        .await?
        .ok_or(AppError::NotFound)
}

/// The progress of migration `id` for a user who may follow it (404 otherwise).
pub async fn progress(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    id: i64,
) -> Result<MigrationProgress, AppError> {
    let m = RuleMigration::find(conn, id).await?;
    let mut cache = HashMap::new();
    let source = tenant(conn, &mut cache, m.source_tenant_id).await?;
    let target = tenant(conn, &mut cache, m.target_tenant_id).await?;
    if authz::can_follow_migration(p, source.as_ref(), target.as_ref()) {
        Ok(m.progress())
    } else {
        Err(AppError::NotFound)
    }
}

/// One page of the migrations the user may see, newest first: at most `limit`
/// older than `before`, and the `before` of the next page when there is one.
pub async fn page(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    before: Option<i64>,
    limit: usize,
) -> Result<(Vec<Seen>, Option<i64>), AppError> {
    const CHUNK: i64 = 200;
    let mut cache = HashMap::new();
    let mut homes = HashMap::new();
    let mut shown = Vec::new();
    let mut cursor = before;
    'scan: loop {
        let chunk = RuleMigration::older(conn, cursor, CHUNK).await?;
        let full = chunk.len() as i64 == CHUNK;
        for m in chunk {
            cursor = Some(m.id);
            if let Some(s) = seen(conn, p, &mut cache, &mut homes, m).await? {
                shown.push(s);
                if shown.len() > limit {
                    break 'scan;
                }
            }
        }
        if !full {
            break;
        }
    }
    let next = if shown.len() > limit {
        shown.truncate(limit);
        shown.last().map(|s| s.migration.id)
    } else {
        None
    };
    Ok((shown, next))
}

/// 403 unless the user may roll back or retry the migration; 409 unless it failed,
/// or when the tenant it needs was deleted (a retry needs both, a rollback only the
/// target). Asked before the confirmation, which would otherwise offer what cannot
/// be done.
pub fn require_actionable(p: &Principal, seen: &Seen, action: Action) -> Result<(), AppError> {
    let m = &seen.migration;
    if seen.target.is_none() {
        return Err(crate::services::rule_migrations::target_deleted(m));
    }
    if action == Action::Retry && seen.source.is_none() {
        return Err(crate::services::rule_migrations::source_deleted(
            m,
            &seen.source_name,
        ));
    }
    let allowed = match action {
        Action::Rollback => seen.can_roll_back(p),
        Action::Retry => seen.can_retry(p),
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    if m.state != "failed" {
        return Err(AppError::Conflict(format!(
            "Migration #{} is {}: only a failed migration can be {}.",
            m.id,
            m.progress().label(),
            action.verb()
        )));
    }
    Ok(())
}
