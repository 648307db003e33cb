//! Operations that span several rows in one transaction, each audited.

pub mod api_tokens;
pub mod bootstrap;
pub mod demo;
pub mod grants;
pub mod invitations;
pub mod roles;
pub mod tenants;
pub mod users;

/// Who performs a change, for the audit trail.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// `subdomain\username`, kept even after the user is gone.
    pub login: String,
    pub acting_tenant_id: Option<i64>,
    pub client_addr: Option<String>,
}

impl Actor {
    pub fn system(what: &str) -> Self {
        Self {
            user_id: None,
            login: format!("system:{what}"),
            acting_tenant_id: None,
            client_addr: None,
        }
    }

    pub fn event(
        &self,
        action: &'static str,
        tenant_id: Option<i64>,
    ) -> crate::db::models::AuditEvent {
        crate::db::models::AuditEvent {
            actor_user_id: self.user_id,
            actor_username: self.login.clone(),
            acting_tenant_id: self.acting_tenant_id,
            tenant_id,
            action,
            // "From where" of every audited change (DESIGN §10).
            client_addr: self.client_addr.clone(),
            ..Default::default()
        }
    }
}
