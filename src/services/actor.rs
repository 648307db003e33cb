//! Who performs a change, for the audit trail: every way an actor comes to be.

use crate::auth::Principal;
use crate::db::models::{Tenant, User};
use crate::domain::activity::Action;

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
    /// The application itself (bootstrap, demo data, the outbox worker).
    pub fn system(what: &str) -> Self {
        Self {
            user_id: None,
            login: format!("system:{what}"),
            acting_tenant_id: None,
            client_addr: None,
        }
    }

    /// A signed-in user acting in `acting_tenant_id` (their home or a tenant switched into).
    pub fn user(principal: &Principal, acting_tenant_id: i64, client_addr: Option<String>) -> Self {
        Self {
            user_id: Some(principal.user.id),
            login: principal.login(),
            acting_tenant_id: Some(acting_tenant_id),
            client_addr,
        }
    }

    /// A user through one of their personal API tokens, in their home tenant.
    pub fn api_token(principal: &Principal, token_id: i64, client_addr: Option<String>) -> Self {
        Self {
            login: crate::domain::token_login(&principal.login(), token_id),
            ..Self::user(principal, principal.home.id, client_addr)
        }
    }

    /// A user just authenticated or created, in their home tenant, before a
    /// [`Principal`] is loaded.
    pub fn account(user: &User, home: &Tenant, client_addr: Option<String>) -> Self {
        Self {
            user_id: Some(user.id),
            login: crate::domain::login_name(&home.subdomain, &user.username),
            acting_tenant_id: Some(home.id),
            client_addr,
        }
    }

    /// Someone without an account here (yet): the name is what they claimed or
    /// were invited as.
    pub fn anonymous(login: String, client_addr: Option<String>) -> Self {
        Self {
            user_id: None,
            login,
            acting_tenant_id: None,
            client_addr,
        }
    }

    /// An audit event by this actor; the caller adds before/after and records it.
    pub fn event(&self, action: Action, tenant_id: Option<i64>) -> crate::db::models::AuditEvent {
        crate::db::models::AuditEvent {
            actor_user_id: self.user_id,
            actor_username: self.login.clone(),
            acting_tenant_id: self.acting_tenant_id,
            tenant_id,
            action,
            // "From where" of every audited change (DESIGN §10).
            client_addr: self.client_addr.clone(),
            before: None,
            after: None,
        }
    }
}
