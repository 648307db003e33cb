//! Bulk actions on tenants: disable, enable, move or label several tenants at once,
//! chosen by id or as "every tenant matching this filter" (the Tenants page's and
//! the API list's filters, [`super::filter`]).
//!
//! [`bulk`] answers one [`ItemOutcome`] per selected tenant, in the list's order.
//! A preview (`apply` false) decides each outcome with the same `authz` functions
//! and in the same order as the single operation, and writes nothing. Applying runs
//! each tenant on its own through the single-tenant operations of
//! [`super`] (`set_enabled`, `move_tenant`, `update`), so every lock, rule and audit
//! event is the one a change of that tenant alone would take; the apply decides
//! again on fresh rows and is what counts (the world may have changed since the
//! preview). A tenant already in the state asked for is `unchanged` and not written.
//!
//! An id that names no tenant, and one the caller may not see, both answer
//! `refused` with [`NOT_FOUND`]: the outcome never tells them apart.

use super::filter::{self, FilterSpec};
use super::move_limits::{self, Earlier};
use super::{parent_of, TenantChange, TenantInput, TenantText};
use crate::auth::authz::{self, HomedChange, Subject};
use crate::auth::Principal;
use crate::db::models::tenant::{MatchQuery, MatchScope};
use crate::db::models::Tenant;
use crate::domain::domain_name::ConsoleHosts;
use crate::domain::label::{self, Label};
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::Actor;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use std::collections::{HashMap, HashSet};

/// The most tenants one bulk action takes.
pub const MAX_SELECTION: usize = 1000;

/// The refusal of an id that names no tenant the caller may see (none at all, or
/// one out of their sight: the same words).
pub const NOT_FOUND: &str = "Not found: there is no such tenant, or you may not see it.";

/// The refusal of a previewed tenant that no longer matches the filter when the
/// action is confirmed.
pub const NO_LONGER_MATCHES: &str =
    "Left unchanged: it no longer matches the filter (it changed since the preview).";

/// The field error of a request that selects nothing.
pub const NOTHING_SELECTED: &str =
    "Select at least one tenant, or all tenants matching the filter.";

/// The field error of an id below 1 (ids are positive).
pub fn not_an_id(id: i64) -> String {
    format!("{id} is not a tenant id: ids are positive.")
}

/// Which tenants a bulk action takes.
#[derive(Clone, Debug)]
pub enum Selection {
    /// These ids, in this order; a repeated id counts once.
    Ids(Vec<i64>),
    /// Every tenant the filter selects, as `list` lists them.
    Matching(FilterSpec, Listed),
    /// The confirmation of a previewed "every tenant matching this filter": exactly
    /// these ids (the preview's), each still matching the filter. One that no longer
    /// matches is refused with [`NO_LONGER_MATCHES`], never replaced by a new match.
    Previewed(Vec<i64>, FilterSpec, Listed),
}

/// Which list "every tenant matching this filter" is taken from.
#[derive(Clone, Debug)]
pub enum Listed {
    /// The Tenants page of a user acting in this tenant: its descendants (or those
    /// of the filter's `within`), by name.
    Page(Box<Tenant>),
    /// `GET /api/v1/tenants`: every tenant the caller may see and read (or the
    /// descendants of the filter's `within`), by id.
    Api,
}

/// The kinds of bulk action, as forms and JSON bodies name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Disable,
    Enable,
    Move,
    AddLabel,
    RemoveLabel,
}

impl ActionKind {
    pub const ALL: [ActionKind; 5] = [
        ActionKind::Disable,
        ActionKind::Enable,
        ActionKind::Move,
        ActionKind::AddLabel,
        ActionKind::RemoveLabel,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Disable => "disable",
            ActionKind::Enable => "enable",
            ActionKind::Move => "move",
            ActionKind::AddLabel => "add_label",
            ActionKind::RemoveLabel => "remove_label",
        }
    }

    /// What a person reads in the action's menu.
    pub fn title(self) -> &'static str {
        match self {
            ActionKind::Disable => "Disable",
            ActionKind::Enable => "Enable",
            ActionKind::Move => "Move",
            ActionKind::AddLabel => "Add label",
            ActionKind::RemoveLabel => "Remove label",
        }
    }
}

