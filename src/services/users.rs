//! Users of a tenant: create, edit, enable/disable, delete, reset or change a
//! password, log out everywhere — each change in one transaction with its audit event.
//! A password reset, a disable and "log out everywhere" also revoke the user's API
//! tokens for good, in the same transaction.

use super::{api_tokens, Actor};
use crate::db::models::api_token::Revocation;
use crate::db::models::user::UserFields;
use crate::db::models::User;
use crate::db::set_lock_timeout;
use crate::domain::account::{GbLimit, PersonName};
use crate::domain::email::Email;
use crate::domain::UserSource;
use crate::domain::Username;
use crate::error::{AppError, FieldErrors};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// The field error for a change to a field an identity source manages.
pub const MANAGED: &str = "Managed by the identity source; change it there.";
/// The field error for a taken username.
pub const TAKEN: &str = "This username is already taken in this tenant.";

/// A user's own identity fields, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub username: Username,
    /// `None`: no email. Only users made before email was required (the first
    /// administrator) keep none, until someone enters one.
    pub email: Option<Email>,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

/// What both a create and an edit set besides the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSettings {
    /// A role of the user's own tenant; `None`: no rights there (visibility only).
    pub role_id: Option<i64>,
    pub enabled: bool,
    pub storage_limit_gb: GbLimit,
    pub memory_limit_gb: GbLimit,
}

/// A new local user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    pub identity: Identity,
    pub settings: UserSettings,
}

/// An edit of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserChange {
    /// `None` keeps the stored identity: an identity source manages it.
    pub identity: Option<Identity>,
    pub settings: UserSettings,
}

impl Identity {
    fn into_fields(self, settings: UserSettings) -> UserFields {
        UserFields {
            username: self.username.into_inner(),
            email: self.email.map(Email::into_inner).unwrap_or_default(),
            first_name: self.first_name.into_inner(),
            last_name: self.last_name.into_inner(),
            role_id: settings.role_id,
            enabled: settings.enabled,
            storage_limit_gb: settings.storage_limit_gb.get(),
            memory_limit_gb: settings.memory_limit_gb.get(),
        }
    }
}

impl UserChange {
    /// The fields to store over `stored`.
    fn into_fields(self, stored: &User) -> UserFields {
        match self.identity {
            Some(identity) => identity.into_fields(self.settings),
            None => UserFields {
                role_id: self.settings.role_id,
                enabled: self.settings.enabled,
                storage_limit_gb: self.settings.storage_limit_gb.get(),
                memory_limit_gb: self.settings.memory_limit_gb.get(),
                ..UserFields::of(stored)
            },
        }
    }
}

/// What the audit trail keeps of a user: never the password or its hash.
fn snapshot(u: &User) -> serde_json::Value {
    serde_json::json!({
        "id": u.id, "tenant_id": u.tenant_id, "username": u.username, "email": u.email,
        "first_name": u.first_name, "last_name": u.last_name, "role_id": u.role_id,
        "enabled": u.enabled, "source": u.source,
        "storage_limit_gb": u.storage_limit_gb, "memory_limit_gb": u.memory_limit_gb,
    })
}

/// A taken username is a field error, whichever request won the race.
fn username_taken(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("users_tenant_username") =>
        {
            AppError::field("username", TAKEN)
        }
        _ => e.into(),
    }
}

/// Why this user may not be disabled or deleted by `actor`, if they may not:
/// nobody removes themselves, and the root keeps at least one enabled Owner.
/// Locks the root's Owners until the end of the transaction.
async fn removal_refused(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user_id: i64,
    username: &str,
    verb: &str,
) -> Result<Option<String>, AppError> {
    if actor.user_id == Some(user_id) {
        return Ok(Some(format!("You cannot {verb} your own account.")));
    }
    let owners = User::root_owners_locked(conn).await?;
    let is_owner = owners.iter().any(|(id, _)| *id == user_id);
    let another = owners
        .iter()
        .any(|(id, enabled)| *id != user_id && *enabled);
    if is_owner && !another {
        return Ok(Some(format!(
            "{username} is the last Owner of the root tenant; make another enabled user an Owner of the root first."
        )));
    }
    Ok(None)
}

/// Creates a local user in `tenant_id` (the caller checked the role and the rights).
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    tenant_id: i64,
    new: NewUser,
    password_hash: &str,
) -> Result<User, AppError> {
    let fields = new.identity.into_fields(new.settings);
    conn.transaction(async |conn| {
        let user = User::create(conn, tenant_id, &fields, password_hash)
            .await
            .map_err(username_taken)?;
        let mut event = actor.event("user.create", Some(tenant_id));
        event.after = Some(snapshot(&user));
        event.record(conn).await?;
        Ok(user)
    })
    .await
}

