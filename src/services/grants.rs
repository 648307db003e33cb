//! Giving and revoking tenant-management grants, audited, guarding the last root Owner.
//! Both take the acting [`Principal`] and decide its rights with `authz`; the caller
//! has read the tenant with `authz::visible_tenant` (404).

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::grant::{GrantRow, UserMatch};
use crate::db::models::user::PersonRow;
use crate::db::models::{Grant, Tenant, User};
use crate::domain::activity::Action;
use crate::domain::{Feature, GrantRole, Level, Scope};
use crate::error::AppError;
use crate::services::tenants::Parsed;
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// The field error for a user the granter may not pick (unknown or not visible).
pub const CHOOSE_USER: &str = "Choose a user from the list.";
/// The field error for a grant form whose user field was left empty.
pub const TYPE_USER: &str =
    "Type a login (tenant\\username), a username or an email, and pick the user.";
/// How many users a typed reference that names several offers to choose from.
pub const CHOICES: i64 = 10;
/// The longest reference to a user that is looked up (longer ones are cut).
const TYPED_MAX: usize = 100;
/// The field error for a grant stronger than the granter's own.
pub const STRONGER: &str =
    "You cannot give a grant stronger than your own (role, scope or “may manage sub-tenants”).";

/// A grant's terms: role, scope and "may manage sub-tenants".
pub type Terms = (GrantRole, Scope, bool);

const LAST_OWNER: &str =
    "This is the last Owner of the root tenant; give the Owner role to someone else first.";

/// Would removing or weakening `user_id`'s grant on `tenant` leave the root without
/// an enabled Owner of its whole tree? Decided on the same locked list of root Owners
/// as disabling or deleting users (read after the locks, not from the grant the
/// caller loaded), so two administrators acting at once cannot remove the last two
/// Owners between them. Owners "of this tenant only" do not count.
async fn is_last_root_owner(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    user_id: i64,
) -> Result<bool, AppError> {
    if !tenant.is_root() {
        return Ok(false);
    }
    let owners = User::root_owners_locked(conn).await?;
    let is_owner = owners.iter().any(|(id, _)| *id == user_id);
    let another = owners
        .iter()
        .any(|(id, enabled)| *id != user_id && *enabled);
    Ok(is_owner && !another)
}

/// Who a grant form names: what was typed into its user picker (`None` when the
/// form had no such field, as clients from before the picker) and the user id picked
/// there or posted alone (`None` when empty or not a number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GranteeInput {
    pub typed: Option<String>,
    pub picked: Option<i64>,
}

/// Whom a grant is for, as [`resolve_grantee`] read the form.
#[derive(Clone, Debug)]
pub enum Grantee {
    /// This user (which [`give`] still checks the granter may see).
    Id(i64),
    /// Nobody yet: the field error, and the users to choose from when the reference
    /// fits several.
    Unresolved {
        field: &'static str,
        message: String,
        choices: Vec<PersonRow>,
    },
}

impl Grantee {
    fn unresolved(field: &'static str, message: impl Into<String>) -> Self {
        Self::Unresolved {
            field,
            message: message.into(),
            choices: Vec::new(),
        }
    }

    /// The users offered to choose from (none unless the reference fits several).
    pub fn choices(&self) -> &[PersonRow] {
        match self {
            Self::Unresolved { choices, .. } => choices,
            Self::Id(_) => &[],
        }
    }
}

/// A user id as it was posted alone: `None` (empty, not a number) picks nobody.
impl From<Option<i64>> for Grantee {
    fn from(id: Option<i64>) -> Self {
        id.map_or_else(|| Self::unresolved("user_id", CHOOSE_USER), Self::Id)
    }
}

/// 403 unless `p` may give grants on `tenant` at all: Users Full there and a grant
/// role to give.
pub fn require_giver(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Users, Level::Full)?;
    if authz::grantable_roles(p, tenant).is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Resolves who a grant form names, among the grant candidates of `tenant` for `p`
