//! Creating and editing tenants (one at a time; structural changes are in `subtree`).

use super::{with_path, Tenant};
use crate::db::models::lower;
use crate::db::schema::{tenant_labels, tenant_paths, tenant_roles, tenants};
use crate::domain::domain_name::{new_challenge_token, DomainStatus};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Fields of a tenant as the create/edit forms set them.
#[derive(Clone, Debug)]
pub struct TenantFields {
    pub name: String,
    pub subdomain: String,
    pub description: String,
    pub custom_domain: Option<String>,
    pub can_have_subtenants: bool,
    pub enabled: bool,
    /// The tenant role (cap); `None` keeps the current one (or inherits the parent's on create).
    pub tenant_role_id: Option<i64>,
    /// The labels; `None` keeps the current ones (none on create).
    pub labels: Option<Vec<String>>,
    /// The monthly query quota; `None` keeps the current one (none on create),
    /// `Some(None)` removes it.
    pub monthly_query_quota: Option<Option<i64>>,
    /// The subtree's resource limits; each `None` keeps the current one (none on create).
    pub limits: crate::domain::resources::LimitChange,
    /// The most users its subtree may have; `None` keeps the current limit (none on
    /// create), `Some(None)` removes it.
    pub max_users: Option<Option<i32>>,
    /// Its plan; `None` keeps the current one (the parent's on create), `Some(None)`
    /// takes it off any plan.
    pub plan_id: Option<Option<i64>>,
}

