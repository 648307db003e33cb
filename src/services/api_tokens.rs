//! Personal API tokens: created (the secret shown once), listed and revoked by their
//! owner or by an administrator who may change the owner, and all revoked at once
//! when the owner's password is reset, the owner is disabled or logs out everywhere.
//! Each change audited.

use super::Actor;
use crate::auth::tokens::{self, API_TOKEN_PREFIX};
use crate::db::models::api_token::{ApiToken, NewApiToken, Revocation};
use crate::db::models::User;
use crate::domain::activity::Action;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// A valid new token request.
#[derive(Clone, Debug)]
pub struct TokenFields {
    pub name: String,
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Tokens expire at most this many days ahead (or never, when no date is given).
pub const MAX_DAYS: i64 = 5 * 366;

/// Creates a token for `user_id`; returns it with its secret, which is never stored.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user_id: i64,
    fields: &TokenFields,
) -> Result<(ApiToken, String), AppError> {
    insert(conn, actor, user_id, None, fields).await
}

/// [`create`] from a console session of the user at `session_epoch`: refused (login
/// required) once that session has ended, so a token cannot be made by a session
/// that a password reset, a disable or "log out everywhere" is ending at this moment
/// (their revocation would miss it).
pub async fn create_in_session(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user_id: i64,
    session_epoch: i32,
    fields: &TokenFields,
) -> Result<(ApiToken, String), AppError> {
    insert(conn, actor, user_id, Some(session_epoch), fields).await
}

async fn insert(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user_id: i64,
    session_epoch: Option<i32>,
    fields: &TokenFields,
) -> Result<(ApiToken, String), AppError> {
    let secret = tokens::generate_api_token();
    let prefix: String = secret.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
    let token_hash = tokens::stored_hash(&secret);
    conn.transaction(async |conn| {
        // API access is a plan option of the owner's home tenant (`services::plans`),
        // its path held: a move or plan switch judging its tokens waits for this.
        let home = User::home_of(conn, user_id).await?;
        let (_, refusal) = crate::services::plans::lock_for_option(
            conn,
            home,
            crate::domain::plan::PlanOption::ApiAccess,
            false,
        )
        .await?;
        if let Some(reason) = refusal {
            return Err(AppError::field(
                "name",
                format!("API access: {reason} The tokens of users homed there do not work."),
            ));
        }
        if let Some(epoch) = session_epoch {
            // The changes that end sessions lock this row too: either they wait for
            // this token (and revoke it) or this sees their new epoch.
            let owner = User::lock(conn, user_id).await?;
            if !owner.enabled || owner.session_epoch != epoch {
                return Err(AppError::LoginRequired { next: None });
            }
        }
        let token = NewApiToken {
            user_id,
            name: &fields.name,
            token_hash: &token_hash,
            prefix: &prefix,
            read_only: fields.read_only,
            expires_at: fields.expires_at,
        }
        .insert(conn)
        .await?;
        let mut event = actor.event(Action::ApiTokenCreate, actor.acting_tenant_id);
        event.after = Some(serde_json::json!({
            "token_id": token.id, "name": token.name, "read_only": token.read_only,
            "expires_at": token.expires_at, "user_id": user_id,
        }));
        event.record(conn).await?;
        Ok((token, secret))
    })
    .await
}

/// Revokes one of the user's own tokens: 404 for anyone else's or an unknown id.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user_id: i64,
    id: i64,
) -> Result<ApiToken, AppError> {
    let tenant = actor.acting_tenant_id;
    revoke_one(conn, actor, user_id, tenant, id, Revocation::Owner)
        .await
        .map(|(token, _)| token)
}

/// Revokes a token of `owner` for an administrator (the caller checked that the actor
/// may change `owner`): 404 for a token of anyone else or an unknown id. Returns the
/// token and whether it was still unrevoked.
pub async fn revoke_for_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    owner: &User,
    id: i64,
) -> Result<(ApiToken, bool), AppError> {
    let reason = if actor.user_id == Some(owner.id) {
        Revocation::Owner
    } else {
        Revocation::Administrator
    };
    revoke_one(conn, actor, owner.id, Some(owner.tenant_id), id, reason).await
}

async fn revoke_one(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user_id: i64,
    tenant_id: Option<i64>,
    id: i64,
    reason: Revocation,
) -> Result<(ApiToken, bool), AppError> {
    conn.transaction(async |conn| {
        let token = ApiToken::find_own(conn, user_id, id).await?;
        let changed = ApiToken::revoke(conn, user_id, id, reason).await?;
        if changed {
            let mut event = actor.event(Action::ApiTokenRevoke, tenant_id);
            event.before = Some(serde_json::json!({
                "token_id": token.id, "name": token.name, "user_id": user_id,
            }));
            event.after = Some(serde_json::json!({ "reason": reason.as_str() }));
            event.record(conn).await?;
        }
        Ok((token, changed))
    })
    .await
}

/// Revokes every token of `user` for good, inside the caller's transaction (so the
/// password reset, disable or logout that calls for it and the revocation happen
/// together); one audit event lists them. Returns how many were revoked.
pub async fn revoke_all(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: &User,
    reason: Revocation,
) -> Result<usize, AppError> {
    let revoked = ApiToken::revoke_all(conn, user.id, reason).await?;
    if !revoked.is_empty() {
        let mut event = actor.event(Action::ApiTokenRevokeAll, Some(user.tenant_id));
        event.before = Some(serde_json::json!({
            "user_id": user.id,
            "tokens": revoked
                .iter()
                .map(|(id, name)| serde_json::json!({ "token_id": id, "name": name }))
                .collect::<Vec<_>>(),
        }));
        event.after = Some(serde_json::json!({ "reason": reason.as_str() }));
        event.record(conn).await?;
    }
    Ok(revoked.len())
}