/// (`Grant::candidates`: the users the old drop-down offered), for those who may give
/// grants there (403).
///
/// * Nothing typed (or no picker at all): the posted `user_id` as it is.
/// * A `user_id` picked for what is typed: that user, if a candidate the text fits
///   (it contains what is typed); otherwise the text decides, as what the granter sees.
/// * A login (`subdomain\username`), a username or an email, whole and in any case,
///   that exactly one candidate has: that user; several: a choice of them.
/// * None of those: a choice of the candidates whose details contain the text, or
///   the field error that nobody matches.
///
/// A user the granter may not find (`authz::may_pick_grantee`) is no candidate: they
/// are not found, like a user that does not exist.
pub async fn resolve_grantee(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    input: &GranteeInput,
) -> Result<Grantee, AppError> {
    require_giver(p, tenant)?;
    let typed: Option<String> = input
        .typed
        .as_deref()
        .map(|t| t.trim().chars().take(TYPED_MAX).collect());
    let text = match (typed.as_deref(), input.picked) {
        (None | Some(""), Some(id)) => return Ok(Grantee::Id(id)),
        (None, None) => return Ok(Grantee::from(None)),
        (Some(""), None) => return Ok(Grantee::unresolved("user", TYPE_USER)),
        (Some(text), _) => text,
    };
    let scope = authz::people_scope(p);
    let people = super::users::people_where(&scope);
    if let Some(id) = input.picked {
        let fits = UserMatch::containing(text);
        let (_, fits) = Grant::candidates(conn, tenant, &people, fits, Some(id), 1).await?;
        if fits > 0 {
            return Ok(Grantee::Id(id));
        }
    }
    let exactly = UserMatch::exactly(text);
    let (exact, total) = Grant::candidates(conn, tenant, &people, exactly, None, CHOICES).await?;
    if let [one] = exact.as_slice() {
        return Ok(Grantee::Id(one.user.id));
    }
    let more = |shown: usize, total: i64| {
        if total > shown as i64 {
            format!(" (the first {shown} of {total}; type more to narrow them)")
        } else {
            String::new()
        }
    };
    if !exact.is_empty() {
        return Ok(Grantee::Unresolved {
            field: "user",
            message: format!(
                "Several users you can grant access to match “{text}”: choose one{}.",
                more(exact.len(), total)
            ),
            choices: exact,
        });
    }
    // A lone backslash contains nothing to search for.
    let (near, total) = if text.trim_matches('\\').is_empty() {
        (Vec::new(), 0)
    } else {
        let near = UserMatch::containing(text);
        Grant::candidates(conn, tenant, &people, near, None, CHOICES).await?
    };
    if near.is_empty() {
        return Ok(Grantee::unresolved(
            "user",
            format!("No user you can grant access to matches “{text}”."),
        ));
    }
    Ok(Grantee::Unresolved {
        field: "user",
        message: format!(
            "No login, username or email you can grant access to is “{text}”; choose one of the users it matches{}.",
            more(near.len(), total)
        ),
        choices: near,
    })
}

/// The grant candidates of `tenant` whose details contain `q` (the grant form's user
/// picker), by login, up to `limit`, with the total: for those who may give grants
/// there (403).
pub async fn find_grantees(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    q: &str,
    limit: i64,
) -> Result<(Vec<PersonRow>, i64), AppError> {
    require_giver(p, tenant)?;
    let scope = authz::people_scope(p);
    Ok(Grant::candidates(
        conn,
        tenant,
        &super::users::people_where(&scope),
        UserMatch::containing(q),
        None,
        limit,
    )
    .await?)
}

