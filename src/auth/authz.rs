//! The one place that decides what a user may see and do.
//!
//! Every decision derives from the user's [`Principal`] (home tenant, home role,
//! grants and the tenant-role caps, loaded once per request) and the target tenant's
//! `path`: "is A above B" is a lookup in B's path, never a walk up the tree.
//! Handlers call these functions; none decides on its own.

use super::Principal;
use crate::db::models::plan::Plan;
use crate::db::models::{Grant, Tenant, TenantListRow, Visibility};
use crate::domain::invitation::Offer;
use crate::domain::plan::PlanOption;
use crate::domain::policy::{Enforcement, PolicyKind};
use crate::domain::resources::CloudVisibility;
use crate::domain::stats::UsageMailRefusal;
use crate::domain::{Feature, GrantRole, Level, Permissions, Scope};
use crate::error::{AppError, ProblemKind};
use diesel_async::AsyncPgConnection;

/// Why a user holds a level on one feature in one tenant.
#[derive(Clone, Debug)]
pub struct Decision {
    pub feature: Feature,
    /// The effective level: `max(home role, grants)`, capped by the tenant role.
    pub level: Level,
    /// The home role's level, when the tenant is the user's home tenant.
    pub home_role: Option<(String, Level)>,
    /// Grants that reach the tenant, with the level each gives.
    pub grants: Vec<(Grant, Level)>,
    /// The tenant role (cap) and its level for this feature.
    pub cap: (String, Level),
}

/// Grants of this user that reach `tenant`.
pub fn covering_grants<'a>(
    p: &'a Principal,
    tenant: &'a Tenant,
) -> impl Iterator<Item = &'a Grant> + 'a {
    p.grants
        .iter()
        .filter(move |g| g.covers(tenant.id, &tenant.path))
}

/// The decision for (user, tenant, feature), with its reasons. Every rule of the
/// permission model is here.
pub fn decide(p: &Principal, tenant: &Tenant, feature: Feature) -> Decision {
    let home_role = (tenant.id == p.home.id).then(|| match &p.role {
        Some(role) => (role.name.clone(), role.permissions.get(feature)),
        None => ("no role".to_string(), Level::None),
    });
    let grants: Vec<(Grant, Level)> = covering_grants(p, tenant)
        .map(|g| (g.clone(), g.role.level()))
        .collect();
    let cap_level = p.cap(tenant).get(feature);
    let uncapped = grants
        .iter()
        .map(|(_, l)| *l)
        .chain(home_role.iter().map(|(_, l)| *l))
        .max()
        .unwrap_or(Level::None);
    Decision {
        feature,
        level: uncapped.min(cap_level),
        home_role,
        grants,
        cap: (p.cap_name(tenant), cap_level),
    }
}

/// The effective level of (user, tenant, feature).
pub fn effective_level(p: &Principal, tenant: &Tenant, feature: Feature) -> Level {
    decide(p, tenant, feature).level
}

/// Every feature's effective level in `tenant`.
pub fn effective_permissions(p: &Principal, tenant: &Tenant) -> Permissions {
    let mut out = Permissions::none();
    for f in Feature::ALL {
        out.set(f, effective_level(p, tenant, f));
    }
    out
}

/// The strongest grant role the user holds over this tenant, if any.
pub fn grant_role(p: &Principal, tenant: &Tenant) -> Option<GrantRole> {
    covering_grants(p, tenant).map(|g| g.role).max()
}

/// May the user see this tenant at all? Unseen tenants answer 404.
pub fn can_see(p: &Principal, tenant: &Tenant) -> bool {
    can_see_path(p, &tenant.path)
}

/// `can_see` for the tenant at the end of `path` (its ids from the root), when only
/// the path is loaded.
pub fn can_see_path(p: &Principal, path: &[i64]) -> bool {
    let Some(&id) = path.last() else {
        return false;
    };
    id == p.home.id || p.grants.iter().any(|g| g.covers(id, path))
}

/// The tenants the user may see, as a database filter.
pub fn visibility(p: &Principal) -> Visibility {
    let mut subtree_roots = Vec::new();
    let mut tenants = vec![p.home.id];
    for g in &p.grants {
        match g.scope {
            Scope::Subtree => subtree_roots.push(g.tenant_id),
            Scope::Tenant => tenants.push(g.tenant_id),
        }
    }
    // A subtree grant on the root sees everything: no filter at all.
    if p.home.is_root() && subtree_roots.contains(&p.home.id) {
        return Visibility::All;
    }
    Visibility::Within {
        subtree_roots,
        tenants,
    }
}

/// Where a user may find people (`/users?q=`, the user pickers): the tenants they
/// see whose Users they may read. A grant gives at least Read on every feature
/// before the cap, the home role what it says (the home tenant counts only when it
/// or a grant reads Users there), and each tenant's cap (its tenant role) must leave
/// Users readable; the root has no cap.
#[derive(Clone, Debug, PartialEq)]
pub struct PeopleScope {
    pub visibility: Visibility,
    /// The tenant roles (caps) under which Users can be read.
    pub readable_caps: Vec<i64>,
}

pub fn people_scope(p: &Principal) -> PeopleScope {
    let mut visibility = visibility(p);
    drop_unread_home(p, &mut visibility, Feature::Users);
    let mut readable_caps: Vec<i64> = p
        .caps
        .iter()
        .filter(|(_, role)| role.permissions.get(Feature::Users) >= Level::Read)
        .map(|(id, _)| *id)
        .collect();
    readable_caps.sort_unstable();
    PeopleScope {
        visibility,
        readable_caps,
    }
}

impl PeopleScope {
    /// Is someone homed in the tenant at the end of `path` (ids from the root),
    /// capped by `tenant_role_id`, in this scope? The filters' meaning, as the
    /// statements apply them, for the decisions on one person and the property tests.
    pub fn includes(&self, path: &[i64], tenant_role_id: i64) -> bool {
        seen_at(&self.visibility, path)
            && (path.len() == 1 || self.readable_caps.contains(&tenant_role_id))
    }
}

/// Does `visibility` show the tenant at the end of `path` (ids from the root)?
fn seen_at(visibility: &Visibility, path: &[i64]) -> bool {
    let Some(id) = path.last() else {
        return false;
    };
    match visibility {
        Visibility::All => true,
        Visibility::Within {
            subtree_roots,
            tenants,
        } => path.iter().any(|a| subtree_roots.contains(a)) || tenants.contains(id),
    }
}

/// May `p` find the person homed in `home` (`/users` would list them)? Seeing their
/// home is not enough: a home seen only as one's own, without Users read there, or
/// a cap hiding Users, keeps its people out.
pub fn can_find_person(p: &Principal, home: &Tenant) -> bool {
    people_scope(p).includes(&home.path, home.tenant_role_id)
}

/// Is someone homed at `home_path` a grant candidate of `on` (the users the grant
/// form offers, before who may find them): homed in `on`, an ancestor or below it.
pub fn is_grant_candidate(on: &Tenant, home_path: &[i64]) -> bool {
    home_path.last().is_some_and(|h| on.path.contains(h)) || home_path.contains(&on.id)
}

/// May `p` pick the person homed in `home` for a grant on `on`: a grant candidate
/// whom `p` may also find. Anyone else is answered as a user who does not exist.
pub fn may_pick_grantee(p: &Principal, on: &Tenant, home: &Tenant) -> bool {
    is_grant_candidate(on, &home.path) && can_find_person(p, home)
}

/// Does people search find everyone homed in the tenants `p` sees: no tenant is
/// left out for its cap (every tenant role leaves Users readable) nor for the home
/// role? Then the people homed at or below a tenant are as many as the maintained
/// user counts of the tenants seen there say (the dashboard's Users card); otherwise
/// they are counted from the people search itself.
pub fn finds_everyone_seen(p: &Principal) -> bool {
    let scope = people_scope(p);
    scope.readable_caps.len() == p.caps.len() && scope.visibility == visibility(p)
}

/// Does people search (`/users`) have anyone to find for `p`: does their
/// `people_scope` name a tenant? Every tenant, a subtree, or a single tenant — their
/// home only when its cap leaves Users readable. (The caps of their grants' tenants are
/// not in the principal: a grant only on tenants whose caps hide Users shows the link
/// to a search that finds nobody, which the page says.)
pub fn can_find_people(p: &Principal) -> bool {
    match people_scope(p).visibility {
        Visibility::All => true,
        Visibility::Within {
            subtree_roots,
            tenants,
        } => {
            let home_readable = p.cap(&p.home).get(Feature::Users) >= Level::Read;
            !subtree_roots.is_empty() || tenants.iter().any(|id| *id != p.home.id || home_readable)
        }
    }
}

