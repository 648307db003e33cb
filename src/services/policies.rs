//! A tenant's policies (issue #15): its own, and the inheritable ones of the tenants
//! above it, which it sees read-only and may override when their owner allows it.
//! Each change is one transaction with Policies full on the tenant (403) and one
//! audit event; reads need Policies read ([`read`]). The caller has checked the
//! tenant's visibility (404); a policy the tenant does not see is 404 too, an
//! inherited one 403 naming its owner (`authz::require_own_policy`).
//!
//! What a policy's change does below it: a policy that stops being inheritable (or
//! is deleted, or a move takes a subtree away from it) no longer reaches the
//! tenants below. Their resolvers and subnets that used it are not refused nor left
//! pointing at something they cannot see: the reference is cleared (they follow
//! their tenant's effective policy, `/tenants/{id}/policies/effective`), and their
//! overrides of it become plain policies of their own. Each tenant whose choices a
//! change of a policy cleared gets a `policy.clear` audit entry in its own trail,
//! naming each resolver, subnet and override and why; the move preview names the
//! policies a subtree gains and loses.
//!
//! A lock that takes effect (a new inheritable `locked` policy, or one made
//! inheritable and locked) does the same to what it binds below: resolvers and
//! subnets there that chose another policy of its kind (their own, an override, an
//! inherited one) are cleared, so they follow the lock, and overrides there of a
//! policy of its kind become plain policies — of the lock itself, and of any other
//! policy the lock now shuts out (above the lock's owner, or between it and the
//! override: `authz::overruled_at`), whose overrides would have no effect either. The lock taker holds every policy of
//! the kind on its path and in its subtree FOR UPDATE first, so a resolver or subnet
//! choosing one of them at the same time (`check_choice`, FOR SHARE) either commits
//! before the clearing sees it or sees the lock and is refused.
//!
//! A change of a policy that clears anything below ([`update`]: `inheritable`
//! switched off, or made a lock) is applied only once confirmed: unconfirmed, it is
//! made, counted per tenant and rolled back, so that what the confirmation names is
//! what the change clears ([`cleared_view`]: tenants the user cannot see as one
//! number). A confirmation given for other counts than the change clears by then
//! is asked again ([`Confirmation::Shown`]).
//!
//! Resolvers and subnets pick a policy through [`check_choice`]: one the tenant
//! sees, and none of another policy's kind that a tenant above locks.

use crate::auth::authz::{self, PolicyAccess, PolicyFacts};
use crate::auth::Principal;
use crate::db::models::policy::{ClearedChoice, Policy, PolicyFields, SeenPolicy};
use crate::db::models::{AuditEvent, Tenant};
use crate::db::transaction::in_transaction;
use crate::domain::activity::Action;
use crate::domain::policy::{Cleared, ClearedCounts, Enforcement, PolicyKind, PolicySettings};
use crate::domain::{Feature, Level, TenantName};
use crate::error::{AppError, FieldErrors};
use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel_async::AsyncPgConnection;

pub use super::change::{Audit, Change};
use crate::services::actor::Actor;

/// A policy id a resolver or subnet names that its tenant does not see (missing,
/// a sibling's, not inheritable: the same answer).
pub const UNKNOWN_POLICY: &str = "Unknown policy: choose one of the policies this tenant sees.";
const POLICY_TAKEN: &str = "This tenant has a policy of this name.";
const KIND_FIXED: &str = "A policy's kind cannot change: create a new policy instead.";

/// Policies read on `tenant` (403).
pub fn read(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Policies, Level::Read)
}

/// Policies full on `tenant` (403).
pub fn may_change(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Policies, Level::Full)
}

/// A policy's fields as given: a name, its kind's settings, whether descendants
/// see it and whether they must use it.
#[derive(Clone, Debug)]
pub struct PolicyInput {
    pub name: TenantName,
    pub kind: PolicyKind,
    pub settings: PolicySettings,
    pub inheritable: bool,
    pub enforcement: Enforcement,
}

/// The raw fields of a form or a JSON body.
#[derive(Clone, Debug, Default)]
pub struct RawPolicy<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub threshold: Option<i64>,
    /// Categories or regulatory lists (one per value), or host names (lines).
    pub entries: Vec<String>,
    pub inheritable: bool,
    pub enforcement: &'a str,
}

impl PolicyInput {
    /// Every field error at once: `name`, `kind`, the kind's setting (`threshold`,
    /// `categories`, `regulatory` or `domains`), `enforcement`.
    pub fn parse(raw: &RawPolicy<'_>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = TenantName::parse(raw.name)
            .map_err(|e| errors.insert("name", e))
            .ok();
        let kind = raw
            .kind
            .trim()
            .parse::<PolicyKind>()
            .map_err(|_| errors.insert("kind", "Choose one of the kinds.".into()))
            .ok();
        let enforcement = match raw.enforcement.trim() {
            "" => Some(Enforcement::Default),
            e => e
                .parse::<Enforcement>()
                .map_err(|_| errors.insert("enforcement", "Choose locked or default.".into()))
                .ok(),
        };
        let settings = kind.and_then(|kind| {
            PolicySettings::parse(kind, raw.threshold, &raw.entries)
                .map_err(|e| errors.insert(kind.setting(), e))
                .ok()
        });
        match (name, kind, settings, enforcement) {
            (Some(name), Some(kind), Some(settings), Some(enforcement)) if errors.is_empty() => {
                Ok(PolicyInput {
                    name,
                    kind,
                    settings,
                    inheritable: raw.inheritable,
                    enforcement,
                })
            }
            _ => Err(errors),
        }
    }

