//! A tenant's DNS configuration (migration `resolvers_devices_subnets`): resolvers,
//! the devices that use them and the subnets they serve. Every query is scoped by
//! tenant: an id from another tenant is simply not found.

use super::lower;
use super::tenant::{visible_filter, Visibility};
use super::tenant_owned;
use crate::db::schema::{
    clouds, devices, instances, resolvers, subnets, tenant_paths, tenants, usage_daily,
};
use crate::domain::sorting::{After, DeviceSort, ResolverSort, SubnetSort};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ipnet::IpNet;

#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = resolvers, check_for_backend(Pg))]
pub struct Resolver {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    /// A host address (its prefix is the whole address).
    pub address: IpNet,
    pub policy_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = devices, check_for_backend(Pg))]
pub struct Device {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub identifier: String,
    pub resolver_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = subnets, check_for_backend(Pg))]
pub struct Subnet {
    pub id: i64,
    pub tenant_id: i64,
    pub cidr: IpNet,
    pub resolver_id: i64,
    pub policy_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

tenant_owned!(Resolver, resolvers, name = name);
tenant_owned!(@sorted Resolver, resolvers, NetworkFilter, ResolverSort {
    Name => (lower(resolvers::name), |a| lower(a.value.clone())),
    Address => (resolvers::address, |a| a.network()),
    Created => (resolvers::created_at, |a| a.time()),
});
tenant_owned!(@sorted Device, devices, NetworkFilter, DeviceSort {
    Name => (lower(devices::name), |a| lower(a.value.clone())),
    Identifier => (lower(devices::identifier), |a| lower(a.value.clone())),
    Created => (devices::created_at, |a| a.time()),
});
tenant_owned!(@sorted Subnet, subnets, NetworkFilter, SubnetSort {
    Cidr => (subnets::cidr, |a| a.network()),
    Created => (subnets::created_at, |a| a.time()),
});
tenant_owned!(Device, devices);
tenant_owned!(Subnet, subnets);

impl Resolver {
    /// Where the next page starts after this resolver, in an order by `key`.
    pub fn after(&self, key: Option<ResolverSort>) -> After {
        match key {
            None => After::id(self.id),
            Some(ResolverSort::Name) => After::at(self.id, &self.name),
            Some(ResolverSort::Address) => After::at(self.id, self.address),
            Some(ResolverSort::Created) => After::created(self.id, self.created_at),
        }
    }
}

impl Device {
    /// Where the next page starts after this device, in an order by `key`.
    pub fn after(&self, key: Option<DeviceSort>) -> After {
        match key {
            None => After::id(self.id),
            Some(DeviceSort::Name) => After::at(self.id, &self.name),
            Some(DeviceSort::Identifier) => After::at(self.id, &self.identifier),
            Some(DeviceSort::Created) => After::created(self.id, self.created_at),
        }
    }
}

impl Subnet {
    /// Where the next page starts after this subnet, in an order by `key`.
    pub fn after(&self, key: Option<SubnetSort>) -> After {
        match key {
            None => After::id(self.id),
            Some(SubnetSort::Cidr) => After::at(self.id, self.cidr),
            Some(SubnetSort::Created) => After::created(self.id, self.created_at),
        }
    }
}

/// A resolver's stored fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolverFields {
    pub name: String,
    pub address: IpNet,
    pub policy_id: Option<i64>,
}

/// A device's stored fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFields {
    pub name: String,
    pub identifier: String,
    pub resolver_id: i64,
}

/// A subnet's stored fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetFields {
    pub cidr: IpNet,
    pub resolver_id: i64,
    pub policy_id: Option<i64>,
}

impl From<&Resolver> for ResolverFields {
    fn from(r: &Resolver) -> Self {
        ResolverFields {
            name: r.name.clone(),
            address: r.address,
            policy_id: r.policy_id,
        }
    }
}

impl From<&Device> for DeviceFields {
    fn from(d: &Device) -> Self {
        DeviceFields {
            name: d.name.clone(),
            identifier: d.identifier.clone(),
            resolver_id: d.resolver_id,
        }
    }
}