/// The tenants of a subtree whose rows a view spanning it may show for one feature
/// (the subtree's activity, its usage statistics): exactly those whose own page for
/// the feature the reader could open — visible, and the feature readable there
/// ([`effective_level`] at least Read). Invisible and capped tenants alike are never
/// listed. As two filters the subtree's statements apply to its tenants now.
#[derive(Clone, Debug, PartialEq)]
pub struct SubtreeReading {
    /// The tenants the reader sees in the subtree (`Visibility::below` the root),
    /// less their home when neither their home role nor a grant on it reads the
    /// feature there.
    pub visibility: Visibility,
    /// The tenant roles whose cap leaves the feature unreadable, sorted: tenants
    /// with one of them are left out, the root excepted (it is never capped).
    /// Usually empty, and then the statements carry no clause for it.
    pub capped_roles: Vec<i64>,
}

impl SubtreeReading {
    /// Is the tenant at the end of `path` (ids from the root), capped by
    /// `tenant_role_id`, one of the readable tenants? The filters' meaning, as the
    /// statements apply them, for the property tests.
    pub fn includes(&self, path: &[i64], tenant_role_id: i64) -> bool {
        seen_at(&self.visibility, path)
            && (path.len() == 1 || !self.capped_roles.contains(&tenant_role_id))
    }
}

/// Which tenants of `root`'s subtree `p` may read `feature` in (the caller has
/// already required the feature readable at `root`). Below a tenant, the level a
/// user holds can only fall through a cap: a grant gives at least Read everywhere it
/// reaches, so a visible tenant is readable unless its tenant role caps the feature
/// to none — or it is seen only as the user's home and the home role does not read
/// the feature. The caps are few (tenant roles are defined once in the root), so
/// they travel as a list of role ids rather than as a decision per row.
pub fn subtree_reading(p: &Principal, root: &Tenant, feature: Feature) -> SubtreeReading {
    let mut visibility = visibility(p).below(root);
    drop_unread_home(p, &mut visibility, feature);
    SubtreeReading {
        visibility,
        capped_roles: capped_roles(p, feature),
    }
}

/// Leaves the user's home out of the single tenants of `visibility` when it is seen
/// only as their home and their home role does not read `feature` there. Any grant
/// on the home reads it; a subtree grant covering it from above keeps it among its
/// subtree roots' tenants.
fn drop_unread_home(p: &Principal, visibility: &mut Visibility, feature: Feature) {
    let home_role_reads = p
        .role
        .as_ref()
        .is_some_and(|r| r.permissions.get(feature) >= Level::Read);
    let home_granted = p.grants.iter().any(|g| g.tenant_id == p.home.id);
    if let Visibility::Within { tenants, .. } = visibility {
        if !home_role_reads && !home_granted {
            tenants.retain(|id| *id != p.home.id);
        }
    }
}

/// The tenant roles (caps) under which `feature` cannot be read, sorted.
pub fn capped_roles(p: &Principal, feature: Feature) -> Vec<i64> {
    let mut ids: Vec<i64> = p
        .caps
        .iter()
        .filter(|(_, role)| role.permissions.get(feature) < Level::Read)
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    ids
}

/// Loads a tenant the user may see, or 404 — the same answer as for a missing id.
pub async fn visible_tenant(
    p: &Principal,
    id: i64,
    conn: &mut AsyncPgConnection,
) -> Result<Tenant, AppError> {
    let tenant = Tenant::find(conn, id).await?;
    if can_see(p, &tenant) {
        Ok(tenant)
    } else {
        Err(AppError::NotFound)
    }
}

