//! Users of a tenant: create, edit, enable/disable, delete, reset or change a
//! password, log out everywhere — each change in one transaction with its audit event.
//! A password reset, a disable and "log out everywhere" also revoke the user's API
//! tokens for good, in the same transaction.
//!
//! The changes an administrator makes to a user of a tenant (create, update,
//! enable/disable, delete, password reset) take the acting [`Principal`] and decide
//! its rights with `authz`: Users Full in the tenant, dominance over the target, and
//! no user role with more rights than the principal holds there. The caller has read
//! the tenant with `authz::visible_tenant` and the target among its members (404).

use super::{api_tokens, Actor};
use crate::auth::password::PasswordHasher;
use crate::auth::{authz, Principal};
use crate::db::models::api_token::Revocation;
use crate::db::models::role::UserRole;
use crate::db::models::user::UserFields;
use crate::db::models::user::{PeopleWhere, PersonRow};
use crate::db::models::{Tenant, User};
use crate::db::set_lock_timeout;
use crate::domain::account::{GbLimit, Password, PersonName};
use crate::domain::activity::Action;
use crate::domain::email::Email;
use crate::domain::UserSource;
use crate::domain::Username;
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::draft::Draft;
use crate::services::plans::Warned;
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// The field error for a change to a field an identity source manages.
pub const MANAGED: &str = "Managed by the identity source; change it there.";
/// The field error for a taken username.
pub const TAKEN: &str = "This username is already taken in this tenant.";
/// The field error of a create in a tenant that has no user role.
pub const NO_ROLE: &str = "This tenant has no user role yet. Create a multi-tenant role in the root tenant first (or a role in this tenant).";
/// The field error for a role that is not one of the tenant's (or none on create).
pub const CHOOSE_ROLE: &str = "Choose a role of this tenant.";
/// Refusal of an administrator's password reset of their own account.
pub const OWN_PASSWORD: &str =
    "Change your own password on your profile page; it asks for your current password.";

/// The user role a form or a body asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleChoice {
    /// None chosen (empty).
    None,
    Id(i64),
    /// A value that cannot name any role (not a number).
    Unknown,
}

impl RoleChoice {
    /// Reads a submitted role id: empty is none, anything else must be a number.
    pub fn parse(raw: &str) -> Self {
        match raw.trim() {
            "" => Self::None,
            raw => raw.parse().map_or(Self::Unknown, Self::Id),
        }
    }

    /// The id asked for, if it is one.
    pub fn id(self) -> Option<i64> {
        match self {
            Self::Id(id) => Some(id),
            _ => None,
        }
    }
}

/// What a create or an edit asks for: the user role, and the other fields
/// converted (or their field errors), reported together with the operation's own.
#[derive(Clone, Debug)]
pub struct UserInput<T> {
    pub role: RoleChoice,
    /// An edit's stand-ins: the stored limits for those that cannot be read, the
    /// stored identity when one of its fields cannot be (`services::draft`).
    pub fields: Draft<T>,
}

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

/// May `p` change `target`, a member of `tenant`? Users Full there (403), and
/// dominance over anyone but themselves: a password reset or an email change would
/// hand over the target's rights (403).
pub async fn require_changeable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    target: &User,
) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Users, Level::Full)?;
    if target.id != p.user.id {
        let subject = authz::Subject::load(conn, target.id)
            .await?
            .ok_or(AppError::NotFound)?;
        authz::require_dominance(p, &subject)?;
    }
    Ok(())
}

/// The role `choice` names, checked into `errors`: one of `roles` (none only where
/// not `required`), and, unless it is the user's `current` role, none with more
/// rights (within the tenant's cap) than `p` holds in `tenant`.
fn chosen_role(
    p: &Principal,
    tenant: &Tenant,
    roles: &[UserRole],
    choice: RoleChoice,
    current: Option<i64>,
    required: bool,
    errors: &mut FieldErrors,
) -> Option<i64> {
    let role = match choice {
        RoleChoice::None if !required => return None,
        RoleChoice::Id(id) => roles.iter().find(|r| r.id == id),
        _ => None,
    };
    let Some(role) = role else {
        errors.insert("role_id", CHOOSE_ROLE.into());
        return None;
    };
    if current != Some(role.id) {
        let over = authz::role_escalation(p, tenant, &role.permissions);
        if !over.is_empty() {
            let names: Vec<&str> = over.iter().map(|f| f.label()).collect();
            errors.insert(
                "role_id",
                format!(
                    "You cannot give a role with more rights than you hold ({}).",
                    names.join(", ")
                ),
            );
        }
    }
    Some(role.id)
}

