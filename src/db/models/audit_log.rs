//! Reading the audit trail: a tenant's (or a subtree's) events, newest first, by
//! keyset on the event id.

use super::Visibility;
use crate::db::schema::{audit_events, tenant_paths};
use crate::domain::activity::{ActivityFilter, ActivityScope, PageStart};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// One recorded event, as the activity page and its exports show it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    pub actor_home_id: Option<i64>,
    pub acting_tenant_id: Option<i64>,
    pub acting_tenant_name: Option<String>,
    pub tenant_id: Option<i64>,
    pub tenant_name: Option<String>,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub client_addr: Option<String>,
}

impl AuditRow {
    /// Did the actor act in another tenant than their home (a switch-in)?
    pub fn acted_elsewhere(&self) -> bool {
        match (self.acting_tenant_id, self.actor_home_id) {
            (Some(acting), Some(home)) => acting != home,
            _ => false,
        }
    }
}

/// An event read for a page, with what deciding the reader's view of the tenants it
/// names takes: their paths now (`None` once deleted) and the event tenant's path then.
#[derive(Clone, Debug)]
pub struct AuditPageRow {
    pub event: AuditRow,
    pub tenant_path_then: Option<Vec<i64>>,
    pub tenant_path_now: Option<Vec<i64>>,
    pub acting_path_now: Option<Vec<i64>>,
    /// The names now of what before/after name by id: `{"tenants": {"42": "Acme"},
    /// "tenant_roles": {"3": "Standard"}, "plans": {"5": "Basic"}}` (a deleted one is
    /// left out).
    pub names: Option<serde_json::Value>,
}

/// A row as `page` selects it: the event, its tenant's path then, the paths now, the
/// names.
type PageTuple = (
    AuditRow,
    Option<Vec<Option<i64>>>,
    Option<Vec<i64>>,
    Option<Vec<i64>>,
    Option<serde_json::Value>,
);

/// The ids under `key` anywhere in an event's before/after (whole numbers only).
macro_rules! ids_under {
    ($key:literal) => {
        concat!(
            "SELECT (v #>> '{}')::bigint FROM jsonb_path_query(",
            "jsonb_build_array(audit_events.before, audit_events.after), ",
            "'lax $.**.",
            $key,
            " ? (@.type() == \"number\")') AS v WHERE (v #>> '{}') ~ '^[0-9]{1,18}$'"
        )
    };
}

/// The names of the tenants, tenant roles, plans, users (`subdomain\username`, with their home
/// tenant's path) and user roles (with their tenant's path) an event's before/after
/// name by id, in the page's statement (a lookup by primary key per id, for the page's rows only).
/// `= ANY(ARRAY(…))` rather than `IN (…)`: the same lookups, but priced at about ten
/// ids rather than a join of 300 function rows, 2,500 per event; at that price a page
/// of 51 events put the statement over PostgreSQL's JIT threshold, and compiling it
/// took 130–190 ms of every activity page at 1,000,000 events (docs/PERFORMANCE.md).
const NAMES: &str = concat!(
    "jsonb_build_object('tenants', (SELECT jsonb_object_agg(t.id::text, t.name) FROM tenants t WHERE t.id = ANY(ARRAY(",
    ids_under!("parent_id"),
    " UNION ",
    ids_under!("tenant_id"),
    " UNION ",
    ids_under!("acting_tenant_id"),
    "))), 'tenant_roles', (SELECT jsonb_object_agg(r.id::text, r.name) FROM tenant_roles r WHERE r.id = ANY(ARRAY(",
    ids_under!("tenant_role_id"),
    "))), 'plans', (SELECT jsonb_object_agg(pl.id::text, pl.name) FROM plans pl WHERE pl.id = ANY(ARRAY(",
    ids_under!("plan_id"),
    "))), 'users', (SELECT jsonb_object_agg(u.id::text, jsonb_build_object('name', t.subdomain || '\\' || u.username, 'path', p.path)) \
     FROM users u JOIN tenants t ON t.id = u.tenant_id JOIN tenant_paths p ON p.tenant_id = u.tenant_id WHERE u.id = ANY(ARRAY(",
    ids_under!("user_id"),
    "))), 'roles', (SELECT jsonb_object_agg(r.id::text, jsonb_build_object('name', r.name, 'path', p.path)) \
     FROM user_roles r JOIN tenant_paths p ON p.tenant_id = r.tenant_id WHERE r.id = ANY(ARRAY(",
    ids_under!("role_id"),
    "))))"
);

