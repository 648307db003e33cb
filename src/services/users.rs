//! Users of a tenant: create, edit, enable/disable, delete, reset or change a
//! password, log out everywhere — each change in one transaction with its audit event.
//! A password reset, a disable and "log out everywhere" also revoke the user's API
//! tokens for good, in the same transaction.

use super::{api_tokens, Actor};
use crate::db::models::api_token::Revocation;
use crate::db::models::user::UserFields;
use crate::db::models::User;
use crate::db::set_lock_timeout;
use crate::domain::account::{GbLimit, Password, PersonName};
use crate::domain::email::Email;
use crate::domain::UserSource;
use crate::domain::Username;
use crate::error::{AppError, FieldErrors};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// The field error for a change to a field an identity source manages.
pub const MANAGED: &str = "Managed by the identity source; change it there.";
/// The field error for a taken username.
pub const TAKEN: &str = "This username is already taken in this tenant.";

/// Raw form input for a user, before validation. The four identity fields are
/// optional: a disabled input is not sent, and "not sent" means "unchanged".
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct UserInput {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Only read when creating; never rendered back.
    pub password: String,
    pub role_id: String,
    pub enabled: Option<String>,
    /// Sent by the forms next to the checkbox, so that "unchecked" differs from "not sent".
    pub enabled_shown: Option<String>,
    pub storage_limit_gb: String,
    pub memory_limit_gb: String,
}

impl std::fmt::Debug for UserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInput")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("role_id", &self.role_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

impl UserInput {
    /// The create form's starting values.
    pub fn blank() -> Self {
        Self {
            enabled: Some("true".into()),
            ..Self::default()
        }
    }

    /// The edit form's starting values.
    pub fn from_user(u: &User) -> Self {
        Self {
            username: Some(u.username.clone()),
            email: Some(u.email.clone()),
            first_name: Some(u.first_name.clone()),
            last_name: Some(u.last_name.clone()),
            password: String::new(),
            role_id: u.role_id.map(|r| r.to_string()).unwrap_or_default(),
            enabled: u.enabled.then(|| "true".into()),
            enabled_shown: Some("1".into()),
            storage_limit_gb: u
                .storage_limit_gb
                .map(|n| n.to_string())
                .unwrap_or_default(),
            memory_limit_gb: u.memory_limit_gb.map(|n| n.to_string()).unwrap_or_default(),
        }
    }

    /// This input to re-render, with the identity fields an identity source manages
    /// shown as stored, and the password dropped.
    pub fn for_rerender(mut self, stored: Option<&User>) -> Self {
        self.password.clear();
        if let Some(u) = stored.filter(|u| u.is_managed()) {
            self.username = Some(u.username.clone());
            self.email = Some(u.email.clone());
            self.first_name = Some(u.first_name.clone());
            self.last_name = Some(u.last_name.clone());
        }
        self
    }

    pub fn username(&self) -> &str {
        text(&self.username)
    }
    pub fn email(&self) -> &str {
        text(&self.email)
    }
    pub fn first_name(&self) -> &str {
        text(&self.first_name)
    }
    pub fn last_name(&self) -> &str {
        text(&self.last_name)
    }
    /// A browser sends a checked box (whatever its value) and omits an unchecked one,
    /// as `web::form::checked` reads every console checkbox.
    pub fn enabled_checked(&self) -> bool {
        self.enabled.is_some()
    }
    pub fn role_selected(&self, id: &i64) -> bool {
        self.role_id.trim() == id.to_string()
    }

    /// The enabled flag: an unchecked box sends nothing. On create, a client that
    /// sends neither the box nor its marker gets an enabled user.
    fn enabled_value(&self, creating: bool) -> bool {
        self.enabled_checked() || (creating && self.enabled_shown.is_none())
    }