/// Creates a local user in `tenant` as `p` (Users Full there, else 403), with a role
/// of the tenant that gives no more than `p` holds there, and the password hashed.
/// Every field error at once: the input's and the role's.
pub async fn create(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    hasher: &PasswordHasher,
    tenant: &Tenant,
    input: UserInput<(NewUser, Password)>,
) -> Result<User, AppError> {
    authz::require(p, tenant, Feature::Users, Level::Full)?;
    let roles = UserRole::for_tenant(conn, tenant.id).await?;
    if roles.is_empty() {
        return Err(AppError::field("role_id", NO_ROLE));
    }
    let mut errors = FieldErrors::new();
    let role = chosen_role(p, tenant, &roles, input.role, None, true, &mut errors);
    // A taken username is found by the insert (the form checks it beforehand too,
    // to report it with the other errors).
    let (mut new, password) = input.fields.with_errors(errors)?;
    new.settings.role_id = role;
    let hash = hasher.hash(password.secret()).await?;
    create_hashed(conn, p, actor, tenant, new, &hash).await
}

/// The insert, after the user limits of the tenant and those above it made room
/// (`user_limit::make_room`, on locked rows), in one transaction.
async fn create_hashed(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    new: NewUser,
    password_hash: &str,
) -> Result<User, AppError> {
    let fields = new.identity.into_fields(new.settings);
    let tenant_id = tenant.id;
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let seen = |path: &[i64]| authz::can_see_path(p, path);
        super::user_limit::make_room(conn, tenant, 1, &seen).await?;
        let user = User::create(conn, tenant_id, &fields, password_hash)
            .await
            .map_err(username_taken)?;
        let mut event = actor.event(Action::UserCreate, Some(tenant_id));
        event.after = Some(snapshot(&user));
        event.record(conn).await?;
        Ok(user)
    })
    .await
}

/// Saves an edit of `target`, a member of `tenant`, as `p` ([`require_changeable`]);
/// a new role follows the rules of [`create`]. Disabling here follows the rules of
/// [`set_enabled`] (as field errors), ends the user's sessions and revokes their
/// API tokens. A storage or memory limit set below what the user's instances use is
/// saved with a warning saying so ([`limit_warnings`]).
pub async fn update(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    target: &User,
    input: UserInput<UserChange>,
) -> Result<Warned<User>, AppError> {
    require_changeable(conn, p, tenant, target).await?;
    let roles = UserRole::for_tenant(conn, tenant.id).await?;
    let mut errors = FieldErrors::new();
    let role = chosen_role(
        p,
        tenant,
        &roles,
        input.role,
        target.role_id,
        false,
        &mut errors,
    );
    let new_name = input
        .fields
        .value()
        .and_then(|c| c.identity.as_ref())
        .map(|i| i.username.as_str())
        .filter(|name| *name != target.username);
    if let Some(name) = new_name {
        if User::username_taken(conn, tenant.id, name, Some(target.id)).await? {
            errors.insert("username", TAKEN.into());
        }
    }
    if let Some(change) = input.fields.value() {
        limits_refusal(conn, p, target, &change.settings, &mut errors).await?;
    }
    let mut change = input.fields.with_errors(errors)?;
    change.settings.role_id = role;
    let saved = save(conn, actor, target.id, change).await?;
    let warnings = limit_warnings(conn, target, &saved).await?;
    Ok(Warned {
        value: saved,
        warnings,
    })
}