    fn fields(&self) -> PolicyFields {
        let (threshold, entries) = self.settings.stored();
        PolicyFields {
            name: self.name.as_str().to_string(),
            kind: self.kind,
            threshold,
            entries,
            inheritable: self.inheritable,
            enforcement: self.enforcement,
        }
    }
}

/// A policy as its audit events hold it: its kind's setting under the setting's
/// name (`threshold`; `categories`, `regulatory` or `domains` as a person reads
/// them: "Adult, Social media"), never the stored entries.
fn policy_json(p: &Policy) -> serde_json::Value {
    let mut v = serde_json::json!({
        "policy_id": p.id, "name": p.name, "kind": p.kind.as_str(),
        "inheritable": p.inheritable,
        "enforcement": p.enforcement.as_str(), "overrides_id": p.overrides_id,
    });
    v[p.kind.setting()] = match p.threshold {
        Some(t) if p.kind == PolicyKind::BlockingThreshold => t.into(),
        _ => crate::domain::policy::entries_text(&p.entries()).into(),
    };
    v
}

/// A unique violation of the policy's name (two creates at once), or of the one
/// override per inherited policy.
fn taken(e: DbError) -> AppError {
    match e {
        DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("policies_name") =>
        {
            AppError::field("name", POLICY_TAKEN)
        }
        DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AppError::Conflict("This tenant overrides that policy already.".into())
        }
        e => e.into(),
    }
}

async fn check_name(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    input: &PolicyInput,
    except: Option<i64>,
) -> Result<(), AppError> {
    if Policy::name_taken(conn, tenant_id, input.name.as_str(), except).await? {
        return Err(AppError::field("name", POLICY_TAKEN));
    }
    Ok(())
}

/// Policy `id` as the tenant sees it: 404 unless visible, with its access.
pub async fn find(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    id: i64,
) -> Result<(SeenPolicy, PolicyAccess), AppError> {
    let seen = Policy::find_visible(conn, &tenant.path, id).await?;
    let access = authz::policy_access(&tenant.path, &authz::PolicyFacts::of(&seen.policy));
    Ok((seen, access))
}

/// Creates one of the tenant's own policies. A new lock (inheritable and `locked`)
/// binds the tenants below at once: what that clears there (module comment) is
/// cleared only when `confirm` covers it, as for [`update`]; unconfirmed, the policy is
/// created, the clearing counted and all of it rolled back
/// ([`Updated::Unconfirmed`]). A policy that clears nothing needs no confirmation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: Result<PolicyInput, FieldErrors>,
    confirm: &Confirmation,
) -> Result<Updated, AppError> {
    let mut asked = None;
    let saved = c
        .audited(
            Feature::Policies,
            conn,
            Action::PolicyCreate,
            async |conn| {
                let input = input.map_err(AppError::Validation)?;
                check_name(conn, c.tenant.id, &input, None).await?;
                check_lock(conn, c.tenant, &input, None).await?;
                if locks(&input.fields()) {
                    Policy::lock_kind_around(conn, &c.tenant.path, input.kind).await?;
                }
                let p = Policy::insert(conn, c.tenant.id, &input.fields(), None, c.now)
                    .await
                    .map_err(taken)?;
                created_as_asked(conn, c, p, confirm, &mut asked).await
            },
        )
        .await;
    settled(saved, asked)
}

/// How a change that clears choices below was confirmed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Confirmation {
    /// Not at all: a change that clears something is asked about first.
    #[default]
    No,
    /// Whatever it clears (the API's `"confirm": true`, a bare `confirm=1`).
    Any,
    /// Having been shown what it clears, as [`Cleared::fingerprint`] of that: a
    /// change that would clear something else now is asked about again (the
    /// confirmation went stale) rather than clearing more than the user saw.
    Shown(String),
}

impl Confirmation {
    /// May a change that clears `cleared` go ahead?
    fn covers(&self, cleared: &Cleared) -> bool {
        match self {
            _ if cleared.is_empty() => true,
            Confirmation::No => false,
            Confirmation::Any => true,
            Confirmation::Shown(seen) => *seen == cleared.fingerprint(),
        }
    }
}

/// Refuses a change that cleared something below unless `confirm` covers it: the
/// refusal rolls it back (the `policy.clear` entries with it), and `asked` keeps
/// what it would clear, to tell it from another refusal ([`settled`]).
fn ask_first(
    confirm: &Confirmation,
    cleared: Cleared,
    asked: &mut Option<Cleared>,
) -> Result<Cleared, AppError> {
    if !confirm.covers(&cleared) {
        let refusal = unconfirmed(&cleared);
        *asked = Some(cleared);
        return Err(refusal);
    }
    Ok(cleared)
}

/// What a change asked first ([`ask_first`]) did.
fn settled(
    saved: Result<(Policy, Cleared), AppError>,
    asked: Option<Cleared>,
) -> Result<Updated, AppError> {
    match (saved, asked) {
        (Err(_), Some(cleared)) => Ok(Updated::Unconfirmed(cleared)),
        (saved, _) => saved.map(|(p, cleared)| Updated::Saved(p, cleared)),
    }
}

/// A new policy (a create, an override) with what it clears below when it is a
/// lock, asked first ([`ask_first`]), and its audit `after`.
async fn created_as_asked(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    p: Policy,
    confirm: &Confirmation,
    asked: &mut Option<Cleared>,
) -> Result<((Policy, Cleared), serde_json::Value), AppError> {
    let mut cleared = Cleared::default();
    if locks_kind(&p) {
        cleared = clear_below(conn, c, &p, Cause::Locked).await?;
    }
    let cleared = ask_first(confirm, cleared, asked)?;
    let after = policy_json(&p);
    Ok(((p, cleared), after))
}

