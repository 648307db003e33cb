//! Policies (migration `policies`): a tenant's own, and the inheritable ones of its
//! ancestors, which it sees read-only. [`Policy::visible`] is the one query of the
//! inheritance rule (`authz::policy_access` is the same rule over loaded rows): by
//! key over the viewer's path, one index probe per tenant on it, never a walk.

use super::tenant::with_path;
use super::{array_length, lower, tenant_owned, Tenant};
use crate::db::schema::{policies, resolvers, subnets, tenant_paths, tenants};
use crate::domain::policy::{Cleared, ClearedCounts, Enforcement, PolicyKind};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = policies, check_for_backend(Pg))]
pub struct Policy {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub kind: PolicyKind,
    /// Set for a blocking threshold only (0–100).
    pub threshold: Option<i32>,
    /// Categories, regulatory list names or host names (never NULL elements: the
    /// column's CHECK), sorted.
    pub entries: Vec<Option<String>>,
    pub inheritable: bool,
    pub enforcement: Enforcement,
    /// The inherited policy this one overrides.
    pub overrides_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Policy {
    /// Its entries.
    pub fn entries(&self) -> Vec<String> {
        self.entries.iter().flatten().cloned().collect()
    }
}

/// A policy as a tenant sees it: with its owner's name ("inherited from …").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenPolicy {
    pub policy: Policy,
    pub owner_name: String,
}

/// A policy's stored fields.
#[derive(Clone, Debug)]
pub struct PolicyFields {
    pub name: String,
    pub kind: PolicyKind,
    pub threshold: Option<i32>,
    pub entries: Vec<String>,
    pub inheritable: bool,
    pub enforcement: Enforcement,
}

impl PolicyFields {
    /// Would storing these fields leave `p` as it is (a change that changes nothing
    /// keeps its `updated_at`)?
    pub fn same_as(&self, p: &Policy) -> bool {
        self.name == p.name
            && self.kind == p.kind
            && self.threshold == p.threshold
            && self.entries == p.entries()
            && self.inheritable == p.inheritable
            && self.enforcement == p.enforcement
    }
}

tenant_owned!(Policy, policies, name = name);

/// A choice a change of policies cleared, in its tenant: a resolver's or a
/// subnet's policy (`item` `resolver`, `subnet`: it follows its tenant's effective
/// policy now), or an override's inherited policy (`policy`: a plain one now).
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct ClearedChoice {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub tenant_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub item: String,
    /// The resolver's or the override's name, the subnet's CIDR.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// The policy it chose, or overrode.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub policy_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub policy_name: String,
}

impl ClearedChoice {
    /// How many resolvers, subnets and overrides `all` lists, per tenant.
    pub fn counted(all: &[ClearedChoice]) -> Cleared {
        let mut cleared = Cleared::default();
        for c in all {
            let what = match c.item.as_str() {
                "resolver" => Cleared::RESOLVERS,
                "subnet" => Cleared::SUBNETS,
                _ => Cleared::OVERRIDES,
            };
            cleared.add(c.tenant_id, what, 1);
        }
        cleared
    }

    /// What a delete of policy `id` (named `policy_name`) clears, from the
    /// `(tenant_id, name)` of the resolvers, subnets and overrides that named it,
    /// sorted by tenant, item and name.
    fn of_delete(
        id: i64,
        policy_name: &str,
        resolvers: Vec<(i64, String)>,
        subnets: Vec<(i64, ipnet::IpNet)>,
        overrides: Vec<(i64, String)>,
    ) -> Vec<ClearedChoice> {
        let subnets = subnets.into_iter().map(|(t, cidr)| (t, cidr.to_string()));
        let mut cleared: Vec<ClearedChoice> = resolvers
            .into_iter()
            .map(|row| ("resolver", row))
            .chain(subnets.map(|row| ("subnet", row)))
            .chain(overrides.into_iter().map(|row| ("policy", row)))
            .map(|(item, (tenant_id, name))| ClearedChoice {
                tenant_id,
                item: item.to_string(),
                name,
                policy_id: id,
                policy_name: policy_name.to_string(),
            })
            .collect();
        cleared
            .sort_by(|a, b| (a.tenant_id, &a.item, &a.name).cmp(&(b.tenant_id, &b.item, &b.name)));
        cleared
    }
}