diesel::alias!(tenant_paths as acting_paths: ActingPaths, tenant_paths as event_paths: EventPaths);

/// How a subtree's page is planned.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// As PostgreSQL picks: for a big subtree, the walk of the (occurred_at, id) index
    /// newest first, stopping at the page's last row.
    Planner,
    /// The subtree's events from its GIN index, then sorted. The planner picked the
    /// time index's walk for a 1,000-tenant subtree of the 1,000,000 too (its events
    /// are a thousandth of the trail, spread over all of it: 305 ms where the GIN
    /// index and a sort of its 1,015 events took 29 ms; docs/PERFORMANCE.md), so this
    /// plan's order is on an expression no index has.
    SmallSubtree,
}

/// The event's time as an expression no index is on (same order, same values).
const UNINDEXED_TIME: &str = "(audit_events.occurred_at + interval '0 seconds')";

/// "The subtree holds at most 1 % of all tenants" from the totals (two rows by key),
/// whose events are then about as rare in the trail; false for a tenant without totals.
const SMALL_SUBTREE_HEAD: &str =
    "(SELECT coalesce((SELECT s.tenant_count FROM tenant_subtree_totals s WHERE s.tenant_id = ";
const SMALL_SUBTREE_TAIL: &str = ") * 100 <= (SELECT s.tenant_count FROM tenant_subtree_totals s \
     JOIN tenants r ON r.id = s.tenant_id WHERE r.parent_id IS NULL), false))";