/// A lock of a kind that a tenant above, or another policy of this tenant, locks
/// already could never be used below it (the topmost lock, the lowest id, binds):
/// refused on `enforcement`.
async fn check_lock(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    input: &PolicyInput,
    except: Option<i64>,
) -> Result<(), AppError> {
    if !locks(&input.fields()) {
        return Ok(());
    }
    let (seen, facts) = seen_with_facts(conn, tenant).await?;
    let kind = input.kind.label().to_lowercase();
    if let Some(lock) = authz::locked_against(&tenant.path, &facts, input.kind) {
        let (owner, name) = named(&seen, lock.id);
        return Err(AppError::field(
            "enforcement",
            format!("{owner} locks the {kind} policy here already ({name}): a second lock could never be used below. Make it default, or not inheritable."),
        ));
    }
    if let Some(other) = seen.iter().find(|s| {
        s.policy.tenant_id == tenant.id
            && Some(s.policy.id) != except
            && s.policy.kind == input.kind
            && locks_kind(&s.policy)
    }) {
        return Err(AppError::field(
            "enforcement",
            format!("This tenant locks the {kind} policy already with {}: a second lock could never be used below. Make it default, or not inheritable.", other.policy.name),
        ));
    }
    Ok(())
}

/// What authorization decides over: the facts of the policies seen.
fn facts_of(seen: &[SeenPolicy]) -> Vec<PolicyFacts> {
    seen.iter().map(|s| PolicyFacts::of(&s.policy)).collect()
}

/// The policies the tenant sees (`Policy::visible`) and their facts.
async fn seen_with_facts(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<(Vec<SeenPolicy>, Vec<PolicyFacts>), AppError> {
    let seen = Policy::visible(conn, &tenant.path).await?;
    let facts = facts_of(&seen);
    Ok((seen, facts))
}

/// The owner's and the name of policy `id` among those seen.
fn named(seen: &[SeenPolicy], id: i64) -> (&str, &str) {
    seen.iter()
        .find(|s| s.policy.id == id)
        .map(|s| (s.owner_name.as_str(), s.policy.name.as_str()))
        .unwrap_or(("a tenant above", "its policy"))
}

fn locks_kind(p: &Policy) -> bool {
    p.inheritable && p.enforcement == Enforcement::Locked
}

/// Does a policy with these fields lock its kind below its tenant?
fn locks(f: &PolicyFields) -> bool {
    f.inheritable && f.enforcement == Enforcement::Locked
}

/// Why a change of policy `p` cleared choices of it (or of its kind) below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// It stopped being inheritable: it no longer reaches the tenants below.
    Withdrawn,
    /// It locks its kind below now.
    Locked,
    /// It was deleted.
    Deleted,
}

/// A change that takes a policy away from the tenants below or puts a lock on
/// them: what used it, or another of the locked kind, there is cleared in the same
/// transaction (module comment), and each tenant it touched gets an audit entry
/// ([`record_cleared`]).
async fn clear_below(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    p: &Policy,
    cause: Cause,
) -> Result<Cleared, AppError> {
    let below = Policy::subtree_of(conn, c.tenant.id).await?;
    let cleared = Policy::clear_unseen_listed(conn, &below, c.now).await?;
    record_cleared(conn, c, p, cause, &cleared).await?;
    Ok(ClearedChoice::counted(&cleared))
}

/// One `policy.clear` audit entry in each tenant whose choices a change of `p`
/// cleared, in its own trail: each resolver, subnet and override with the policy
/// it had and, after, why it has none now (a field per item: `resolver dns: Acme
/// deny → none (Tenant acme made Acme deny not inheritable)`).
async fn record_cleared(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    p: &Policy,
    cause: Cause,
    cleared: &[ClearedChoice],
) -> Result<(), AppError> {
    let owner = &c.tenant.name;
    let kind = p.kind.label().to_lowercase();
    let events = cleared_events(c.actor, cleared, |x| match cause {
        Cause::Withdrawn => format!("{owner} made {} not inheritable", p.name),
        Cause::Deleted => format!("{owner} deleted {}", p.name),
        Cause::Locked if x.policy_id == p.id => {
            format!("{owner} locked {}: it cannot be overridden", p.name)
        }
        Cause::Locked => format!("{owner} locks the {kind} policy to {}", p.name),
    });
    AuditEvent::record_many(conn, &events).await?;
    Ok(())
}

/// The `policy.clear` entries of a move of `moved` under `destination` that
/// cleared `cleared` in the moved subtree (`Policy::clear_unseen_listed`): one in
/// each tenant touched, the same shape as a policy change's ([`record_cleared`]),
/// the move named as the reason (`resolver dns: Acme deny → none (Tenant a1 moved
/// under Tenant globex)`). Recorded together: one INSERT per thousand tenants.
pub async fn record_cleared_by_move(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    moved: &Tenant,
    destination: &Tenant,
    cleared: &[ClearedChoice],
) -> Result<(), AppError> {
    let why = format!("{} moved under {}", moved.name, destination.name);
    let events = cleared_events(actor, cleared, |_| why.clone());
    AuditEvent::record_many(conn, &events).await?;
    Ok(())
}

/// The `policy.clear` entry of each tenant in `cleared` (sorted by tenant): per
/// item, the policy it had before and, after, what it is now and `why`.
fn cleared_events(
    actor: &Actor,
    cleared: &[ClearedChoice],
    why: impl Fn(&ClearedChoice) -> String,
) -> Vec<AuditEvent> {
    cleared
        .chunk_by(|a, b| a.tenant_id == b.tenant_id)
        .map(|items| {
            let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
            for x in items {
                let key = format!("{} {}", x.item, x.name);
                let (was, is) = if x.item == "policy" {
                    (format!("override of {}", x.policy_name), "plain policy")
                } else {
                    (x.policy_name.clone(), "none")
                };
                before.insert(key.clone(), was.into());
                after.insert(key, format!("{is} ({})", why(x)).into());
            }
            let mut event = actor.event(Action::PolicyClear, Some(items[0].tenant_id));
            event.before = Some(before.into());
            event.after = Some(after.into());
            event
        })
        .collect()
}

