//! A tenant's protection configuration (migration `rules`): applications, domains,
//! rules as temporal rows, credential-stuffing settings, the rule set's head and
//! versions, and the lock rows. Every query is scoped by tenant: an id from another
//! tenant is simply not found.
//!
//! Rules belong to generations (migration `rule_generations`): the head names the
//! current one, each version the one it reads. Reads and edits work in the current
//! generation; a migration fills a new one and its swap moves the head to it.

use crate::db::models::Tenant;
use crate::db::schema::{
    applications, credential_stuffing, domains, rule_locks, rule_set_versions, rule_sets, rules,
    tenant_paths, tenants, users,
};
use crate::domain::rules::{CredentialStuffing, RuleAction, RuleInput, RuleKind, VersionKind};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{lower, tenant_owned};

#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = applications, check_for_backend(Pg))]
pub struct Application {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = domains, check_for_backend(Pg))]
pub struct Domain {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub application_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of a rule's history: its content from version `valid_from` until
/// `valid_to` (`None`: current).
#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = rules, check_for_backend(Pg))]
pub struct RuleRow {
    pub row_id: i64,
    pub rule_id: i64,
    pub tenant_id: i64,
    pub kind: RuleKind,
    pub application_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub path: Option<String>,
    pub value: String,
    pub action: RuleAction,
    pub enabled: bool,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
}

impl RuleRow {
    /// The rule's content (what a version compares and a restore copies).
    pub fn content(&self) -> RuleInput {
        RuleInput {
            kind: self.kind,
            application_id: self.application_id,
            domain_id: self.domain_id,
            path: self.path.clone(),
            value: self.value.clone(),
            action: self.action,
            enabled: self.enabled,
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = rule_set_versions, check_for_backend(Pg))]
pub struct RuleSetVersion {
    pub tenant_id: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_login: String,
    pub kind: VersionKind,
    pub summary: String,
    pub settings: serde_json::Value,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = rule_locks, check_for_backend(Pg))]
pub struct RuleLock {
    pub tenant_id: i64,
    pub migration_id: Option<i64>,
    pub locked_by: Option<i64>,
    pub since: DateTime<Utc>,
    pub description: String,
}

// ---------------------------------------------------------------- applications

tenant_owned!(Application, applications, name = name);
tenant_owned!(Domain, domains);

impl Application {
    /// The tenant's applications by name.
    pub async fn all(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<Vec<Self>> {
        applications::table
            .filter(applications::tenant_id.eq(tenant_id))
            .order((lower(applications::name), applications::id))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        name: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::insert_into(applications::table)
            .values((
                applications::tenant_id.eq(tenant_id),
                applications::name.eq(name),
                applications::created_at.eq(now),
                applications::updated_at.eq(now),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn rename(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
        name: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            applications::table
                .filter(applications::tenant_id.eq(tenant_id))
                .filter(applications::id.eq(id)),
        )
        .set((
            applications::name.eq(name),
            applications::updated_at.eq(now),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }
}

// ---------------------------------------------------------------- domains

impl Domain {
    /// The tenant's domains by name.
    pub async fn all(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<Vec<Self>> {
        domains::table
            .filter(domains::tenant_id.eq(tenant_id))
            .order((domains::name, domains::id))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    pub async fn name_taken(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        name: &str,
        except: Option<i64>,
    ) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            domains::table
                .filter(domains::tenant_id.eq(tenant_id))
                .filter(domains::name.eq(name))
                .filter(domains::id.ne(except.unwrap_or(0))),
        ))
        .get_result(conn)
        .await
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        name: &str,
        application_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::insert_into(domains::table)
            .values((
                domains::tenant_id.eq(tenant_id),
                domains::name.eq(name),
                domains::application_id.eq(application_id),
                domains::created_at.eq(now),
                domains::updated_at.eq(now),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
        name: &str,
        application_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            domains::table
                .filter(domains::tenant_id.eq(tenant_id))
                .filter(domains::id.eq(id)),
        )
        .set((
            domains::name.eq(name),
            domains::application_id.eq(application_id),
            domains::updated_at.eq(now),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }
}

// ---------------------------------------------------------------- rules

/// The rules list's filters (all optional).
#[derive(Clone, Debug, Default)]
pub struct RuleFilter {
    pub kind: Option<RuleKind>,
    pub action: Option<RuleAction>,
    pub enabled: Option<bool>,
    pub application_id: Option<i64>,
    pub domain_id: Option<i64>,
    /// Contained in the value or the path (any case).
    pub q: Option<String>,
}

type BoxedRules<'a> = rules::BoxedQuery<'a, Pg>;

/// The tenant's current generation (0 before its head exists: it has no rules).
pub async fn current_generation(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<i64> {
    Ok(rule_sets::table
        .find(tenant_id)
        .select(rule_sets::generation)
        .get_result(conn)
        .await
        .optional()?
        .unwrap_or(0))
}

/// The tenant's current rules (the open rows of its current generation), as a
/// filter on `rules`: what every read of "the rules now" uses.
pub fn current_of(
    tenant_id: i64,
) -> Box<dyn BoxableExpression<rules::table, Pg, SqlType = Nullable<Bool>>> {
    Box::new(
        rules::tenant_id
            .eq(tenant_id)
            .nullable()
            .and(
                rules::generation.nullable().eq(rule_sets::table
                    .filter(rule_sets::tenant_id.eq(tenant_id))
                    .select(rule_sets::generation)
                    .single_value()),
            )
            .and(rules::valid_to.is_null()),
    )
}

impl RuleRow {
    /// The rows of the tenant's rule set: current now (`at: None`: the current
    /// generation's open rows), or valid at version `at` (that version's
    /// generation's rows from `valid_from` until before `valid_to`; none for
    /// version 0). Every query of a set of rules starts here.
    fn set_of(tenant_id: i64, at: Option<i64>) -> BoxedRules<'static> {
        match at {
            None => rules::table.filter(current_of(tenant_id)).into_boxed(),
            Some(v) => rules::table
                .filter(rules::tenant_id.eq(tenant_id))
                .into_boxed()
                .filter(
                    rules::generation.nullable().eq(rule_set_versions::table
                        .filter(rule_set_versions::tenant_id.eq(tenant_id))
                        .filter(rule_set_versions::version.eq(v))
                        .select(rule_set_versions::generation)
                        .single_value()),
                )
                .filter(rules::valid_from.le(v))
                .filter(rules::valid_to.is_null().or(rules::valid_to.gt(v))),
        }
    }

    /// The whole set (see [`Self::set_of`]), by rule id.
    async fn load_set(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        at: Option<i64>,
    ) -> QueryResult<Vec<Self>> {
        Self::set_of(tenant_id, at)
            .order(rules::rule_id)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    fn filtered(tenant_id: i64, f: &RuleFilter) -> BoxedRules<'static> {
        let mut q = Self::set_of(tenant_id, None);
        if let Some(kind) = f.kind {
            q = q.filter(rules::kind.eq(kind));
        }
        if let Some(action) = f.action {
            q = q.filter(rules::action.eq(action));
        }
        if let Some(enabled) = f.enabled {
            q = q.filter(rules::enabled.eq(enabled));
        }
        if let Some(id) = f.application_id {
            q = q.filter(rules::application_id.eq(id));
        }
        if let Some(id) = f.domain_id {
            q = q.filter(rules::domain_id.eq(id));
        }
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = super::like_pattern(text);
            q = q.filter(
                rules::value
                    .ilike(pattern.clone())
                    .or(rules::path.ilike(pattern).assume_not_null()),
            );
        }
        q
    }

    /// The tenant's current rules matching `f`, by rule id: how many, and page
    /// `page_no` (from 1) of `per_page`.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        f: &RuleFilter,
        page_no: i64,
        per_page: i64,
    ) -> QueryResult<(i64, Vec<Self>)> {
        let total = Self::filtered(tenant_id, f)
            .count()
            .get_result(conn)
            .await?;
        let rows = Self::filtered(tenant_id, f)
            .order(rules::rule_id)
            .offset((page_no - 1) * per_page)
            .limit(per_page)
            .select(Self::as_select())
            .load(conn)
            .await?;
        Ok((total, rows))
    }

    /// A page of the tenant's current rules by rule id, after `after` (the API).
    pub async fn page(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        Self::set_of(tenant_id, None)
            .filter(rules::rule_id.gt(after.unwrap_or(0)))
            .order(rules::rule_id)
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Every current rule of the tenant, by rule id.
    pub async fn current(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<Vec<Self>> {
        Self::load_set(conn, tenant_id, None).await
    }

    /// The rule set at `version`: the rows valid then, by rule id.
    pub async fn at_version(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        version: i64,
    ) -> QueryResult<Vec<Self>> {
        Self::load_set(conn, tenant_id, Some(version)).await
    }

    /// The current row of rule `rule_id` of the tenant.
    pub async fn find_current(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        rule_id: i64,
    ) -> QueryResult<Self> {
        Self::set_of(tenant_id, None)
            .filter(rules::rule_id.eq(rule_id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Inserts rules valid from `version` into the tenant's current generation:
    /// each under its given rule id (an edit, a restore) or a new one (`None`).
    /// Returns them in order.
    pub async fn insert_many(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        items: &[(Option<i64>, &RuleInput)],
        version: i64,
    ) -> QueryResult<Vec<Self>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let generation = current_generation(conn, tenant_id).await?;
        let values: Vec<_> = items
            .iter()
            .map(|(rule_id, r)| {
                (
                    rule_id.map(|id| rules::rule_id.eq(id)),
                    rules::tenant_id.eq(tenant_id),
                    rules::generation.eq(generation),
                    rules::kind.eq(r.kind),
                    rules::application_id.eq(r.application_id),
                    rules::domain_id.eq(r.domain_id),
                    rules::path.eq(r.path.as_deref()),
                    rules::value.eq(r.value.as_str()),
                    rules::action.eq(r.action),
                    rules::enabled.eq(r.enabled),
                    rules::valid_from.eq(version),
                )
            })
            .collect();
        let mut rows: Vec<Self> = diesel::insert_into(rules::table)
            .values(values)
            .returning(Self::as_returning())
            .get_results(conn)
            .await?;
        // RETURNING follows the VALUES order in practice; sort by row id to rely on
        // nothing but the serial, which is assigned in that order.
        rows.sort_by_key(|r| r.row_id);
        Ok(rows)
    }

    /// Closes the current rows of `rule_ids` at `version` (an edit or a delete).
    pub async fn close(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        rule_ids: &[i64],
        version: i64,
    ) -> QueryResult<usize> {
        let generation = current_generation(conn, tenant_id).await?;
        diesel::update(
            rules::table
                .filter(rules::tenant_id.eq(tenant_id))
                .filter(rules::generation.eq(generation))
                .filter(rules::valid_to.is_null())
                .filter(rules::rule_id.eq_any(rule_ids)),
        )
        .set(rules::valid_to.eq(version))
        .execute(conn)
        .await
    }

    /// How many current rules name the application.
    pub async fn count_using_application(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        application_id: i64,
    ) -> QueryResult<i64> {
        Self::set_of(tenant_id, None)
            .filter(rules::application_id.eq(application_id))
            .count()
            .get_result(conn)
            .await
    }

    /// How many current rules name the domain with an application other than
    /// `application_id` (rules naming no application take any).
    pub async fn count_using_domain_elsewhere(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        domain_id: i64,
        application_id: i64,
    ) -> QueryResult<i64> {
        Self::set_of(tenant_id, None)
            .filter(rules::domain_id.eq(domain_id))
            .filter(rules::application_id.ne(application_id))
            .count()
            .get_result(conn)
            .await
    }

    /// How many current rules name the domain.
    pub async fn count_using_domain(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        domain_id: i64,
    ) -> QueryResult<i64> {
        Self::set_of(tenant_id, None)
            .filter(rules::domain_id.eq(domain_id))
            .count()
            .get_result(conn)
            .await
    }
}

// ---------------------------------------------------------------- head and versions

/// Locks the tenant's rule-set head (created at version 0 on first use) and
/// returns its version. Every writer takes it first: changes of one tenant's rule
/// configuration run one after the other.
pub async fn lock_head(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    diesel::insert_into(rule_sets::table)
        .values((
            rule_sets::tenant_id.eq(tenant_id),
            rule_sets::version.eq(0),
            rule_sets::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    rule_sets::table
        .find(tenant_id)
        .select(rule_sets::version)
        .for_update()
        .get_result(conn)
        .await
}

/// The tenant's current version (0: never changed). No lock.
pub async fn head_version(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<i64> {
    Ok(rule_sets::table
        .find(tenant_id)
        .select(rule_sets::version)
        .get_result(conn)
        .await
        .optional()?
        .unwrap_or(0))
}

/// A new version of the tenant's rule set.
pub struct NewVersion<'a> {
    pub version: i64,
    /// The generation the head moves to with it (a migration's swap); `None`: the
    /// head's current one.
    pub generation: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub actor_login: &'a str,
    pub kind: VersionKind,
    pub summary: &'a str,
    pub settings: serde_json::Value,
}

impl RuleSetVersion {
    /// Moves the (locked) head to `v` (and its generation) and records `v`
    /// reading that generation.
    pub async fn record(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        v: NewVersion<'_>,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        let head = diesel::update(rule_sets::table.find(tenant_id));
        let moved = (
            rule_sets::version.eq(v.version),
            rule_sets::updated_at.eq(now),
        );
        let generation: i64 = match v.generation {
            Some(g) => {
                head.set((moved, rule_sets::generation.eq(g)))
                    .returning(rule_sets::generation)
                    .get_result(conn)
                    .await?
            }
            None => {
                head.set(moved)
                    .returning(rule_sets::generation)
                    .get_result(conn)
                    .await?
            }
        };
        diesel::insert_into(rule_set_versions::table)
            .values((
                rule_set_versions::tenant_id.eq(tenant_id),
                rule_set_versions::version.eq(v.version),
                rule_set_versions::generation.eq(generation),
                rule_set_versions::created_at.eq(now),
                rule_set_versions::actor_user_id.eq(v.actor_user_id),
                rule_set_versions::actor_login.eq(v.actor_login),
                rule_set_versions::kind.eq(v.kind),
                rule_set_versions::summary.eq(v.summary),
                rule_set_versions::settings.eq(v.settings),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The tenant's versions, newest first: how many, and page `page_no` (from 1),
    /// each with the home tenant of the user who made it (`None`: the application
    /// itself, or a user since deleted), by which a reader is told who it was.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        page_no: i64,
        per_page: i64,
    ) -> QueryResult<(i64, Vec<(Self, Option<Tenant>)>)> {
        let total = rule_set_versions::table
            .filter(rule_set_versions::tenant_id.eq(tenant_id))
            .count()
            .get_result(conn)
            .await?;
        let rows = rule_set_versions::table
            .left_join(users::table.on(users::id.nullable().eq(rule_set_versions::actor_user_id)))
            .left_join(tenants::table.on(tenants::id.eq(users::tenant_id)))
            .left_join(tenant_paths::table.on(tenant_paths::tenant_id.eq(tenants::id)))
            .filter(rule_set_versions::tenant_id.eq(tenant_id))
            .order(rule_set_versions::version.desc())
            .offset((page_no - 1) * per_page)
            .limit(per_page)
            .select((Self::as_select(), Option::<Tenant>::as_select()))
            .load(conn)
            .await?;
        Ok((total, rows))
    }

    /// The tenant's edits after version `after` up to `upto`, oldest first (at
    /// most `limit`).
    pub async fn edits_between(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        rule_set_versions::table
            .filter(rule_set_versions::tenant_id.eq(tenant_id))
            .filter(rule_set_versions::version.gt(after))
            .filter(rule_set_versions::version.le(upto))
            .filter(rule_set_versions::kind.eq("edit"))
            .order(rule_set_versions::version.asc())
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    pub async fn find(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        version: i64,
    ) -> QueryResult<Self> {
        rule_set_versions::table
            .find((tenant_id, version))
            .select(Self::as_select())
            .first(conn)
            .await
    }
}

// ---------------------------------------------------------------- settings

/// The tenant's saved credential-stuffing settings (`None`: never saved, the defaults).
pub async fn settings(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
) -> QueryResult<Option<CredentialStuffing>> {
    let row: Option<(bool, i32, i32, Vec<Option<String>>)> = credential_stuffing::table
        .find(tenant_id)
        .select((
            credential_stuffing::enabled,
            credential_stuffing::threshold,
            credential_stuffing::window_minutes,
            credential_stuffing::login_paths,
        ))
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(
        |(enabled, threshold, window_minutes, paths)| CredentialStuffing {
            enabled,
            threshold,
            window_minutes,
            login_paths: paths.into_iter().flatten().collect(),
        },
    ))
}

/// Saves the tenant's credential-stuffing settings.
pub async fn save_settings(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    s: &CredentialStuffing,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let values = (
        credential_stuffing::tenant_id.eq(tenant_id),
        credential_stuffing::enabled.eq(s.enabled),
        credential_stuffing::threshold.eq(s.threshold),
        credential_stuffing::window_minutes.eq(s.window_minutes),
        credential_stuffing::login_paths.eq(&s.login_paths),
        credential_stuffing::updated_at.eq(now),
    );
    diesel::insert_into(credential_stuffing::table)
        .values(values)
        .on_conflict(credential_stuffing::tenant_id)
        .do_update()
        .set((
            credential_stuffing::enabled.eq(s.enabled),
            credential_stuffing::threshold.eq(s.threshold),
            credential_stuffing::window_minutes.eq(s.window_minutes),
            credential_stuffing::login_paths.eq(&s.login_paths),
            credential_stuffing::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- locks

/// A lock with its holder's subdomain, username and home tenant id.
type LockRow = (RuleLock, Option<String>, Option<String>, Option<i64>);

impl RuleLock {
    /// The tenant's lock, if any, with its holder's login (`subdomain\username`)
    /// and home tenant id (who may be told the login depends on it).
    pub async fn find(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Option<(Self, Option<(String, i64)>)>> {
        let row: Option<LockRow> = rule_locks::table
            .left_join(users::table.on(users::id.nullable().eq(rule_locks::locked_by)))
            .left_join(tenants::table.on(tenants::id.eq(users::tenant_id)))
            .filter(rule_locks::tenant_id.eq(tenant_id))
            .select((
                Self::as_select(),
                tenants::subdomain.nullable(),
                users::username.nullable(),
                users::tenant_id.nullable(),
            ))
            .first(conn)
            .await
            .optional()?;
        Ok(row.map(|(lock, sub, user, home)| {
            let login = sub
                .zip(user)
                .zip(home)
                .map(|((s, u), h)| (crate::domain::login_name(&s, &u), h));
            (lock, login)
        }))
    }

    /// Inserts a lock row (part B's migrations, and the tests' helper).
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        migration_id: Option<i64>,
        locked_by: Option<i64>,
        description: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::insert_into(rule_locks::table)
            .values((
                rule_locks::tenant_id.eq(tenant_id),
                rule_locks::migration_id.eq(migration_id),
                rule_locks::locked_by.eq(locked_by),
                rule_locks::since.eq(now),
                rule_locks::description.eq(description),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }
}
