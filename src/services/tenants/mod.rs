//! Tenant operations, one function each, called alike by the console's pages, the
//! API and its batches: each takes the acting [`Principal`], an audit [`Actor`] and
//! typed input (a form and a JSON body each convert into it), decides every right
//! with `authz`, and runs the locked change of [`tree`], which checks again on the
//! locked rows.
//!
//! The caller has read the tenant (or parent) the request names with
//! `authz::visible_tenant`: what answers an invisible one is the surface's contract
//! (404, or a field error in a form), not the operation's.

pub mod bulk;
pub mod custom_domain;
pub mod destinations;
pub mod filter;
pub mod move_limits;
pub mod tree;

pub use custom_domain::{approve_custom_domain, verify_custom_domain, DomainChange};
pub use filter::{parse_filter, FilterSpec, FilterText};
pub use tree::{
    blockers, destination_error, move_preview, DeletePreview, DeleteScope, MovePreview, NewTenant,
};

use crate::auth::{authz, Principal};
use crate::db::models::tenant::TenantFields;
use crate::db::models::Tenant;
use crate::domain::domain_name::{ConsoleHosts, CustomDomain};
use crate::domain::resources::LimitChange;
use crate::domain::{Description, Subdomain, TenantName};
use crate::error::{AppError, FieldErrors};
use crate::services::draft::Draft;
use crate::services::Actor;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

/// A converted input, or the field errors of its conversion. The operation reports
/// them together with its own (a parent that may not have sub-tenants, a tenant role
/// out of reach), after deciding the caller's rights: all errors at once, and 403
/// before any of them.
pub type Parsed<T> = Result<T, FieldErrors>;

/// A tenant's own fields, valid by construction.
#[derive(Clone, Debug)]
pub struct TenantInput {
    pub name: TenantName,
    pub subdomain: Subdomain,
    pub description: Description,
    pub custom_domain: Option<CustomDomain>,
    pub can_have_subtenants: bool,
    pub enabled: bool,
    /// The labels (`domain::label`); `None` keeps the current ones (none on create).
    pub labels: Option<Vec<String>>,
    /// The monthly query quota (`domain::usage::parse_quota`); `None` keeps the
    /// current one (none on create), `Some(None)` removes it.
    pub monthly_query_quota: Option<Option<i64>>,
    /// The subtree's resource limits (`domain::resources::parse_limit`); each `None`
    /// keeps the current one (none on create).
    pub limits: LimitChange,
    /// The user limit of its subtree (`domain::user_limit`); `None` keeps the current
    /// one (none on create), `Some(None)` removes it.
    pub max_users: Option<Option<i32>>,
}

/// A tenant's text fields as a form or a JSON body sends them.
#[derive(Clone, Copy, Debug)]
pub struct TenantText<'a> {
    pub name: &'a str,
    pub subdomain: &'a str,
    pub description: &'a str,
    /// Empty for none.
    pub custom_domain: &'a str,
}

impl<'a> TenantText<'a> {
    /// The fields as sent; no custom domain is the same as an empty one.
    pub fn new(
        name: &'a str,
        subdomain: &'a str,
        description: &'a str,
        custom_domain: Option<&'a str>,
    ) -> Self {
        TenantText {
            name,
            subdomain,
            description,
            custom_domain: custom_domain.unwrap_or_default(),
        }
    }
}

/// A new tenant's stand-ins for text fields that cannot be read (`services::draft`):
/// valid values, never written (the conversion's errors refuse the write).
const STAND_IN_NAME: &str = "-";
const STAND_IN_SUBDOMAIN: &str = "x";

impl TenantInput {
    /// Parses the text fields, with the flags as given, or every field error at once.
    pub fn parse(
        text: TenantText<'_>,
        can_have_subtenants: bool,
        enabled: bool,
        hosts: &ConsoleHosts,
    ) -> Parsed<Self> {
        Self::draft(text, can_have_subtenants, enabled, hosts, None).into_result()
    }