/// What [`create`], [`update`] or [`create_override`] did.
#[derive(Clone, Debug)]
pub enum Updated {
    /// Saved, with what it cleared below (nothing, mostly).
    Saved(Policy, Cleared),
    /// Nothing changed: the change would clear this below, and was not confirmed
    /// (or was confirmed having been shown something else).
    Unconfirmed(Cleared),
}

/// The refusal of an unconfirmed change that would clear choices below (the API's
/// 409; the pages ask instead).
pub fn unconfirmed(cleared: &Cleared) -> AppError {
    AppError::Conflict(format!(
        "This change clears the choices below this tenant that it takes away or locks out: \
         {}. Nothing was changed; send \"confirm\": true to apply it.",
        cleared.totals().phrase()
    ))
}

/// The fields of a policy that a change changed, as they were and as they are
/// (the policy's id on both sides, to say which), for its `policy.update` entry;
/// `None` when nothing changed.
fn changed_fields(old: &Policy, new: &Policy) -> Option<Audit> {
    let (was, is) = (policy_json(old), policy_json(new));
    let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
    for field in ["name", new.kind.setting(), "inheritable", "enforcement"] {
        if was[field] != is[field] {
            before.insert(field.into(), was[field].clone());
            after.insert(field.into(), is[field].clone());
        }
    }
    if before.is_empty() {
        return None;
    }
    before.insert("policy_id".into(), old.id.into());
    after.insert("policy_id".into(), new.id.into());
    Some(Audit {
        before: Some(before.into()),
        after: Some(after.into()),
    })
}

/// Changes one of the tenant's own policies (an inherited one: 403 naming its
/// owner). One that stops being inheritable stops reaching the tenants below, one
/// made a lock binds them: what that clears there (module comment) is cleared only
/// when `confirm` covers it ([`Confirmation`]); unconfirmed, the change is made,
/// counted and rolled back, so that the count is what the change clears
/// ([`Updated::Unconfirmed`]).
pub async fn update(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
    input: Result<PolicyInput, FieldErrors>,
    confirm: &Confirmation,
) -> Result<Updated, AppError> {
    let mut asked = None;
    let saved = c
        .audited_as(
            Feature::Policies,
            conn,
            Action::PolicyUpdate,
            async |conn| {
                let (seen, access) = find(conn, c.tenant, id).await?;
                authz::require_own_policy(access, &seen.owner_name)?;
                let old = Policy::lock(conn, c.tenant.id, id).await?;
                let input = input.map_err(AppError::Validation)?;
                if input.kind != old.kind {
                    return Err(AppError::field("kind", KIND_FIXED));
                }
                check_name(conn, c.tenant.id, &input, Some(id)).await?;
                if input.fields().same_as(&old) {
                    // Nothing to change: kept as it is, `updated_at` too, and nothing recorded.
                    return Ok(((old, Cleared::default()), None));
                }
                let was_locking = locks_kind(&old);
                if !was_locking {
                    check_lock(conn, c.tenant, &input, Some(id)).await?;
                }
                let now_locks = locks(&input.fields());
                if now_locks && !was_locking {
                    Policy::lock_kind_around(conn, &c.tenant.path, input.kind).await?;
                }
                let p = Policy::update(conn, c.tenant.id, id, &input.fields(), c.now)
                    .await
                    .map_err(taken)?;
                let mut cleared = Cleared::default();
                if old.inheritable && !p.inheritable {
                    cleared = clear_below(conn, c, &p, Cause::Withdrawn).await?;
                } else if now_locks && !was_locking {
                    cleared = clear_below(conn, c, &p, Cause::Locked).await?;
                }
                let cleared = ask_first(confirm, cleared, &mut asked)?;
                let audit = changed_fields(&old, &p);
                Ok(((p, cleared), audit))
            },
        )
        .await;
    settled(saved, asked)
}

/// What a change clears, as `p` may be told: per tenant they see (by name), the
/// rest as one number.
#[derive(Clone, Debug, Default)]
pub struct ClearedView {
    pub visible: Vec<(String, ClearedCounts)>,
    /// Resolvers, subnets and overrides in tenants `p` cannot see.
    pub hidden: i64,
}

impl ClearedView {
    /// One line a tenant ("Tenant a1: 2 resolvers and 1 subnet"), then "3 in
    /// tenants you cannot see".
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .visible
            .iter()
            .map(|(name, counts)| format!("{name}: {}", counts.phrase()))
            .collect();
        if self.hidden > 0 {
            lines.push(format!("{} in tenants you cannot see", self.hidden));
        }
        lines
    }
}

/// [`ClearedView`] of `cleared` for `p`.
pub async fn cleared_view(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    cleared: &Cleared,
) -> Result<ClearedView, AppError> {
    let ids: Vec<i64> = cleared.0.keys().copied().collect();
    let tenants = Tenant::find_many(conn, &ids).await?;
    let mut view = ClearedView::default();
    for (id, counts) in &cleared.0 {
        match tenants.iter().find(|t| t.id == *id) {
            Some(t) if authz::can_see(p, t) => view.visible.push((t.name.clone(), *counts)),
            _ => view.hidden += counts.total(),
        }
    }
    view.visible.sort_by_key(|(name, _)| name.to_lowercase());
    Ok(view)
}

