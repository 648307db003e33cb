//! Clouds (migration `clouds_instances`): a tenant's own, and those shared with it
//! from above. `Cloud::visible` is the one query of the sharing rule
//! (`authz::cloud_access` is the same rule over loaded rows): by key over the
//! viewer's path, so it costs one index probe per ancestor, never a subtree walk.

use crate::db::schema::{cloud_assignments, clouds, instances, tenant_paths, tenants};
use crate::domain::resources::{CloudProvider, CloudVisibility};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{tenant_owned, Tenant};
use crate::domain::sorting::{After, CloudSort, Order, SortKey, ValueKind};

/// `order` over `clouds c`: the key's expression, and how a cursor's value (`$4`,
/// text; the row's id `$5`) reads against it.
fn order_sql(order: Order<CloudSort>) -> (&'static str, &'static str) {
    match order.key {
        None => ("c.id", "$5"),
        Some(CloudSort::Name) => ("lower(c.name)", "lower($4)"),
        Some(CloudSort::Provider) => ("c.provider", "$4"),
        Some(CloudSort::Created) => ("c.created_at", "$4::timestamptz"),
    }
}

impl SeenCloud {
    /// Where the next page starts after this cloud, in an order by `key`.
    pub fn after(&self, key: Option<CloudSort>) -> After {
        let c = &self.cloud;
        match key {
            None => After::id(c.id),
            Some(CloudSort::Name) => After::at(c.id, &c.name),
            Some(CloudSort::Provider) => After::at(c.id, c.provider),
            Some(CloudSort::Created) => After::created(c.id, c.created_at),
        }
    }
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable, PartialEq, Eq)]
#[diesel(table_name = clouds, check_for_backend(Pg))]
pub struct Cloud {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub provider: CloudProvider,
    pub visibility: CloudVisibility,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A cloud as a tenant sees it: with its owner's name (what "shared by" says),
/// whether its owner may share (the root, or a tenant allowed sub-tenants) and
/// whether it is assigned to the viewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenCloud {
    pub cloud: Cloud,
    pub owner_name: String,
    pub owner_shares: bool,
    pub assigned_to_viewer: bool,
}

/// What a cloud's fields are set to.
#[derive(Clone, Debug)]
pub struct CloudFields<'a> {
    pub name: &'a str,
    pub provider: CloudProvider,
    pub visibility: CloudVisibility,
}

/// The columns of a cloud as seen by a tenant (`$2`): its owner's name, whether the
/// owner may share (`authz::may_share`), and whether it is assigned to the viewer.
const SEEN_SELECT: &str = "SELECT c.id, c.tenant_id, c.name, c.provider, c.visibility, \
     c.created_at, c.updated_at, o.name AS owner_name, \
     (o.parent_id IS NULL OR o.can_have_subtenants) AS owner_shares, \
     EXISTS (SELECT 1 FROM cloud_assignments a WHERE a.cloud_id = c.id AND a.tenant_id = $2) \
         AS assigned_to_viewer \
     FROM clouds c JOIN tenants o ON o.id = c.tenant_id";

/// The sharing rule (`authz::cloud_access` other than `Hidden`) over `clouds c JOIN
/// tenants o` (the owner), for the viewer with path `$1`, id `$2` and tenant role
/// `$3`: its own clouds; of an owner above it that may share, the public ones (the
/// root's per the role's `public_clouds`) and the assigned ones listing it.
const SEEN_RULE: &str = "c.tenant_id = ANY ($1) \
     AND (c.tenant_id = $2 \
          OR ((o.parent_id IS NULL OR o.can_have_subtenants) \
              AND ((c.visibility = 'public' AND (c.tenant_id <> $1[1] \
                       OR (SELECT r.public_clouds FROM tenant_roles r WHERE r.id = $3))) \
                   OR (c.visibility = 'assigned' AND EXISTS (SELECT 1 FROM cloud_assignments a \
                       WHERE a.cloud_id = c.id AND a.tenant_id = $2)))))";