impl Tenant {
    /// Creates children: ids from the sequence (ascending, in the order given), then
    /// one INSERT for the tenants and one for their paths per thousand. The caller holds
    /// every tenant on each parent's path locked FOR KEY SHARE in the same transaction
    /// (`services::tenants`), so no parent's path can change and neither a parent nor
    /// an ancestor can be moved or deleted before the children exist.
    pub async fn insert_children(
        conn: &mut AsyncPgConnection,
        children: &[NewChild<'_>],
    ) -> QueryResult<Vec<Tenant>> {
        if children.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = diesel::sql_query(
            "SELECT nextval('tenants_id_seq') AS id FROM generate_series(1, $1) ORDER BY 1",
        )
        .bind::<diesel::sql_types::BigInt, _>(children.len() as i64)
        .load::<NewId>(conn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
        // Ids follow the order of `children`; rows go in by subdomain, so that two
        // transactions creating the same subdomains wait on each other in one direction
        // (the second fails on the unique index) instead of deadlocking.
        let mut order: Vec<usize> = (0..children.len()).collect();
        order.sort_by(|a, b| {
            children[*a]
                .fields
                .subdomain
                .cmp(&children[*b].fields.subdomain)
        });
        // Well under PostgreSQL's 65,535 bind parameters per statement.
        for chunk in order.chunks(1000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let c = &children[i];
                    (
                        tenants::id.eq(ids[i]),
                        tenants::parent_id.eq(Some(c.parent.id)),
                        tenants::name.eq(&c.fields.name),
                        tenants::subdomain.eq(&c.fields.subdomain),
                        tenants::description.eq(&c.fields.description),
                        tenants::custom_domain.eq(&c.fields.custom_domain),
                        // A new domain starts pending, with its own token.
                        tenants::custom_domain_status.eq(c
                            .fields
                            .custom_domain
                            .as_ref()
                            .map(|_| DomainStatus::Pending.as_str())),
                        tenants::custom_domain_token.eq(c
                            .fields
                            .custom_domain
                            .as_ref()
                            .map(|_| new_challenge_token())),
                        tenants::can_have_subtenants.eq(c.fields.can_have_subtenants),
                        tenants::enabled.eq(c.fields.enabled),
                        tenants::tenant_role_id.eq(c.tenant_role_id),
                        tenants::monthly_query_quota.eq(c.fields.monthly_query_quota.flatten()),
                        tenants::max_users.eq(c.fields.max_users.flatten()),
                        // None unless the root's admins chose one: it follows its ancestors' plan.
                        tenants::plan_id.eq(c.fields.plan_id.flatten()),
                    )
                })
                .collect();
            diesel::insert_into(tenants::table)
                .values(rows)
                .execute(conn)
                .await?;
            let paths: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let mut path = children[i].parent.path.clone();
                    path.push(ids[i]);
                    (
                        tenant_paths::tenant_id.eq(ids[i]),
                        tenant_paths::path.eq(path),
                    )
                })
                .collect();
            diesel::insert_into(tenant_paths::table)
                .values(paths)
                .execute(conn)
                .await?;
        }
        // Limits are rare on a new tenant: one statement for each that has them.
        for (c, id) in children.iter().zip(&ids) {
            crate::db::models::instance::set_limits(conn, *id, &c.fields.limits).await?;
        }
        let labels: Vec<_> = children
            .iter()
            .zip(&ids)
            .flat_map(|(c, id)| {
                c.fields.labels.iter().flatten().map(move |label| {
                    (
                        tenant_labels::tenant_id.eq(*id),
                        tenant_labels::label.eq(label),
                    )
                })
            })
            .collect();
        for chunk in labels.chunks(10_000) {
            diesel::insert_into(tenant_labels::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        let mut created = Self::find_many(conn, &ids).await?;
        created.sort_unstable_by_key(|t| t.id);
        Ok(created)
    }

    /// Which of these subdomains are taken.
    pub async fn taken_subdomains(
        conn: &mut AsyncPgConnection,
        subdomains: &[String],
    ) -> QueryResult<std::collections::HashSet<String>> {
        let rows: Vec<String> = tenants::table
            .filter(tenants::subdomain.eq_any(subdomains))
            .select(tenants::subdomain)
            .load(conn)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Which of these custom domains (lower case) are taken.
    pub async fn taken_custom_domains(
        conn: &mut AsyncPgConnection,
        domains: &[String],
    ) -> QueryResult<std::collections::HashSet<String>> {
        if domains.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<String> = tenants::table
            .filter(tenants::custom_domain.is_not_null())
            .filter(lower(tenants::custom_domain.assume_not_null()).eq_any(domains))
            .select(lower(tenants::custom_domain.assume_not_null()))
            .load(conn)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Creates the root tenant (bootstrap).
    pub async fn insert_root(
        conn: &mut AsyncPgConnection,
        name: &str,
        subdomain: &str,
    ) -> QueryResult<Tenant> {
        let role_id: i64 = tenant_roles::table
            .select(tenant_roles::id)
            .order(tenant_roles::id.asc())
            .first(conn)
            .await?;
        let id: i64 = diesel::select(nextval("tenants_id_seq"))
            .get_result(conn)
            .await?;
        diesel::insert_into(tenants::table)
            .values((
                tenants::id.eq(id),
                tenants::name.eq(name),
                tenants::subdomain.eq(subdomain),
                tenants::can_have_subtenants.eq(true),
                tenants::tenant_role_id.eq(role_id),
            ))
            .execute(conn)
            .await?;
        insert_path(conn, id, vec![id]).await?;
        Self::find(conn, id).await
    }

    /// Locks the row for an update or delete (waits at most the session's lock_timeout).
    pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Tenant> {
        with_path()
            .filter(tenants::id.eq(id))
            .select(Tenant::as_select())
            .for_update()
            .first(conn)
            .await
    }

    pub async fn update_fields(
        conn: &mut AsyncPgConnection,
        id: i64,
        fields: &TenantFields,
    ) -> QueryResult<Tenant> {
        if let Some(role_id) = fields.tenant_role_id {
            diesel::update(tenants::table.find(id))
                .set(tenants::tenant_role_id.eq(role_id))
                .execute(conn)
                .await?;
        }
        // Another domain (or none) starts over: pending, with a fresh token. Same
        // statement as the domain itself, so the claim always matches it.
        diesel::update(
            tenants::table
                .find(id)
                .filter(tenants::custom_domain.is_distinct_from(&fields.custom_domain)),
        )
        .set((
            tenants::custom_domain.eq(&fields.custom_domain),
            tenants::custom_domain_status.eq(fields
                .custom_domain
                .as_ref()
                .map(|_| DomainStatus::Pending.as_str())),
            tenants::custom_domain_token
                .eq(fields.custom_domain.as_ref().map(|_| new_challenge_token())),
            tenants::custom_domain_verified_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
        if let Some(labels) = &fields.labels {
            Self::set_labels(conn, id, labels).await?;
        }
        // The flag with its count in the subtree totals.
        Self::set_enabled_in(conn, id, &[id], fields.enabled).await?;
        crate::db::models::instance::set_limits(conn, id, &fields.limits).await?;
        if let Some(quota) = fields.monthly_query_quota {
            diesel::update(tenants::table.find(id))
                .set(tenants::monthly_query_quota.eq(quota))
                .execute(conn)
                .await?;
        }
        if let Some(limit) = fields.max_users {
            diesel::update(tenants::table.find(id))
                .set(tenants::max_users.eq(limit))
                .execute(conn)
                .await?;
        }
        if let Some(plan) = fields.plan_id {
            diesel::update(tenants::table.find(id))
                .set(tenants::plan_id.eq(plan))
                .execute(conn)
                .await?;
        }
        diesel::update(tenants::table.find(id))
            .set((
                tenants::name.eq(&fields.name),
                tenants::subdomain.eq(&fields.subdomain),
                tenants::description.eq(&fields.description),
                tenants::can_have_subtenants.eq(fields.can_have_subtenants),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Self::find(conn, id).await
    }

    /// Sets the tenant's `updated_at` back to `at`: a save that changed nothing
    /// leaves no trace (`services::tenants::tree::update` compares).
    pub async fn keep_updated_at(
        conn: &mut AsyncPgConnection,
        id: i64,
        at: DateTime<Utc>,
    ) -> QueryResult<usize> {
        diesel::update(tenants::table.find(id))
            .set(tenants::updated_at.eq(at))
            .execute(conn)
            .await
    }

    /// Makes a pending custom domain serve (`Verified` or `Approved`), provided it is
    /// still `domain` with `token` — it may have changed since they were read.
    /// `None` when it has.
    pub async fn set_domain_serving(
        conn: &mut AsyncPgConnection,
        id: i64,
        domain: &str,
        token: &str,
        status: DomainStatus,
    ) -> QueryResult<Option<Tenant>> {
        let changed = diesel::update(
            tenants::table
                .find(id)
                .filter(tenants::custom_domain.eq(domain))
                .filter(tenants::custom_domain_token.eq(token))
                .filter(tenants::custom_domain_status.eq(DomainStatus::Pending.as_str())),
        )
        .set((
            tenants::custom_domain_status.eq(status.as_str()),
            tenants::custom_domain_verified_at.eq(diesel::dsl::now),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
        if changed == 0 {
            return Ok(None);
        }
        Self::find(conn, id).await.map(Some)
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(tenants::table.find(id)).execute(conn).await
    }
}

/// One child for `Tenant::insert_children`.
pub struct NewChild<'a> {
    pub parent: &'a Tenant,
    pub tenant_role_id: i64,
    pub fields: &'a TenantFields,
}

#[derive(QueryableByName)]
struct NewId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

async fn insert_path(conn: &mut AsyncPgConnection, id: i64, path: Vec<i64>) -> QueryResult<usize> {
    diesel::insert_into(tenant_paths::table)
        .values((tenant_paths::tenant_id.eq(id), tenant_paths::path.eq(path)))
        .execute(conn)
        .await
}

diesel::define_sql_function!(fn nextval(seq: diesel::sql_types::Text) -> diesel::sql_types::BigInt);

impl Tenant {
    pub async fn set_enabled(
        conn: &mut AsyncPgConnection,
        id: i64,
        enabled: bool,
    ) -> QueryResult<Tenant> {
        Self::set_enabled_in(conn, id, &[id], enabled).await?;
        Self::find(conn, id).await
    }

    /// Enables or disables the tenants `ids`, all at or below `top` (which the caller
    /// holds locked FOR UPDATE), and counts the change in the subtree totals of every
    /// tenant above them: one statement, whatever the number of tenants (a per-row
    /// count would update the root's totals row once per tenant). Returns how many
    /// tenants changed. Every change of the flag goes through here, so the totals'
    /// disabled counts stay exact (migration 2026-12-05-000400).
    pub async fn set_enabled_in(
        conn: &mut AsyncPgConnection,
        top: i64,
        ids: &[i64],
        enabled: bool,
    ) -> QueryResult<i64> {
        use diesel::sql_types::{Array, BigInt, Bool};
        #[derive(QueryableByName)]
        struct Changed {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let changed: Changed = diesel::sql_query("SELECT tenants_set_enabled($1, $2, $3) AS n")
            .bind::<BigInt, _>(top)
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Bool, _>(enabled)
            .get_result(conn)
            .await?;
        Ok(changed.n)
    }
}
