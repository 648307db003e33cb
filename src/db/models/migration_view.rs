//! What the migration pages read beyond the job itself (issue #13, part B): the
//! rule counts of the preview, the list of migrations in pages, a job's progress.

use super::rule_migration::RuleMigration;
use crate::db::schema::{rule_migrations, rules};
use crate::domain::rules::MigrationProgress;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A tenant's current rules: how many, and how many of them enabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleCounts {
    pub total: i64,
    pub enabled: i64,
}

/// The tenant's current rules counted (the migration's preview).
pub async fn rule_counts(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<RuleCounts> {
    let rows: Vec<(bool, i64)> = rules::table
        .filter(super::rules::current_of(tenant_id))
        .group_by(rules::enabled)
        .select((rules::enabled, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .fold(RuleCounts::default(), |mut c, (enabled, n)| {
            c.total += n;
            if enabled {
                c.enabled += n;
            }
            c
        }))
}

impl RuleMigration {
    /// Migrations older than `before` (all when `None`), newest first, at most `limit`.
    pub async fn older(
        conn: &mut AsyncPgConnection,
        before: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        let mut q = rule_migrations::table
            .select(Self::as_select())
            .order(rule_migrations::id.desc())
            .limit(limit)
            .into_boxed();
        if let Some(before) = before {
            q = q.filter(rule_migrations::id.lt(before));
        }
        q.load(conn).await
    }

    /// How far it is, as the pages show it.
    pub fn progress(&self) -> MigrationProgress {
        MigrationProgress {
            id: self.id,
            state: self.state.clone(),
            copied: self.copied,
            total: self.total,
        }
    }
}