/// 403 unless the user holds at least `level` on `feature` in `tenant`.
pub fn require(
    p: &Principal,
    tenant: &Tenant,
    feature: Feature,
    level: Level,
) -> Result<(), AppError> {
    if effective_level(p, tenant, feature) >= level {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// May the user read the audit events about this tenant (Audit at least Read there)?
/// Those include what was done to it from above, switch-ins too.
pub fn can_read_activity(p: &Principal, tenant: &Tenant) -> bool {
    effective_level(p, tenant, Feature::Audit) >= Level::Read
}

/// Does the user read the events about the tenant's whole subtree: Audit read on it
/// and a grant reaching every tenant below it. Without such a grant (a tenant-only
/// grant, a home role) the subtree's events are those about the tenants below that
/// the user sees (`services::activity::Reader`).
pub fn can_read_subtree_activity(p: &Principal, tenant: &Tenant) -> bool {
    can_read_activity(p, tenant) && covering_grants(p, tenant).any(|g| g.scope == Scope::Subtree)
}

/// 403 unless the user may read the tenant's activity (in either scope: the subtree's
/// leaves out the tenants whose own activity the user could not open, `subtree_reading`).
pub fn require_activity(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    if can_read_activity(p, tenant) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// May the user read the tenant's usage statistics (Usage at least Read there)?
/// Viewers may: statistics are for every tenant role. Which sub-tenants' rows they
/// read is `subtree_reading`'s answer.
pub fn can_read_usage(p: &Principal, tenant: &Tenant) -> bool {
    effective_level(p, tenant, Feature::Usage) >= Level::Read
}

/// May the user read the tenant's rule configuration (Rules at least Read there)?
/// Linked from the tenant page and the navigation; changing it needs Rules full.
pub fn can_read_rules(p: &Principal, tenant: &Tenant) -> bool {
    effective_level(p, tenant, Feature::Rules) >= Level::Read
}

/// 403 unless the user may read the tenant's usage statistics.
pub fn require_usage(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    if can_read_usage(p, tenant) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// May the user be sent the tenant's usage by mail (a quota alert, a monthly
/// report) now? Only someone who could log in and open the tenant's statistics:
/// the user and their home tenant enabled, the tenant visible, Usage read there.
pub fn can_receive_usage_mail(p: &Principal, tenant: &Tenant) -> bool {
    p.user.enabled && p.home.enabled && can_see(p, tenant) && can_read_usage(p, tenant)
}

/// Why the tenant's usage cannot be mailed to the user now, if it cannot: they may
/// not receive it (`can_receive_usage_mail`), or it would reach no one (no email
/// address on the account). Lost access comes first: an address would not help.
pub fn usage_mail_refusal(p: &Principal, tenant: &Tenant) -> Option<UsageMailRefusal> {
    if !can_receive_usage_mail(p, tenant) {
        Some(UsageMailRefusal::NoAccess)
    } else if !p.user.has_email() {
        Some(UsageMailRefusal::NoEmail)
    } else {
        None
    }
}

/// Why the user's monthly report of the tenant cannot be sent now, if it cannot: at
/// send time a report needs what subscribing needs (`can_subscribe_reports`: an
/// Owner over it), besides what any usage mail needs (`usage_mail_refusal`). Lost
/// access comes first, then lost Owner (an address would not help either), then no
/// address.
pub fn report_mail_refusal(p: &Principal, tenant: &Tenant) -> Option<UsageMailRefusal> {
    if !can_receive_usage_mail(p, tenant) {
        Some(UsageMailRefusal::NoAccess)
    } else if !can_subscribe_reports(p, tenant) {
        Some(UsageMailRefusal::NotOwner)
    } else {
        usage_mail_refusal(p, tenant)
    }
}

/// May the user change their own account's details (name, email) on its page of
/// the Users pages? Users Full in their home tenant, and an account not managed by
/// an identity source (that source owns those details). The profile links there.
pub fn can_edit_own_identity(p: &Principal) -> bool {
    !p.user.is_managed() && effective_level(p, &p.home, Feature::Users) >= Level::Full
}

/// May the user subscribe to monthly usage reports of the tenant? Owners may: an
/// Owner grant that covers it (on it, or on an ancestor with sub-tenant scope),
/// and the statistics readable there (a cap may take Usage away).
pub fn can_subscribe_reports(p: &Principal, tenant: &Tenant) -> bool {
    can_read_usage(p, tenant)
        && p.grants
            .iter()
            .any(|g| g.role == GrantRole::Owner && g.covers(tenant.id, &tenant.path))
}

/// May the user's report on the tenant be one report per direct child? Only if they
/// see every child: a grant (any role) on the tenant's whole subtree. A tenant-only
/// Owner would subscribe to reports that could never be sent.
pub fn can_report_per_child(p: &Principal, tenant: &Tenant) -> bool {
    p.grants
        .iter()
        .any(|g| g.scope == Scope::Subtree && g.covers(tenant.id, &tenant.path))
}

/// 403 unless the user may subscribe to the tenant's monthly reports.
pub fn require_report_subscriber(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    if can_subscribe_reports(p, tenant) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Is the user a global administrator: Owner or Administrator of the root's whole tree?
pub fn is_global_admin(p: &Principal) -> bool {
    p.home.is_root()
        && p.grants.iter().any(|g| {
            g.tenant_id == p.home.id
                && g.scope == Scope::Subtree
                && g.role >= GrantRole::Administrator
        })
}

/// May the user migrate `source`'s rule set to `target` (issue #13)? Owner or
/// Administrator over both tenants, with Rules full in both: a migration reads
/// the one and replaces the other.
pub fn can_migrate_rules(p: &Principal, source: &Tenant, target: &Tenant) -> bool {
    [source, target].iter().all(|t| {
        grant_role(p, t).is_some_and(|r| r >= GrantRole::Administrator)
            && effective_level(p, t, Feature::Rules) == Level::Full
    })
}

/// May the user roll a failed migration back? A rollback only replaces the
/// target's rules (with its own earlier version), so with the source deleted since
/// it takes the target's half of [`can_migrate_rules`] alone — otherwise no one
/// could ever unlock the target; while the source exists, what starting it takes.
pub fn can_roll_back_migration(p: &Principal, source: Option<&Tenant>, target: &Tenant) -> bool {
    match source {
        Some(s) => can_migrate_rules(p, s, target),
        None => can_migrate_rules_from(p, target),
    }
}

/// May the user open `source`'s migration form (the "Migrate rules…" link, the
/// target search): the source's half of [`can_migrate_rules`], Owner or
/// Administrator over it with Rules full. Which targets it offers is
/// `can_migrate_rules` per candidate.
pub fn can_migrate_rules_from(p: &Principal, source: &Tenant) -> bool {
    grant_role(p, source).is_some_and(|r| r >= GrantRole::Administrator)
        && effective_level(p, source, Feature::Rules) == Level::Full
}

/// May the user see a rule-set migration (`/migrations`, its page): it shows both
/// tenants' rule counts and mapping, so both seen with Rules read. Once the source
/// is deleted (a failed migration's source may be), the target's half alone: the
/// migration still locks the target, and whoever reads its rules must be able to
/// follow it to its rollback (the deleted source is named to them only as
/// [`migration_source_name`] allows). A target deleted since (only after the
/// migration ended): global administrators only, who saw it.
pub fn can_see_migration(p: &Principal, source: Option<&Tenant>, target: Option<&Tenant>) -> bool {
    let reads = |t: &Tenant| can_see(p, t) && can_read_rules(p, t);
    match (source, target) {
        (Some(s), Some(t)) => reads(s) && reads(t),
        (None, Some(t)) => reads(t),
        (_, None) => is_global_admin(p) && source.is_none_or(reads),
    }
}

/// How a migration whose source was deleted names that source to `p` (`recorded`:
/// its name then, `started_by`: who started the migration). Global administrators
/// saw every tenant and the starter held rights over it; anyone else sees the
/// migration through its target alone and may never have seen the source:
/// [`UNSEEN_TENANT`].
pub fn migration_source_name(p: &Principal, started_by: Option<i64>, recorded: &str) -> String {
    if is_global_admin(p) || started_by == Some(p.user.id) {
        recorded.to_string()
    } else {
        UNSEEN_TENANT.into()
    }
}

/// May the user follow a migration's progress (the locked page's bar and its
/// polled fragment): who may see it, or who reads the rules of one of its tenants
/// (that tenant's locked page names the migration already).
pub fn can_follow_migration(
    p: &Principal,
    source: Option<&Tenant>,
    target: Option<&Tenant>,
) -> bool {
    can_see_migration(p, source, target)
        || [source, target]
            .into_iter()
            .flatten()
            .any(|t| can_see(p, t) && can_read_rules(p, t))
}

/// May the user create, edit or disable children of `parent`? It takes an Owner or
/// Administrator grant over the parent that carries "may manage sub-tenants".
pub fn can_manage_children(p: &Principal, parent: &Tenant) -> bool {
    manage_role(p, parent).is_some_and(|r| r >= GrantRole::Administrator)
}

/// `can_manage_children` as a check: 403 unless the user may create children of `parent`.
pub fn require_manage_children(p: &Principal, parent: &Tenant) -> Result<(), AppError> {
    if can_manage_children(p, parent) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// May the user delete children of `parent`? Only an Owner that manages sub-tenants.
pub fn can_delete_children(p: &Principal, parent: &Tenant) -> bool {
    manage_role(p, parent) == Some(GrantRole::Owner)
}

fn manage_role(p: &Principal, parent: &Tenant) -> Option<GrantRole> {
    if effective_level(p, parent, Feature::Tenants) < Level::Full {
        return None;
    }
    // Managing sub-tenants needs sub-tenant scope: otherwise the manager could not see
    // the children they create.
    covering_grants(p, parent)
        .filter(|g| g.manage_subtenants && g.scope == Scope::Subtree)
        .map(|g| g.role)
        .max()
}

/// May the user edit this tenant's own settings? Children are edited by whoever
/// manages their parent; the root by its Owners and Administrators.
pub fn can_edit(p: &Principal, tenant: &Tenant, parent: Option<&Tenant>) -> bool {
    match parent {
        Some(parent) => can_manage_children(p, parent),
        None => {
            grant_role(p, tenant).is_some_and(|r| r >= GrantRole::Administrator)
                && effective_level(p, tenant, Feature::Tenants) == Level::Full
        }
    }
}

/// `can_edit` for a row of the Tenants page, decided per row: the row carries what a
/// right over its parent reads (the parent's id, path and cap), not the parent row.
/// The root is never listed (the list shows what is below the acting tenant).
pub fn can_edit_row(p: &Principal, row: &TenantListRow) -> bool {
    let (Some(parent_id), Some(cap)) = (row.parent_id, row.parent_role_id) else {
        return false;
    };
    let path = row.path[..row.path.len().saturating_sub(1)].to_vec();
    if path.last() != Some(&parent_id) {
        return false;
    }
    // Only the fields rights read are meaningful on this stand-in for the parent.
    let parent = Tenant {
        id: parent_id,
        parent_id: path.len().checked_sub(2).map(|i| path[i]),
        path,
        name: row.parent_name.clone().unwrap_or_default(),
        description: String::new(),
        subdomain: String::new(),
        custom_domain: None,
        enabled: true,
        can_have_subtenants: true,
        tenant_role_id: cap,
        user_count: 0,
        instance_count: 0,
        created_at: Default::default(),
        updated_at: Default::default(),
        domain_claim: Default::default(),
        monthly_query_quota: None,
        limits: Default::default(),
        plan_id: None,
    };
    can_manage_children(p, &parent)
}

pub fn require_edit(
    p: &Principal,
    tenant: &Tenant,
    parent: Option<&Tenant>,
) -> Result<(), AppError> {
    if can_edit(p, tenant, parent) {
        Ok(())
    } else if parent.is_some() && effective_level(p, tenant, Feature::Tenants) == Level::Full {
        // Rights inside the tenant, none over it: say where it is changed from.
        Err(AppError::problem(
            ProblemKind::Forbidden,
            "A tenant's settings, limits and plan are changed from the tenant above it: \
             by whoever manages that tenant's sub-tenants.",
        ))
    } else {
        Err(AppError::Forbidden)
    }
}

/// Whether a bulk action could change any of the tenants at the ends of these
/// paths (ids from the root): whether the Tenants page offers its bulk bar. Every
/// bulk action needs at least `can_edit` (a move needs more): managing the
/// sub-tenants of the tenant's parent, or for the root an Administrator's grant on
/// it. The parent's cap is not loaded with a list row, so it is left to each
/// row's own check; this only keeps the bar from those who hold no such grant.
pub fn may_bulk_change<'a>(p: &Principal, paths: impl IntoIterator<Item = &'a [i64]>) -> bool {
    paths.into_iter().any(|path| match path {
        [] => false,
        [root] => p
            .grants
            .iter()
            .any(|g| g.tenant_id == *root && g.role >= GrantRole::Administrator),
        [above @ .., _] => p.grants.iter().any(|g| {
            g.role >= GrantRole::Administrator
                && g.manage_subtenants
                && g.scope == Scope::Subtree
                && above.contains(&g.tenant_id)
        }),
    })
}

/// Why an Owner or Administrator of `tenant` may still not edit it (`can_edit` is
/// false): a tenant's settings belong to whoever manages its parent's sub-tenants.
/// `None` when the user may edit it or holds no such role there (nothing to explain).
/// Names the parent only when the user may see it.
pub fn edit_refusal(p: &Principal, tenant: &Tenant, parent: Option<&Tenant>) -> Option<String> {
    if can_edit(p, tenant, parent) {
        return None;
    }
    let role = grant_role(p, tenant).filter(|r| *r >= GrantRole::Administrator)?;
    let above = match parent {
        Some(parent) if can_see(p, parent) => parent.name.as_str(),
        _ => "the tenant above it",
    };
    Some(format!(
        "Only administrators above {name} who manage the sub-tenants of {above} can edit its \
         settings. As an {role} of {name} you manage what is inside it.",
        name = tenant.name,
        role = role.label(),
    ))
}

/// May the user delete this tenant? Never the root; otherwise an Owner over its parent.
pub fn can_delete(p: &Principal, tenant: &Tenant, parent: Option<&Tenant>) -> bool {
    match parent {
        Some(parent) if !tenant.is_root() => can_delete_children(p, parent),
        _ => false,
    }
}

/// May the user give this grant on `tenant`? Nobody gives more than they hold:
/// Owners give any role, Administrators give Administrator or Viewer, Viewers none;
/// sub-tenant scope and "may manage sub-tenants" only from a grant that has them.
pub fn can_give_grant(
    p: &Principal,
    tenant: &Tenant,
    role: GrantRole,
    scope: Scope,
    manage: bool,
) -> bool {
    effective_level(p, tenant, Feature::Users) == Level::Full
        && holds_authority(p, tenant, role, scope, manage)
}

/// Does one of the user's grants carry the authority to give this grant on `tenant`
/// (role at least the given one and at least Administrator, sub-tenant scope and
/// "may manage sub-tenants" where the given grant has them)? The tenant's cap is not
/// looked at here: `can_give_grant` adds it for giving, `outranked` compares rights.
fn holds_authority(
    p: &Principal,
    tenant: &Tenant,
    role: GrantRole,
    scope: Scope,
    manage: bool,
) -> bool {
    let needed = role.max(GrantRole::Administrator);
    covering_grants(p, tenant).any(|g| {
        g.role >= needed
            && (scope == Scope::Tenant || g.scope == Scope::Subtree)
            && (!manage || g.manage_subtenants)
    })
}

/// May the user revoke a grant with these terms on `tenant`? Only one they could give.
pub fn can_revoke_grant(p: &Principal, tenant: &Tenant, (role, scope, manage): GrantTerms) -> bool {
    can_give_grant(p, tenant, role, scope, manage)
}

/// May the user replace the grant a user holds on `tenant` (`old`, if any) with
/// another? Replacing is revoking the old one too, so it must be one the user could
/// revoke; whether the new one may be given is `can_give_grant`.
pub fn can_replace_grant(p: &Principal, tenant: &Tenant, old: Option<GrantTerms>) -> bool {
    old.is_none_or(|held| can_revoke_grant(p, tenant, held))
}

/// The grant roles the user may offer on `tenant` (for forms).
pub fn grantable_roles(p: &Principal, tenant: &Tenant) -> Vec<GrantRole> {
    [
        GrantRole::Owner,
        GrantRole::Administrator,
        GrantRole::Viewer,
    ]
    .into_iter()
    .filter(|r| can_give_grant(p, tenant, *r, Scope::Tenant, false))
    .collect()
}

/// May the user invite people into `tenant` at all? It takes Invitations Full there
/// and the right to give at least one grant: Owners and Administrators invite,
/// Viewers and plain users (whatever their home role) invite nobody.
pub fn can_invite(p: &Principal, tenant: &Tenant) -> bool {
    effective_level(p, tenant, Feature::Invitations) == Level::Full
        && !grantable_roles(p, tenant).is_empty()
}

/// May the user invite someone into `tenant` with this grant? The same rule as
/// giving it on the Access page.
pub fn can_invite_grant(
    p: &Principal,
    tenant: &Tenant,
    role: GrantRole,
    scope: Scope,
    manage: bool,
) -> bool {
    can_invite(p, tenant) && can_give_grant(p, tenant, role, scope, manage)
}

/// May the user invite a plain user of `tenant` holding a user role with these
/// permissions? Nobody hands out more than they hold there (after the tenant's cap).
pub fn can_invite_with_role(p: &Principal, tenant: &Tenant, role: &Permissions) -> bool {
    can_invite(p, tenant) && role_escalation(p, tenant, role).is_empty()
}

/// May the user invite someone into `tenant` with this offer? `role` holds the
/// permissions of the offered user role, `None` once that role is gone: nobody
/// offers a role that does not exist.
pub fn can_offer(p: &Principal, tenant: &Tenant, offer: Offer, role: Option<&Permissions>) -> bool {
    match offer {
        Offer::Grant {
            role,
            scope,
            manage_subtenants,
        } => can_invite_grant(p, tenant, role, scope, manage_subtenants),
        Offer::Role(_) => role.is_some_and(|r| can_invite_with_role(p, tenant, r)),
    }
}

/// May the user revoke or resend an invitation of `tenant`? Whoever could offer it
/// now; one whose offered role is gone (`offer` is `None`), any inviter, so that it
/// can still be revoked.
pub fn can_manage_invitation(
    p: &Principal,
    tenant: &Tenant,
    offer: Option<Offer>,
    role: Option<&Permissions>,
) -> bool {
    match offer {
        Some(offer) => can_offer(p, tenant, offer, role),
        None => can_invite(p, tenant),
    }
}

/// What a grant gives: its role, its scope and "may manage sub-tenants".
pub type GrantTerms = (GrantRole, Scope, bool);

/// Does a grant `held` already give everything `offered` would (role at least as
/// high, scope at least as wide, "may manage sub-tenants" where offered)?
pub fn grant_covers(held: GrantTerms, offered: GrantTerms) -> bool {
    held.0 >= offered.0
        && (held.1 == Scope::Subtree || offered.1 == Scope::Tenant)
        && (held.2 || !offered.2)
}

/// Index in `path` from which the user may see tenant names (breadcrumbs, paths):
/// their home tenant or the highest tenant they hold a grant on.
pub fn visible_path_start(p: &Principal, path: &[i64]) -> usize {
    path.iter()
        .position(|id| *id == p.home.id || p.grants.iter().any(|g| g.tenant_id == *id))
        .unwrap_or(path.len().saturating_sub(1))
}

/// Would these permissions give more than the user holds in `tenant`? Returns the
/// features that exceed (no self-escalation through roles).
pub fn exceeds_own(p: &Principal, tenant: &Tenant, wanted: &Permissions) -> Vec<Feature> {
    wanted.exceeds(&effective_permissions(p, tenant))
}

/// The features in which giving a user of `tenant` a user role with these
/// permissions would hand out more than the user holds there. The tenant's cap
/// limits the role first: rights the cap takes away are given to nobody.
pub fn role_escalation(p: &Principal, tenant: &Tenant, role: &Permissions) -> Vec<Feature> {
    exceeds_own(p, tenant, &role.min(&p.cap(tenant)))
}

/// May the user create, edit and delete the user roles of `tenant`? Roles Full there.
pub fn can_edit_roles(p: &Principal, tenant: &Tenant) -> bool {
    effective_level(p, tenant, Feature::Roles) == Level::Full
}

/// May the user define multi-tenant roles (templates) in `tenant`? Templates live in
/// the root and are copied into every tenant: only root administrators make them.
pub fn can_define_templates(p: &Principal, tenant: &Tenant) -> bool {
    tenant.is_root() && can_manage_tenant_roles(p)
}

/// May the user change or delete a user role of `tenant` that now gives `current`?
/// Roles Full there; a template (`multi_tenant`) only for root administrators (it
/// changes every copy); and only a role that gives no more than the user holds there
/// — else a weaker editor could strip the rights of those who outrank them.
pub fn can_change_role(
    p: &Principal,
    tenant: &Tenant,
    multi_tenant: bool,
    current: &Permissions,
) -> bool {
    can_edit_roles(p, tenant)
        && (!multi_tenant || can_manage_tenant_roles(p))
        && exceeds_own(p, tenant, current).is_empty()
}

/// Root administrators (global administrators with Roles Full in the root) define
/// tenant roles and templates and assign tenant roles to tenants.
pub fn can_manage_tenant_roles(p: &Principal) -> bool {
    is_global_admin(p) && effective_level(p, &p.home, Feature::Roles) == Level::Full
}

/// May the user move this tenant away from where it is? The same right as deleting
/// it there — an Owner over its current parent that manages sub-tenants — since the
/// subtree leaves that parent's reach. Never the root.
pub fn can_move(p: &Principal, tenant: &Tenant, parent: Option<&Tenant>) -> bool {
    can_delete(p, tenant, parent)
}

/// May the user move `tenant` from under `parent` to under `destination`? Moving it
/// away (`can_move`) and managing sub-tenants of the destination (Owner or
/// Administrator with "may manage sub-tenants"). Whether the destination may take it
/// (allows sub-tenants, is not the tenant or below it) is a rule of the tree, not of
/// rights: see `services::tenants::destination_error`.
pub fn can_move_to(
    p: &Principal,
    tenant: &Tenant,
    parent: Option<&Tenant>,
    destination: &Tenant,
) -> bool {
    can_move(p, tenant, parent) && can_manage_children(p, destination)
}

/// A user as the target of another user's action: their [`Principal`] and the
/// tenants their grants are on (with paths and caps), everything the dominance
/// rule looks at.
#[derive(Clone, Debug)]
pub struct Subject {
    pub principal: Principal,
    /// The tenant of each of the principal's grants, by tenant id.
    pub grant_tenants: std::collections::HashMap<i64, Tenant>,
}

impl Subject {
    /// Loads a user as a target: their principal and their grants' tenants.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> Result<Option<Subject>, AppError> {
        let Some(principal) = Principal::load(conn, user_id).await? else {
            return Ok(None);
        };
        let ids: Vec<i64> = principal.grants.iter().map(|g| g.tenant_id).collect();
        let grant_tenants = if ids.is_empty() {
            Default::default()
        } else {
            Tenant::find_many(conn, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect()
        };
        Ok(Some(Subject {
            principal,
            grant_tenants,
        }))
    }

    /// Loads the users at home in tenant `tenant_id` (with `subtree`, in it or below
    /// it) as targets of a change of those tenants, in four statements whatever
    /// their number: users holding a grant with their grants, one user per (home
    /// tenant, role) of those holding none (their rights are their home role's, so
    /// one stands for all), the caps, and the tenants of all their grants.
    pub async fn load_homed(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        subtree: bool,
    ) -> Result<Vec<Subject>, AppError> {
        let rows = crate::db::models::principal::homed_in(conn, tenant_id, subtree).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let caps: std::collections::HashMap<i64, crate::db::models::role::TenantRole> =
            crate::db::models::role::TenantRole::all(conn)
                .await?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
        let ids: std::collections::BTreeSet<i64> = rows
            .iter()
            .flat_map(|r| r.grants.iter().map(|g| g.tenant_id))
            .collect();
        let tenants: std::collections::HashMap<i64, Tenant> = if ids.is_empty() {
            Default::default()
        } else {
            let ids: Vec<i64> = ids.into_iter().collect();
            Tenant::find_many(conn, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect()
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut principal = Principal::from(row);
                principal.caps = caps.clone();
                let grant_tenants = principal
                    .grants
                    .iter()
                    .filter_map(|g| tenants.get(&g.tenant_id).map(|t| (t.id, t.clone())))
                    .collect();
                Subject {
                    principal,
                    grant_tenants,
                }
            })
            .collect())
    }
}

/// How a tenant is named to a user who may not see it.
pub const UNSEEN_TENANT: &str = "a tenant you cannot see";

/// How a person is named to a user who may not find them.
pub const UNSEEN_PERSON: &str = "a user you cannot see";

/// The tenant's name if the user may see it, else [`UNSEEN_TENANT`].
pub fn name_for(p: &Principal, tenant: &Tenant) -> String {
    if can_see(p, tenant) {
        tenant.name.clone()
    } else {
        UNSEEN_TENANT.into()
    }
}

/// A person's login if the user may find them (`can_find_person` on their home
/// tenant), else [`UNSEEN_PERSON`].
pub fn login_for(p: &Principal, home: &Tenant, login: &str) -> String {
    if can_find_person(p, home) {
        login.to_string()
    } else {
        UNSEEN_PERSON.into()
    }
}

/// How a change made by a user since deleted names them.
pub const DELETED_USER: &str = "a user since deleted";

/// Who made a change (a rule-set version, a migration, a lock) as `p` may be told,
/// from the login recorded then (`recorded`, perhaps with the API token used), the
/// user's id and their home tenant now (`None`: deleted): the user themself sees
/// it as recorded; anyone else the login without the token, and only when they may
/// find the person ([`login_for`]); the application itself (`system:…`) as it is.
pub fn actor_for(
    p: &Principal,
    user_id: Option<i64>,
    home: Option<&Tenant>,
    recorded: &str,
) -> String {
    match home {
        _ if user_id == Some(p.user.id) => recorded.to_string(),
        Some(home) => login_for(p, home, crate::domain::without_token(recorded)),
        None if user_id.is_none() && recorded.starts_with("system:") => recorded.to_string(),
        None => DELETED_USER.into(),
    }
}

/// Why an actor may not act on another user.
#[derive(Clone, Debug, PartialEq)]
pub enum Outranked {
    /// The target holds this grant, which the actor could not give.
    Grant {
        tenant: String,
        role: GrantRole,
        scope: Scope,
    },
    /// In this tenant the target holds these features above the actor's level.
    Rights {
        tenant: String,
        features: Vec<Feature>,
    },
}

impl Outranked {
    /// Why, as a clause about the target ("they are Owner of …").
    pub fn reason(&self) -> String {
        self.clause("they are", "they hold")
    }

    /// The sentence shown where a change is refused.
    pub fn message(&self) -> String {
        format!(
            "{}; you may not change them.",
            self.clause("This user is", "This user holds")
        )
    }

    /// Why, with the target named as `is` ("they are") or `holds` ("they hold") say.
    fn clause(&self, is: &str, holds: &str) -> String {
        match self {
            Outranked::Grant {
                tenant,
                role,
                scope,
            } => format!(
                "{is} {} of {tenant}{}, a grant you could not give",
                role.label(),
                scope_words(*scope),
            ),
            Outranked::Rights { tenant, features } => {
                let names: Vec<&str> = features.iter().map(|f| f.label()).collect();
                format!(
                    "{holds} rights in {tenant} that you do not hold ({})",
                    names.join(", ")
                )
            }
        }
    }
}

fn scope_words(scope: Scope) -> &'static str {
    match scope {
        Scope::Subtree => " and its sub-tenants",
        Scope::Tenant => "",
    }
}

/// The dominance rule: may `actor` reset the password of, disable, enable, delete,
/// edit the identity of, change the role of, or manage the tokens of `target`?
/// Only if the actor could give every grant the target holds, and holds, in every
/// tenant the target reaches, at least the target's rights. `None` means yes.
///
/// Checking the target's home and grant tenants suffices: below a grant tenant the
/// actor's authority grant reaches as far and gives at least as much, under the
/// same cap. Acting on oneself is not decided here (each action has its own rule).
/// The caller still checks that the actor holds Users Full in the target's home.
pub fn outranked(actor: &Principal, target: &Subject) -> Option<Outranked> {
    let t = &target.principal;
    if actor.user.id == t.user.id {
        return None;
    }
    for g in &t.grants {
        // A grant whose tenant is gone gives nothing; nothing to compare.
        let Some(tenant) = target.grant_tenants.get(&g.tenant_id) else {
            continue;
        };
        if !holds_authority(actor, tenant, g.role, g.scope, g.manage_subtenants) {
            return Some(Outranked::Grant {
                tenant: name_for(actor, tenant),
                role: g.role,
                scope: g.scope,
            });
        }
    }
    let reached = std::iter::once(&t.home).chain(
        t.grants
            .iter()
            .filter_map(|g| target.grant_tenants.get(&g.tenant_id)),
    );
    for tenant in reached {
        let over = effective_permissions(t, tenant).exceeds(&effective_permissions(actor, tenant));
        if !over.is_empty() {
            return Some(Outranked::Rights {
                tenant: name_for(actor, tenant),
                features: over,
            });
        }
    }
    None
}

/// Why `actor` may not set the storage and memory limits of `target` (issue #14),
/// if they may not. Only someone strictly above the target sets them: the actor
/// dominates the target ([`outranked`]) and the target does not dominate the actor
/// back. So nobody sets their own limits, nor a peer's (two Administrators of one
/// tenant would lift each other's), nor those of anyone they may not act on.
/// Both are loaded as targets ([`Subject::load`]): the comparison goes both ways.
/// A new user's limits are their creator's to set (the role is checked apart).
pub fn user_limits_refusal(actor: &Subject, target: &Subject) -> Option<String> {
    if actor.principal.user.id == target.principal.user.id {
        return Some(OWN_LIMITS.into());
    }
    if let Some(why) = outranked(&actor.principal, target) {
        return Some(why.message());
    }
    if outranked(&target.principal, actor).is_none() {
        return Some(PEER_LIMITS.into());
    }
    None
}

/// Why one may not set one's own limits.
pub const OWN_LIMITS: &str =
    "You cannot change your own limits: someone above you in the tenant tree sets them.";
/// Why one may not set a peer's limits.
pub const PEER_LIMITS: &str =
    "This user holds every right you hold: only someone above you both sets their limits.";

/// `outranked` as a check: 403 unless the actor dominates the target.
pub fn require_dominance(actor: &Principal, target: &Subject) -> Result<(), AppError> {
    match outranked(actor, target) {
        None => Ok(()),
        Some(_) => Err(AppError::Forbidden),
    }
}

/// A change of a tenant that reaches every user at home there (or below it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HomedChange {
    /// A force delete of the subtree: its users are deleted with it.
    Delete,
    /// Disabling the tenant: its users can no longer log in.
    Disable,
    /// A new subdomain: the login (`subdomain\username`) of its users changes.
    Rename,
    /// A move of the subtree: its users get a new place in the tree (other
    /// tenants' grants above them reach them, theirs no longer reach as before).
    Move,
}

/// The first of `subjects` (the users a tenant change reaches) that `actor` does not
/// dominate, with why. A change of tenants is a change of everyone at home in them,
/// so it takes the right to act on each of them (`outranked`), not only the right
/// to manage the tenants.
pub fn outranked_homed<'s>(
    actor: &Principal,
    subjects: &'s [Subject],
) -> Option<(&'s Subject, Outranked)> {
    subjects
        .iter()
        .find_map(|s| outranked(actor, s).map(|why| (s, why)))
}

/// `outranked_homed` as a check: a 409 (a field error on the subdomain for a
/// rename, a 403 for a move) naming the first user the actor does not dominate,
/// and why.
pub fn require_dominates_homed(
    actor: &Principal,
    subjects: &[Subject],
    change: HomedChange,
) -> Result<(), AppError> {
    let Some((subject, why)) = outranked_homed(actor, subjects) else {
        return Ok(());
    };
    let login = subject.principal.login();
    let reason = why.reason();
    let ask = "Ask someone who holds at least their rights, or have their grants changed first.";
    Err(match change {
        HomedChange::Delete => AppError::Conflict(format!(
            "Deleting it would delete {login}, whom you may not change: {reason}. {ask}"
        )),
        HomedChange::Disable => AppError::Conflict(format!(
            "Disabling it would lock out {login}, whom you may not change: {reason}. {ask}"
        )),
        HomedChange::Rename => AppError::field(
            "subdomain",
            format!(
                "A new subdomain would change the login of {login}, whom you may not change: {reason}. {ask}"
            ),
        ),
        HomedChange::Move => AppError::problem(
            ProblemKind::Forbidden,
            format!("Moving it would move {login}, whom you may not change: {reason}. {ask}"),
        ),
    })
}

/// Which navigation links lead somewhere for the user acting in `acting`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Navigation {
    /// People search across every tenant the user sees (`can_find_people`).
    pub people: bool,
    pub users: bool,
    pub roles: bool,
    /// Tenant roles live in the root: the link is for those who can see it.
    pub tenant_roles: bool,
    /// The installation's usage ingestion keys (`can_manage_ingestion_keys`).
    pub ingestion_keys: bool,
    /// The plans (`can_manage_plans`).
    pub plans: bool,
    /// The acting tenant's resources (instances, clouds, resolvers, devices, subnets):
    /// Resources read there.
    pub resources: bool,
    /// The acting tenant's policies (own and inherited): Policies read there.
    pub policies: bool,
}