/// A limit of the user's set below what the instances they own use is saved (as a
/// tenant's own is): it refuses growth only. Said for each limit the save changed:
/// "Storage 400 GB in use is above the new limit of 100 GB: growth is refused until
/// it is below."
async fn limit_warnings(
    conn: &mut AsyncPgConnection,
    before: &User,
    after: &User,
) -> Result<Vec<String>, AppError> {
    use crate::domain::resources::{below_use_warning, Measure};
    let changed = [
        (
            Measure::Storage,
            before.storage_limit_gb,
            after.storage_limit_gb,
        ),
        (
            Measure::Memory,
            before.memory_limit_gb,
            after.memory_limit_gb,
        ),
    ]
    .into_iter()
    .filter_map(|(m, was, is)| is.filter(|_| is != was).map(|limit| (m, limit)))
    .collect::<Vec<_>>();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let (storage, memory) = User::owned_sizes(conn, after.id).await?;
    Ok(changed
        .into_iter()
        .filter_map(|(m, limit)| {
            let used = if m == Measure::Storage {
                storage
            } else {
                memory
            };
            (used > limit).then(|| below_use_warning(m, used, limit))
        })
        .collect())
}

/// A change of `target`'s limits that `p` may not make, as an error on each limit
/// changed (`authz::user_limits_refusal`: only someone strictly above them).
async fn limits_refusal(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    target: &User,
    asked: &UserSettings,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let changed: Vec<&'static str> = [
        (
            "storage_limit_gb",
            asked.storage_limit_gb,
            target.storage_limit_gb,
        ),
        (
            "memory_limit_gb",
            asked.memory_limit_gb,
            target.memory_limit_gb,
        ),
    ]
    .into_iter()
    .filter(|(_, asked, stored)| asked.get() != *stored)
    .map(|(field, _, _)| field)
    .collect();
    if changed.is_empty() {
        return Ok(());
    }
    if let Some(why) = limits_fixed(conn, p, target).await? {
        for field in changed {
            errors.insert(field, why.clone());
        }
    }
    Ok(())
}

/// Why `p` may not set `target`'s limits, if they may not (the form shows them
/// fixed, with this reason).
pub async fn limits_fixed(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    target: &User,
) -> Result<Option<String>, AppError> {
    let load = async |conn: &mut AsyncPgConnection, id: i64| {
        authz::Subject::load(conn, id)
            .await?
            .ok_or(AppError::NotFound)
    };
    let actor = load(conn, p.user.id).await?;
    let target = load(conn, target.id).await?;
    Ok(authz::user_limits_refusal(&actor, &target))
}

async fn save(
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
        let mut event = actor.event(Action::UserUpdate, Some(after.tenant_id));
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

/// Enables or disables `target`, a member of `tenant`, as `p`
/// ([`require_changeable`]). Disabling ends their sessions at once and revokes their
/// API tokens for good; nobody disables themselves or the last Owner of the root (409).
pub async fn set_enabled(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    target: &User,
    enabled: bool,
) -> Result<User, AppError> {
    require_changeable(conn, p, tenant, target).await?;
    let id = target.id;
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
            Action::UserEnable
        } else {
            Action::UserDisable
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

/// What deleting `target` leaves behind that its confirmation says: the instances
/// they own (they stay, without an owner).
pub async fn owned_instances(conn: &mut AsyncPgConnection, target: &User) -> Result<i64, AppError> {
    Ok(crate::db::models::instance::Instance::owned_by(conn, target.id).await?)
}

/// Deletes `target`, a member of `tenant`, as `p` ([`require_changeable`]); their
/// grants and sessions go with them. Nobody deletes themselves or the last Owner of
/// the root (409).
/// What [`delete`] checks before it acts, changing nothing (asked before its
/// confirmation is shown): 403 unless `p` may change `target`, 409 with the reason
/// when the delete would be refused (one's own account, the last Owner of the root).
pub async fn require_deletable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    target: &User,
) -> Result<(), AppError> {
    require_changeable(conn, p, tenant, target).await?;
    let (id, username) = (target.id, target.username.clone());
    conn.transaction(async |conn| {
        match removal_refused(conn, actor, id, &username, "delete").await? {
            Some(message) => Err(AppError::Conflict(message)),
            None => Ok(()),
        }
    })
    .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    target: &User,
) -> Result<User, AppError> {
    require_changeable(conn, p, tenant, target).await?;
    let id = target.id;
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
        let mut event = actor.event(Action::UserDelete, Some(before.tenant_id));
        event.before = Some(snapshot(&before));
        event.record(conn).await?;
        User::delete(conn, id).await?;
        Ok(before)
    })
    .await
}

