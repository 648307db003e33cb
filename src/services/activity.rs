//! The activity of a tenant: its audit events as the page, the CSV export and the API
//! read them (the read side of the audit trail; `services::actor` writes it).

use crate::auth::{authz, Principal};
use crate::db::models::audit_log::{AuditPageRow, AuditRow};
use crate::db::models::{Tenant, Visibility};
use crate::domain::activity::{ActivityFilter, ActivityScope, EventCursor, PageStart};
use crate::domain::{Feature, HIDDEN_TENANT};
use crate::error::AppError;
use diesel_async::AsyncPgConnection;

/// How an event names its actor to a reader who cannot see the tenant they acted in.
pub const HIDDEN_ACTOR: &str = "a user of a tenant you cannot see";

/// Events per page of the activity page.
pub const PAGE_SIZE: i64 = 50;

/// Events read per statement by the CSV export.
pub const EXPORT_CHUNK: i64 = 500;

/// One event as its reader may see it: every tenant it names that the reader cannot
/// see now (the acting tenant, the event's tenant, ids in before/after) is
/// [`HIDDEN_TENANT`], without its id; the actor of a hidden acting tenant is
/// [`HIDDEN_ACTOR`], without their id (except to themself).
#[derive(Clone, Debug)]
pub struct Event {
    pub row: AuditRow,
    /// The actor acted in another tenant than their home (decided before hiding).
    pub acted_elsewhere: bool,
    /// Before and after as people read them (the page, the CSV, the API's `changes`):
    /// a tenant or tenant role named by id reads [`named`] where the reader may see it.
    pub readable: (Option<serde_json::Value>, Option<serde_json::Value>),
}

/// How an id in before/after reads once named: `Acme (id 42)`.
pub fn named(name: &str, id: i64) -> String {
    format!("{name} (id {id})")
}

/// One page of events, newest first.
#[derive(Debug)]
pub struct ActivityPage {
    pub events: Vec<Event>,
    /// Where the older events start (`PageStart::Before`), when older ones match too.
    pub next: Option<EventCursor>,
    /// Where the newer events start (`PageStart::After`), when newer ones match too:
    /// never on the newest page.
    pub prev: Option<EventCursor>,
}

/// The right to read the events `filter` selects about one tenant, decided once:
/// a reader exists only when `authz` allowed it, so the export's later chunks need no
/// second decision.
#[derive(Clone, Debug)]
pub struct Reader {
    tenant_id: i64,
    filter: ActivityFilter,
    /// Of a subtree the reader does not see whole, the tenants they see (and may
    /// read the activity of): events about the others are left out.
    seen: Option<Visibility>,
    /// Of a subtree, the tenant roles whose cap takes Audit away: events about
    /// tenants with one of them are left out, as their own activity is refused.
    capped_roles: Vec<i64>,
    /// Who reads: which tenants the events may name.
    reader: Principal,
}

impl Reader {
    /// 403 unless the principal may read the tenant's activity.
    pub fn new(p: &Principal, tenant: &Tenant, filter: ActivityFilter) -> Result<Self, AppError> {
        authz::require_activity(p, tenant)?;
        let subtree = filter.scope == ActivityScope::Subtree;
        let partial = subtree && !authz::can_read_subtree_activity(p, tenant);
        let reading = authz::subtree_reading(p, tenant, Feature::Audit);
        Ok(Reader {
            tenant_id: tenant.id,
            seen: partial
                .then_some(reading.visibility)
                .filter(|v| *v != Visibility::All),
            capped_roles: if subtree {
                reading.capped_roles
            } else {
                Vec::new()
            },
            filter,
            reader: p.clone(),
        })
    }

    /// Up to `limit` events from `start` (the newest without it), newest first.
    ///
    /// Whether more match beyond the page is known on the side read towards (one row
    /// more is read); on the other side of a cursor there is at least the event it
    /// came from, so that way is always offered — if it is empty now, that page is.
    pub async fn read(
        &self,
        conn: &mut AsyncPgConnection,
        start: Option<PageStart>,
        limit: i64,
    ) -> Result<ActivityPage, AppError> {
        let mut rows = AuditRow::page(
            conn,
            self.tenant_id,
            &self.filter,
            self.seen.as_ref(),
            &self.capped_roles,
            start,
            limit + 1,
        )
        .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        if matches!(start, Some(PageStart::After(_))) {
            rows.reverse();
        }
        let cursor = |r: &AuditPageRow| EventCursor {
            at: r.event.occurred_at,
            id: r.event.id,
        };
        let (newest, oldest) = (rows.first().map(cursor), rows.last().map(cursor));
        let (next, prev) = match start {
            None => (oldest.filter(|_| more), None),
            Some(PageStart::Before(c)) => (
                oldest.filter(|_| more),
                Some(newest.unwrap_or_else(|| c.including_newer())),
            ),
            Some(PageStart::After(c)) => (
                Some(oldest.unwrap_or_else(|| c.including_older())),
                newest.filter(|_| more),
            ),
        };
        let events = rows.into_iter().map(|r| redact(&self.reader, r)).collect();
        Ok(ActivityPage { events, next, prev })
    }
}

/// One page of the tenant's activity for the principal: 403 without Audit read there.
pub async fn page(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    filter: &ActivityFilter,
    start: Option<PageStart>,
    limit: i64,
) -> Result<ActivityPage, AppError> {
    Reader::new(p, tenant, filter.clone())?
        .read(conn, start, limit)
        .await
}

