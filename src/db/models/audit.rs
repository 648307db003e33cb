//! The append-only audit trail.

use crate::db::schema::audit_events;
use crate::domain::activity::Action;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// One change: who, acting in which tenant, what (one of the catalogue's actions),
/// before/after, from where.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    pub acting_tenant_id: Option<i64>,
    pub tenant_id: Option<i64>,
    pub action: Action,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub client_addr: Option<String>,
}

impl AuditEvent {
    pub async fn record(&self, conn: &mut AsyncPgConnection) -> QueryResult<usize> {
        Self::record_many(conn, std::slice::from_ref(self)).await
    }

    /// Records events with one INSERT per thousand.
    pub async fn record_many(
        conn: &mut AsyncPgConnection,
        events: &[AuditEvent],
    ) -> QueryResult<usize> {
        let mut n = 0;
        for chunk in events.chunks(1000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|e| {
                    (
                        audit_events::actor_user_id.eq(e.actor_user_id),
                        audit_events::actor_username.eq(&e.actor_username),
                        audit_events::acting_tenant_id.eq(e.acting_tenant_id),
                        audit_events::tenant_id.eq(e.tenant_id),
                        audit_events::action.eq(e.action.as_str()),
                        audit_events::before.eq(&e.before),
                        audit_events::after.eq(&e.after),
                        audit_events::client_addr.eq(&e.client_addr),
                    )
                })
                .collect();
            n += diesel::insert_into(audit_events::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        Ok(n)
    }

    /// Actions recorded for a tenant, newest first (for tests and the audit page).
    pub async fn actions_for_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Vec<String>> {
        audit_events::table
            .filter(audit_events::tenant_id.eq(tenant_id))
            .order(audit_events::id.desc())
            .select(audit_events::action)
            .load(conn)
            .await
    }
}