/// What to do with each selected tenant.
#[derive(Clone, Debug)]
pub enum BulkAction {
    /// Disable the tenant, with `subtree` every tenant below it too (as the single
    /// disable's "this tenant and all its sub-tenants").
    Disable {
        subtree: bool,
    },
    Enable {
        subtree: bool,
    },
    /// Move it with its subtree under `destination` (read as visible to the caller).
    Move {
        destination: Box<Tenant>,
    },
    AddLabel(Label),
    RemoveLabel(Label),
}

impl BulkAction {
    pub fn kind(&self) -> ActionKind {
        match self {
            BulkAction::Disable { .. } => ActionKind::Disable,
            BulkAction::Enable { .. } => ActionKind::Enable,
            BulkAction::Move { .. } => ActionKind::Move,
            BulkAction::AddLabel(_) => ActionKind::AddLabel,
            BulkAction::RemoveLabel(_) => ActionKind::RemoveLabel,
        }
    }

    /// The action in words: "Disable with all sub-tenants", "Add label tier:gold".
    pub fn describe(&self) -> String {
        match self {
            BulkAction::Disable { subtree } | BulkAction::Enable { subtree } => format!(
                "{}{}",
                self.kind().title(),
                if *subtree {
                    " with all their sub-tenants"
                } else {
                    " (each tenant only)"
                }
            ),
            BulkAction::Move { destination } => format!("Move under {}", destination.name),
            BulkAction::AddLabel(l) => format!("Add label {}", l.as_str()),
            BulkAction::RemoveLabel(l) => format!("Remove label {}", l.as_str()),
        }
    }
}

/// A bulk action as a form or a JSON body sends it, before it is checked.
#[derive(Clone, Copy, Debug, Default)]
pub struct ActionRequest<'a> {
    /// `disable`, `enable`, `move`, `add_label` or `remove_label`; empty for none.
    pub action: &'a str,
    /// `tenant` (or empty) or `subtree`: for `disable` and `enable`.
    pub scope: &'a str,
    /// The destination of `move`, as sent (empty for none).
    pub parent_id: &'a str,
    /// The label of `add_label` and `remove_label`.
    pub label: &'a str,
}

/// Checks a bulk action as `p` asks for it: every field error at once (`action`,
/// `scope`, `parent_id`, `label`). A destination that does not exist and one `p`
/// may not see are the same field error.
pub async fn parse_action(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    request: ActionRequest<'_>,
) -> Result<Result<BulkAction, FieldErrors>, AppError> {
    let mut errors = FieldErrors::new();
    let kind = match request.action.trim() {
        "" => {
            errors.insert("action", "Choose an action.".into());
            None
        }
        raw => {
            let kind = ActionKind::parse(raw);
            if kind.is_none() {
                errors.insert(
                    "action",
                    "Choose disable, enable, move, add label or remove label.".into(),
                );
            }
            kind
        }
    };
    let action = match kind {
        None => None,
        Some(kind @ (ActionKind::Disable | ActionKind::Enable)) => {
            let subtree = match request.scope.trim() {
                "" | "tenant" => Some(false),
                "subtree" => Some(true),
                _ => {
                    errors.insert(
                        "scope",
                        "Choose “this tenant only” or “with all its sub-tenants”.".into(),
                    );
                    None
                }
            };
            subtree.map(|subtree| match kind {
                ActionKind::Disable => BulkAction::Disable { subtree },
                _ => BulkAction::Enable { subtree },
            })
        }
        Some(ActionKind::Move) => match request.parent_id.trim() {
            "" => {
                errors.insert("parent_id", "Enter the id of the new parent.".into());
                None
            }
            raw => match raw.parse::<i64>() {
                Ok(id) => match authz::visible_tenant(p, id, conn).await {
                    Ok(destination) => Some(BulkAction::Move {
                        destination: Box::new(destination),
                    }),
                    Err(AppError::NotFound) => {
                        errors.insert("parent_id", format!("There is no tenant {id}."));
                        None
                    }
                    Err(e) => return Err(e),
                },
                Err(_) => {
                    errors.insert("parent_id", format!("“{raw}” is not a tenant id."));
                    None
                }
            },
        },
        Some(kind @ (ActionKind::AddLabel | ActionKind::RemoveLabel)) => {
            match Label::parse(request.label) {
                Ok(label) if kind == ActionKind::AddLabel => Some(BulkAction::AddLabel(label)),
                Ok(label) => Some(BulkAction::RemoveLabel(label)),
                Err(e) => {
                    errors.insert("label", e);
                    None
                }
            }
        }
    };
    Ok(match action {
        Some(action) if errors.is_empty() => Ok(action),
        _ => Err(errors),
    })
}