/// The navigation links the user sees while acting in `acting`. The installation's
/// pages (tenant roles, ingestion keys) are linked only while acting in the root:
/// switched into a sub-tenant, the navigation is that tenant's.
pub fn navigation(p: &Principal, acting: &Tenant) -> Navigation {
    let in_root = acting.is_root();
    Navigation {
        people: can_find_people(p),
        users: effective_level(p, acting, Feature::Users) >= Level::Read,
        roles: effective_level(p, acting, Feature::Roles) >= Level::Read,
        tenant_roles: in_root
            && (p.home.is_root()
                || p.grants
                    .iter()
                    .any(|g| Some(&g.tenant_id) == p.home.path.first())),
        ingestion_keys: in_root && can_manage_ingestion_keys(p),
        plans: in_root && can_manage_plans(p),
        resources: effective_level(p, acting, Feature::Resources) >= Level::Read,
        policies: effective_level(p, acting, Feature::Policies) >= Level::Read,
    }
}

/// Is the user an Owner of the root's whole tree (an installation Owner), wherever
/// their home is?
pub fn is_global_owner(p: &Principal) -> bool {
    let Some(root) = p.home.path.first() else {
        return false;
    };
    p.grants
        .iter()
        .any(|g| g.tenant_id == *root && g.scope == Scope::Subtree && g.role == GrantRole::Owner)
}