/// Deletes one of the tenant's own policies: resolvers and subnets that used it
/// follow their tenant's effective policy, overrides of it become plain policies
/// (the keys' `ON DELETE SET NULL`). What that clears is cleared only when
/// `confirm` covers it, as for any change that clears choices ([`update`]);
/// unconfirmed, nothing is deleted ([`Updated::Unconfirmed`]). An override's
/// delete is its reset ([`reset_override`]).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
    confirm: &Confirmation,
) -> Result<Updated, AppError> {
    let mut asked = None;
    let deleted = c
        .audited_as(
            Feature::Policies,
            conn,
            Action::PolicyDelete,
            async |conn| {
                let (seen, access) = find(conn, c.tenant, id).await?;
                authz::require_own_policy(access, &seen.owner_name)?;
                let p = Policy::lock(conn, c.tenant.id, id).await?;
                // Cleared first, `updated_at` set as every clearing sets it (the keys'
                // `ON DELETE SET NULL` would leave it).
                let cleared = Policy::clear_choices_of(conn, id, &p.name, c.now).await?;
                let counted = ask_first(confirm, ClearedChoice::counted(&cleared), &mut asked)?;
                Policy::delete(conn, c.tenant.id, id).await?;
                record_cleared(conn, c, &p, Cause::Deleted, &cleared).await?;
                let audit = Audit {
                    before: Some(policy_json(&p)),
                    after: None,
                };
                Ok(((p, counted), Some(audit)))
            },
        )
        .await;
    settled(deleted, asked)
}

/// The refusal of an unconfirmed delete of a policy in use (the API's 409).
pub fn delete_unconfirmed(cleared: &Cleared) -> AppError {
    AppError::Conflict(format!(
        "Deleting this policy clears the choices that use it: {}. Nothing was deleted; \
         send confirm=true (DELETE …?confirm=true) to delete it.",
        cleared.totals().phrase()
    ))
}

/// Overrides the inherited policy `of` (404 unless the tenant sees it, 403 for its
/// own or a locked one): a policy of the tenant's own, of the same kind, naming it.
/// One override per inherited policy and tenant (409). An override that is a lock
/// is asked about first as [`create`] is.
pub async fn create_override(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    of: i64,
    input: Result<PolicyInput, FieldErrors>,
    confirm: &Confirmation,
) -> Result<Updated, AppError> {
    let mut asked = None;
    let saved = c
        .audited(
            Feature::Policies,
            conn,
            Action::PolicyOverride,
            async |conn| {
                // Held FOR SHARE, as a resolver's choice is: a lock taking effect above
                // meanwhile (`Policy::lock_kind_around` takes every policy of its kind on
                // its path and in its subtree, this one too) either waits for this override
                // and then clears it, or commits first and is seen here.
                Policy::share_lock(conn, of).await?;
                let inherited = overridable(conn, c.tenant, of).await?;
                // The input before the conflict (422 before 409): a request that could never
                // succeed is told what is wrong with it, not that another override is there.
                let input = input.map_err(AppError::Validation)?;
                if input.kind != inherited.policy.kind {
                    return Err(AppError::field(
                        "kind",
                        format!("An override keeps the kind of {}.", inherited.policy.name),
                    ));
                }
                // One override there already (409): its default name is this one's, so it
                // is looked for after the name check (whose error it outranks) — and two
                // overrides of one policy at once: the one that commits first may make the
                // other's name taken, but the answer is the second override's 409, as when
                // they come one after the other. So it is looked for again after a unique
                // violation (the insert in a savepoint, to ask on).
                let name_free = check_name(conn, c.tenant.id, &input, None).await;
                overridden_already(conn, c.tenant, &inherited.policy).await?;
                name_free?;
                check_lock(conn, c.tenant, &input, None).await?;
                if locks(&input.fields()) {
                    Policy::lock_kind_around(conn, &c.tenant.path, input.kind).await?;
                }
                let inserted = in_transaction(conn, async |conn| {
                    Policy::insert(conn, c.tenant.id, &input.fields(), Some(of), c.now).await
                })
                .await;
                let p = match inserted {
                    Ok(p) => p,
                    Err(e @ DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        overridden_already(conn, c.tenant, &inherited.policy).await?;
                        return Err(taken(e));
                    }
                    Err(e) => return Err(e.into()),
                };
                created_as_asked(conn, c, p, confirm, &mut asked).await
            },
        )
        .await;
    settled(saved, asked)
}

/// The inherited policy `of` if the tenant may override it: 404 unless seen, 403
/// for its own, a locked one, or one without effect here (a lock above its owner
/// overrules it: `authz::may_override_among`).
pub async fn overridable(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    of: i64,
) -> Result<SeenPolicy, AppError> {
    let (seen, facts) = seen_with_facts(conn, tenant).await?;
    let Some(inherited) = seen.iter().find(|s| s.policy.id == of) else {
        return Err(AppError::NotFound);
    };
    authz::may_override_among(
        &tenant.path,
        &facts,
        &PolicyFacts::of(&inherited.policy),
        &inherited.owner_name,
        |id| {
            let (owner, name) = named(&seen, id);
            (owner.to_string(), name.to_string())
        },
    )?;
    Ok(inherited.clone())
}

/// 409 when the tenant overrides `of` already (one override per inherited policy).
async fn overridden_already(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    of: &Policy,
) -> Result<(), AppError> {
    match Policy::override_of(conn, tenant.id, of.id).await? {
        Some(existing) => Err(AppError::Conflict(format!(
            "This tenant overrides {} already, with {}.",
            of.name, existing.name
        ))),
        None => Ok(()),
    }
}