/// What happened (or, in a preview, will happen) to one selected tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    /// Already in the state asked for: nothing to do.
    Unchanged,
    /// Not done: the message says why.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Changed => "changed",
            Outcome::Unchanged => "unchanged",
            Outcome::Refused => "refused",
        }
    }
}

/// One selected tenant's outcome.
#[derive(Clone, Debug)]
pub struct ItemOutcome {
    pub id: i64,
    /// The tenant as it was read; `None` for an id that names no tenant the caller
    /// may see.
    pub tenant: Option<Tenant>,
    pub outcome: Outcome,
    /// Why it was refused, which selected tenant's subtree already includes it, or
    /// what else a change does (the labels an added one replaces).
    pub message: Option<String>,
    /// For disable and enable: what the change reaches, as the single disable's
    /// confirmation counts it; `None` where it was not counted (refused before).
    pub reach: Option<Reach>,
}

/// What disabling or enabling one tenant reaches: its sub-tenants (0 for "each
/// tenant only") and the users at home there (in its whole subtree with
/// sub-tenants), as `Tenant::subtree_counts` counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    pub subtenants: i64,
    pub users: i64,
}

impl ItemOutcome {
    fn refused(id: i64, tenant: Option<Tenant>, message: String) -> Self {
        ItemOutcome {
            id,
            tenant,
            outcome: Outcome::Refused,
            message: Some(message),
            reach: None,
        }
    }
}

/// The words of a selected tenant left alone because the subtree of `ancestor`, also
/// selected, includes it.
pub fn included_in(ancestor: &str) -> String {
    format!("Included in the sub-tenants of {ancestor}.")
}

/// How many outcomes of each kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub changed: usize,
    pub unchanged: usize,
    pub refused: usize,
}

impl Counts {
    pub fn of(items: &[ItemOutcome]) -> Self {
        let mut counts = Counts::default();
        for item in items {
            match item.outcome {
                Outcome::Changed => counts.changed += 1,
                Outcome::Unchanged => counts.unchanged += 1,
                Outcome::Refused => counts.refused += 1,
            }
        }
        counts
    }
}