/// Field errors of a tenant-role (cap) assignment.
pub const ROOT_NOT_CAPPED: &str =
    "The root tenant is never capped: its tenant role cannot be changed.";
pub const UNKNOWN_TENANT_ROLE: &str = "Choose a tenant role from the list.";

/// The features a change of cap from `current` to `wanted` would take away.
pub fn lowered(current: &Permissions, wanted: &Permissions) -> Vec<Feature> {
    current.exceeds(wanted)
}

/// The refusal of a cap lowered by someone who is not an Owner of the root.
pub fn only_owners_lower(features: &[Feature]) -> String {
    let names: Vec<&str> = features.iter().map(|f| f.label()).collect();
    format!(
        "Only an Owner of the root tenant may lower a cap in use; this takes away {}.",
        names.join(", ")
    )
}

/// May the user give `tenant` the tenant role `wanted`? Root administrators assign
/// caps (403 otherwise); the root is never capped; a cap lower on any feature than
/// the tenant's current one takes rights away from everyone there, so it is for root
/// Owners. `Err(message)` is a field error on `tenant_role_id`.
pub fn tenant_role_assignment(
    p: &Principal,
    tenant: &Tenant,
    wanted: i64,
) -> Result<Result<(), String>, AppError> {
    if !can_manage_tenant_roles(p) {
        return Err(AppError::Forbidden);
    }
    if tenant.is_root() {
        return Ok(Err(ROOT_NOT_CAPPED.into()));
    }
    let Some(role) = p.caps.get(&wanted) else {
        return Ok(Err(UNKNOWN_TENANT_ROLE.into()));
    };
    let current = p
        .caps
        .get(&tenant.tenant_role_id)
        .map_or_else(Permissions::none, |r| r.permissions.clone());
    let taken = lowered(&current, &role.permissions);
    if !taken.is_empty() && !is_global_owner(p) {
        return Ok(Err(only_owners_lower(&taken)));
    }
    Ok(Ok(()))
}

