//! Reading the audit trail: a tenant's (or a subtree's) events, newest first, by
//! keyset on the event id.

use crate::db::schema::{audit_events, tenant_paths};
use crate::domain::activity::{ActivityFilter, ActivityScope, EventCursor};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// One recorded event, as the activity page and its exports show it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    pub actor_home_id: Option<i64>,
    pub acting_tenant_id: Option<i64>,
    pub acting_tenant_name: Option<String>,
    pub tenant_id: Option<i64>,
    pub tenant_name: Option<String>,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub client_addr: Option<String>,
}

impl AuditRow {
    /// Did the actor act in another tenant than their home (a switch-in)?
    pub fn acted_elsewhere(&self) -> bool {
        match (self.acting_tenant_id, self.actor_home_id) {
            (Some(acting), Some(home)) => acting != home,
            _ => false,
        }
    }
}

/// An event read for a page, with what deciding the reader's view of the tenants it
/// names takes: their paths now (`None` once deleted) and the event tenant's path then.
#[derive(Clone, Debug)]
pub struct AuditPageRow {
    pub event: AuditRow,
    pub tenant_path_then: Option<Vec<i64>>,
    pub tenant_path_now: Option<Vec<i64>>,
    pub acting_path_now: Option<Vec<i64>>,
}

/// A row as `page` selects it: the event, its tenant's path then, the paths now.
type PageTuple = (
    AuditRow,
    Option<Vec<Option<i64>>>,
    Option<Vec<i64>>,
    Option<Vec<i64>>,
);

diesel::alias!(tenant_paths as acting_paths: ActingPaths, tenant_paths as event_paths: EventPaths);

impl AuditRow {
    /// Up to `limit` events about `tenant_id` (or, with the subtree scope, about every
    /// tenant that was below it when the event was written) that match `filter`, newest
    /// first (by time, then id), older than `before` when given.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        filter: &ActivityFilter,
        before: Option<EventCursor>,
        limit: i64,
    ) -> QueryResult<Vec<AuditPageRow>> {
        // The named tenants' paths now, joined in (no statement per row).
        let mut q = audit_events::table
            .left_join(
                acting_paths.on(acting_paths
                    .field(tenant_paths::tenant_id)
                    .nullable()
                    .eq(audit_events::acting_tenant_id)),
            )
            .left_join(
                event_paths.on(event_paths
                    .field(tenant_paths::tenant_id)
                    .nullable()
                    .eq(audit_events::tenant_id)),
            )
            .select((
                AuditRow::as_select(),
                audit_events::tenant_path,
                event_paths.field(tenant_paths::path).nullable(),
                acting_paths.field(tenant_paths::path).nullable(),
            ))
            .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
            .limit(limit)
            .into_boxed()
            // Planned for each call, never from diesel's statement cache: whether a
            // subtree, an actor or a date range is selective decides between the
            // (occurred_at, id) index and the GIN/trigram ones, and a cached generic
            // plan cannot know it (a rare actor took 250 ms on a generic plan, 1 ms
            // on its own). A SQL literal makes the statement uncacheable.
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE"));
        q = match filter.scope {
            ActivityScope::Tenant => q.filter(audit_events::tenant_id.eq(tenant_id)),
            ActivityScope::Subtree => {
                q.filter(audit_events::tenant_path.contains(vec![Some(tenant_id)]))
            }
        };
        if let Some(c) = before {
            // (occurred_at, id) < (c.at, c.id), with the bound on the time alone
            // stated too so that it starts the index scan.
            q = q.filter(audit_events::occurred_at.le(c.at)).filter(
                audit_events::occurred_at
                    .lt(c.at)
                    .or(audit_events::id.lt(c.id)),
            );
        }
        if let Some(actor) = &filter.actor {
            q = q.filter(audit_events::actor_username.ilike(super::like_pattern(actor)));
        }
        if let Some(action) = filter.action {
            q = q.filter(audit_events::action.eq(action));
        }
        if let Some(since) = filter.since() {
            q = q.filter(audit_events::occurred_at.ge(since));
        }
        if let Some(until) = filter.until() {
            q = q.filter(audit_events::occurred_at.lt(until));
        }
        let rows: Vec<PageTuple> = q.load(conn).await?;
        Ok(rows
            .into_iter()
            .map(|(event, then, now, acting)| AuditPageRow {
                event,
                tenant_path_then: then.map(|p| p.into_iter().flatten().collect()),
                tenant_path_now: now,
                acting_path_now: acting,
            })
            .collect())
    }
}
