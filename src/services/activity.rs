//! The activity of a tenant: its audit events as the page, the CSV export and the API
//! read them (the read side of the audit trail; `services::actor` writes it).

use crate::auth::{authz, Principal};
use crate::db::models::audit_log::AuditRow;
use crate::db::models::Tenant;
use crate::domain::activity::{ActivityFilter, ActivityScope, EventCursor};
use crate::error::AppError;
use diesel_async::AsyncPgConnection;

/// Events per page of the activity page.
pub const PAGE_SIZE: i64 = 50;

/// Events read per statement by the CSV export.
pub const EXPORT_CHUNK: i64 = 500;

/// One page of events, newest first.
#[derive(Debug)]
pub struct ActivityPage {
    pub events: Vec<AuditRow>,
    /// Where to read on from (`before`), when older events match too.
    pub next: Option<EventCursor>,
}

/// The right to read the events `filter` selects about one tenant, decided once:
/// a reader exists only when `authz` allowed it, so the export's later chunks need no
/// second decision.
#[derive(Clone, Debug)]
pub struct Reader {
    tenant_id: i64,
    filter: ActivityFilter,
}

impl Reader {
    /// 403 unless the principal may read the tenant's activity in the filter's scope.
    pub fn new(p: &Principal, tenant: &Tenant, filter: ActivityFilter) -> Result<Self, AppError> {
        authz::require_activity(p, tenant, filter.scope == ActivityScope::Subtree)?;
        Ok(Reader {
            tenant_id: tenant.id,
            filter,
        })
    }

    /// Up to `limit` events older than `before` (the newest without it).
    pub async fn read(
        &self,
        conn: &mut AsyncPgConnection,
        before: Option<EventCursor>,
        limit: i64,
    ) -> Result<ActivityPage, AppError> {
        let mut events =
            AuditRow::page(conn, self.tenant_id, &self.filter, before, limit + 1).await?;
        let more = events.len() as i64 > limit;
        events.truncate(usize::try_from(limit).unwrap_or(0));
        let next = if more {
            events.last().map(|e| EventCursor {
                at: e.occurred_at,
                id: e.id,
            })
        } else {
            None
        };
        Ok(ActivityPage { events, next })
    }
}

/// One page of the tenant's activity for the principal: 403 without Audit read there
/// (or, for the subtree, without a grant reaching it).
pub async fn page(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    filter: &ActivityFilter,
    before: Option<EventCursor>,
    limit: i64,
) -> Result<ActivityPage, AppError> {
    Reader::new(p, tenant, filter.clone())?
        .read(conn, before, limit)
        .await
}