/// Saves the edit form. Disabling here follows the rules of [`set_enabled`] (as
/// field errors), ends the user's sessions and revokes their API tokens.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    change: UserChange,
) -> Result<User, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let mut errors = FieldErrors::new();
        // Owners before the user: the same lock order as `set_enabled` and `delete`.
        let refusal = if change.settings.enabled {
            None
        } else {
            let current = User::find_with_tenant(conn, id)
                .await?
                .ok_or(AppError::NotFound)?
                .0;
            match current.enabled {
                true => removal_refused(conn, actor, id, &current.username, "disable").await?,
                false => None,
            }
        };
        let before = User::lock(conn, id).await?;
        let fields = change.into_fields(&before);
        if let Some(message) = refusal.filter(|_| before.enabled) {
            errors.insert("enabled", message);
        }
        if before.source != UserSource::Local {
            for (field, new, old) in [
                ("username", &fields.username, &before.username),
                ("email", &fields.email, &before.email),
                ("first_name", &fields.first_name, &before.first_name),
                ("last_name", &fields.last_name, &before.last_name),
            ] {
                if new != old {
                    errors.insert(field, MANAGED.into());
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let after = User::update_fields(conn, id, &fields)
            .await
            .map_err(username_taken)?;
        if before.enabled && !after.enabled {
            User::end_sessions(conn, id).await?;
        }
        let mut event = actor.event("user.update", Some(after.tenant_id));
        event.before = Some(snapshot(&before));
        event.after = Some(snapshot(&after));
        event.record(conn).await?;
        if !after.enabled {
            // Enabling the user again must not bring their tokens back.
            api_tokens::revoke_all(conn, actor, &after, Revocation::Disabled).await?;
        }
        Ok(after)
    })
    .await
}

/// Enables or disables a user. Disabling ends their sessions at once and revokes
/// their API tokens for good; nobody disables themselves or the last Owner of the
/// root (409).
pub async fn set_enabled(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<User, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        if !enabled {
            let current = User::find_with_tenant(conn, id)
                .await?
                .ok_or(AppError::NotFound)?
                .0;
            if let Some(message) =
                removal_refused(conn, actor, id, &current.username, "disable").await?
            {
                return Err(AppError::Conflict(message));
            }
        }
        let before = User::lock(conn, id).await?;
        let after = User::set_enabled(conn, id, enabled).await?;
        let action = if enabled {
            "user.enable"
        } else {
            "user.disable"
        };
        let mut event = actor.event(action, Some(after.tenant_id));
        event.before = Some(snapshot(&before));
        event.after = Some(snapshot(&after));
        event.record(conn).await?;
        if !enabled {
            // Enabling the user again must not bring their tokens back.
            api_tokens::revoke_all(conn, actor, &after, Revocation::Disabled).await?;
        }
        Ok(after)
    })
    .await
}

/// Deletes a user (their grants and sessions go with them); nobody deletes
/// themselves or the last Owner of the root (409).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
) -> Result<User, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let current = User::find_with_tenant(conn, id)
            .await?
            .ok_or(AppError::NotFound)?
            .0;
        if let Some(message) = removal_refused(conn, actor, id, &current.username, "delete").await?
        {
            return Err(AppError::Conflict(message));
        }
        let before = User::lock(conn, id).await?;
        let mut event = actor.event("user.delete", Some(before.tenant_id));
        event.before = Some(snapshot(&before));
        event.record(conn).await?;
        User::delete(conn, id).await?;
        Ok(before)
    })
    .await
}

/// Sets a new password chosen by an administrator, ends the user's sessions and
/// revokes their API tokens (whoever held the account's credentials may have made
/// them). Returns the user's new session epoch. Refused for identity-source users.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    password_hash: &str,
) -> Result<i32, AppError> {
    set_password(
        conn,
        actor,
        id,
        password_hash,
        "user.password_reset",
        Some(Revocation::PasswordReset),
    )
    .await
}

/// A user's own password change: ends their other sessions; the caller moves its
/// own session to the returned epoch. API tokens keep working (as on GitHub):
/// automation should not break on a routine change, and "log out everywhere"
/// revokes them. Refused for identity-source users.
pub async fn change_own_password(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    password_hash: &str,
) -> Result<i32, AppError> {
    set_password(conn, actor, id, password_hash, "user.password_change", None).await
}

/// Ends every session of the user (the caller's own too) and revokes all their API
/// tokens. Returns how many tokens were revoked.
pub async fn log_out_everywhere(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
) -> Result<usize, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let before = User::lock(conn, id).await?;
        User::end_sessions(conn, id).await?;
        let epoch = User::session_epoch(conn, id).await?;
        let revoked =
            api_tokens::revoke_all(conn, actor, &before, Revocation::LogoutEverywhere).await?;
        let mut event = actor.event("user.logout_everywhere", Some(before.tenant_id));
        event.before = Some(serde_json::json!({ "session_epoch": before.session_epoch }));
        event.after = Some(serde_json::json!({
            "session_epoch": epoch, "api_tokens_revoked": revoked,
        }));
        event.record(conn).await?;
        Ok(revoked)
    })
    .await
}

async fn set_password(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    password_hash: &str,
    action: &'static str,
    revoke_tokens: Option<Revocation>,
) -> Result<i32, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let before = User::lock(conn, id).await?;
        if before.is_managed() {
            return Err(AppError::field("password", MANAGED));
        }
        User::set_password(conn, id, password_hash).await?;
        let epoch = User::session_epoch(conn, id).await?;
        let mut event = actor.event(action, Some(before.tenant_id));
        event.before = Some(
            serde_json::json!({ "user": snapshot(&before), "session_epoch": before.session_epoch }),
        );
        event.after =
            Some(serde_json::json!({ "user": snapshot(&before), "session_epoch": epoch }));
        event.record(conn).await?;
        if let Some(reason) = revoke_tokens {
            api_tokens::revoke_all(conn, actor, &before, reason).await?;
        }
        Ok(epoch)
    })
    .await
}