/// Runs (`apply`) or previews `action`, at `now` (the app clock's, which a move's
/// usage fold alerts with and its plan check reads tokens' expiry at), on every tenant of `selection` as `p`,
/// answered per tenant in the list's order (see the module comment). Refused as a
/// whole (field errors, nothing written): an empty selection (`ids`), more than
/// [`MAX_SELECTION`] tenants (`ids`, or `filter` for a filter), a filter whose
/// `parent` or `within` names no tenant `p` may see. A database outage or fault
/// ends the run (what was applied before it stays applied).
// A preview needs the clock too (a move's plan check reads tokens' expiry at it).
#[expect(clippy::too_many_arguments)]
pub async fn bulk(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    hosts: &ConsoleHosts,
    selection: Selection,
    action: &BulkAction,
    now: DateTime<Utc>,
    apply: bool,
) -> Result<Vec<ItemOutcome>, AppError> {
    let mut selected = select(conn, p, selection).await?;
    let subtree = matches!(
        action,
        BulkAction::Disable { subtree: true } | BulkAction::Enable { subtree: true }
    );
    // A subtree change reaches every selected tenant below: ancestors are decided
    // first, so that one below them reads "included" alike in a preview and an apply.
    let mut order: Vec<usize> = (0..selected.len()).collect();
    if subtree {
        order.sort_by_key(|&i| selected[i].tenant.as_ref().map_or(0, |t| t.path.len()));
    }
    let mut out: Vec<Option<ItemOutcome>> = (0..selected.len()).map(|_| None).collect();
    // A preview's moves so far, counted against the destination's limits as if made.
    let mut earlier = Earlier::default();
    // Selected tenants whose whole subtree is (or will be) as asked: id → name.
    let mut covering: HashMap<i64, String> = HashMap::new();
    for i in order {
        let id = selected[i].id;
        let item = match (selected[i].tenant.take(), selected[i].refusal) {
            (None, _) => ItemOutcome::refused(id, None, NOT_FOUND.into()),
            (Some(t), Some(why)) => ItemOutcome::refused(id, Some(t), why.into()),
            (Some(t), None) => {
                let above = t.path[..t.path.len().saturating_sub(1)]
                    .iter()
                    .find_map(|a| covering.get(a).cloned());
                match above {
                    Some(name) => included(conn, t, &name, apply).await?,
                    None if apply => apply_one(conn, p, actor, hosts, t, action, now).await?,
                    None => preview_one(conn, p, t, action, now, &mut earlier).await?,
                }
            }
        };
        if subtree && item.outcome != Outcome::Refused {
            if let Some(t) = &item.tenant {
                covering.insert(item.id, t.name.clone());
            }
        }
        out[i] = Some(item);
    }
    Ok(out.into_iter().flatten().collect())
}

/// A selected tenant that the subtree of the selected `ancestor` includes: left to
/// that one's change (`unchanged` here), read again after an apply.
async fn included(
    conn: &mut AsyncPgConnection,
    t: Tenant,
    ancestor: &str,
    apply: bool,
) -> Result<ItemOutcome, AppError> {
    let tenant = if apply {
        match Tenant::find(conn, t.id).await {
            Ok(fresh) => fresh,
            Err(diesel::result::Error::NotFound) => t,
            Err(e) => return Err(e.into()),
        }
    } else {
        t
    };
    Ok(ItemOutcome {
        id: tenant.id,
        tenant: Some(tenant),
        outcome: Outcome::Unchanged,
        message: Some(included_in(ancestor)),
        reach: None,
    })
}

/// One selected id, with its tenant if `p` may see it.
struct Selected {
    id: i64,
    tenant: Option<Tenant>,
    /// Why a tenant `p` sees is refused before the action is decided.
    refusal: Option<&'static str>,
}