    /// Parses the fields common to both forms; the role is checked against the
    /// tenant's roles by the caller (`role_id` is left `None`).
    fn parse_common(
        &self,
        identity: Option<(&str, &str, &str, &str)>,
        creating: bool,
        email_optional: bool,
        errors: &mut FieldErrors,
    ) -> Option<UserFields> {
        let (username, email, first_name, last_name) = match identity {
            // Managed by an identity source: the stored values, unvalidated.
            Some((u, e, f, l)) => (
                Some(u.to_string()),
                Some(e.to_string()),
                Some(f.to_string()),
                Some(l.to_string()),
            ),
            None => (
                Username::parse(self.username())
                    .map_err(|e| errors.insert("username", e))
                    .ok()
                    .map(Username::into_inner),
                if email_optional && self.email().trim().is_empty() {
                    Some(String::new())
                } else {
                    Email::parse(self.email())
                        .map_err(|e| errors.insert("email", e))
                        .ok()
                        .map(Email::into_inner)
                },
                PersonName::parse(self.first_name())
                    .map_err(|e| errors.insert("first_name", e))
                    .ok()
                    .map(PersonName::into_inner),
                PersonName::parse(self.last_name())
                    .map_err(|e| errors.insert("last_name", e))
                    .ok()
                    .map(PersonName::into_inner),
            ),
        };
        let storage = GbLimit::parse(&self.storage_limit_gb)
            .map_err(|e| errors.insert("storage_limit_gb", e))
            .ok();
        let memory = GbLimit::parse(&self.memory_limit_gb)
            .map_err(|e| errors.insert("memory_limit_gb", e))
            .ok();
        match (username, email, first_name, last_name, storage, memory) {
            (Some(username), Some(email), Some(first_name), Some(last_name), Some(s), Some(m))
                if errors.is_empty() =>
            {
                Some(UserFields {
                    username,
                    email,
                    first_name,
                    last_name,
                    role_id: None,
                    enabled: self.enabled_value(creating),
                    storage_limit_gb: s.get(),
                    memory_limit_gb: m.get(),
                })
            }
            _ => None,
        }
    }

    /// Parses the create form: every field error at once.
    pub fn for_create(&self) -> Result<(UserFields, Password), FieldErrors> {
        let mut errors = FieldErrors::new();
        let password = Password::parse(&self.password, self.username())
            .map_err(|e| errors.insert("password", e))
            .ok();
        let fields = self.parse_common(None, true, false, &mut errors);
        match (fields, password) {
            (Some(f), Some(p)) if errors.is_empty() => Ok((f, p)),
            _ => Err(errors),
        }
    }