/// An override below a tenant, with the tenant it lives in (for the reader's rights),
/// and the tenant's own policy it overrides in the end (`of`: itself, or through
/// overrides of overrides).
#[derive(Clone, Debug)]
pub struct OverrideRow {
    pub over: Policy,
    pub tenant: Tenant,
    pub of: i64,
}

type VisibleFilter = diesel::dsl::Or<
    diesel::dsl::Eq<policies::tenant_id, i64>,
    diesel::dsl::And<diesel::dsl::EqAny<policies::tenant_id, Vec<i64>>, policies::inheritable>,
>;

/// "Visible from the tenant at the end of `path`": its own, and the inheritable
/// ones of the tenants above it.
fn visible_from(path: &[i64]) -> VisibleFilter {
    let (me, above) = match path.split_last() {
        Some((me, above)) => (*me, above.to_vec()),
        None => (0, Vec::new()),
    };
    policies::tenant_id
        .eq(me)
        .or(policies::tenant_id.eq_any(above).and(policies::inheritable))
}

impl Policy {
    /// Every policy the tenant with `path` sees, with its owner's name, nearest
    /// owner first (its own first), then by name: one statement, an index probe per
    /// tenant on the path.
    pub async fn visible(
        conn: &mut AsyncPgConnection,
        path: &[i64],
    ) -> QueryResult<Vec<SeenPolicy>> {
        let rows: Vec<(Policy, String, Vec<i64>)> = policies::table
            .inner_join(tenants::table.inner_join(tenant_paths::table))
            .filter(visible_from(path))
            .select((Policy::as_select(), tenants::name, tenant_paths::path))
            .load(conn)
            .await?;
        let mut rows: Vec<(usize, SeenPolicy)> = rows
            .into_iter()
            .map(|(policy, owner_name, owner_path)| {
                (owner_path.len(), SeenPolicy { policy, owner_name })
            })
            .collect();
        rows.sort_by(|(a, x), (b, y)| {
            b.cmp(a)
                .then_with(|| {
                    x.policy
                        .name
                        .to_lowercase()
                        .cmp(&y.policy.name.to_lowercase())
                })
                .then(x.policy.id.cmp(&y.policy.id))
        });
        Ok(rows.into_iter().map(|(_, s)| s).collect())
    }

    /// A page of the policies the tenant with `path` sees (the list page): how many,
    /// and page `page_no` (from 1) of `per_page`, nearest owner first, then by name.
    pub async fn visible_page(
        conn: &mut AsyncPgConnection,
        path: &[i64],
        page_no: i64,
        per_page: i64,
    ) -> QueryResult<(i64, Vec<SeenPolicy>)> {
        let total = policies::table
            .filter(visible_from(path))
            .count()
            .get_result(conn)
            .await?;
        let rows: Vec<(Policy, String)> = policies::table
            .inner_join(tenants::table.inner_join(tenant_paths::table))
            .filter(visible_from(path))
            .order((
                array_length(tenant_paths::path, 1).desc(),
                lower(policies::name),
                policies::id,
            ))
            .offset((page_no - 1) * per_page)
            .limit(per_page)
            .select((Policy::as_select(), tenants::name))
            .load(conn)
            .await?;
        Ok((total, seen(rows)))
    }