/// The selected ids in order, each with its tenant if `p` may see it.
async fn select(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    selection: Selection,
) -> Result<Vec<Selected>, AppError> {
    let too_many = |field: &'static str, what: &str| {
        AppError::field(
            field,
            format!(
                "{what} more than {MAX_SELECTION} tenants; a bulk action takes at most \
                 {MAX_SELECTION} at once. Narrow the filter, or select fewer tenants."
            ),
        )
    };
    let checked_ids = |ids: Vec<i64>| {
        if let Some(bad) = ids.iter().find(|id| **id < 1) {
            return Err(AppError::field("ids", not_an_id(*bad)));
        }
        let mut seen = HashSet::new();
        let ids: Vec<i64> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
        if ids.is_empty() {
            return Err(AppError::field("ids", NOTHING_SELECTED));
        }
        if ids.len() > MAX_SELECTION {
            return Err(too_many("ids", "This selects"));
        }
        Ok(ids)
    };
    // `still`: of a previewed selection, those that match the filter now.
    let (ids, api, still) = match selection {
        Selection::Ids(ids) => (checked_ids(ids)?, false, None),
        Selection::Matching(spec, listed) => {
            let (query, api) = match_query(conn, p, spec, listed, None).await?;
            let ids = Tenant::matching_ids(conn, &query).await?;
            if ids.len() > MAX_SELECTION {
                return Err(too_many("filter", "This filter matches"));
            }
            (ids, api, None)
        }
        Selection::Previewed(ids, spec, listed) => {
            let ids = checked_ids(ids)?;
            let (query, api) = match_query(conn, p, spec, listed, Some(ids.clone())).await?;
            let still: HashSet<i64> = Tenant::matching_ids(conn, &query)
                .await?
                .into_iter()
                .collect();
            (ids, api, Some(still))
        }
    };
    let mut found: HashMap<i64, Tenant> = Tenant::find_many(conn, &ids)
        .await?
        .into_iter()
        .filter(|t| authz::can_see(p, t))
        // The API's list leaves out what the caller may see but not read.
        .filter(|t| !api || authz::effective_level(p, t, Feature::Tenants) >= Level::Read)
        .map(|t| (t.id, t))
        .collect();
    let mut out: Vec<Selected> = ids
        .into_iter()
        .map(|id| Selected {
            id,
            tenant: found.remove(&id),
            refusal: still
                .as_ref()
                .is_some_and(|s| !s.contains(&id))
                .then_some(NO_LONGER_MATCHES),
        })
        .collect();
    if api && still.is_none() {
        // Matches the API list would not show are not selected (rather than refused).
        out.retain(|s| s.tenant.is_some());
    }
    Ok(out)
}

/// The query of "every tenant matching `spec`" in `listed` (with `among`, only
/// those of these ids), and whether it is the API's list.
async fn match_query(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    spec: FilterSpec,
    listed: Listed,
    among: Option<Vec<i64>>,
) -> Result<(MatchQuery, bool), AppError> {
    let named = match filter::resolve(conn, p, &spec).await? {
        Ok(named) => named,
        Err(errors) => return Err(AppError::Validation(errors)),
    };
    // As the page lists them: below `within`, else below `parent`, else the acting tenant.
    let scope = match (listed, named.within.or(named.parent)) {
        (Listed::Page(_), Some(within)) => MatchScope::Below(Box::new(within)),
        (Listed::Page(acting), None) => MatchScope::Below(acting),
        (Listed::Api, _) => MatchScope::Visible {
            within: spec.within,
        },
    };
    let api = matches!(scope, MatchScope::Visible { .. });
    let limit = among.as_ref().map_or(MAX_SELECTION, Vec::len) as i64 + 1;
    Ok((
        MatchQuery {
            visibility: authz::visibility(p),
            filter: spec.filter,
            scope,
            among,
            limit,
        },
        api,
    ))
}

/// Whether the action changes a tenant, decided as the single operation decides.
enum Plan {
    /// It changes, with what the change also does when that is worth saying
    /// (adding `tier:silver`: "replacing tier:gold").
    Change(Option<String>),
    NoChange,
}