/// The event as `p` may read it: a tenant named by it that `p` cannot see now is
/// [`HIDDEN_TENANT`] (id dropped), in the columns and in before/after.
fn redact(p: &Principal, r: AuditPageRow) -> Event {
    let AuditPageRow {
        mut event,
        tenant_path_then,
        tenant_path_now,
        acting_path_now,
        names,
    } = r;
    let acted_elsewhere = event.acted_elsewhere();
    let own = event.actor_user_id.is_some() && event.actor_user_id == Some(p.user.id);
    // A deleted acting tenant has no path left to decide by: hidden.
    if event.acting_tenant_id.is_some()
        && !acting_path_now.is_some_and(|path| authz::can_see_path(p, &path))
    {
        event.acting_tenant_id = None;
        event.acting_tenant_name = Some(HIDDEN_TENANT.into());
        // Who acted there is as hidden as where (one's own events excepted), their
        // API token with them: a token acts in its user's home, so the token shows
        // only to readers who see that home.
        if !own {
            event.actor_user_id = None;
            event.actor_username = HIDDEN_ACTOR.into();
        }
    }
    // The event's tenant by its place now, or, once deleted, by its place then.
    let tenant_path = tenant_path_now.or(tenant_path_then.clone());
    if event.tenant_id.is_some() && !tenant_path.is_some_and(|path| authz::can_see_path(p, &path)) {
        event.tenant_id = None;
        event.tenant_name = Some(HIDDEN_TENANT.into());
    }
    let then = tenant_path_then.unwrap_or_default();
    for v in [&mut event.before, &mut event.after].into_iter().flatten() {
        redact_json(p, event.tenant_id, &then, v);
    }
    // What is left of the tenants is visible; a tenant role (the cap of the event's
    // tenant) is as visible as that tenant.
    let names = names.unwrap_or_default();
    let roles = event.tenant_id.is_some();
    let readable = |v: &Option<serde_json::Value>| {
        v.clone().map(|mut v| {
            name_ids(p, &mut v, &names, roles);
            v
        })
    };
    Event {
        readable: (readable(&event.before), readable(&event.after)),
        row: event,
        acted_elsewhere,
    }
}

/// Keys of before/after that hold a tenant's id.
const TENANT_KEYS: [&str; 3] = ["parent_id", "tenant_id", "acting_tenant_id"];

/// Replaces the ids under [`TENANT_KEYS`] (and, with `roles`, `tenant_role_id`), and
/// `plan_id`, that `names` has a name for with [`named`] text, and so `user_id` and
/// `role_id` where `p` sees the tenant the user is at home in or the role lives in (a
/// name would tell about a tenant `p` cannot see); any other value stays as it is.
fn name_ids(p: &Principal, v: &mut serde_json::Value, names: &serde_json::Value, roles: bool) {
    use serde_json::Value;
    let Value::Object(map) = v else { return };
    for (key, value) in map.iter_mut() {
        let kind = match key.as_str() {
            k if TENANT_KEYS.contains(&k) => Some("tenants"),
            "tenant_role_id" if roles => Some("tenant_roles"),
            // Plans are the installation's, named to whoever reads an event about
            // a tenant on one (its editors see its plan's name on its page).
            "plan_id" => Some("plans"),
            "user_id" => Some("users"),
            "role_id" => Some("roles"),
            _ => None,
        };
        match (kind, value.as_i64()) {
            (Some(kind), Some(id)) => {
                let entry = &names[kind][id.to_string()];
                let name = match entry {
                    Value::Object(o) => {
                        let path: Option<Vec<i64>> = o
                            .get("path")
                            .and_then(Value::as_array)
                            .and_then(|ids| ids.iter().map(Value::as_i64).collect());
                        o.get("name")
                            .and_then(Value::as_str)
                            .filter(|_| path.is_some_and(|path| authz::can_see_path(p, &path)))
                    }
                    other => other.as_str(),
                };
                if let Some(name) = name {
                    *value = Value::String(named(name, id));
                }
            }
            _ => name_ids(p, value, names, roles),
        }
    }
}

/// Tenant ids in a before/after object: a `path` (ids from the root) keeps the part
/// `p` may see; a tenant id ([`TENANT_KEYS`]) stays when it is the event's (visible)
/// tenant or a visible ancestor on the path at hand, else it is [`HIDDEN_TENANT`].
fn redact_json(p: &Principal, event_tenant: Option<i64>, then: &[i64], v: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = v else { return };
    // Snapshots nest (`{"user": {…}}`).
    for nested in map.values_mut() {
        redact_json(p, event_tenant, then, nested);
    }
    // The object's own path (a move's old or new place) or else the event's then.
    let path: Option<Vec<i64>> = match map.get("path") {
        Some(Value::Array(ids)) => ids.iter().map(Value::as_i64).collect(),
        _ => None,
    };
    let path = path.unwrap_or_else(|| then.to_vec());
    let visible = |id: i64| {
        Some(id) == event_tenant
            || path
                .iter()
                .position(|x| *x == id)
                .is_some_and(|at| authz::can_see_path(p, &path[..=at]))
    };
    for key in TENANT_KEYS {
        if let Some(id) = map.get(key).and_then(Value::as_i64) {
            if !visible(id) {
                map.insert(key.into(), Value::String(HIDDEN_TENANT.into()));
            }
        }
    }
    if let Some(Value::Array(_)) = map.get("path") {
        let shown: Vec<Value> = path
            .iter()
            .enumerate()
            .filter(|(at, _)| authz::can_see_path(p, &path[..=*at]))
            .map(|(_, id)| Value::from(*id))
            .collect();
        map.insert("path".into(), Value::Array(shown));
    }
}