/// The Clouds page's filters (all optional).
#[derive(Clone, Debug, Default)]
pub struct CloudFilter {
    pub provider: Option<CloudProvider>,
    pub visibility: Option<CloudVisibility>,
    /// `Some(true)`: the tenant's own only; `Some(false)`: shared with it only.
    pub own: Option<bool>,
    /// Part of the name, any case.
    pub q: Option<String>,
}

/// [`CloudFilter`] over `clouds c` for the viewer `$2`, its values bound as `$4`–`$7`.
const FILTERED: &str = "($4::text IS NULL OR c.provider = $4) \
     AND ($5::text IS NULL OR c.visibility = $5) \
     AND ($6::boolean IS NULL OR (c.tenant_id = $2) = $6) \
     AND ($7::text IS NULL OR c.name ILIKE $7)";

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct SeenRow {
    #[diesel(embed)]
    cloud: Cloud,
    #[diesel(sql_type = diesel::sql_types::Text)]
    owner_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    owner_shares: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    assigned_to_viewer: bool,
}

impl From<SeenRow> for SeenCloud {
    fn from(r: SeenRow) -> Self {
        SeenCloud {
            cloud: r.cloud,
            owner_name: r.owner_name,
            owner_shares: r.owner_shares,
            assigned_to_viewer: r.assigned_to_viewer,
        }
    }
}

/// An instance a move would leave on a cloud its tenant no longer sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stranded {
    pub instance: String,
    pub tenant_id: i64,
    pub tenant: String,
    pub cloud: String,
    pub owner_id: i64,
    pub owner: String,
    /// The cloud owner's path (whether the one asking may see it).
    pub owner_path: Vec<i64>,
}

#[derive(QueryableByName)]
struct StrandedRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    instance: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    tenant_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    tenant: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    cloud: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    owner_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    owner: String,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::BigInt>)]
    owner_path: Vec<i64>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

impl From<StrandedRow> for Stranded {
    fn from(r: StrandedRow) -> Self {
        Stranded {
            instance: r.instance,
            tenant_id: r.tenant_id,
            tenant: r.tenant,
            cloud: r.cloud,
            owner_id: r.owner_id,
            owner: r.owner,
            owner_path: r.owner_path,
        }
    }
}

tenant_owned!(@named Cloud, clouds, name);