/// The single operation's checks for `action` on `t`, in its order, without
/// writing: its refusal as the error, or whether there is anything to change. Only
/// the rule that the root keeps an Owner who can log in is left to the apply: it
/// reads the root Owners' homes locked.
async fn plan(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    t: &Tenant,
    action: &BulkAction,
    reach: &mut Option<Reach>,
    earlier: Option<&mut Earlier>,
    now: DateTime<Utc>,
) -> Result<Plan, AppError> {
    let parent = parent_of(conn, t).await?;
    match action {
        BulkAction::Disable { subtree } | BulkAction::Enable { subtree } => {
            let enabled = matches!(action, BulkAction::Enable { .. });
            // `set_enabled`: the right to edit the tenant, the root, then the subtree.
            authz::require_edit(p, t, parent.as_ref())?;
            if t.is_root() && !enabled {
                return Err(AppError::BadRequest(
                    "The root tenant cannot be disabled.".into(),
                ));
            }
            if *subtree {
                let all = Tenant::subtree(conn, t.id).await?;
                // The single confirmation's counts, from the rows read anyway.
                *reach = Some(Reach {
                    subtenants: all.len() as i64 - 1,
                    users: all.iter().map(|x| i64::from(x.user_count)).sum(),
                });
                let by_id: HashMap<i64, &Tenant> = all.iter().map(|x| (x.id, x)).collect();
                for x in &all {
                    let above = if x.id == t.id {
                        parent.as_ref()
                    } else {
                        x.parent_id.and_then(|id| by_id.get(&id).copied())
                    };
                    authz::require_edit(p, x, above)?;
                }
                if all.iter().all(|x| x.enabled == enabled) {
                    return Ok(Plan::NoChange);
                }
            } else {
                *reach = Some(Reach {
                    subtenants: 0,
                    users: i64::from(t.user_count),
                });
                if t.enabled == enabled {
                    return Ok(Plan::NoChange);
                }
            }
            if !enabled {
                let subjects = Subject::load_homed(conn, t.id, *subtree).await?;
                authz::require_dominates_homed(p, &subjects, HomedChange::Disable)?;
            }
            Ok(Plan::Change(None))
        }
        BulkAction::Move { destination } => {
            // `move_tenant`: both rights, then the tree's rules, the users moved, the
            // clouds, the limits.
            if !authz::can_move(p, t, parent.as_ref())
                || !authz::can_manage_children(p, destination)
                || !authz::can_move_to(p, t, parent.as_ref(), destination)
            {
                return Err(AppError::Forbidden);
            }
            let plan = crate::services::plans::plan_of(conn, destination).await?;
            if let Some(message) = super::destination_error(t, destination, plan.as_ref()) {
                return Err(AppError::field("parent_id", message));
            }
            if t.parent_id == Some(destination.id) {
                return Ok(Plan::NoChange);
            }
            let subjects = Subject::load_homed(conn, t.id, true).await?;
            authz::require_dominates_homed(p, &subjects, HomedChange::Move)?;
            let moved = crate::services::plans::plan_move(conn, t, destination, plan.as_ref(), now);
            let moved = moved.await?.unwrap_or_default();
            if let Some(refusal) = moved.refusal {
                return Err(AppError::Conflict(refusal));
            }
            let seen = |path: &[i64]| authz::can_see_path(p, path);
            if let Some(m) = move_limits::clouds_refusal(conn, t, destination, &seen).await? {
                return Err(AppError::Conflict(m));
            }
            // A preview counts the moves it passed before (an apply has made them).
            let refused = match earlier {
                Some(earlier) => {
                    move_limits::preview_refusal(conn, t, destination, &seen, earlier).await?
                }
                None => move_limits::refusal(conn, t, destination, false, &seen).await?,
            };
            if let Some(m) = refused {
                return Err(AppError::Conflict(m));
            }
            // As the single move's preview: the policies the subtree loses and gains.
            // And what of theirs goes dormant under the plan they come under.
            let note = super::tree::policies_note(conn, t, destination, &seen).await?;
            if moved.warnings.is_empty() {
                return Ok(Plan::Change(note));
            }
            let notes: Vec<String> = note
                .map(|n| format!("{n}."))
                .into_iter()
                .chain(moved.warnings)
                .collect();
            Ok(Plan::Change(Some(notes.join(" "))))
        }
        BulkAction::AddLabel(l) | BulkAction::RemoveLabel(l) => {
            // `update`: the right to edit the tenant, then the labels' own rules.
            authz::require_edit(p, t, parent.as_ref())?;
            let labels = t.labels(conn).await?;
            let has = labels.iter().any(|x| x == l.as_str());
            match action {
                BulkAction::AddLabel(_) if has => Ok(Plan::NoChange),
                BulkAction::AddLabel(_) => {
                    // One value per key: `tier:silver` takes the place of `tier:gold`.
                    let (after, replaced) = label::with_added(&labels, l);
                    if after.len() > label::MAX_PER_TENANT {
                        return Err(AppError::field(
                            "labels",
                            format!("A tenant has at most {} labels.", label::MAX_PER_TENANT),
                        ));
                    }
                    Ok(Plan::Change(replacing(&replaced)))
                }
                BulkAction::RemoveLabel(_) if !has => Ok(Plan::NoChange),
                _ => Ok(Plan::Change(None)),
            }
        }
    }
}