/// The name an override of `of` gets when none is given: "Original (Tenant)", or,
/// when the tenant has a policy of that name, "Original (Tenant) 2", 3, … (the
/// first free one; see [`override_name`]). "Original" is the name of the policy
/// the override overrides in the end: an override of an override is named after
/// the original policy, not after the override between them ("Acme BT (Head
/// Office)", never "Acme BT (Dental Group) (Head Office)").
pub async fn free_override_name(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    of: &Policy,
) -> Result<String, AppError> {
    let of_name = original(conn, of).await?.name;
    for n in 1..1000 {
        let name = override_name(&of_name, &tenant.name, n);
        if !Policy::name_taken(conn, tenant.id, &name, None).await? {
            return Ok(name);
        }
    }
    Ok(override_name(&of_name, &tenant.name, 1000))
}

/// How many overrides of overrides a chain is followed through at most.
const MAX_CHAIN: usize = 1000;

/// The policy `p` overrides in the end (`p` itself when it overrides nothing):
/// along `overrides_id`, one statement a step (a chain is at most as long as the
/// tree is deep).
async fn original(conn: &mut AsyncPgConnection, p: &Policy) -> Result<Policy, AppError> {
    let mut at = p.clone();
    // An override names a policy of a tenant above its own: no chain comes back.
    for _ in 0..MAX_CHAIN {
        let Some(of) = at.overrides_id else { break };
        at = Policy::with_owner(conn, of).await?.policy;
    }
    Ok(at)
}

/// The `n`th default name of an override of `of_name` in tenant `tenant_name`:
/// "Of (Tenant)", then "Of (Tenant) 2", … within a name's 100 characters. A name
/// too long is shortened where it is the inherited policy's, with "…", so that the
/// tenant's part and the number stay whole; only a tenant name too long for that
/// is shortened itself.
pub fn override_name(of_name: &str, tenant_name: &str, n: u32) -> String {
    let max = TenantName::MAX;
    let number = if n <= 1 {
        String::new()
    } else {
        format!(" {n}")
    };
    let tail = format!(" ({tenant_name}){number}");
    let room = max.saturating_sub(tail.chars().count());
    if of_name.chars().count() <= room {
        return format!("{of_name}{tail}");
    }
    let shorten = |text: &str, keep: usize| {
        let kept: String = text.chars().take(keep).collect();
        format!("{}…", kept.trim_end())
    };
    if room >= 2 {
        return format!("{}{tail}", shorten(of_name, room - 1));
    }
    let whole = format!("{of_name} ({tenant_name})");
    let keep = max - number.chars().count() - 1;
    format!("{}{number}", shorten(&whole, keep))
}

/// Resets an override to the policy it overrides: the tenant's resolvers and
/// subnets that used the override use the inherited policy again, and the override
/// goes. 404 unless `id` is one of the tenant's overrides.
pub async fn reset_override(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
) -> Result<Policy, AppError> {
    c.audited_as(Feature::Policies, conn, Action::PolicyReset, async |conn| {
        let (seen, access) = find(conn, c.tenant, id).await?;
        authz::require_own_policy(access, &seen.owner_name)?;
        let p = Policy::lock(conn, c.tenant.id, id).await?;
        let Some(of) = p.overrides_id else {
            return Err(AppError::NotFound);
        };
        let repointed = Policy::repoint(conn, c.tenant.id, id, Some(of), c.now).await?;
        Policy::delete(conn, c.tenant.id, id).await?;
        // The override goes: what it was (and how many of the tenant's resolvers
        // and subnets it took with it back to the inherited policy), nothing after.
        let mut before = policy_json(&p);
        before["repointed"] = repointed.into();
        Ok((p, Some(Audit::removed(before))))
    })
    .await
}

/// The override `id` of the tenant with the policy it overrides (its page and its
/// reset's confirmation): `None` for a policy that overrides nothing.
pub async fn overridden(
    conn: &mut AsyncPgConnection,
    p: &Policy,
) -> Result<Option<SeenPolicy>, AppError> {
    match p.overrides_id {
        Some(of) => Ok(Some(Policy::with_owner(conn, of).await?)),
        None => Ok(None),
    }
}

/// What a tenant's resolvers and subnets may use as `policy_id`: `None`, or a
/// policy the tenant sees (else [`UNKNOWN_POLICY`]) whose kind no tenant above
/// locks to another policy (else the error names the lock's owner and policy). The
/// chosen policy is held FOR SHARE until the transaction ends, so it cannot stop
/// being inheritable or locked meanwhile. A change that keeps the item's policy
/// (`kept`) is never refused for it (a lock added later cleared what it forbids).
pub async fn check_choice(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    policy_id: Option<i64>,
    kept: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let Some(id) = policy_id.filter(|&id| Some(id) != kept) else {
        return Ok(());
    };
    Policy::share_lock(conn, id).await?;
    let (seen, facts) = seen_with_facts(conn, tenant).await?;
    let Some(chosen) = facts.iter().find(|f| f.id == id) else {
        errors.insert("policy_id", UNKNOWN_POLICY.into());
        return Ok(());
    };
    if let Err(Some(lock)) = authz::may_use_policy(&tenant.path, &facts, chosen) {
        let owner = named(&seen, lock.id);
        errors.insert(
            "policy_id",
            format!(
                "{} locks the {} policy here: use {} (or none).",
                owner.0,
                lock.kind.label().to_lowercase(),
                owner.1
            ),
        );
    }
    Ok(())
}