    /// The API's page: the policies the tenant with `path` sees, by id after `after`.
    pub async fn visible_by_id(
        conn: &mut AsyncPgConnection,
        path: &[i64],
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<SeenPolicy>> {
        let rows: Vec<(Policy, String)> = policies::table
            .inner_join(tenants::table)
            .filter(visible_from(path))
            .filter(policies::id.gt(after.unwrap_or(0)))
            .order(policies::id)
            .limit(limit)
            .select((Policy::as_select(), tenants::name))
            .load(conn)
            .await?;
        Ok(seen(rows))
    }

    /// Policy `id` if the tenant with `path` sees it, with its owner's name.
    pub async fn find_visible(
        conn: &mut AsyncPgConnection,
        path: &[i64],
        id: i64,
    ) -> QueryResult<SeenPolicy> {
        let (policy, owner_name) = policies::table
            .inner_join(tenants::table)
            .filter(visible_from(path))
            .filter(policies::id.eq(id))
            .select((Policy::as_select(), tenants::name))
            .first(conn)
            .await?;
        Ok(SeenPolicy { policy, owner_name })
    }

    /// Holds policy `id` (if there is one) FOR SHARE until the transaction ends: a
    /// resolver or subnet about to use it, which its change must not pass meanwhile.
    pub async fn share_lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
        policies::table
            .filter(policies::id.eq(id))
            .select(policies::id)
            .for_share()
            .load::<i64>(conn)
            .await?;
        Ok(())
    }