/// What adding a label says of the labels it replaces.
fn replacing(replaced: &[String]) -> Option<String> {
    (!replaced.is_empty()).then(|| format!("replacing {}", replaced.join(", ")))
}

/// Errors that end the whole run rather than refuse one tenant.
fn fatal(e: &AppError) -> bool {
    matches!(e, AppError::Unavailable(_) | AppError::Unexpected(_))
}

/// The words of a refusal: what the single operation answers (its 403, 409 or
/// field error messages, without the field names).
fn refusal(e: &AppError) -> String {
    match e {
        AppError::NotFound => NOT_FOUND.into(),
        AppError::Validation(errors) => errors.values().cloned().collect::<Vec<_>>().join(" "),
        e => e.public_message().1,
    }
}

/// `outcome` for a decided plan, or the refusal.
fn decided(
    id: i64,
    t: Tenant,
    plan: Result<Plan, AppError>,
    reach: Option<Reach>,
) -> Result<ItemOutcome, AppError> {
    let (outcome, message) = match plan {
        Ok(Plan::Change(note)) => (Outcome::Changed, note),
        Ok(Plan::NoChange) => (Outcome::Unchanged, None),
        Err(e) if fatal(&e) => return Err(e),
        Err(e) => {
            let mut item = ItemOutcome::refused(id, Some(t), refusal(&e));
            item.reach = reach;
            return Ok(item);
        }
    };
    Ok(ItemOutcome {
        id,
        tenant: Some(t),
        outcome,
        message,
        reach,
    })
}

async fn preview_one(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    t: Tenant,
    action: &BulkAction,
    now: DateTime<Utc>,
    earlier: &mut Earlier,
) -> Result<ItemOutcome, AppError> {
    let mut reach = None;
    let plan = plan(conn, p, &t, action, &mut reach, Some(earlier), now).await;
    decided(t.id, t, plan, reach)
}