    /// The text fields parsed, with the flags as given; a field that cannot be read
    /// stands in as `stored` has it (an edit's tenant), else as a valid placeholder,
    /// with its error (`services::draft`): the operation's checks still run, and
    /// their errors are reported with the conversion's.
    pub fn draft(
        text: TenantText<'_>,
        can_have_subtenants: bool,
        enabled: bool,
        hosts: &ConsoleHosts,
        stored: Option<&Tenant>,
    ) -> Draft<Self> {
        fn read<T>(
            errors: &mut FieldErrors,
            field: &'static str,
            parsed: Result<T, String>,
            stand_in: Option<T>,
        ) -> Option<T> {
            match parsed {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.insert(field, e);
                    stand_in
                }
            }
        }
        let mut errors = FieldErrors::new();
        let name = read(
            &mut errors,
            "name",
            TenantName::parse(text.name),
            TenantName::parse(stored.map_or(STAND_IN_NAME, |t| &t.name)).ok(),
        );
        let subdomain = read(
            &mut errors,
            "subdomain",
            Subdomain::parse(text.subdomain),
            Subdomain::parse(stored.map_or(STAND_IN_SUBDOMAIN, |t| &t.subdomain)).ok(),
        );
        let description = read(
            &mut errors,
            "description",
            Description::parse(text.description),
            Description::parse(stored.map_or("", |t| &t.description)).ok(),
        );
        let custom_domain = read(
            &mut errors,
            "custom_domain",
            CustomDomain::parse(text.custom_domain, hosts),
            Some(
                stored
                    .and_then(|t| t.custom_domain.as_deref())
                    .and_then(|d| CustomDomain::parse(d, hosts).ok().flatten()),
            ),
        );
        match (name, subdomain, description, custom_domain) {
            (Some(name), Some(subdomain), Some(description), Some(custom_domain)) => Draft::new(
                Self {
                    name,
                    subdomain,
                    description,
                    custom_domain,
                    can_have_subtenants,
                    enabled,
                    labels: None,
                    monthly_query_quota: None,
                    limits: LimitChange::default(),
                    max_users: None,
                },
                errors,
            ),
            _ => Draft::from(Err(errors)),
        }
    }

    /// The input with its labels as sent: `None` keeps the current ones, and a list
    /// that is not valid is a field error on `labels`, with the others.
    pub fn with_labels(
        draft: Draft<Self>,
        labels: Option<Result<Vec<String>, String>>,
    ) -> Draft<Self> {
        draft.with_field("labels", labels, |input, l| input.labels = Some(l))
    }

    /// The input with its quota as sent: `None` keeps the current one, and a value
    /// that is not valid is a field error on `monthly_query_quota`, with the others
    /// (the current one standing in for it).
    pub fn with_quota(
        draft: Draft<Self>,
        quota: Option<Result<Option<i64>, String>>,
    ) -> Draft<Self> {
        draft.with_field("monthly_query_quota", quota, |input, q| {
            input.monthly_query_quota = Some(q)
        })
    }

    /// The input with its limits as sent (in `LimitChange::FIELDS`' order): `None`
    /// keeps one, a value that is not valid is a field error on its field (the
    /// current one standing in for it).
    pub fn with_limits(
        mut draft: Draft<Self>,
        sent: [Option<Result<Option<i64>, String>>; 3],
    ) -> Draft<Self> {
        for (field, sent) in LimitChange::FIELDS.into_iter().zip(sent) {
            draft = draft.with_field(field, sent, |input, v| input.limits.set(field, v));
        }
        draft
    }

    /// The input with its user limit as sent: `None` keeps the current one, and a
    /// value that is not valid is a field error on `max_users`, with the others (the
    /// current one standing in for it).
    pub fn with_max_users(
        draft: Draft<Self>,
        limit: Option<Result<Option<i32>, String>>,
    ) -> Draft<Self> {
        draft.with_field("max_users", limit, |input, l| input.max_users = Some(l))
    }

    fn into_fields(
        self,
        tenant_role_id: Option<i64>,
        plan_id: Option<Option<i64>>,
    ) -> TenantFields {
        TenantFields {
            name: self.name.into_inner(),
            subdomain: self.subdomain.into_inner(),
            description: self.description.into_inner(),
            custom_domain: self.custom_domain.map(CustomDomain::into_inner),
            can_have_subtenants: self.can_have_subtenants,
            enabled: self.enabled,
            tenant_role_id,
            labels: self.labels,
            monthly_query_quota: self.monthly_query_quota,
            limits: self.limits,
            max_users: self.max_users,
            plan_id,
        }
    }
}