    /// The tenant's override of policy `of`, if it has one.
    pub async fn override_of(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        of: i64,
    ) -> QueryResult<Option<Policy>> {
        policies::table
            .filter(policies::tenant_id.eq(tenant_id))
            .filter(policies::overrides_id.eq(of))
            .select(Policy::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Policy `id` whoever owns it (the policy an override names, once visibility
    /// has been decided), with its owner's name.
    pub async fn with_owner(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<SeenPolicy> {
        let (policy, owner_name) = policies::table
            .inner_join(tenants::table)
            .filter(policies::id.eq(id))
            .select((Policy::as_select(), tenants::name))
            .first(conn)
            .await?;
        Ok(SeenPolicy { policy, owner_name })
    }

    /// Every override of the tenant's policies anywhere below it, overrides of
    /// those overrides included (at any depth), with the tenant each lives in and
    /// the tenant's policy it overrides in the end, by that tenant's name. One
    /// statement per level of overrides (an override's policy is its tenant's
    /// ancestor's, so the levels are at most the tree's depth below the tenant).
    pub async fn overrides_below(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Vec<OverrideRow>> {
        let mut frontier: Vec<i64> = policies::table
            .filter(policies::tenant_id.eq(tenant_id))
            .select(policies::id)
            .load(conn)
            .await?;
        let mut original: std::collections::HashMap<i64, i64> =
            frontier.iter().map(|id| (*id, *id)).collect();
        let mut all = Vec::new();
        while !frontier.is_empty() {
            let level: Vec<(Policy, Tenant)> = policies::table
                .inner_join(with_path())
                .filter(policies::overrides_id.eq_any(&frontier))
                .select((Policy::as_select(), Tenant::as_select()))
                .load(conn)
                .await?;
            frontier = Vec::new();
            for (over, tenant) in level {
                let Some(of) = over.overrides_id.and_then(|o| original.get(&o).copied()) else {
                    continue;
                };
                if original.insert(over.id, of).is_none() {
                    frontier.push(over.id);
                    all.push(OverrideRow { over, tenant, of });
                }
            }
        }
        all.sort_by(|a, b| {
            (a.tenant.name.to_lowercase(), a.over.id)
                .cmp(&(b.tenant.name.to_lowercase(), b.over.id))
        });
        Ok(all)
    }

    /// The locks (inheritable, `locked`) that the tenants `owners` own, with their
    /// owners' names: what binds a kind on the paths of those tenants' subtrees.
    pub async fn locks_of(
        conn: &mut AsyncPgConnection,
        owners: &[i64],
    ) -> QueryResult<Vec<SeenPolicy>> {
        let rows: Vec<(Policy, String)> = policies::table
            .inner_join(tenants::table)
            .filter(policies::tenant_id.eq_any(owners))
            .filter(policies::inheritable)
            .filter(policies::enforcement.eq(Enforcement::Locked))
            .order(policies::id)
            .select((Policy::as_select(), tenants::name))
            .load(conn)
            .await?;
        Ok(seen(rows))
    }

    /// The names of the policies `ids` (a list's Policy column), by id.
    pub async fn names(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let rows: Vec<(i64, String)> = policies::table
            .filter(policies::id.eq_any(ids))
            .select((policies::id, policies::name))
            .load(conn)
            .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        f: &PolicyFields,
        overrides_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> QueryResult<Policy> {
        diesel::insert_into(policies::table)
            .values((
                policies::tenant_id.eq(tenant_id),
                policies::name.eq(&f.name),
                policies::kind.eq(f.kind),
                policies::threshold.eq(f.threshold),
                policies::entries.eq(&f.entries),
                policies::inheritable.eq(f.inheritable),
                policies::enforcement.eq(f.enforcement),
                policies::overrides_id.eq(overrides_id),
                policies::created_at.eq(now),
                policies::updated_at.eq(now),
            ))
            .returning(Policy::as_returning())
            .get_result(conn)
            .await
    }

    /// Changes the fields (the kind stays: the service refuses a change of kind).
    pub async fn update(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
        f: &PolicyFields,
        now: DateTime<Utc>,
    ) -> QueryResult<Policy> {
        diesel::update(
            policies::table
                .filter(policies::tenant_id.eq(tenant_id))
                .filter(policies::id.eq(id)),
        )
        .set((
            policies::name.eq(&f.name),
            policies::threshold.eq(f.threshold),
            policies::entries.eq(&f.entries),
            policies::inheritable.eq(f.inheritable),
            policies::enforcement.eq(f.enforcement),
            policies::updated_at.eq(now),
        ))
        .returning(Policy::as_returning())
        .get_result(conn)
        .await
    }

    /// Points the tenant's resolvers and subnets that use policy `from` at `to`
    /// (a reset to the inherited policy); how many were changed.
    pub async fn repoint(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        from: i64,
        to: Option<i64>,
        now: DateTime<Utc>,
    ) -> QueryResult<usize> {
        let r = diesel::update(
            resolvers::table
                .filter(resolvers::tenant_id.eq(tenant_id))
                .filter(resolvers::policy_id.eq(from)),
        )
        .set((resolvers::policy_id.eq(to), resolvers::updated_at.eq(now)))
        .execute(conn)
        .await?;
        let s = diesel::update(
            subnets::table
                .filter(subnets::tenant_id.eq(tenant_id))
                .filter(subnets::policy_id.eq(from)),
        )
        .set((subnets::policy_id.eq(to), subnets::updated_at.eq(now)))
        .execute(conn)
        .await?;
        Ok(r + s)
    }

    /// After a move, a policy no longer published or a lock that takes effect: in
    /// the tenants `within` (ids), clear every reference to a policy whose owner is
    /// not on the tenant's path any more (or no longer inheritable, unless the
    /// tenant's own), and every resolver's and subnet's choice of a policy of a kind
    /// a tenant above locks to another policy (`authz::locked_against`: the topmost
    /// lock, lowest id); resolvers and subnets then follow their tenant's effective
    /// policy, overrides of an unseen policy, and overrides of a kind a tenant above
    /// locks (of the lock, or of any other policy: `authz::overruled_at`), become
    /// plain policies. What changed, per tenant.
    pub async fn clear_unseen(
        conn: &mut AsyncPgConnection,
        within: &[i64],
        now: DateTime<Utc>,
    ) -> QueryResult<Cleared> {
        let cleared = Policy::clear_unseen_listed(conn, within, now).await?;
        Ok(ClearedChoice::counted(&cleared))
    }

    /// [`Policy::clear_unseen`], with what it cleared (each tenant's audit entry
    /// names them), by tenant, item and name.
    pub async fn clear_unseen_listed(
        conn: &mut AsyncPgConnection,
        within: &[i64],
        now: DateTime<Utc>,
    ) -> QueryResult<Vec<ClearedChoice>> {
        use diesel::sql_types::{Array, BigInt, Timestamptz};
        let mut cleared = Vec::new();
        for (table, col, item, name) in CLEARED {
            // `o` is the row as it was, for the policy it named (RETURNING sees the
            // new).
            let rows: Vec<ClearedChoice> = diesel::sql_query(format!(
                "UPDATE {table} x SET {col} = NULL, updated_at = $2 \
                 FROM {table} o JOIN policies was ON was.id = o.{col} \
                 WHERE o.id = x.id AND x.tenant_id = ANY ($1) AND x.{col} IS NOT NULL AND {} \
                 RETURNING x.tenant_id, '{item}' AS item, {name} AS name, \
                 was.id AS policy_id, was.name AS policy_name",
                gone(table, STORED_PATH)
            ))
            .bind::<Array<BigInt>, _>(within)
            .bind::<Timestamptz, _>(now)
            .load(conn)
            .await?;
            cleared.extend(rows);
        }
        cleared
            .sort_by(|a, b| (a.tenant_id, &a.item, &a.name).cmp(&(b.tenant_id, &b.item, &b.name)));
        Ok(cleared)
    }

    /// What a delete of policy `id` clears (the keys' `ON DELETE SET NULL`): the
    /// resolvers and subnets that use it and the overrides of it, in any tenant.
    pub async fn choices_of(
        conn: &mut AsyncPgConnection,
        id: i64,
        name: &str,
    ) -> QueryResult<Vec<ClearedChoice>> {
        let resolvers = resolvers::table
            .filter(resolvers::policy_id.eq(id))
            .select((resolvers::tenant_id, resolvers::name))
            .load(conn)
            .await?;
        let subnets = subnets::table
            .filter(subnets::policy_id.eq(id))
            .select((subnets::tenant_id, subnets::cidr))
            .load(conn)
            .await?;
        let overrides = policies::table
            .filter(policies::overrides_id.eq(id))
            .select((policies::tenant_id, policies::name))
            .load(conn)
            .await?;
        Ok(ClearedChoice::of_delete(
            id, name, resolvers, subnets, overrides,
        ))
    }

    /// Clears what a delete of policy `id` would ([`Policy::choices_of`]) before it,
    /// as every other clearing does: `updated_at` set to `now` on each resolver,
    /// subnet and override changed (the keys' `ON DELETE SET NULL` would leave it).
    /// What it cleared.
    pub async fn clear_choices_of(
        conn: &mut AsyncPgConnection,
        id: i64,
        name: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Vec<ClearedChoice>> {
        let resolvers = diesel::update(resolvers::table.filter(resolvers::policy_id.eq(id)))
            .set((
                resolvers::policy_id.eq(None::<i64>),
                resolvers::updated_at.eq(now),
            ))
            .returning((resolvers::tenant_id, resolvers::name))
            .get_results(conn)
            .await?;
        let subnets = diesel::update(subnets::table.filter(subnets::policy_id.eq(id)))
            .set((
                subnets::policy_id.eq(None::<i64>),
                subnets::updated_at.eq(now),
            ))
            .returning((subnets::tenant_id, subnets::cidr))
            .get_results(conn)
            .await?;
        let overrides = diesel::update(policies::table.filter(policies::overrides_id.eq(id)))
            .set((
                policies::overrides_id.eq(None::<i64>),
                policies::updated_at.eq(now),
            ))
            .returning((policies::tenant_id, policies::name))
            .get_results(conn)
            .await?;
        Ok(ClearedChoice::of_delete(
            id, name, resolvers, subnets, overrides,
        ))
    }

    /// What [`Policy::clear_unseen`] would clear in the tenants `within` (the
    /// subtree of the tenant at `from` on its path, 1-based) once a move puts that
    /// tenant under `new_above` (the destination's path): the same conditions over
    /// the paths the move would write. With how many of the resolvers and subnets
    /// are cleared only because a lock above binds their kind to another policy.
    pub async fn clearing_after_move(
        conn: &mut AsyncPgConnection,
        within: &[i64],
        new_above: &[i64],
        from: i32,
    ) -> QueryResult<(ClearedCounts, i64)> {
        use diesel::sql_types::{Array, BigInt, Integer};
        #[derive(QueryableByName)]
        struct Counted {
            #[diesel(sql_type = BigInt)]
            n: i64,
            #[diesel(sql_type = BigInt)]
            by_lock: i64,
        }
        let mut cleared = Cleared::default();
        let mut by_lock = 0;
        for (what, (table, col, _, _)) in CLEARED.iter().enumerate() {
            let c: Counted = diesel::sql_query(format!(
                "SELECT count(*) AS n, count(*) FILTER (WHERE NOT {}) AS by_lock FROM {table} x \
                 WHERE x.tenant_id = ANY ($1) AND x.{col} IS NOT NULL AND {}",
                unseen(col, MOVED_PATH),
                gone(table, MOVED_PATH)
            ))
            .bind::<Array<BigInt>, _>(within)
            .bind::<Array<BigInt>, _>(new_above)
            .bind::<Integer, _>(from)
            .get_result(conn)
            .await?;
            cleared.add(0, what, c.n);
            if what != Cleared::OVERRIDES {
                by_lock += c.by_lock;
            }
        }
        Ok((cleared.totals(), by_lock))
    }

    /// Takes FOR UPDATE (by id) every policy of `kind` a tenant of `path` or of its
    /// subtree owns: a lock about to take effect there waits for the resolvers and
    /// subnets choosing one of them (`share_lock`), and they wait for it.
    pub async fn lock_kind_around(
        conn: &mut AsyncPgConnection,
        path: &[i64],
        kind: PolicyKind,
    ) -> QueryResult<()> {
        let Some(&me) = path.last() else {
            return Ok(());
        };
        let below = tenant_paths::table
            .filter(tenant_paths::path.contains(vec![me]))
            .select(tenant_paths::tenant_id);
        policies::table
            .filter(policies::kind.eq(kind))
            .filter(
                policies::tenant_id
                    .eq_any(path.to_vec())
                    .or(policies::tenant_id.eq_any(below)),
            )
            .order(policies::id)
            .select(policies::id)
            .for_update()
            .load::<i64>(conn)
            .await?;
        Ok(())
    }

    /// The tenants (ids) of `tenant_id`'s subtree, itself included.
    pub async fn subtree_of(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<Vec<i64>> {
        tenant_paths::table
            .filter(tenant_paths::path.contains(vec![tenant_id]))
            .select(tenant_paths::tenant_id)
            .load(conn)
            .await
    }

    /// How many resolvers and subnets use policy `id`, in any tenant.
    pub async fn uses(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i64> {
        let r: i64 = resolvers::table
            .filter(resolvers::policy_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        let s: i64 = subnets::table
            .filter(subnets::policy_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        Ok(r + s)
    }

    /// Per tenant, the resolvers and subnets that use policy `p` and the
    /// overrides of it: what its delete clears ([`Policy::choices_of`], counted).
    pub async fn uses_by_tenant(conn: &mut AsyncPgConnection, p: &Policy) -> QueryResult<Cleared> {
        let choices = Policy::choices_of(conn, p.id, &p.name).await?;
        Ok(ClearedChoice::counted(&choices))
    }

    /// The names of the tenant's resolvers and the ranges of its subnets that use
    /// policy `id`, in order.
    pub async fn users_in(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<(Vec<String>, Vec<ipnet::IpNet>)> {
        let r = resolvers::table
            .filter(resolvers::tenant_id.eq(tenant_id))
            .filter(resolvers::policy_id.eq(id))
            .order((lower(resolvers::name), resolvers::id))
            .select(resolvers::name)
            .load(conn)
            .await?;
        let s = subnets::table
            .filter(subnets::tenant_id.eq(tenant_id))
            .filter(subnets::policy_id.eq(id))
            .order(subnets::cidr)
            .select(subnets::cidr)
            .load(conn)
            .await?;
        Ok((r, s))
    }
}

impl Policy {
    /// The inheritable policies of the tenants `owners`, with their owners' ids and
    /// names and their enforcement, by owner then name (what a move's subtree gains
    /// or loses).
    pub async fn inheritable_of(
        conn: &mut AsyncPgConnection,
        owners: &[i64],
    ) -> QueryResult<Vec<(i64, String, String, Enforcement, PolicyKind)>> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        policies::table
            .inner_join(tenants::table)
            .filter(policies::tenant_id.eq_any(owners))
            .filter(policies::inheritable)
            .order((policies::tenant_id, lower(policies::name), policies::id))
            .select((
                policies::tenant_id,
                policies::name,
                tenants::name,
                policies::enforcement,
                policies::kind,
            ))
            .load(conn)
            .await
    }
}

fn seen(rows: Vec<(Policy, String)>) -> Vec<SeenPolicy> {
    rows.into_iter()
        .map(|(policy, owner_name)| SeenPolicy { policy, owner_name })
        .collect()
}

/// The references a change of policies clears: each table's tenant and column.
/// With the item it is (`ClearedChoice::item`) and what names a row: in the order
/// of `Cleared::RESOLVERS`, `SUBNETS`, `OVERRIDES`.
const CLEARED: [(&str, &str, &str, &str); 3] = [
    ("resolvers", "policy_id", "resolver", "x.name"),
    ("subnets", "policy_id", "subnet", "x.cidr::text"),
    ("policies", "overrides_id", "policy", "x.name"),
];

/// A referencing row's tenant path as stored, and as a move would write it
/// (`$2`: the destination's path, `$3`: where the moved subtree starts on it).
const STORED_PATH: &str = "tp.path";
const MOVED_PATH: &str = "($2::bigint[] || tp.path[$3:])";

// Correlated tests over the referencing row `x`'s path: no DSL form. Shared by the
// clearing and the move preview, so that the preview counts what the move clears.

/// `x.{col}` names a policy `x`'s tenant does not see over `path`.
fn unseen(col: &str, path: &str) -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM policies p JOIN tenant_paths tp \
         ON tp.tenant_id = x.tenant_id WHERE p.id = x.{col} AND (p.tenant_id = x.tenant_id \
         OR (p.inheritable AND p.tenant_id = ANY ({path})))))"
    )
}

/// `x.policy_id` names a policy of a kind the topmost lock above over `path`
/// binds to another.
fn locked_out(path: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM policies p JOIN tenant_paths tp \
         ON tp.tenant_id = x.tenant_id WHERE p.id = x.policy_id AND p.id <> \
         (SELECT l.id FROM policies l WHERE l.kind = p.kind AND l.inheritable \
         AND l.enforcement = 'locked' AND l.tenant_id <> x.tenant_id \
         AND l.tenant_id = ANY ({path}) \
         ORDER BY array_position({path}, l.tenant_id), l.id LIMIT 1))"
    )
}

/// The override `x` is shut out: a lock of its kind above its tenant over `path`
/// (the policy it overrides, or any other: the topmost lock binds the kind there,
/// so neither that policy nor the override has any effect).
fn shut_out(path: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM policies l JOIN tenant_paths tp \
         ON tp.tenant_id = x.tenant_id WHERE l.kind = x.kind AND l.inheritable \
         AND l.enforcement = 'locked' AND l.tenant_id <> x.tenant_id \
         AND l.tenant_id = ANY ({path}))"
    )
}

/// The reference of a row `x` of `table` that is cleared: a resolver's or
/// subnet's choice unseen or locked out, an override of an unseen policy or one
/// shut out by a lock above it.
fn gone(table: &str, path: &str) -> String {
    if table == "policies" {
        format!("({} OR {})", unseen("overrides_id", path), shut_out(path))
    } else {
        format!("({} OR {})", unseen("policy_id", path), locked_out(path))
    }
}
