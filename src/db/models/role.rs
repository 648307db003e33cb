//! Tenant roles (caps on a whole tenant) and user roles (per tenant, possibly
//! linked copies of multi-tenant templates defined in the root).

use super::lower;
use crate::db::schema::{tenant_roles, tenants, user_roles, users};
use crate::domain::Permissions;
use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = tenant_roles, check_for_backend(Pg))]
pub struct TenantRoleRow {
    pub id: i64,
    pub name: String,
    pub permissions: serde_json::Value,
}

/// A tenant role: the cap on everything anyone may do inside the tenants it is assigned to.
#[derive(Clone, Debug)]
pub struct TenantRole {
    pub id: i64,
    pub name: String,
    pub permissions: Permissions,
}

impl From<TenantRoleRow> for TenantRole {
    fn from(r: TenantRoleRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            permissions: Permissions::from_json(&r.permissions),
        }
    }
}

impl TenantRole {
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<TenantRole>> {
        Ok(Self::listed(conn)
            .await?
            .into_iter()
            .map(|(role, _)| role)
            .collect())
    }

    /// Every tenant role by name, each with whether its tenants see the root's
    /// public clouds (`public_clouds`, issue #14): the Tenant roles page.
    pub async fn listed(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(TenantRole, bool)>> {
        let rows: Vec<(TenantRoleRow, bool)> = tenant_roles::table
            .order((lower(tenant_roles::name).asc(), tenant_roles::id.asc()))
            .select((TenantRoleRow::as_select(), tenant_roles::public_clouds))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(row, public)| (row.into(), public))
            .collect())
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<TenantRole> {
        tenant_roles::table
            .find(id)
            .select(TenantRoleRow::as_select())
            .first(conn)
            .await
            .map(Into::into)
    }

    /// Loads a tenant role locked until the end of the transaction: `FOR UPDATE` to
    /// change it, `FOR SHARE` to assign it, so a cap is not lowered while a tenant
    /// takes it on (and the reverse).
    pub async fn lock(
        conn: &mut AsyncPgConnection,
        id: i64,
        for_update: bool,
    ) -> QueryResult<TenantRole> {
        let q = tenant_roles::table
            .find(id)
            .select(TenantRoleRow::as_select());
        let row = if for_update {
            q.for_update().first(conn).await?
        } else {
            q.for_share().first(conn).await?
        };
        Ok(row.into())
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        name: &str,
        permissions: &Permissions,
    ) -> QueryResult<TenantRole> {
        diesel::insert_into(tenant_roles::table)
            .values((
                tenant_roles::name.eq(name),
                tenant_roles::permissions.eq(permissions.to_json()),
            ))
            .returning(TenantRoleRow::as_returning())
            .get_result(conn)
            .await
            .map(Into::into)
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        name: &str,
        permissions: &Permissions,
    ) -> QueryResult<TenantRole> {
        diesel::update(tenant_roles::table.find(id))
            .set((
                tenant_roles::name.eq(name),
                tenant_roles::permissions.eq(permissions.to_json()),
                tenant_roles::updated_at.eq(diesel::dsl::now),
            ))
            .returning(TenantRoleRow::as_returning())
            .get_result(conn)
            .await
            .map(Into::into)
    }

    /// Whether the tenants of this role see the root's public clouds (issue #14).
    pub async fn public_clouds(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        tenant_roles::table
            .find(id)
            .select(tenant_roles::public_clouds)
            .first(conn)
            .await
    }

    pub async fn set_public_clouds(
        conn: &mut AsyncPgConnection,
        id: i64,
        public_clouds: bool,
    ) -> QueryResult<usize> {
        diesel::update(tenant_roles::table.find(id))
            .set(tenant_roles::public_clouds.eq(public_clouds))
            .execute(conn)
            .await
    }

    /// How many tenants each tenant role caps, by role id, in one statement (roles
    /// nobody uses are absent).
    pub async fn tenants_using_each(
        conn: &mut AsyncPgConnection,
    ) -> QueryResult<HashMap<i64, i64>> {
        let counts: Vec<(i64, i64)> = tenants::table
            .group_by(tenants::tenant_role_id)
            .select((tenants::tenant_role_id, count_star()))
            .load(conn)
            .await?;
        Ok(counts.into_iter().collect())
    }