    /// Parses the edit form of `stored`. For a user of an identity source, a
    /// submitted name, username, email or password that differs from the stored
    /// one is refused; fields not sent stay as they are.
    pub fn for_update(&self, stored: &User) -> Result<UserFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let identity = if stored.is_managed() {
            for (field, sent, current) in [
                ("username", &self.username, &stored.username),
                ("email", &self.email, &stored.email),
                ("first_name", &self.first_name, &stored.first_name),
                ("last_name", &self.last_name, &stored.last_name),
            ] {
                if sent.as_deref().is_some_and(|v| v.trim() != current.trim()) {
                    errors.insert(field, MANAGED.into());
                }
            }
            if !self.password.is_empty() {
                errors.insert("password", MANAGED.into());
            }
            Some((
                stored.username.as_str(),
                stored.email.as_str(),
                stored.first_name.as_str(),
                stored.last_name.as_str(),
            ))
        } else {
            None
        };
        // Users made before email was required (the first administrator) keep their
        // empty email until someone enters one.
        let email_optional = stored.email.is_empty();
        match self.parse_common(identity, false, email_optional, &mut errors) {
            Some(f) if errors.is_empty() => Ok(f),
            _ => Err(errors),
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
    fields: &UserFields,
    password_hash: &str,
) -> Result<User, AppError> {
    conn.transaction(async |conn| {
        let user = User::create(conn, tenant_id, fields, password_hash)
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
    fields: UserFields,
) -> Result<User, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let mut errors = FieldErrors::new();
        // Owners before the user: the same lock order as `set_enabled` and `delete`.
        let refusal = if fields.enabled {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn stored(source: UserSource) -> User {
        User {
            id: 7,
            tenant_id: 3,
            username: "alice".into(),
            email: "alice@example.com".into(),
            first_name: "Alice".into(),
            last_name: "Smith".into(),
            password_hash: "x".into(),
            enabled: true,
            source,
            session_epoch: 0,
            last_login_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            role_id: Some(1),
            storage_limit_gb: None,
            memory_limit_gb: Some(4),
        }
    }

    fn input() -> UserInput {
        UserInput {
            username: Some(" bob ".into()),
            email: Some("bob@example.com".into()),
            first_name: Some("Bob".into()),
            last_name: Some("".into()),
            password: "long enough password".into(),
            role_id: "5".into(),
            enabled: Some("true".into()),
            enabled_shown: Some("1".into()),
            storage_limit_gb: "10".into(),
            memory_limit_gb: "".into(),
        }
    }

    #[test]
    fn create_parses_every_field() {
        let (f, p) = input().for_create().unwrap();
        assert_eq!(f.username, "bob");
        assert_eq!(f.storage_limit_gb, Some(10));
        assert_eq!(f.memory_limit_gb, None);
        assert!(f.enabled);
        assert!(p.matches("long enough password"));
    }

    #[test]
    fn create_reports_every_error_at_once() {
        let bad = UserInput {
            username: Some("".into()),
            email: Some("nope".into()),
            password: "short".into(),
            storage_limit_gb: "-1".into(),
            ..input()
        };
        let errors = bad.for_create().unwrap_err();
        for field in ["username", "email", "password", "storage_limit_gb"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
        let same = UserInput {
            password: "bob-the-user".into(),
            username: Some("bob-the-user".into()),
            ..input()
        };
        assert!(same.for_create().unwrap_err().contains_key("password"));
    }

    #[test]
    fn enabled_box() {
        let unchecked = UserInput {
            enabled: None,
            ..input()
        };
        assert!(!unchecked.for_create().unwrap().0.enabled);
        let bare = UserInput {
            enabled: None,
            enabled_shown: None,
            ..input()
        };
        assert!(bare.for_create().unwrap().0.enabled);
        assert!(!bare.for_update(&stored(UserSource::Local)).unwrap().enabled);
    }

    #[test]
    fn identity_source_fields_cannot_change() {
        let user = stored(UserSource::Scim);
        let changed = UserInput {
            email: Some("new@example.com".into()),
            ..UserInput::from_user(&user)
        };
        let errors = changed.for_update(&user).unwrap_err();
        assert_eq!(errors.get("email").map(String::as_str), Some(MANAGED));
        let with_password = UserInput {
            password: "a new password".into(),
            ..UserInput::from_user(&user)
        };
        assert!(with_password
            .for_update(&user)
            .unwrap_err()
            .contains_key("password"));
        // Not sent (disabled inputs) or sent unchanged: kept; other fields change.
        let limits_only = UserInput {
            username: None,
            email: None,
            first_name: None,
            last_name: None,
            enabled: None,
            storage_limit_gb: "20".into(),
            ..UserInput::from_user(&user)
        };
        let f = limits_only.for_update(&user).unwrap();
        assert_eq!(f.email, "alice@example.com");
        assert_eq!(f.storage_limit_gb, Some(20));
        assert!(!f.enabled);
        // An empty email stays empty only where it was empty already.
        let no_email = UserInput {
            email: Some(" ".into()),
            ..UserInput::from_user(&stored(UserSource::Local))
        };
        assert!(no_email
            .for_update(&stored(UserSource::Local))
            .unwrap_err()
            .contains_key("email"));
        let legacy = User {
            email: String::new(),
            ..stored(UserSource::Local)
        };
        assert_eq!(no_email.for_update(&legacy).unwrap().email, "");
        // A local user's fields are validated and may change.
        let local = stored(UserSource::Local);
        assert_eq!(changed.for_update(&local).unwrap().email, "new@example.com");
    }
}