/// Applies `action` to one tenant, read again first (an earlier tenant's change may
/// have changed it, or its destination), through the single operation.
async fn apply_one(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    hosts: &ConsoleHosts,
    selected: Tenant,
    action: &BulkAction,
    now: DateTime<Utc>,
) -> Result<ItemOutcome, AppError> {
    let id = selected.id;
    let fresh = match Tenant::find(conn, id).await {
        Ok(t) if authz::can_see(p, &t) => t,
        Ok(_) | Err(diesel::result::Error::NotFound) => {
            return Ok(ItemOutcome::refused(id, Some(selected), NOT_FOUND.into()))
        }
        Err(e) => return Err(e.into()),
    };
    let moved_to;
    let action = match action {
        BulkAction::Move { destination } => match Tenant::find(conn, destination.id).await {
            Ok(destination) => {
                moved_to = BulkAction::Move {
                    destination: Box::new(destination),
                };
                &moved_to
            }
            Err(diesel::result::Error::NotFound) => {
                let message = format!("There is no tenant {}.", destination.id);
                return Ok(ItemOutcome::refused(id, Some(fresh), message));
            }
            Err(e) => return Err(e.into()),
        },
        other => other,
    };
    let mut reach = None;
    let note = match plan(conn, p, &fresh, action, &mut reach, None, now).await {
        Ok(Plan::Change(note)) => note,
        other => return decided(id, fresh, other, reach),
    };
    let done = match action {
        BulkAction::Disable { subtree } | BulkAction::Enable { subtree } => {
            let enabled = matches!(action, BulkAction::Enable { .. });
            super::set_enabled(conn, p, actor, &fresh, enabled, *subtree).await
        }
        // What goes dormant is in the preview's note already.
        BulkAction::Move { destination } => {
            super::move_tenant(conn, p, actor, &fresh, destination, now)
                .await
                .map(|moved| moved.value)
        }
        BulkAction::AddLabel(l) | BulkAction::RemoveLabel(l) => {
            let mut labels = fresh.labels(conn).await?;
            if matches!(action, BulkAction::AddLabel(_)) {
                labels = label::with_added(&labels, l).0;
            } else {
                labels.retain(|x| x != l.as_str());
            }
            super::update(
                conn,
                p,
                actor,
                &fresh,
                with_labels(&fresh, labels, hosts),
                now,
            )
            .await
            // A label changes no plan: nothing to warn of.
            .map(|saved| saved.value)
        }
    };
    match done {
        Ok(after) => Ok(ItemOutcome {
            id,
            tenant: Some(after),
            outcome: Outcome::Changed,
            message: note,
            reach,
        }),
        Err(e) if fatal(&e) => Err(e),
        Err(e) => {
            let mut item = ItemOutcome::refused(id, Some(fresh), refusal(&e));
            item.reach = reach;
            Ok(item)
        }
    }
}

/// An edit of `t` that keeps every field but its labels.
fn with_labels(t: &Tenant, labels: Vec<String>, hosts: &ConsoleHosts) -> TenantChange {
    let fields = TenantInput::draft(
        TenantText::new(
            &t.name,
            &t.subdomain,
            &t.description,
            t.custom_domain.as_deref(),
        ),
        t.can_have_subtenants,
        t.enabled,
        hosts,
        Some(t),
    );
    TenantChange {
        fields: TenantInput::with_labels(
            fields,
            Some(label::parse_list(labels.iter().map(String::as_str))),
        ),
        tenant_role: None,
        plan: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for kind in ActionKind::ALL {
            assert_eq!(ActionKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ActionKind::parse(" move "), Some(ActionKind::Move));
        assert_eq!(ActionKind::parse("delete"), None);
        assert_eq!(ActionKind::parse(""), None);
    }

    #[test]
    fn refusals_read_like_the_single_operation() {
        assert_eq!(refusal(&AppError::NotFound), NOT_FOUND);
        assert_eq!(
            refusal(&AppError::Forbidden),
            AppError::Forbidden.public_message().1
        );
        assert_eq!(
            refusal(&AppError::field(
                "parent_id",
                "A tenant cannot be moved under itself."
            )),
            "A tenant cannot be moved under itself."
        );
        assert_eq!(
            refusal(&AppError::Conflict("Disabling it would lock out x.".into())),
            "Disabling it would lock out x."
        );
    }

    #[test]
    fn counts_add_up() {
        let item = |outcome| ItemOutcome {
            id: 1,
            tenant: None,
            outcome,
            message: None,
            reach: None,
        };
        let items = [
            item(Outcome::Changed),
            item(Outcome::Refused),
            item(Outcome::Changed),
            item(Outcome::Unchanged),
        ];
        assert_eq!(
            Counts::of(&items),
            Counts {
                changed: 2,
                unchanged: 1,
                refused: 1
            }
        );
    }
}