impl From<&Subnet> for SubnetFields {
    fn from(s: &Subnet) -> Self {
        SubnetFields {
            cidr: s.cidr,
            resolver_id: s.resolver_id,
            policy_id: s.policy_id,
        }
    }
}

/// A list's filters (all optional): text in the name (resolvers; devices: name or
/// identifier), the resolver used (devices, subnets), a network the subnets overlap.
#[derive(Clone, Debug, Default)]
pub struct NetworkFilter {
    pub q: Option<String>,
    pub resolver_id: Option<i64>,
    pub overlapping: Option<IpNet>,
}

impl Resolver {
    fn filtered(tenant_id: i64, f: &NetworkFilter) -> resolvers::BoxedQuery<'static, Pg> {
        let mut q = resolvers::table
            .filter(resolvers::tenant_id.eq(tenant_id))
            .into_boxed();
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            q = q.filter(resolvers::name.ilike(super::like_pattern(text)));
        }
        q
    }

    /// Every resolver of the tenant, `(id, name)` by name (the forms' choices).
    pub async fn choices(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Vec<(i64, String)>> {
        resolvers::table
            .filter(resolvers::tenant_id.eq(tenant_id))
            .order((lower(resolvers::name), resolvers::id))
            .select((resolvers::id, resolvers::name))
            .load(conn)
            .await
    }

    /// The resolver, locked against deletion until the transaction ends (a device
    /// or subnet about to use it).
    pub async fn find_key_share(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Option<Self>> {
        resolvers::table
            .filter(resolvers::tenant_id.eq(tenant_id))
            .filter(resolvers::id.eq(id))
            .select(Self::as_select())
            .for_key_share()
            .first(conn)
            .await
            .optional()
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        f: &ResolverFields,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::insert_into(resolvers::table)
            .values((
                resolvers::tenant_id.eq(tenant_id),
                resolvers::name.eq(&f.name),
                resolvers::address.eq(f.address),
                resolvers::policy_id.eq(f.policy_id),
                resolvers::created_at.eq(now),
                resolvers::updated_at.eq(now),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
        f: &ResolverFields,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            resolvers::table
                .filter(resolvers::tenant_id.eq(tenant_id))
                .filter(resolvers::id.eq(id)),
        )
        .set((
            resolvers::name.eq(&f.name),
            resolvers::address.eq(f.address),
            resolvers::policy_id.eq(f.policy_id),
            resolvers::updated_at.eq(now),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// What uses the resolver: how many devices and subnets, and the first
    /// `sample` of each by name (devices) or network (subnets).
    pub async fn users(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
        sample: i64,
    ) -> QueryResult<ResolverUse> {
        let devices_of = || {
            devices::table
                .filter(devices::tenant_id.eq(tenant_id))
                .filter(devices::resolver_id.eq(id))
        };
        let subnets_of = || {
            subnets::table
                .filter(subnets::tenant_id.eq(tenant_id))
                .filter(subnets::resolver_id.eq(id))
        };
        Ok(ResolverUse {
            devices: devices_of().count().get_result(conn).await?,
            device_names: devices_of()
                .order((lower(devices::name), devices::id))
                .limit(sample)
                .select(devices::name)
                .load(conn)
                .await?,
            subnets: subnets_of().count().get_result(conn).await?,
            subnet_cidrs: subnets_of()
                .order(subnets::cidr)
                .limit(sample)
                .select(subnets::cidr)
                .load(conn)
                .await?,
        })
    }
}

/// What uses a resolver (see [`Resolver::users`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolverUse {
    pub devices: i64,
    pub device_names: Vec<String>,
    pub subnets: i64,
    pub subnet_cidrs: Vec<IpNet>,
}

impl Device {
    fn filtered(tenant_id: i64, f: &NetworkFilter) -> devices::BoxedQuery<'static, Pg> {
        let mut q = devices::table
            .filter(devices::tenant_id.eq(tenant_id))
            .into_boxed();
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = super::like_pattern(text);
            q = q.filter(
                devices::name
                    .ilike(pattern.clone())
                    .or(devices::identifier.ilike(pattern)),
            );
        }
        if let Some(id) = f.resolver_id {
            q = q.filter(devices::resolver_id.eq(id));
        }
        q
    }

    /// Another of the tenant's devices with this identifier (any case), if any.
    pub async fn with_identifier(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        identifier: &str,
        except: Option<i64>,
    ) -> QueryResult<Option<Self>> {
        devices::table
            .filter(devices::tenant_id.eq(tenant_id))
            .filter(lower(devices::identifier).eq(identifier.to_lowercase()))
            .filter(devices::id.ne(except.unwrap_or(0)))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        f: &DeviceFields,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::insert_into(devices::table)
            .values((
                devices::tenant_id.eq(tenant_id),
                devices::name.eq(&f.name),
                devices::identifier.eq(&f.identifier),
                devices::resolver_id.eq(f.resolver_id),
                devices::created_at.eq(now),
                devices::updated_at.eq(now),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
        f: &DeviceFields,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            devices::table
                .filter(devices::tenant_id.eq(tenant_id))
                .filter(devices::id.eq(id)),
        )
        .set((
            devices::name.eq(&f.name),
            devices::identifier.eq(&f.identifier),
            devices::resolver_id.eq(f.resolver_id),
            devices::updated_at.eq(now),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }
}

impl Subnet {
    fn filtered(tenant_id: i64, f: &NetworkFilter) -> subnets::BoxedQuery<'static, Pg> {
        let mut q = subnets::table
            .filter(subnets::tenant_id.eq(tenant_id))
            .into_boxed();
        if let Some(id) = f.resolver_id {
            q = q.filter(subnets::resolver_id.eq(id));
        }
        if let Some(net) = f.overlapping {
            q = q.filter(subnets::cidr.overlaps_with(net));
        }
        q
    }

    /// Another of the tenant's subnets overlapping `cidr`, if any (the first by
    /// network).
    pub async fn overlapping(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        cidr: IpNet,
        except: Option<i64>,
    ) -> QueryResult<Option<Self>> {
        subnets::table
            .filter(subnets::tenant_id.eq(tenant_id))
            .filter(subnets::cidr.overlaps_with(cidr))
            .filter(subnets::id.ne(except.unwrap_or(0)))
            .order(subnets::cidr)
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        f: &SubnetFields,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::insert_into(subnets::table)
            .values((
                subnets::tenant_id.eq(tenant_id),
                subnets::cidr.eq(f.cidr),
                subnets::resolver_id.eq(f.resolver_id),
                subnets::policy_id.eq(f.policy_id),
                subnets::created_at.eq(now),
                subnets::updated_at.eq(now),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
        f: &SubnetFields,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            subnets::table
                .filter(subnets::tenant_id.eq(tenant_id))
                .filter(subnets::id.eq(id)),
        )
        .set((
            subnets::cidr.eq(f.cidr),
            subnets::resolver_id.eq(f.resolver_id),
            subnets::policy_id.eq(f.policy_id),
            subnets::updated_at.eq(now),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }
}

// ---------------------------------------------------------------- a subtree's

/// What in a subtree stops a safe delete of its top: resolvers, devices, and
/// tenants with traffic since a day. Each counted over the whole subtree; resources
/// named (a few) only where the reader may read them ([`ResourceNaming`]), tenants
/// only where the reader sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubtreeResources {
    pub resolvers: i64,
    /// Of those, how many are in tenants whose resources the reader may read.
    pub resolvers_readable: i64,
    /// `(resolver, tenant)` names, of those.
    pub resolver_names: Vec<(String, String)>,
    pub devices: i64,
    pub devices_readable: i64,
    pub device_names: Vec<(String, String)>,
    /// Tenants with usage (queries > 0) on a day since the given one.
    pub active_tenants: i64,
    pub active_names: Vec<String>,
    /// Instances of tenants outside the subtree on its clouds (a sub-tenant moved
    /// out keeps running on the shared cloud it used), never named, and the clouds
    /// they run on: how many, how many of them the reader may read, and `(cloud,
    /// tenant)` names of those.
    pub foreign_instances: i64,
    pub shared_clouds: i64,
    pub shared_clouds_readable: i64,
    pub shared_cloud_names: Vec<(String, String)>,
    /// Of the foreign instances, how many run in tenants the reader sees, and the
    /// first names of those tenants (whom to turn to).
    pub foreign_seen: i64,
    pub foreign_tenant_names: Vec<String>,
}

/// Whose resources a reader may be told of by name: those of the tenants `seen`
/// shows whose cap (tenant role) is not one of `capped_roles` (taking Resources
/// away; the root has no cap). `authz::subtree_reading` decides both.
#[derive(Clone, Copy, Debug)]
pub struct ResourceNaming<'a> {
    pub seen: &'a Visibility,
    pub capped_roles: &'a [i64],
}

/// `$q` (a boxed query joining `tenants`) narrowed to the tenants whose resources
/// `$naming` ([`ResourceNaming`]) lets the reader read.
macro_rules! readable_only {
    ($q:expr, $naming:expr) => {{
        let naming: ResourceNaming<'_> = $naming;
        let mut q = $q;
        if let Some(f) = visible_filter(naming.seen) {
            q = q.filter(f);
        }
        if !naming.capped_roles.is_empty() {
            q = q.filter(tenants::parent_id.is_null().or(diesel::dsl::not(
                tenants::tenant_role_id.eq_any(naming.capped_roles.to_vec()),
            )));
        }
        q
    }};
}

impl SubtreeResources {
    /// Counts the subtree of `id`'s resolvers, devices and tenants with queries on
    /// `since` or later; names the first `sample` resolvers, devices and shared clouds
    /// that `naming` lets the reader read (counting those too), and the first
    /// `sample` active tenants that `visibility` shows.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        id: i64,
        since: NaiveDate,
        visibility: &Visibility,
        naming: ResourceNaming<'_>,
        sample: i64,
    ) -> QueryResult<Self> {
        let subtree = || {
            tenant_paths::table
                .filter(tenant_paths::path.contains(vec![id]))
                .select(tenant_paths::tenant_id)
        };
        let active = || {
            usage_daily::table
                .filter(usage_daily::tenant_id.eq_any(subtree()))
                .filter(usage_daily::day.ge(since))
                .filter(usage_daily::queries.gt(0))
        };
        let resolvers_n: i64 = resolvers::table
            .filter(resolvers::tenant_id.eq_any(subtree()))
            .count()
            .get_result(conn)
            .await?;
        let devices_n: i64 = devices::table
            .filter(devices::tenant_id.eq_any(subtree()))
            .count()
            .get_result(conn)
            .await?;
        let active_n: i64 = active()
            .select(diesel::dsl::count(usage_daily::tenant_id).aggregate_distinct())
            .get_result(conn)
            .await?;
        // Instances outside the subtree on the subtree's clouds.
        let foreign = || {
            instances::table
                .inner_join(clouds::table)
                .filter(clouds::tenant_id.eq_any(subtree()))
                .filter(diesel::dsl::not(instances::tenant_id.eq_any(subtree())))
        };
        let foreign_n: i64 = foreign().count().get_result(conn).await?;
        let shared: Vec<i64> = if foreign_n > 0 {
            foreign().select(clouds::id).distinct().load(conn).await?
        } else {
            Vec::new()
        };
        // The resources the reader may read: in the subtree, in a tenant whose
        // resources they may read.
        let shared_readable = || {
            readable_only!(
                clouds::table
                    .inner_join(tenants::table.inner_join(tenant_paths::table))
                    .filter(tenant_paths::path.contains(vec![id]))
                    .filter(clouds::id.eq_any(&shared))
                    .into_boxed(),
                naming
            )
        };
        let (shared_clouds_readable, shared_cloud_names) = if foreign_n > 0 {
            let n: i64 = shared_readable().count().get_result(conn).await?;
            let names = shared_readable()
                .order((lower(clouds::name), clouds::id))
                .limit(sample)
                .select((clouds::name, tenants::name))
                .load(conn)
                .await?;
            (n, names)
        } else {
            (0, Vec::new())
        };
        let (foreign_seen, foreign_tenant_names) = if foreign_n > 0 {
            let running: Vec<i64> = foreign()
                .select(instances::tenant_id)
                .distinct()
                .load(conn)
                .await?;
            let mut q = super::tenant::with_path()
                .filter(tenants::id.eq_any(&running))
                .into_boxed();
            if let Some(f) = visible_filter(visibility) {
                q = q.filter(f);
            }
            let seen: Vec<(i64, String)> = q
                .order((lower(tenants::name), tenants::id))
                .select((tenants::id, tenants::name))
                .load(conn)
                .await?;
            let ids: Vec<i64> = seen.iter().map(|t| t.0).collect();
            let n: i64 = foreign()
                .filter(instances::tenant_id.eq_any(&ids))
                .count()
                .get_result(conn)
                .await?;
            let names = seen
                .into_iter()
                .take(usize::try_from(sample).unwrap_or(0))
                .map(|t| t.1)
                .collect();
            (n, names)
        } else {
            (0, Vec::new())
        };
        let resolvers_readable = || {
            readable_only!(
                resolvers::table
                    .inner_join(tenants::table.inner_join(tenant_paths::table))
                    .filter(tenant_paths::path.contains(vec![id]))
                    .into_boxed(),
                naming
            )
        };
        let (resolvers_readable_n, resolver_names) = if resolvers_n > 0 {
            let n: i64 = resolvers_readable().count().get_result(conn).await?;
            let names = resolvers_readable()
                .order((lower(resolvers::name), resolvers::id))
                .limit(sample)
                .select((resolvers::name, tenants::name))
                .load(conn)
                .await?;
            (n, names)
        } else {
            (0, Vec::new())
        };
        let devices_readable = || {
            readable_only!(
                devices::table
                    .inner_join(tenants::table.inner_join(tenant_paths::table))
                    .filter(tenant_paths::path.contains(vec![id]))
                    .into_boxed(),
                naming
            )
        };
        let (devices_readable_n, device_names) = if devices_n > 0 {
            let n: i64 = devices_readable().count().get_result(conn).await?;
            let names = devices_readable()
                .order((lower(devices::name), devices::id))
                .limit(sample)
                .select((devices::name, tenants::name))
                .load(conn)
                .await?;
            (n, names)
        } else {
            (0, Vec::new())
        };
        let active_names = if active_n > 0 {
            let mut q = super::tenant::with_path()
                .filter(tenant_paths::path.contains(vec![id]))
                // The subtree is the outer filter's: the days' rows alone here.
                .filter(
                    tenants::id.eq_any(
                        usage_daily::table
                            .filter(usage_daily::day.ge(since))
                            .filter(usage_daily::queries.gt(0))
                            .select(usage_daily::tenant_id),
                    ),
                )
                .into_boxed();
            if let Some(f) = visible_filter(visibility) {
                q = q.filter(f);
            }
            q.order((lower(tenants::name), tenants::id))
                .limit(sample)
                .select(tenants::name)
                .load(conn)
                .await?
        } else {
            Vec::new()
        };
        Ok(SubtreeResources {
            resolvers: resolvers_n,
            resolvers_readable: resolvers_readable_n,
            resolver_names,
            devices: devices_n,
            devices_readable: devices_readable_n,
            device_names,
            active_tenants: active_n,
            active_names,
            foreign_instances: foreign_n,
            shared_clouds: shared.len() as i64,
            shared_clouds_readable,
            shared_cloud_names,
            foreign_seen,
            foreign_tenant_names,
        })
    }
}