/// Gives (or changes) the grant of the `grantee` on `tenant` as `p`, and returns that
/// user. It takes Users Full there and a grant role `p` may give at all (403); the
/// user must be one `p` may find (`authz::can_find_person`, as `/users` would list
/// them; else the field error on `user_id`, whether or not they exist; a `user_id`
/// posted alone need not be a grant candidate, as before the picker); an unresolved grantee's field error is reported with the input's at
/// once. Replacing a grant `p` could not revoke is 403; a grant stronger than `p`'s
/// own is a field error on `role`.
pub async fn give(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    grantee: &Grantee,
    terms: Parsed<Terms>,
) -> Result<Principal, AppError> {
    require_giver(p, tenant)?;
    let mut errors = terms.as_ref().err().cloned().unwrap_or_default();
    let subject = match grantee {
        Grantee::Id(id) => {
            let subject = Principal::load(conn, *id)
                .await?
                .filter(|s| authz::can_find_person(p, &s.home));
            if subject.is_none() {
                errors.insert("user_id", CHOOSE_USER.into());
            }
            subject
        }
        Grantee::Unresolved { field, message, .. } => {
            errors.insert(field, message.clone());
            None
        }
    };
    let (Some(subject), Ok((role, scope, manage))) = (subject, terms) else {
        return Err(AppError::Validation(errors));
    };
    let old = Grant::existing(conn, subject.user.id, tenant.id)
        .await?
        .map(|g| (g.role, g.scope, g.manage_subtenants));
    if !authz::can_replace_grant(p, tenant, old) {
        return Err(AppError::Forbidden);
    }
    if !authz::can_give_grant(p, tenant, role, scope, manage) {
        return Err(AppError::field("role", STRONGER));
    }
    store(conn, actor, tenant, subject.user.id, (role, scope, manage)).await?;
    Ok(subject)
}

async fn store(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    tenant: &Tenant,
    user_id: i64,
    (role, scope, manage): Terms,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        let before = Grant::existing(conn, user_id, tenant.id).await?;
        // The same grant again changes nothing: nothing to write, no event.
        if before
            .as_ref()
            .is_some_and(|g| (g.role, g.scope, g.manage_subtenants) == (role, scope, manage))
        {
            return Ok(());
        }
        if let Some(old) = &before {
            // The last root Owner keeps an Owner grant over the whole tree.
            let weakened = role != GrantRole::Owner || scope != Scope::Subtree;
            if weakened && is_last_root_owner(conn, tenant, old.user_id).await? {
                return Err(AppError::Conflict(LAST_OWNER.into()));
            }
        }
        Grant::insert(conn, user_id, tenant.id, role, scope, manage).await?;
        let mut event = actor.event(Action::GrantGive, Some(tenant.id));
        event.before = before.map(|g| serde_json::json!({"user_id": g.user_id, "role": g.role.as_str(), "scope": g.scope.as_str(), "manage_subtenants": g.manage_subtenants}));
        event.after = Some(serde_json::json!({"user_id": user_id, "role": role.as_str(), "scope": scope.as_str(), "manage_subtenants": manage}));
        event.record(conn).await?;
        Ok(())
    })
    .await
}

/// 403 unless `p` may revoke `grant` on `tenant` (what [`revoke`] checks first, also
/// asked before its confirmation is shown).
pub fn require_revocable(p: &Principal, tenant: &Tenant, grant: &GrantRow) -> Result<(), AppError> {
    if authz::can_revoke_grant(
        p,
        tenant,
        (grant.role, grant.scope, grant.manage_subtenants),
    ) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Revokes `grant`, one on `tenant`, as `p`: only a grant `p` could give (403).
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    grant: &GrantRow,
) -> Result<(), AppError> {
    require_revocable(p, tenant, grant)?;
    conn.transaction(async |conn| {
        if is_last_root_owner(conn, tenant, grant.user_id).await? {
            return Err(AppError::Conflict(LAST_OWNER.into()));
        }
        Grant::delete(conn, grant.id).await?;
        let mut event = actor.event(Action::GrantRevoke, Some(tenant.id));
        event.before = Some(serde_json::json!({"user_id": grant.user_id, "role": grant.role.as_str(), "scope": grant.scope.as_str(), "manage_subtenants": grant.manage_subtenants}));
        event.record(conn).await?;
        Ok(())
    })
    .await
}