impl Cloud {
    /// The clouds `viewer` sees (its own, its ancestors' public ones — the root's
    /// only if its role allows them —, its ancestors' assigned ones that list it),
    /// by id after `after`, at most `limit`, with their owners' names. The SQL form of
    /// `authz::cloud_access`: one probe of `clouds_tenant` per tenant on the path.
    pub async fn visible(
        conn: &mut AsyncPgConnection,
        viewer: &Tenant,
        after: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<SeenCloud>> {
        let after = after.map(After::id);
        Self::visible_sorted(conn, viewer, Order::by_id(), after.as_ref(), limit).await
    }

    /// [`Cloud::visible`] in `order`, right after `after` (the API's pages).
    pub async fn visible_sorted(
        conn: &mut AsyncPgConnection,
        viewer: &Tenant,
        order: Order<CloudSort>,
        after: Option<&After>,
        limit: i64,
    ) -> QueryResult<Vec<SeenCloud>> {
        use diesel::sql_types::{Array, BigInt, Nullable, Text};
        let (key, value) = order_sql(order);
        let (dir, op) = if order.descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        // A correlated EXISTS and a subselect of the viewer's role have no DSL form.
        let rows: Vec<SeenRow> = diesel::sql_query(format!(
            "{SEEN_SELECT} WHERE {SEEN_RULE} \
             AND ($5::bigint IS NULL OR ({key}, c.id) {op} ({value}, $5)) \
             ORDER BY {key} {dir}, c.id {dir} LIMIT $6"
        ))
        .bind::<Array<BigInt>, _>(viewer.path.clone())
        .bind::<BigInt, _>(viewer.id)
        .bind::<BigInt, _>(viewer.tenant_role_id)
        .bind::<Nullable<Text>, _>(
            after.map(|a| a.sql_text(order.key.map_or(ValueKind::Word, |k| k.kind()))),
        )
        .bind::<Nullable<BigInt>, _>(after.map(|a| a.id))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One page of the clouds `viewer` sees matching `filter` (the Clouds page), in
    /// `order`, skipping `offset`, at most `limit`; and how many match.
    pub async fn visible_page(
        conn: &mut AsyncPgConnection,
        viewer: &Tenant,
        filter: &CloudFilter,
        order: Order<CloudSort>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<SeenCloud>, i64)> {
        use diesel::sql_types::{BigInt, Nullable, Text};
        let provider = filter.provider.map(|p| p.as_str().to_string());
        let visibility = filter.visibility.map(|v| v.as_str().to_string());
        let q = filter.q.as_deref().map(super::like_pattern);
        let count: CountRow = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM clouds c JOIN tenants o ON o.id = c.tenant_id \
             WHERE {SEEN_RULE} AND {FILTERED}"
        ))
        .bind::<diesel::sql_types::Array<BigInt>, _>(viewer.path.clone())
        .bind::<BigInt, _>(viewer.id)
        .bind::<BigInt, _>(viewer.tenant_role_id)
        .bind::<Nullable<Text>, _>(provider.clone())
        .bind::<Nullable<Text>, _>(visibility.clone())
        .bind::<Nullable<diesel::sql_types::Bool>, _>(filter.own)
        .bind::<Nullable<Text>, _>(q.clone())
        .get_result(conn)
        .await?;
        let (key, _) = order_sql(order);
        let dir = if order.descending { "DESC" } else { "ASC" };
        let rows: Vec<SeenRow> = diesel::sql_query(format!(
            "{SEEN_SELECT} WHERE {SEEN_RULE} AND {FILTERED} \
             ORDER BY {key} {dir}, c.id {dir} OFFSET $8 LIMIT $9"
        ))
        .bind::<diesel::sql_types::Array<BigInt>, _>(viewer.path.clone())
        .bind::<BigInt, _>(viewer.id)
        .bind::<BigInt, _>(viewer.tenant_role_id)
        .bind::<Nullable<Text>, _>(provider)
        .bind::<Nullable<Text>, _>(visibility)
        .bind::<Nullable<diesel::sql_types::Bool>, _>(filter.own)
        .bind::<Nullable<Text>, _>(q)
        .bind::<BigInt, _>(offset)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        Ok((rows.into_iter().map(Into::into).collect(), count.n))
    }