/// The tenant role (cap) a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleChoice {
    Id(i64),
    /// A value that cannot name any tenant role (not a number).
    Unknown,
}

/// What a create or an edit asks for: the tenant's fields and, optionally, its
/// tenant role (`None` keeps the current one, or inherits the parent's on create).
#[derive(Clone, Debug)]
pub struct TenantChange {
    /// The fields, with stand-ins for those that cannot be read (`services::draft`):
    /// their errors are reported with the operation's own.
    pub fields: Draft<TenantInput>,
    pub tenant_role: Option<RoleChoice>,
    /// The plan asked for: `None` keeps the current one (the parent's on create),
    /// `Some(None)` no plan. Only root Owners and Administrators may change it
    /// (`authz::can_manage_plans`; 403 for anyone else).
    pub plan: Option<Option<i64>>,
}

/// The tenant role asked for, if it changes: for a new tenant (`editing` None) any
/// tenant role, for root administrators only (403 otherwise); for an existing one,
/// what `authz::tenant_role_assignment` allows. A role that is not to be had is a
/// field error on `tenant_role_id`.
fn chosen_role(
    p: &Principal,
    wanted: Option<RoleChoice>,
    editing: Option<&Tenant>,
    errors: &mut FieldErrors,
) -> Result<Option<i64>, AppError> {
    let decision = match (wanted, editing) {
        (None, _) => return Ok(None),
        (Some(RoleChoice::Id(id)), Some(t)) if id == t.tenant_role_id => return Ok(None),
        (Some(_), None) | (Some(RoleChoice::Unknown), _) if !authz::can_manage_tenant_roles(p) => {
            return Err(AppError::Forbidden)
        }
        (Some(RoleChoice::Id(id)), Some(t)) => authz::tenant_role_assignment(p, t, id)?,
        (Some(RoleChoice::Id(id)), None) if p.caps.contains_key(&id) => Ok(()),
        (Some(_), _) => Err(authz::UNKNOWN_TENANT_ROLE.to_string()),
    };
    match (decision, wanted) {
        (Ok(()), Some(RoleChoice::Id(id))) => Ok(Some(id)),
        (Ok(()), _) => Ok(None),
        (Err(message), _) => {
            errors.insert("tenant_role_id", message);
            Ok(None)
        }
    }
}

/// The plan asked for, if it changes (from `current`: the tenant's, or the parent's
/// on create): only root Owners and Administrators may change it, 403 for anyone
/// else. Whether it exists is checked on the locked rows (`plans::tenant_errors`).
/// Why a non-root (or a root user who is no Owner or Administrator) sending a
/// tenant's plan is refused: the API's 403 detail, the console's field error.
pub const ONLY_ROOT_CHOOSES_PLAN: &str =
    "Only the root's Owners and Administrators choose a tenant's plan.";

fn chosen_plan(
    p: &Principal,
    wanted: Option<Option<i64>>,
    current: Option<i64>,
) -> Result<Option<Option<i64>>, AppError> {
    match wanted {
        None => Ok(None),
        // Sending back what is there asks for nothing (a form's untouched field).
        Some(w) if w == current && !authz::can_manage_plans(p) => Ok(None),
        Some(_) if !authz::can_manage_plans(p) => Err(AppError::problem(
            crate::error::ProblemKind::Forbidden,
            ONLY_ROOT_CHOOSES_PLAN,
        )),
        Some(w) => Ok(Some(w)),
    }
}