impl AuditRow {
    /// Up to `limit` events about `tenant_id` (or, with the subtree scope, about every
    /// tenant that was below it when the event was written) that match `filter`, in
    /// the order (time, then id) read from `start` outwards: newest first, from the
    /// newest or from older than `Before`; oldest first from newer than `After`.
    /// With `seen`, only events about the tenants it sees (by their place now; a
    /// deleted one by its place then); none about a tenant now capped by one of
    /// `capped_roles` (the root is never capped; a deleted tenant has no cap left).
    pub async fn page(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        filter: &ActivityFilter,
        seen: Option<&Visibility>,
        capped_roles: &[i64],
        start: Option<PageStart>,
        limit: i64,
    ) -> QueryResult<Vec<AuditPageRow>> {
        use diesel::sql_types::{BigInt, Bool, Timestamptz};
        let newest_first = !matches!(start, Some(PageStart::After(_)));
        let query = |plan: Plan| {
            // The named tenants' paths now, joined in (no statement per row).
            let mut q = audit_events::table
                .left_join(
                    acting_paths.on(acting_paths
                        .field(tenant_paths::tenant_id)
                        .nullable()
                        .eq(audit_events::acting_tenant_id)),
                )
                .left_join(
                    event_paths.on(event_paths
                        .field(tenant_paths::tenant_id)
                        .nullable()
                        .eq(audit_events::tenant_id)),
                )
                .select((
                    AuditRow::as_select(),
                    audit_events::tenant_path,
                    event_paths.field(tenant_paths::path).nullable(),
                    acting_paths.field(tenant_paths::path).nullable(),
                    diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Jsonb>>(
                        NAMES,
                    ),
                ))
                .limit(limit)
                .into_boxed()
                // Planned for each call, never from diesel's statement cache: whether a
                // subtree, an actor or a date range is selective decides between the
                // (occurred_at, id) index and the GIN/trigram ones, and a cached generic
                // plan cannot know it (a rare actor took 250 ms on a generic plan, 1 ms
                // on its own). A SQL literal makes the statement uncacheable.
                .filter(diesel::dsl::sql::<Bool>("TRUE"));
            q = match (plan, newest_first) {
                (Plan::Planner, true) => {
                    q.order((audit_events::occurred_at.desc(), audit_events::id.desc()))
                }
                (Plan::Planner, false) => {
                    q.order((audit_events::occurred_at.asc(), audit_events::id.asc()))
                }
                (Plan::SmallSubtree, true) => q.order((
                    diesel::dsl::sql::<Timestamptz>(UNINDEXED_TIME).desc(),
                    audit_events::id.desc(),
                )),
                (Plan::SmallSubtree, false) => q.order((
                    diesel::dsl::sql::<Timestamptz>(UNINDEXED_TIME).asc(),
                    audit_events::id.asc(),
                )),
            };
            q = match (filter.scope, plan) {
                (ActivityScope::Tenant, _) => q.filter(audit_events::tenant_id.eq(tenant_id)),
                (ActivityScope::Subtree, Plan::Planner) => {
                    q.filter(audit_events::tenant_path.contains(vec![Some(tenant_id)]))
                }
                // The tenant hidden from the planner (a sub-select): priced at the
                // default 0.5 % of the events whatever the subtree, so that this
                // branch, planned for the root too, does not price the statement
                // over the JIT threshold (the root's page took 114 ms, 10 without).
                (ActivityScope::Subtree, Plan::SmallSubtree) => q.filter(
                    diesel::dsl::sql::<Bool>("audit_events.tenant_path @> ARRAY[(SELECT ")
                        .bind::<BigInt, _>(tenant_id)
                        .sql("::int8)]"),
                ),
            };
            // Which of the two runs is decided by the subtree totals, once per
            // statement (an InitPlan: PostgreSQL skips the branch it rules out).
            let small = || {
                diesel::dsl::sql::<Bool>(SMALL_SUBTREE_HEAD)
                    .bind::<BigInt, _>(tenant_id)
                    .sql(SMALL_SUBTREE_TAIL)
            };
            q = match (plan, filter.scope) {
                (_, ActivityScope::Tenant) => q,
                (Plan::SmallSubtree, ActivityScope::Subtree) => q.filter(small()),
                (Plan::Planner, ActivityScope::Subtree) => q.filter(diesel::dsl::not(small())),
            };
            if let Some(Visibility::Within {
                subtree_roots,
                tenants,
            }) = seen
            {
                use diesel::sql_types::Array;
                q = q.filter(
                    diesel::dsl::sql::<Bool>("(event_paths.path && ")
                        .bind::<Array<BigInt>, _>(subtree_roots.clone())
                        .sql(" OR audit_events.tenant_id = ANY(")
                        .bind::<Array<BigInt>, _>(tenants.clone())
                        .sql(") OR (event_paths.path IS NULL AND audit_events.tenant_path && ")
                        .bind::<Array<BigInt>, _>(subtree_roots.clone())
                        .sql("))"),
                );
            }
            // An anti-join, planned as a lookup by key per event read (the walk of
            // the time index, or the small subtree's events): the costs and plans
            // stay the others'. (A scalar sub-select per event is not parallel safe:
            // it priced the statement over the JIT threshold, 2 ms → 150 ms.) Left
            // out when no cap takes the feature away, so the plans stay as they are.
            if !capped_roles.is_empty() {
                use diesel::sql_types::Array;
                q = q.filter(
                    diesel::dsl::sql::<Bool>(
                        "NOT EXISTS (SELECT FROM tenants ct WHERE ct.id = audit_events.tenant_id \
                         AND ct.parent_id IS NOT NULL AND ct.tenant_role_id = ANY(",
                    )
                    .bind::<Array<BigInt>, _>(capped_roles.to_vec())
                    .sql("))"),
                );
            }
            // Each bound on (occurred_at, id) states the bound on the time alone too, so
            // that it starts the index scan.
            match start {
                None => {}
                Some(PageStart::Before(c)) => {
                    q = q.filter(audit_events::occurred_at.le(c.at)).filter(
                        audit_events::occurred_at
                            .lt(c.at)
                            .or(audit_events::id.lt(c.id)),
                    );
                }
                Some(PageStart::After(c)) => {
                    q = q.filter(audit_events::occurred_at.ge(c.at)).filter(
                        audit_events::occurred_at
                            .gt(c.at)
                            .or(audit_events::id.gt(c.id)),
                    );
                }
            }
            if let Some(actor) = &filter.actor {
                q = q.filter(audit_events::actor_username.ilike(super::like_pattern(actor)));
            }
            if let Some(action) = filter.action {
                q = q.filter(audit_events::action.eq(action.as_str()));
            }
            if let Some(since) = filter.since() {
                q = q.filter(audit_events::occurred_at.ge(since));
            }
            if let Some(until) = filter.until() {
                q = q.filter(audit_events::occurred_at.lt(until));
            }
            q
        };
        let rows: Vec<PageTuple> = match filter.scope {
            ActivityScope::Tenant => query(Plan::Planner).load(conn).await?,
            // Both plans in one statement; only the branch the totals pick runs.
            ActivityScope::Subtree => {
                query(Plan::SmallSubtree)
                    .union_all(query(Plan::Planner))
                    .load(conn)
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(event, then, now, acting, names)| AuditPageRow {
                event,
                tenant_path_then: then.map(|p| p.into_iter().flatten().collect()),
                tenant_path_now: now,
                acting_path_now: acting,
                names,
            })
            .collect())
    }
}
