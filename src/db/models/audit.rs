//! The append-only audit trail.

use crate::db::schema::audit_events;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// One change: who, acting in which tenant, what, before/after, from where.
#[derive(Clone, Debug, Default)]
pub struct AuditEvent {
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    pub acting_tenant_id: Option<i64>,
    pub tenant_id: Option<i64>,
    pub action: &'static str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub client_addr: Option<String>,
}

impl AuditEvent {
    pub async fn record(&self, conn: &mut AsyncPgConnection) -> QueryResult<usize> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::actor_user_id.eq(self.actor_user_id),
                audit_events::actor_username.eq(&self.actor_username),
                audit_events::acting_tenant_id.eq(self.acting_tenant_id),
                audit_events::tenant_id.eq(self.tenant_id),
                audit_events::action.eq(self.action),
                audit_events::before.eq(&self.before),
                audit_events::after.eq(&self.after),
                audit_events::client_addr.eq(&self.client_addr),
            ))
            .execute(conn)
            .await
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