/// May the user change a tenant role's permissions from `current` to `wanted` while
/// `in_use` tenants have it? Lowering a cap in use is for root Owners.
/// `Err(message)` is a field error on the permissions.
pub fn tenant_role_edit(
    p: &Principal,
    current: &Permissions,
    wanted: &Permissions,
    in_use: i64,
) -> Result<(), String> {
    let taken = lowered(current, wanted);
    if in_use > 0 && !taken.is_empty() && !is_global_owner(p) {
        return Err(only_owners_lower(&taken));
    }
    Ok(())
}

/// May the user stop the tenants of a role from seeing the root's public clouds
/// (`was` → `wanted`) while `in_use` tenants have it? That takes clouds away from
/// everyone there, as lowering a cap takes rights: for root Owners.
/// `Err(message)` is a field error on `public_clouds`.
pub fn public_clouds_edit(
    p: &Principal,
    was: bool,
    wanted: bool,
    in_use: i64,
) -> Result<(), String> {
    if was && !wanted && in_use > 0 && !is_global_owner(p) {
        return Err(format!(
            "Only an Owner of the root tenant may lower a cap in use; this takes the root's \
             public clouds away from the {in_use} tenant{} with this role.",
            if in_use == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

/// May the user list, create and revoke the usage ingestion keys? Keys post usage
/// for any tenant of the installation, so they are for the Owners and
/// Administrators of the root tenant (a grant on the root, whatever its scope and
/// wherever the user's home); to everyone else the keys page does not exist.
pub fn can_manage_ingestion_keys(p: &Principal) -> bool {
    let Some(root) = p.home.path.first() else {
        return false;
    };
    p.grants
        .iter()
        .any(|g| g.tenant_id == *root && g.role >= GrantRole::Administrator)
}

/// `can_manage_ingestion_keys` as a check: 404 (the page does not exist for them).
pub fn require_ingestion_keys(p: &Principal) -> Result<(), AppError> {
    if can_manage_ingestion_keys(p) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// May the user change `tenant`'s branding (a field, a reset to inherited, the
/// logo)? Settings full there. Every branding write asks this one function
/// (`services::branding::change`), so a plan's `custom_branding` option is added here.
pub fn can_change_branding(p: &Principal, tenant: &Tenant) -> bool {
    effective_level(p, tenant, Feature::Settings) >= Level::Full
}

/// `can_change_branding` as a check: 403 (the caller has checked visibility).
pub fn require_branding_change(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    if can_change_branding(p, tenant) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// May the user see and manage the plans (`/plans`, `/api/v1/plans`) and put a
/// tenant on one (its `plan_id`)? Owners and Administrators of the root, as for the
/// ingestion keys: plans are the installation's price list.
pub fn can_manage_plans(p: &Principal) -> bool {
    can_manage_ingestion_keys(p)
}

/// `can_manage_plans` as a check: 404 (the pages do not exist for anyone else).
pub fn require_plans(p: &Principal) -> Result<(), AppError> {
    if can_manage_plans(p) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Does a tenant on `plan` get `option`? A tenant without a plan has every option.
pub fn plan_allows(plan: Option<&Plan>, option: PlanOption) -> bool {
    plan.is_none_or(|p| p.options().includes(option))
}

/// Why a tenant on `plan` may not have `option` ("Not in plan Basic."), or `None`
/// when it may.
pub fn plan_refusal(plan: Option<&Plan>, option: PlanOption) -> Option<String> {
    match plan {
        Some(p) if !plan_allows(Some(p), option) => Some(crate::domain::plan::not_in_plan(&p.name)),
        _ => None,
    }
}

/// May the user approve a tenant's custom domain without its DNS proof? Only an
/// Owner of the root with sub-tenant scope: an approved domain shows that tenant's
/// login page on a host nobody proved to be theirs, a decision for whoever answers
/// for the whole installation (root Administrators and sub-tenant managers may
/// only have it checked in DNS).
pub fn can_approve_custom_domain(p: &Principal) -> bool {
    is_global_owner(p)
}

// ---------------------------------------------------------------- shared resources

/// How a tenant stands to a cloud: its own (it may change it, with Resources full),
/// shared with it from above (read-only), or not there at all (404).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudAccess {
    Own,
    Shared,
    Hidden,
}

/// A cloud as the sharing rule needs it: whose it is, whether its owner may share
/// (`may_share` of the owner), its visibility, and whether the viewing tenant is
/// among the tenants it is assigned to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloudShare {
    pub owner_id: i64,
    pub owner_shares: bool,
    pub visibility: CloudVisibility,
    pub assigned_to_viewer: bool,
}

/// The sharing rule (issue #14): the tenant at the end of `viewer_path` (ids from
/// the root) sees its own clouds, the `public` clouds of its ancestors and the
/// `assigned` clouds of its ancestors that list it; never a sibling's or a cousin's
/// (their owner is not on its path). The root's public clouds only when the viewer's
/// tenant role allows them (`sees_root_public`, the role's `public_clouds`). Only an
/// owner that may share (`may_share`) shares at all: a tenant whose sub-tenants were
/// switched off shares nothing, whatever its clouds' visibility says (switching off
/// is refused while it shares; this keeps older rows from reaching anyone).
/// `Cloud::visible` is this rule as one SQL query.
pub fn cloud_access(
    viewer_path: &[i64],
    sees_root_public: bool,
    cloud: &CloudShare,
) -> CloudAccess {
    let Some((&viewer, above)) = viewer_path.split_last() else {
        return CloudAccess::Hidden;
    };
    if cloud.owner_id == viewer {
        return CloudAccess::Own;
    }
    let shared = above.contains(&cloud.owner_id)
        && cloud.owner_shares
        && match cloud.visibility {
            CloudVisibility::Private => false,
            CloudVisibility::Public => sees_root_public || above.first() != Some(&cloud.owner_id),
            CloudVisibility::Assigned => cloud.assigned_to_viewer,
        };
    if shared {
        CloudAccess::Shared
    } else {
        CloudAccess::Hidden
    }
}

/// May this tenant share its clouds (visibility `public` or `assigned`)? The root
/// and the tenants that may have sub-tenants: nobody else has anyone to share with.
pub fn may_share(owner: &Tenant) -> bool {
    owner.parent_id.is_none() || owner.can_have_subtenants
}

/// A change of a cloud as seen from the tenant whose page or API path names it:
/// its own goes on, a shared one is refused (403, naming the tenant that shares it:
/// the receiver sees that name on the list already), any other is not there (404).
pub fn require_own_cloud(access: CloudAccess, owner_name: &str) -> Result<(), AppError> {
    match access {
        CloudAccess::Own => Ok(()),
        CloudAccess::Shared => Err(AppError::problem(
            ProblemKind::Forbidden,
            format!("This cloud is shared by {owner_name}: it is read-only here, and only {owner_name} can change it."),
        )),
        CloudAccess::Hidden => Err(AppError::NotFound),
    }
}

// ---------------------------------------------------------------- policies

/// A policy as the inheritance rule needs it (issue #15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyFacts {
    pub id: i64,
    pub tenant_id: i64,
    pub kind: PolicyKind,
    pub inheritable: bool,
    pub enforcement: Enforcement,
    pub overrides_id: Option<i64>,
}

impl PolicyFacts {
    /// What the rule needs of a loaded policy.
    pub fn of(p: &crate::db::models::policy::Policy) -> Self {
        PolicyFacts {
            id: p.id,
            tenant_id: p.tenant_id,
            kind: p.kind,
            inheritable: p.inheritable,
            enforcement: p.enforcement,
            overrides_id: p.overrides_id,
        }
    }
}

/// How a tenant stands to a policy: its own (it may change it, with Policies full),
/// inherited from a tenant above it (read-only), or not there at all (404).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyAccess {
    Own,
    Inherited,
    Hidden,
}

/// The inheritance rule: the tenant at the end of `viewer_path` (ids from the root)
/// sees its own policies and the inheritable policies of its ancestors; never a
/// sibling's, a cousin's or a descendant's. `Policy::visible` is this rule as one
/// SQL query.
pub fn policy_access(viewer_path: &[i64], policy: &PolicyFacts) -> PolicyAccess {
    let Some((&viewer, above)) = viewer_path.split_last() else {
        return PolicyAccess::Hidden;
    };
    if policy.tenant_id == viewer {
        PolicyAccess::Own
    } else if policy.inheritable && above.contains(&policy.tenant_id) {
        PolicyAccess::Inherited
    } else {
        PolicyAccess::Hidden
    }
}

/// A change of a policy as seen from the tenant whose page or API path names it:
/// its own goes on, an inherited one is refused (403, naming its owner, whose name
/// the Policies page shows already), any other is not there (404).
pub fn require_own_policy(access: PolicyAccess, owner_name: &str) -> Result<(), AppError> {
    match access {
        PolicyAccess::Own => Ok(()),
        PolicyAccess::Inherited => Err(AppError::problem(
            ProblemKind::Forbidden,
            format!("This policy is inherited from {owner_name}: it is read-only here, and only {owner_name} can change it."),
        )),
        PolicyAccess::Hidden => Err(AppError::NotFound),
    }
}

/// May the tenant at the end of `viewer_path` override `policy`? Only an inherited
/// one (404 for a hidden one, 403 for its own), and only when its owner allows it
/// (`default`; a `locked` one is refused naming the owner).
pub fn may_override(
    viewer_path: &[i64],
    policy: &PolicyFacts,
    owner_name: &str,
) -> Result<(), AppError> {
    match policy_access(viewer_path, policy) {
        PolicyAccess::Hidden => Err(AppError::NotFound),
        PolicyAccess::Own => Err(AppError::problem(
            ProblemKind::Forbidden,
            "This policy is this tenant's own: change it rather than override it.".to_string(),
        )),
        PolicyAccess::Inherited if policy.enforcement == Enforcement::Locked => {
            Err(AppError::problem(
                ProblemKind::Forbidden,
                format!("This policy is locked by {owner_name}: it cannot be overridden below it."),
            ))
        }
        PolicyAccess::Inherited => Ok(()),
    }
}

/// [`may_override`], and not a policy that has no effect here: one another lock
/// binds its kind against ([`overruled_at`] among `policies`, the ones the viewer
/// sees: above its owner or between its owner and the viewer) is 403 naming that
/// lock (`named` gives a policy's owner and name by id).
pub fn may_override_among(
    viewer_path: &[i64],
    policies: &[PolicyFacts],
    policy: &PolicyFacts,
    owner_name: &str,
    named: impl Fn(i64) -> (String, String),
) -> Result<(), AppError> {
    may_override(viewer_path, policy, owner_name)?;
    match overruled_at(viewer_path, policies, policy) {
        Some(lock) => {
            let (owner, name) = named(lock.id);
            Err(AppError::problem(
                ProblemKind::Forbidden,
                format!(
                    "This policy has no effect here: it is overridden by the lock of {owner} \
                     ({name}), so an override of it would have none either."
                ),
            ))
        }
        None => Ok(()),
    }
}

/// Why a policy applies to a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyReason {
    /// The tenant's own policy of the kind.
    Own,
    /// The tenant's own override of the inherited policy `of`.
    Override { of: i64 },
    /// Inherited from its owner above (no own policy of the kind).
    Inherited,
    /// Locked by its owner above: nothing below it applies another of the kind.
    Locked,
}

/// The policy of one kind that applies to a tenant, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    pub kind: PolicyKind,
    pub policy: PolicyFacts,
    pub reason: PolicyReason,
}

/// The locked inheritable policy of `kind` above the tenant at the end of `path`
/// that binds it: the topmost one (the provider's lock outranks a reseller's), the
/// lowest id among one tenant's. Resolvers and subnets there cannot pick another
/// policy of that kind.
pub fn locked_against(
    path: &[i64],
    policies: &[PolicyFacts],
    kind: PolicyKind,
) -> Option<PolicyFacts> {
    let (_, above) = path.split_last()?;
    above.iter().find_map(|owner| {
        policies
            .iter()
            .filter(|p| {
                p.tenant_id == *owner
                    && p.kind == kind
                    && p.inheritable
                    && p.enforcement == Enforcement::Locked
            })
            .min_by_key(|p| p.id)
            .copied()
    })
}

/// The lock above `policy`'s owner (a tenant on `path`) that binds its kind there
/// to another policy: then `policy` has no effect — no resolver or subnet at or
/// below its owner may use it, and a lock of its own binds nothing (a tenant above
/// locked the kind after it). `None` for a policy whose owner is not on `path`.
pub fn overruled_by(
    path: &[i64],
    policies: &[PolicyFacts],
    policy: &PolicyFacts,
) -> Option<PolicyFacts> {
    let at = path.iter().position(|t| *t == policy.tenant_id)?;
    locked_against(&path[..=at], policies, policy.kind).filter(|l| l.id != policy.id)
}

/// The lock that binds `policy`'s kind at the tenant at the end of `path` when it is
/// another policy ([`locked_against`]): then `policy` has no effect there, whether
/// the lock is above its owner ([`overruled_by`]) or between its owner and that
/// tenant, and an override of it there would have none either. `None` for a policy
/// whose owner is not on `path`.
pub fn overruled_at(
    path: &[i64],
    policies: &[PolicyFacts],
    policy: &PolicyFacts,
) -> Option<PolicyFacts> {
    path.iter().position(|t| *t == policy.tenant_id)?;
    locked_against(path, policies, policy.kind).filter(|l| l.id != policy.id)
}

/// For each kind, the policy that applies to the tenant at the end of `path` and
/// why, among `policies` (any rows: those it does not see are ignored): a lock from
/// above first ([`locked_against`]); else its own policy of the kind: its override
/// of the inherited policy that would apply, else the lowest id (an override says
/// so); else the nearest inherited one (the lowest id at that level). Kinds with
/// none are left out.
pub fn effective_policies(path: &[i64], policies: &[PolicyFacts]) -> Vec<EffectivePolicy> {
    let Some((&me, above)) = path.split_last() else {
        return Vec::new();
    };
    let seen: Vec<&PolicyFacts> = policies
        .iter()
        .filter(|p| policy_access(path, p) != PolicyAccess::Hidden)
        .collect();
    let lowest = |owner: i64, kind: PolicyKind| {
        seen.iter()
            .filter(|p| p.tenant_id == owner && p.kind == kind)
            .min_by_key(|p| p.id)
            .map(|p| **p)
    };
    PolicyKind::ALL
        .iter()
        .filter_map(|&kind| {
            if let Some(policy) =
                locked_against(path, &seen.iter().map(|p| **p).collect::<Vec<_>>(), kind)
            {
                return Some(EffectivePolicy {
                    kind,
                    policy,
                    reason: PolicyReason::Locked,
                });
            }
            let inherited = above.iter().rev().find_map(|&owner| lowest(owner, kind));
            let override_of_inherited = inherited.and_then(|i| {
                seen.iter()
                    .find(|p| p.tenant_id == me && p.kind == kind && p.overrides_id == Some(i.id))
                    .map(|p| **p)
            });
            if let Some(policy) = override_of_inherited.or_else(|| lowest(me, kind)) {
                let reason = match policy.overrides_id {
                    Some(of) => PolicyReason::Override { of },
                    None => PolicyReason::Own,
                };
                return Some(EffectivePolicy {
                    kind,
                    policy,
                    reason,
                });
            }
            inherited.map(|policy| EffectivePolicy {
                kind,
                policy,
                reason: PolicyReason::Inherited,
            })
        })
        .collect()
}

/// The policy a resolver or subnet form of the tenant at the end of `path` offers
/// first, always one it may use ([`may_use_policy`]): for the kind of the nearest
/// inherited policy (its owner's oldest, the lowest id: renaming a policy never
/// moves the default), the policy that applies to the tenant ([`effective_policies`]:
/// the lock from above where there is one, else the tenant's override of the
/// nearest inherited policy, else its own oldest of the kind, else the nearest
/// inherited one) — what the effective view names for that kind. `None` when the
/// tenant inherits nothing.
pub fn default_policy(path: &[i64], policies: &[PolicyFacts]) -> Option<PolicyFacts> {
    let (_, above) = path.split_last()?;
    let seen: Vec<PolicyFacts> = policies
        .iter()
        .filter(|p| policy_access(path, p) != PolicyAccess::Hidden)
        .copied()
        .collect();
    let nearest = above.iter().rev().find_map(|&owner| {
        seen.iter()
            .filter(|p| p.tenant_id == owner)
            .min_by_key(|p| p.id)
            .copied()
    })?;
    effective_policies(path, &seen)
        .into_iter()
        .find(|e| e.kind == nearest.kind)
        .map(|e| e.policy)
}

/// May `p` choose or change the policy of a resolver or subnet of `tenant`? It takes
/// Policies at least Read there (after the tenant's cap): whoever may not see the
/// tenant's policies neither picks one nor learns their names from a picker. A
/// change that keeps the item's policy needs nothing (`services::network`).
pub fn may_choose_policy(p: &Principal, tenant: &Tenant) -> bool {
    effective_level(p, tenant, Feature::Policies) >= Level::Read
}

/// Why `p` may not choose the policy of a resolver or subnet of `tenant`
/// ([`may_choose_policy`]), if they may not: the tenant's role (cap) takes Policies
/// away ("The tenant role Basic of Acme gives no access to policies"), or the user's
/// own access there does not include them.
pub fn policy_choice_refusal(p: &Principal, tenant: &Tenant) -> Option<String> {
    let decision = decide(p, tenant, Feature::Policies);
    if decision.level >= Level::Read {
        None
    } else if decision.cap.1 == Level::None {
        Some(format!(
            "The tenant role {} of {} gives no access to policies",
            decision.cap.0, tenant.name
        ))
    } else {
        Some(format!(
            "Your access to {} does not include its policies",
            tenant.name
        ))
    }
}

/// 403 unless `p` may choose the policy of a resolver or subnet of `tenant`
/// (naming why not, [`policy_choice_refusal`]).
pub fn require_policy_choice(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    match policy_choice_refusal(p, tenant) {
        None => Ok(()),
        Some(why) => Err(AppError::problem(
            ProblemKind::Forbidden,
            format!(
                "{why}: the policy of its resolvers and subnets cannot be chosen or changed here."
            ),
        )),
    }
}

/// May a resolver or subnet of the tenant at the end of `path` use `chosen`? It must
/// be visible (else the same answer as a missing one: `Err(None)`), and no lock above
/// may bind its kind to another policy (`Err(Some(lock))`).
pub fn may_use_policy(
    path: &[i64],
    policies: &[PolicyFacts],
    chosen: &PolicyFacts,
) -> Result<(), Option<PolicyFacts>> {
    if policy_access(path, chosen) == PolicyAccess::Hidden {
        return Err(None);
    }
    match locked_against(path, policies, chosen.kind) {
        Some(lock) if lock.id != chosen.id => Err(Some(lock)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