/// The plan a create asks for under a parent governed by `parent_plan`: for
/// whoever may not choose plans, `null` and the parent's plan (its own, or the one
/// it follows) both mean "the parent's", as leaving the field out does: the new
/// tenant has no plan of its own and follows the parent's. Any other plan is
/// [`chosen_plan`]'s to judge.
fn chosen_new_plan(
    p: &Principal,
    wanted: Option<Option<i64>>,
    parent: Option<&Tenant>,
    parent_plan: Option<i64>,
) -> Result<Option<Option<i64>>, AppError> {
    let parents = |w: Option<i64>| w.is_none() || w == parent_plan;
    match wanted {
        Some(w) if parents(w) && !authz::can_manage_plans(p) => Ok(None),
        wanted => chosen_plan(p, wanted, parent.and_then(|t| t.plan_id)),
    }
}

/// The parent of `tenant`, `None` for the root.
pub(crate) async fn parent_of(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<Option<Tenant>, AppError> {
    match tenant.parent_id {
        Some(id) => Ok(Some(Tenant::find(conn, id).await?)),
        None => Ok(None),
    }
}

/// Checks a create under `parent` (governed by plan `parent_plan`) as `p`, before
/// anything is locked: the right to manage its sub-tenants (403), then every field
/// error. `parent` None: none was chosen (a form's empty or invisible choice), a
/// field error. The locked change checks again ([`create_many`]).
pub fn check_create(
    p: &Principal,
    parent: Option<&Tenant>,
    parent_plan: Option<i64>,
    input: TenantChange,
) -> Result<NewTenant, AppError> {
    let mut errors = FieldErrors::new();
    match parent {
        None => {
            errors.insert("parent_id", "Choose a parent tenant from the list.".into());
        }
        Some(parent) => {
            authz::require_manage_children(p, parent)?;
            if !parent.can_have_subtenants {
                errors.insert(
                    "parent_id",
                    format!("{} may not have sub-tenants.", parent.name),
                );
            }
        }
    }
    let role = chosen_role(p, input.tenant_role, None, &mut errors)?;
    let plan = chosen_new_plan(p, input.plan, parent, parent_plan)?;
    let (fields, unread) = input.fields.open()?;
    // These errors are reported with the locked create's checks (its plan's limits
    // and options, a taken subdomain): all at once.
    let unread = unread.with(errors);
    let Some(parent) = parent else {
        unread.refuse()?;
        return Err(AppError::NotFound);
    };
    Ok(NewTenant {
        parent_id: parent.id,
        fields: fields.into_fields(role, plan),
        unread,
    })
}

/// Creates checked tenants ([`check_create`]) as `p` in one transaction, answered
/// per item in order; the right to create is checked again on each locked parent.
pub async fn create_many(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    items: Vec<NewTenant>,
) -> Result<Vec<Result<Tenant, AppError>>, AppError> {
    let authorize = |parent: &Tenant| authz::require_manage_children(p, parent);
    tree::create_many(conn, actor, items, &authorize).await
}

/// Creates a sub-tenant of `parent` as `p` (see [`check_create`]).
pub async fn create(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    parent: Option<&Tenant>,
    input: TenantChange,
) -> Result<Tenant, AppError> {
    let parent_plan = match parent {
        Some(t) => crate::services::plans::plan_of(conn, t)
            .await?
            .map(|p| p.id),
        None => None,
    };
    let item = check_create(p, parent, parent_plan, input)?;
    create_many(conn, p, actor, vec![item])
        .await?
        .pop()
        .unwrap_or(Err(AppError::NotFound))
}

/// Saves `tenant`'s fields as `p` (whoever may edit it: 403 otherwise). The root
/// stays enabled; a lower cap is for root Owners; disabling it or changing its
/// subdomain (its users' logins) takes dominating every user at home there. A new
/// plan must fit it and the tenants inheriting it (judged at `now`); one whose
/// limits are below what they use is saved with warnings saying so, as is an own
/// limit set below what its subtree uses or above a limit of a tenant above it.
pub async fn update(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    input: TenantChange,
    now: DateTime<Utc>,
) -> Result<crate::services::plans::Warned<Tenant>, AppError> {
    let parent = parent_of(conn, tenant).await?;
    authz::require_edit(p, tenant, parent.as_ref())?;
    let mut errors = FieldErrors::new();
    let role = chosen_role(p, input.tenant_role, Some(tenant), &mut errors)?;
    let plan = chosen_plan(p, input.plan, tenant.plan_id)?;
    let (fields, unread) = input.fields.open()?;
    // Reported with the locked edit's checks (its plan's limits and options): all at
    // once, nothing written while any stands.
    let unread = unread.with(errors);
    let users_before = crate::db::models::user_limit::limits_of(conn, &[tenant.id])
        .await?
        .remove(&tenant.id);
    let before = [
        tenant.limits.storage_limit_gb,
        tenant.limits.memory_limit_gb,
        tenant.limits.max_instances,
        users_before.map(i64::from),
    ];
    let mut saved = tree::update(
        conn,
        actor,
        tenant.id,
        tree::TenantEdit {
            fields: fields.into_fields(role, plan),
            unread,
        },
        authz::is_global_owner(p),
        &|subjects, change| authz::require_dominates_homed(p, subjects, change),
        now,
    )
    .await?;
    // Own limits set below use, or above a limit above it, are saved and said (#14).
    let path = saved.value.path.clone();
    let usage = crate::db::models::instance::Instance::usage(conn, &path).await?;
    saved
        .warnings
        .extend(crate::services::instances::own_limit_warnings(
            p, &path, &usage, before,
        ));
    Ok(saved)
}

/// Enables or disables `tenant` as `p` (whoever may edit it), with `subtree` every
/// tenant below it too (each needs the same right); disabling also takes dominating
/// every user at home in what is disabled (`authz::require_dominates_homed`).
pub async fn set_enabled(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    enabled: bool,
    subtree: bool,
) -> Result<Tenant, AppError> {
    require_editable(conn, p, tenant).await?;
    let homed =
        |subjects: &[authz::Subject], change| authz::require_dominates_homed(p, subjects, change);
    if subtree {
        let authorize = |t: &Tenant, parent: Option<&Tenant>| authz::require_edit(p, t, parent);
        let (t, _) =
            tree::set_enabled_subtree(conn, actor, tenant.id, enabled, &authorize, &homed).await?;
        Ok(t)
    } else {
        tree::set_enabled(conn, actor, tenant.id, enabled, &homed).await
    }
}

/// 403 unless `p` may edit `tenant` (enable, disable, change it): what
/// [`set_enabled`] checks first, also asked before its confirmation is shown.
pub async fn require_editable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<(), AppError> {
    let parent = parent_of(conn, tenant).await?;
    authz::require_edit(p, tenant, parent.as_ref())
}

/// How a delete of `tenant` by `p` at `now` names what blocks it: the tenants `p`
/// sees, and the resources of those whose resources `p` may read (a cap taking
/// Resources away leaves them counted, unnamed).
fn delete_scope(p: &Principal, tenant: &Tenant, now: DateTime<Utc>) -> DeleteScope {
    DeleteScope::reading(
        now,
        authz::visibility(p),
        authz::subtree_reading(p, tenant, crate::domain::Feature::Resources),
    )
}

/// What deleting `tenant` at `now` removes and what blocks a safe delete, named as
/// `p` may see it.
pub async fn delete_preview(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> Result<DeletePreview, AppError> {
    tree::delete_preview(conn, tenant, &delete_scope(p, tenant, now)).await
}

/// Deletes `tenant` as `p` (an Owner over its parent; never the root): safely —
/// refused while its subtree has sub-tenants, users, resolvers, devices or usage in
/// the last 30 days before `now`, each named as far as `p` sees them — or with its
/// whole subtree when `force`d, which also takes dominating every user at home in it
/// (`authz::require_dominates_homed`). Returns how many tenants were deleted.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    force: bool,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let parent = parent_of(conn, tenant).await?;
    if !authz::can_delete(p, tenant, parent.as_ref()) {
        return Err(AppError::Forbidden);
    }
    let authorize = |t: &Tenant, parent: &Tenant| {
        if authz::can_delete(p, t, Some(parent)) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    };
    let homed =
        |subjects: &[authz::Subject], change| authz::require_dominates_homed(p, subjects, change);
    let scope = delete_scope(p, tenant, now);
    tree::delete(conn, actor, tenant.id, force, &scope, &authorize, &homed).await
}

/// Moves `tenant` with its subtree under `destination` as `p`: an Owner over its
/// current parent who manages the destination's sub-tenants and dominates every
/// user at home in the subtree (`authz::require_dominates_homed`), and only if no
/// limit on the destination's path would be exceeded (409 naming it and its use).
/// Returns the moved tenant, with warnings of what goes dormant under the plan its
/// subtree comes under.
pub async fn move_tenant(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    destination: &Tenant,
    now: DateTime<Utc>,
) -> Result<crate::services::plans::Warned<Tenant>, AppError> {
    let parent = parent_of(conn, tenant).await?;
    if !authz::can_move(p, tenant, parent.as_ref()) || !authz::can_manage_children(p, destination) {
        return Err(AppError::Forbidden);
    }
    let authorize = |t: &Tenant, from: &Tenant, to: &Tenant| {
        if authz::can_move_to(p, t, Some(from), to) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    };
    tree::move_tenant(
        conn,
        actor,
        tenant.id,
        destination.id,
        &authorize,
        &|subjects, change| authz::require_dominates_homed(p, subjects, change),
        &|path| authz::can_see_path(p, path),
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> ConsoleHosts {
        ConsoleHosts::example()
    }

    fn text<'a>(name: &'a str, subdomain: &'a str, custom_domain: &'a str) -> TenantText<'a> {
        TenantText::new(name, subdomain, "", Some(custom_domain))
    }

    #[test]
    fn every_field_error_at_once() {
        let errors = TenantInput::parse(
            text(" ", "Bad_Sub", "x.tenants.example.net"),
            false,
            true,
            &hosts(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.keys().copied().collect();
        assert_eq!(fields, ["custom_domain", "name", "subdomain"]);
        assert_eq!(errors["name"], "Enter a name.");
    }

    #[test]
    fn valid_text_keeps_its_typed_values() {
        let input = TenantInput::parse(
            text(" Acme ", "acme", "Console.Acme.COM."),
            true,
            false,
            &hosts(),
        )
        .unwrap();
        assert_eq!(input.name, TenantName::parse("Acme").unwrap());
        assert_eq!(
            input.custom_domain.map(CustomDomain::into_inner).as_deref(),
            Some("console.acme.com")
        );
        assert!(input.can_have_subtenants && !input.enabled);
        assert!(
            TenantInput::parse(text("A", "a", ""), false, true, &hosts())
                .unwrap()
                .custom_domain
                .is_none()
        );
    }

    #[test]
    fn the_operations_errors_join_the_conversions() {
        let mut own = FieldErrors::new();
        own.insert("parent_id", "no".into());
        // A name that cannot be read stands in as a valid one: the checks still run.
        let draft = TenantInput::draft(text("", "a", ""), false, true, &hosts(), None);
        let (standing_in, unread) = draft.open().unwrap();
        assert_eq!(standing_in.subdomain.as_str(), "a");
        let Err(AppError::Validation(all)) = unread.with(own.clone()).refuse() else {
            panic!("expected field errors");
        };
        assert_eq!(
            all.keys().copied().collect::<Vec<_>>(),
            ["name", "parent_id"]
        );
        // A limit that cannot be read is reported with a valid text's checks.
        let draft = TenantInput::with_max_users(
            TenantInput::draft(text("A", "a", ""), false, true, &hosts(), None),
            Some(Err("Enter a whole number.".into())),
        );
        let (input, unread) = draft.open().unwrap();
        assert_eq!(input.max_users, None, "the current limit stands in");
        let Err(AppError::Validation(all)) = unread.with(own.clone()).refuse() else {
            panic!("expected field errors");
        };
        assert_eq!(
            all.keys().copied().collect::<Vec<_>>(),
            ["max_users", "parent_id"]
        );
        let valid = TenantInput::draft(text("A", "a", ""), false, true, &hosts(), None);
        let (_, unread) = valid.clone().open().unwrap();
        assert!(matches!(unread.with(own).refuse(), Err(AppError::Validation(e)) if e.len() == 1));
        let (_, unread) = valid.open().unwrap();
        assert!(unread.refuse().is_ok());
    }
}