    /// Which of the clouds `ids` `viewer` sees (the same rule as [`Cloud::visible`]):
    /// an instance list shows the names of those only.
    pub async fn visible_among(
        conn: &mut AsyncPgConnection,
        viewer: &Tenant,
        ids: &[i64],
    ) -> QueryResult<Vec<i64>> {
        use diesel::sql_types::{Array, BigInt};
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<IdRow> = diesel::sql_query(format!(
            "SELECT c.id FROM clouds c JOIN tenants o ON o.id = c.tenant_id \
             WHERE {SEEN_RULE} AND c.id = ANY ($4)"
        ))
        .bind::<Array<BigInt>, _>(viewer.path.clone())
        .bind::<BigInt, _>(viewer.id)
        .bind::<BigInt, _>(viewer.tenant_role_id)
        .bind::<Array<BigInt>, _>(ids.to_vec())
        .load(conn)
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// The names of the clouds `tenant_id` shares (visibility other than private), by
    /// name, at most `limit`, and how many there are.
    pub async fn shared_by(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        limit: i64,
    ) -> QueryResult<(Vec<String>, i64)> {
        let shared = || {
            clouds::table
                .filter(clouds::tenant_id.eq(tenant_id))
                .filter(clouds::visibility.ne(CloudVisibility::Private))
        };
        let names = shared()
            .order((clouds::name, clouds::id))
            .select(clouds::name)
            .limit(limit)
            .load(conn)
            .await?;
        let count = shared().count().get_result(conn).await?;
        Ok((names, count))
    }

    /// Removes the assignments of tenants in `subtree`'s subtree (after a move) whose
    /// cloud's owner is no longer above them: moving back later does not share them
    /// again unasked. Returns how many went.
    pub async fn drop_stale_assignments(
        conn: &mut AsyncPgConnection,
        subtree: i64,
    ) -> QueryResult<usize> {
        // An array containment and a join in a DELETE have no DSL form.
        diesel::sql_query(
            "DELETE FROM cloud_assignments a USING clouds c, tenant_paths p \
             WHERE c.id = a.cloud_id AND p.tenant_id = a.tenant_id \
             AND p.path @> ARRAY[$1::bigint] AND NOT (c.tenant_id = ANY (p.path))",
        )
        .bind::<diesel::sql_types::BigInt, _>(subtree)
        .execute(conn)
        .await
    }

    /// The instances in `subtree`'s subtree that run on clouds of `owners` (the
    /// tenants a move leaves behind: their clouds are no longer seen below), by
    /// tenant then name, at most `limit`; and how many there are.
    pub async fn stranded_by_move(
        conn: &mut AsyncPgConnection,
        subtree: i64,
        owners: &[i64],
        limit: i64,
    ) -> QueryResult<(Vec<Stranded>, i64)> {
        use diesel::sql_types::{Array, BigInt};
        if owners.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // An array containment and a window count have no DSL form.
        let rows: Vec<StrandedRow> = diesel::sql_query(
            "SELECT i.name AS instance, i.tenant_id, t.name AS tenant, c.name AS cloud, \
             c.tenant_id AS owner_id, o.name AS owner, p.path AS owner_path, \
             count(*) OVER () AS total \
             FROM instances i JOIN clouds c ON c.id = i.cloud_id \
             JOIN tenants o ON o.id = c.tenant_id JOIN tenant_paths p ON p.tenant_id = o.id \
             JOIN tenants t ON t.id = i.tenant_id \
             JOIN tenant_paths ip ON ip.tenant_id = i.tenant_id \
             WHERE c.tenant_id = ANY ($2) AND ip.path @> ARRAY[$1::bigint] \
             ORDER BY i.tenant_id, i.name, i.id LIMIT $3",
        )
        .bind::<BigInt, _>(subtree)
        .bind::<Array<BigInt>, _>(owners.to_vec())
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        // (`first()` would be diesel's `FirstDsl` here.)
        let total = match rows.as_slice() {
            [r, ..] => r.total,
            [] => 0,
        };
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }

    /// The cloud `id` if it belongs to a tenant on `viewer`'s path (anything else is
    /// not found), with what the sharing rule needs to decide on it: the row, and
    /// whether `viewer`'s tenant role lets it see the root's public clouds (its
    /// `public_clouds`), in one statement.
    pub async fn on_path(
        mut conn: &AsyncPgConnection,
        viewer: &Tenant,
        id: i64,
    ) -> QueryResult<Option<(SeenCloud, bool)>> {
        use diesel::sql_types::{Array, BigInt, Bool};
        #[derive(QueryableByName)]
        struct OnPath {
            #[diesel(embed)]
            seen: SeenRow,
            #[diesel(sql_type = Bool)]
            sees_root_public: bool,
        }
        // Fixed text, built once: a cached prepared statement (on an instance
        // create's path, pipelined with the path's locks).
        static ON_PATH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT s.*, COALESCE((SELECT r.public_clouds FROM tenant_roles r \
                 WHERE r.id = $4), false) AS sees_root_public \
                 FROM ({SEEN_SELECT} WHERE c.tenant_id = ANY ($1) AND c.id = $3) s"
            )
        });
        let row: Option<OnPath> = crate::db::prepared::prepared(ON_PATH.as_str())
            .bind::<Array<BigInt>, _>(viewer.path.clone())
            .bind::<BigInt, _>(viewer.id)
            .bind::<BigInt, _>(id)
            .bind::<BigInt, _>(viewer.tenant_role_id)
            .get_result(&mut conn)
            .await
            .optional()?;
        Ok(row.map(|r| (r.seen.into(), r.sees_root_public)))
    }

    /// The cloud `id` of `tenant_id` locked FOR UPDATE (a change or delete of it).
    pub async fn lock_own(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Cloud> {
        clouds::table
            .filter(clouds::tenant_id.eq(tenant_id))
            .filter(clouds::id.eq(id))
            .select(Cloud::as_select())
            .for_update()
            .first(conn)
            .await
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        fields: &CloudFields<'_>,
    ) -> QueryResult<Cloud> {
        diesel::insert_into(clouds::table)
            .values((
                clouds::tenant_id.eq(tenant_id),
                clouds::name.eq(fields.name),
                clouds::provider.eq(fields.provider),
                clouds::visibility.eq(fields.visibility),
            ))
            .returning(Cloud::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        fields: &CloudFields<'_>,
    ) -> QueryResult<Cloud> {
        diesel::update(clouds::table.find(id))
            .set((
                clouds::name.eq(fields.name),
                clouds::provider.eq(fields.provider),
                clouds::visibility.eq(fields.visibility),
                clouds::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Cloud::as_returning())
            .get_result(conn)
            .await
    }

    /// Replaces the tenants a cloud is assigned to.
    pub async fn set_assignments(
        conn: &mut AsyncPgConnection,
        id: i64,
        tenant_ids: &[i64],
    ) -> QueryResult<()> {
        diesel::delete(cloud_assignments::table.filter(cloud_assignments::cloud_id.eq(id)))
            .execute(conn)
            .await?;
        let rows: Vec<_> = tenant_ids
            .iter()
            .map(|t| {
                (
                    cloud_assignments::cloud_id.eq(id),
                    cloud_assignments::tenant_id.eq(*t),
                )
            })
            .collect();
        if !rows.is_empty() {
            diesel::insert_into(cloud_assignments::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        Ok(())
    }

    /// The tenants a cloud is assigned to (id, name, path), by id.
    pub async fn assignments(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Vec<(i64, String, Vec<i64>)>> {
        cloud_assignments::table
            .inner_join(tenants::table.inner_join(tenant_paths::table))
            .filter(cloud_assignments::cloud_id.eq(id))
            .order(tenants::id)
            .select((tenants::id, tenants::name, tenant_paths::path))
            .load(conn)
            .await
    }

    /// The tenants each of these clouds is assigned to (cloud id, tenant id, name,
    /// path), by cloud then tenant: one statement for a page of clouds.
    pub async fn assignments_of(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<Vec<(i64, i64, String, Vec<i64>)>> {
        cloud_assignments::table
            .inner_join(tenants::table.inner_join(tenant_paths::table))
            .filter(cloud_assignments::cloud_id.eq_any(ids.to_vec()))
            .order((cloud_assignments::cloud_id, tenants::id))
            .select((
                cloud_assignments::cloud_id,
                tenants::id,
                tenants::name,
                tenant_paths::path,
            ))
            .load(conn)
            .await
    }

    /// The tenants with instances on the cloud (id, name, path, how many), by name.
    pub async fn instance_tenants(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Vec<(i64, String, Vec<i64>, i64)>> {
        let counts: Vec<(i64, i64)> = instances::table
            .filter(instances::cloud_id.eq(id))
            .group_by(instances::tenant_id)
            .select((instances::tenant_id, diesel::dsl::count(instances::id)))
            .load(conn)
            .await?;
        let ids: Vec<i64> = counts.iter().map(|c| c.0).collect();
        let tenants: Vec<(i64, String, Vec<i64>)> = tenants::table
            .inner_join(tenant_paths::table)
            .filter(tenants::id.eq_any(&ids))
            .order((tenants::name, tenants::id))
            .select((tenants::id, tenants::name, tenant_paths::path))
            .load(conn)
            .await?;
        Ok(tenants
            .into_iter()
            .map(|(t, name, path)| {
                let n = counts.iter().find(|c| c.0 == t).map_or(0, |c| c.1);
                (t, name, path, n)
            })
            .collect())
    }

    /// How many clouds the tenants of `id`'s subtree own.
    pub async fn in_subtree(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i64> {
        clouds::table
            .filter(
                clouds::tenant_id.eq_any(
                    tenant_paths::table
                        .filter(tenant_paths::path.contains(vec![id]))
                        .select(tenant_paths::tenant_id),
                ),
            )
            .count()
            .get_result(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(clouds::table.find(id)).execute(conn).await
    }
}