/// Sets a new password for `target`, a member of `tenant`, chosen by `p`
/// ([`require_changeable`]), ends the user's sessions and revokes their API tokens
/// (whoever held the account's credentials may have made them). Returns the user's
/// new session epoch. Refused (field errors on `password`) for identity-source
/// users, for one's own account (the profile page asks for the current password),
/// and for a password that is not good enough.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    hasher: &PasswordHasher,
    tenant: &Tenant,
    target: &User,
    password: &str,
) -> Result<i32, AppError> {
    require_changeable(conn, p, tenant, target).await?;
    let password = if target.is_managed() {
        Err(MANAGED.to_string())
    } else if target.id == p.user.id {
        Err(OWN_PASSWORD.to_string())
    } else {
        Password::parse(password, &target.username)
    }
    .map_err(|message| AppError::field("password", message))?;
    let hash = hasher.hash(password.secret()).await?;
    set_password(
        conn,
        actor,
        target.id,
        &hash,
        Action::UserPasswordReset,
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
    set_password(
        conn,
        actor,
        id,
        password_hash,
        Action::UserPasswordChange,
        None,
    )
    .await
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
        let mut event = actor.event(Action::UserLogoutEverywhere, Some(before.tenant_id));
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
    action: Action,
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

/// One page of the people `p` may find (`authz::people_scope`) matching `q`
/// (username, email or names; everyone when empty; a login `subdomain\\username`:
/// the people of that tenant matching the rest), with the total.
/// With `within`, only the people homed in that tenant or below it.
pub async fn find_people(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    q: &str,
    within: Option<&Tenant>,
    page: i64,
    per_page: i64,
) -> Result<(Vec<PersonRow>, i64), AppError> {
    // People are known by their logins: `acme\alice` must find alice of acme.
    let (subdomain, q) = match q.trim().split_once('\\') {
        Some((s, rest)) if !s.trim().is_empty() => (Some(s.trim()), rest),
        _ => (None, q),
    };
    let scope = authz::people_scope(p);
    let scope = PeopleWhere {
        within: within.map(|t| t.id),
        ..people_where(&scope)
    };
    Ok(User::search_people(conn, &scope, q, subdomain, false, page, per_page).await?)
}

/// How many people `p` finds homed in `tenant` or below it: the count of
/// `/users?within=`, shown on the dashboard's Users card. Where people search finds
/// everyone `p` sees (`authz::finds_everyone_seen`) that is `seen_users`, the
/// maintained user counts of the tenants `p` sees there, and nobody is counted.
pub async fn count_people_within(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    seen_users: i64,
) -> Result<i64, AppError> {
    if authz::finds_everyone_seen(p) {
        return Ok(seen_users);
    }
    let scope = authz::people_scope(p);
    let scope = PeopleWhere {
        within: Some(tenant.id),
        ..people_where(&scope)
    };
    Ok(User::count_people(conn, &scope).await?)
}

pub(crate) fn people_where(scope: &authz::PeopleScope) -> PeopleWhere<'_> {
    PeopleWhere {
        visibility: &scope.visibility,
        readable_caps: &scope.readable_caps,
        within: None,
    }
}

/// The people `p` may find whose username is `typed` (whole, any case), or whose
/// login (`subdomain\\username`) it is: one for a name that says who, several when
/// it does not (at most 20).
pub async fn resolve_person(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    typed: &str,
) -> Result<Vec<PersonRow>, AppError> {
    let typed = typed.trim();
    let (subdomain, username) = match typed.split_once('\\') {
        Some((s, u)) => (Some(s), u),
        None => (None, typed),
    };
    if username.is_empty() {
        return Ok(Vec::new());
    }
    let scope = authz::people_scope(p);
    let (rows, _) = User::search_people(
        conn,
        &people_where(&scope),
        username,
        subdomain,
        true,
        1,
        20,
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| subdomain.is_none_or(|s| r.tenant_subdomain.eq_ignore_ascii_case(s)))
        .collect())
}