/// What a resolver or subnet form offers for its policy.
#[derive(Clone, Debug, Default)]
pub struct PolicyChoices {
    /// The policies the tenant sees that no lock above forbids
    /// (`authz::may_use_policy`), its own first, then the inherited ones nearest
    /// first.
    pub usable: Vec<SeenPolicy>,
    /// The one offered first, always one of `usable`: for the kind of the nearest
    /// inherited policy, the policy that applies to the tenant
    /// (`authz::default_policy`).
    pub default: Option<i64>,
    /// What applies to a resolver or subnet that picks none: the tenant's effective
    /// policy of each kind that has one ([`effective`]).
    pub effective: Vec<SeenPolicy>,
}

/// The policies a resolver or subnet form offers ([`PolicyChoices`]).
pub async fn choices(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<PolicyChoices, AppError> {
    let (seen, facts) = seen_with_facts(conn, tenant).await?;
    let default = authz::default_policy(&tenant.path, &facts).map(|p| p.id);
    let effective = effective_of(tenant, &seen)
        .into_iter()
        .filter_map(|e| e.policy)
        .collect();
    let usable = seen
        .into_iter()
        .filter(|s| {
            authz::may_use_policy(&tenant.path, &facts, &PolicyFacts::of(&s.policy)).is_ok()
        })
        .collect();
    Ok(PolicyChoices {
        usable,
        default,
        effective,
    })
}

/// One kind's effective policy with its policy and owner as loaded, and every
/// other policy of the kind the tenant sees, each once.
#[derive(Clone, Debug)]
pub struct Effective {
    pub kind: PolicyKind,
    pub policy: Option<SeenPolicy>,
    pub reason: Option<authz::PolicyReason>,
    /// The inherited policy an override overrides.
    pub overrides: Option<SeenPolicy>,
    /// The other policies of the kind the tenant sees, shadowed by the applied one
    /// (they apply only where a resolver or subnet picks them), its own first, then
    /// the inherited ones nearest first; each with the lock that leaves it without
    /// effect here, if one does (`authz::overruled_at`: a lock of its kind above
    /// its owner, or between its owner and the tenant).
    pub shadowed: Vec<(SeenPolicy, Option<SeenPolicy>)>,
}

/// The policies among `seen` (those the tenant sees) that have no effect, each with
/// the lock above its owner that overrides it (`authz::overruled_by`): a second
/// lock of a kind locked above after it, or any other policy of that kind.
pub fn overruled(tenant: &Tenant, seen: &[SeenPolicy]) -> Vec<(SeenPolicy, SeenPolicy)> {
    let facts = facts_of(seen);
    seen.iter()
        .filter_map(|s| {
            let lock = authz::overruled_by(&tenant.path, &facts, &PolicyFacts::of(&s.policy))?;
            let lock = seen.iter().find(|l| l.policy.id == lock.id)?;
            Some((s.clone(), lock.clone()))
        })
        .collect()
}

/// The lock that leaves `policy` without effect at `tenant` (`authz::overruled_at`:
/// above its owner, or between its owner and `tenant`), as the tenant sees it: a
/// policy's page says so and offers no override.
pub async fn overruled_here(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    policy: &Policy,
) -> Result<Option<SeenPolicy>, AppError> {
    let seen = Policy::visible(conn, &tenant.path).await?;
    let facts = facts_of(&seen);
    Ok(
        authz::overruled_at(&tenant.path, &facts, &PolicyFacts::of(policy))
            .and_then(|lock| seen.iter().find(|s| s.policy.id == lock.id).cloned()),
    )
}

/// [`overruled`] among the policies the tenant sees (the list and a policy's page).
pub async fn overruled_in(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<Vec<(SeenPolicy, SeenPolicy)>, AppError> {
    let seen = Policy::visible(conn, &tenant.path).await?;
    Ok(overruled(tenant, &seen))
}

/// For each kind, the policy that applies to the tenant and why
/// (`authz::effective_policies` over the one query of what it sees).
pub async fn effective(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<Vec<Effective>, AppError> {
    let seen = Policy::visible(conn, &tenant.path).await?;
    Ok(effective_of(tenant, &seen))
}

/// [`effective`] over the policies the tenant sees, as loaded.
pub fn effective_of(tenant: &Tenant, seen: &[SeenPolicy]) -> Vec<Effective> {
    let facts = facts_of(seen);
    let decided = authz::effective_policies(&tenant.path, &facts);
    let by_id = |id: i64| seen.iter().find(|s| s.policy.id == id).cloned();
    PolicyKind::ALL
        .iter()
        .map(|&kind| {
            let e = decided.iter().find(|e| e.kind == kind);
            let applied = e.map(|e| e.policy.id);
            // `seen` is nearest owner first (its own first): so are these.
            let shadowed = seen
                .iter()
                .filter(|s| s.policy.kind == kind && Some(s.policy.id) != applied)
                .map(|s| {
                    let lock =
                        authz::overruled_at(&tenant.path, &facts, &PolicyFacts::of(&s.policy))
                            .and_then(|l| by_id(l.id));
                    (s.clone(), lock)
                })
                .collect();
            Effective {
                kind,
                policy: e.and_then(|e| by_id(e.policy.id)),
                reason: e.map(|e| e.reason),
                overrides: match e.map(|e| e.reason) {
                    Some(authz::PolicyReason::Override { of }) => by_id(of),
                    _ => None,
                },
                shadowed,
            }
        })
        .collect()
}

/// A row of the overrides report: an override below the tenant, the tenant's
/// policy it overrides (in the end: an override of an override is compared with
/// the original), and only what differs.
#[derive(Clone, Debug)]
pub struct OverrideReport {
    pub over: Policy,
    pub tenant: Tenant,
    /// The report's tenant's policy it overrides, directly or through `via`: what
    /// the differences are against.
    pub of: Policy,
    /// The override it overrides directly, when it is an override of an override
    /// (with that override's tenant's name).
    pub via: Option<SeenPolicy>,
    pub differences: Vec<crate::domain::policy::SettingDiff>,
    /// May the reader reset it (Policies full where the override lives)?
    pub can_reset: bool,
}

/// The overrides report of a tenant: the drift (overrides that change something
/// and apply), and apart from it the overrides without effect, each with the lock
/// above its tenant that shuts it out.
#[derive(Clone, Debug, Default)]
pub struct OverridesReport {
    pub rows: Vec<OverrideReport>,
    pub shut_out: Vec<(OverrideReport, SeenPolicy)>,
}

/// What an override is compared on (`domain::policy::Compared`).
fn compared<'a>(p: &Policy, entries: &'a [String]) -> crate::domain::policy::Compared<'a> {
    crate::domain::policy::Compared {
        threshold: p.threshold,
        entries,
        inheritable: p.inheritable,
        enforcement: p.enforcement,
    }
}

/// An override beside the policy it overrides, field by field (its page).
pub fn comparison(of: &Policy, over: &Policy) -> Vec<crate::domain::policy::SettingDiff> {
    let (a, b) = (of.entries(), over.entries());
    crate::domain::policy::comparison(of.kind, compared(of, &a), compared(over, &b))
}

/// The differences of an override to the policy it overrides: its setting,
/// whether it reaches below, its enforcement.
pub fn differences(of: &Policy, over: &Policy) -> Vec<crate::domain::policy::SettingDiff> {
    let (a, b) = (of.entries(), over.entries());
    crate::domain::policy::differences(of.kind, compared(of, &a), compared(over, &b))
}

/// Every override of the tenant's policies anywhere below it — overrides of those
/// overrides too, compared with the tenant's policy they override in the end —
/// whose tenant the reader may read Policies in, with its differences (those
/// without any are left out: they change nothing). An override that a lock of its
/// kind above its tenant shuts out (`authz::locked_against`: it has no effect
/// there) is not drift: it is listed apart, with that lock.
pub async fn overrides_report(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<OverridesReport, AppError> {
    let own = Policy::visible(conn, &tenant.path).await?;
    let all = Policy::overrides_below(conn, tenant.id).await?;
    let readable: Vec<_> = all
        .iter()
        .filter(|r| {
            authz::can_see(p, &r.tenant)
                && authz::effective_level(p, &r.tenant, Feature::Policies) >= Level::Read
        })
        .collect();
    let mut owners: Vec<i64> = readable
        .iter()
        .flat_map(|r| r.tenant.path.iter().copied())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let locks = if readable.is_empty() {
        Vec::new()
    } else {
        Policy::locks_of(conn, &owners).await?
    };
    let lock_facts = facts_of(&locks);
    let mut report = OverridesReport::default();
    for r in readable {
        let Some(of) = own.iter().find(|s| s.policy.id == r.of) else {
            continue;
        };
        let differences = differences(&of.policy, &r.over);
        let via = r
            .over
            .overrides_id
            .filter(|&direct| direct != r.of)
            .and_then(|direct| all.iter().find(|v| v.over.id == direct))
            .map(|v| SeenPolicy {
                policy: v.over.clone(),
                owner_name: v.tenant.name.clone(),
            });
        let row = OverrideReport {
            over: r.over.clone(),
            tenant: r.tenant.clone(),
            of: of.policy.clone(),
            via,
            differences,
            can_reset: authz::effective_level(p, &r.tenant, Feature::Policies) >= Level::Full,
        };
        let lock = authz::locked_against(&r.tenant.path, &lock_facts, r.over.kind)
            .and_then(|l| locks.iter().find(|s| s.policy.id == l.id));
        match lock {
            Some(lock) => report.shut_out.push((row, lock.clone())),
            None if !row.differences.is_empty() => report.rows.push(row),
            None => {}
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_override_names_keep_the_tenant_and_the_number_whole() {
        assert_eq!(override_name("Ads", "Subc", 1), "Ads (Subc)");
        assert_eq!(override_name("Ads", "Subc", 2), "Ads (Subc) 2");
        let long = "x".repeat(100);
        let name = override_name(&long, "Tenant a2", 12);
        assert!(name.ends_with("x… (Tenant a2) 12"), "{name}");
        assert_eq!(name.chars().count(), 100);
        let tenant = "T".repeat(100);
        let name = override_name("Ads", &tenant, 3);
        assert!(
            name.starts_with("Ads (TT") && name.ends_with("T… 3"),
            "{name}"
        );
        assert_eq!(name.chars().count(), 100);
        assert!(TenantName::parse(&name).is_ok());
    }

    #[test]
    fn inputs_report_every_field_error_at_once() {
        let e = PolicyInput::parse(&RawPolicy {
            name: "",
            kind: "blocking_threshold",
            threshold: Some(300),
            enforcement: "sometimes",
            ..RawPolicy::default()
        })
        .unwrap_err();
        assert!(
            e.contains_key("name") && e.contains_key("threshold") && e.contains_key("enforcement")
        );
        let e = PolicyInput::parse(&RawPolicy {
            name: "x",
            kind: "nope",
            ..RawPolicy::default()
        })
        .unwrap_err();
        assert!(e.contains_key("kind"));
        let ok = PolicyInput::parse(&RawPolicy {
            name: "Ads",
            kind: "deny_list",
            entries: vec!["ads.example.com".into()],
            enforcement: "locked",
            inheritable: true,
            ..RawPolicy::default()
        })
        .unwrap();
        assert_eq!(ok.enforcement, Enforcement::Locked);
    }
}