    pub async fn tenants_using(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i64> {
        tenants::table
            .filter(tenants::tenant_role_id.eq(id))
            .count()
            .get_result(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(tenant_roles::table.find(id))
            .execute(conn)
            .await
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = user_roles, check_for_backend(Pg))]
pub struct UserRoleRow {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub permissions: serde_json::Value,
    pub multi_tenant: bool,
    pub template_id: Option<i64>,
    pub customised: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user role of one tenant.
#[derive(Clone, Debug)]
pub struct UserRole {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub permissions: Permissions,
    /// A template in the root, copied into every tenant.
    pub multi_tenant: bool,
    /// Copy of this template (None once detached by deletion of the template).
    pub template_id: Option<i64>,
    /// Edited inside its tenant: no longer follows its template.
    pub customised: bool,
}

impl From<UserRoleRow> for UserRole {
    fn from(r: UserRoleRow) -> Self {
        Self {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            permissions: Permissions::from_json(&r.permissions),
            multi_tenant: r.multi_tenant,
            template_id: r.template_id,
            customised: r.customised,
        }
    }
}

impl UserRole {
    /// Still follows its template.
    pub fn is_linked(&self) -> bool {
        self.template_id.is_some() && !self.customised
    }

    pub async fn for_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Vec<UserRole>> {
        let rows: Vec<UserRoleRow> = user_roles::table
            .filter(user_roles::tenant_id.eq(tenant_id))
            .order((lower(user_roles::name).asc(), user_roles::id.asc()))
            .select(UserRoleRow::as_select())
            .load(conn)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// A role of this tenant; another tenant's role id is "not found".
    pub async fn find_in_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Option<UserRole>> {
        user_roles::table
            .filter(user_roles::id.eq(id))
            .filter(user_roles::tenant_id.eq(tenant_id))
            .select(UserRoleRow::as_select())
            .first(conn)
            .await
            .optional()
            .map(|r| r.map(Into::into))
    }

    pub async fn name_taken(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        name: &str,
        except: Option<i64>,
    ) -> QueryResult<bool> {
        let mut q = user_roles::table
            .filter(user_roles::tenant_id.eq(tenant_id))
            .filter(lower(user_roles::name).eq(name.to_lowercase()))
            .into_boxed();
        if let Some(id) = except {
            q = q.filter(user_roles::id.ne(id));
        }
        diesel::select(diesel::dsl::exists(q))
            .get_result(conn)
            .await
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        name: &str,
        permissions: &Permissions,
        multi_tenant: bool,
    ) -> QueryResult<UserRole> {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::tenant_id.eq(tenant_id),
                user_roles::name.eq(name),
                user_roles::permissions.eq(permissions.to_json()),
                user_roles::multi_tenant.eq(multi_tenant),
            ))
            .returning(UserRoleRow::as_returning())
            .get_result(conn)
            .await
            .map(Into::into)
    }

    /// Copies a template into every tenant but the root, as linked copies.
    pub async fn copy_template_everywhere(
        conn: &mut AsyncPgConnection,
        template: &UserRole,
    ) -> QueryResult<usize> {
        use diesel::dsl::sql;
        use diesel::sql_types::{BigInt, Jsonb, Nullable, Text};
        let rows = tenants::table
            .filter(tenants::id.ne(template.tenant_id))
            .select((
                tenants::id,
                sql::<Text>("").bind::<Text, _>(template.name.clone()),
                sql::<Jsonb>("").bind::<Jsonb, _>(template.permissions.to_json()),
                sql::<Nullable<BigInt>>("").bind::<BigInt, _>(template.id),
            ));
        diesel::insert_into(user_roles::table)
            .values(rows)
            .into_columns((
                user_roles::tenant_id,
                user_roles::name,
                user_roles::permissions,
                user_roles::template_id,
            ))
            .execute(conn)
            .await
    }

    /// Gives new tenants a linked copy of every template of the root, in one statement.
    pub async fn copy_templates_into(
        conn: &mut AsyncPgConnection,
        root_id: i64,
        tenant_ids: &[i64],
    ) -> QueryResult<usize> {
        use diesel::sql_types::{Array, BigInt};
        // A cross join with unnest() has no DSL form.
        diesel::sql_query(
            "INSERT INTO user_roles (tenant_id, name, permissions, template_id) \
             SELECT t.id, r.name, r.permissions, r.id \
             FROM user_roles r CROSS JOIN unnest($2::bigint[]) AS t(id) \
             WHERE r.tenant_id = $1 AND r.multi_tenant \
             ORDER BY t.id, r.id",
        )
        .bind::<BigInt, _>(root_id)
        .bind::<Array<BigInt>, _>(tenant_ids)
        .execute(conn)
        .await
    }

    /// Saves a role edited in its own tenant. A template copy becomes customised for good.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        name: &str,
        permissions: &Permissions,
    ) -> QueryResult<UserRole> {
        diesel::update(user_roles::table.find(id))
            .set((
                user_roles::name.eq(name),
                user_roles::permissions.eq(permissions.to_json()),
                user_roles::customised.eq(user_roles::template_id.is_not_null()),
                user_roles::updated_at.eq(diesel::dsl::now),
            ))
            .returning(UserRoleRow::as_returning())
            .get_result(conn)
            .await
            .map(Into::into)
    }

    /// Saves a template and pushes its permissions (not its name) to every linked copy.
    pub async fn update_template(
        conn: &mut AsyncPgConnection,
        id: i64,
        name: &str,
        permissions: &Permissions,
    ) -> QueryResult<(UserRole, usize)> {
        let template = diesel::update(user_roles::table.find(id))
            .set((
                user_roles::name.eq(name),
                user_roles::permissions.eq(permissions.to_json()),
                user_roles::updated_at.eq(diesel::dsl::now),
            ))
            .returning(UserRoleRow::as_returning())
            .get_result::<UserRoleRow>(conn)
            .await?;
        let copies = diesel::update(
            user_roles::table
                .filter(user_roles::template_id.eq(id))
                .filter(user_roles::customised.eq(false)),
        )
        .set((
            user_roles::permissions.eq(permissions.to_json()),
            user_roles::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
        Ok((template.into(), copies))
    }

    pub async fn users_with_role(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i64> {
        users::table
            .filter(users::role_id.eq(id))
            .count()
            .get_result(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(user_roles::table.find(id))
            .execute(conn)
            .await
    }
}

impl UserRole {
    /// Gives a user this role (the caller checked that it belongs to the user's tenant).
    pub async fn assign(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        role_id: i64,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(user_id))
            .set(users::role_id.eq(Some(role_id)))
            .execute(conn)
            .await
    }

    /// Templates of the root, by name.
    pub async fn templates(
        conn: &mut AsyncPgConnection,
        root_id: i64,
    ) -> QueryResult<Vec<UserRole>> {
        let rows: Vec<UserRoleRow> = user_roles::table
            .filter(user_roles::tenant_id.eq(root_id))
            .filter(user_roles::multi_tenant.eq(true))
            .order(lower(user_roles::name).asc())
            .select(UserRoleRow::as_select())
            .load(conn)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// How many linked (not customised) copies each of these templates has, by
    /// template id, in one statement (templates without copies are absent).
    pub async fn linked_copies_each(
        conn: &mut AsyncPgConnection,
        template_ids: &[i64],
    ) -> QueryResult<HashMap<i64, i64>> {
        let counts: Vec<(Option<i64>, i64)> = user_roles::table
            .filter(user_roles::template_id.eq_any(template_ids))
            .filter(user_roles::customised.eq(false))
            .group_by(user_roles::template_id)
            .select((user_roles::template_id, count_star()))
            .load(conn)
            .await?;
        Ok(counts
            .into_iter()
            .filter_map(|(id, n)| Some((id?, n)))
            .collect())
    }
}
