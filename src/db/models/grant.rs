//! Tenant-management grants: Owner / Administrator / Viewer on a tenant.

use crate::db::schema::grants;
use crate::domain::{GrantRole, Scope};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = grants, check_for_backend(Pg))]
pub struct GrantRow {
    pub id: i64,
    pub user_id: i64,
    pub tenant_id: i64,
    pub role: String,
    pub scope: String,
    pub manage_subtenants: bool,
}

/// A grant with its role and scope parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub id: i64,
    pub tenant_id: i64,
    pub role: GrantRole,
    pub scope: Scope,
    pub manage_subtenants: bool,
}

impl Grant {
    pub async fn for_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<Grant>> {
        let rows: Vec<GrantRow> = grants::table
            .filter(grants::user_id.eq(user_id))
            .select(GrantRow::as_select())
            .load(conn)
            .await?;
        // The CHECK constraints guarantee these parse; skip anything else defensively.
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(Grant {
                    id: r.id,
                    tenant_id: r.tenant_id,
                    role: r.role.parse().ok()?,
                    scope: r.scope.parse().ok()?,
                    manage_subtenants: r.manage_subtenants,
                })
            })
            .collect())
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        tenant_id: i64,
        role: GrantRole,
        scope: Scope,
        manage_subtenants: bool,
    ) -> QueryResult<usize> {
        diesel::insert_into(grants::table)
            .values((
                grants::user_id.eq(user_id),
                grants::tenant_id.eq(tenant_id),
                grants::role.eq(role.as_str()),
                grants::scope.eq(scope.as_str()),
                grants::manage_subtenants.eq(manage_subtenants),
            ))
            .on_conflict((grants::user_id, grants::tenant_id))
            .do_update()
            .set((
                grants::role.eq(role.as_str()),
                grants::scope.eq(scope.as_str()),
                grants::manage_subtenants.eq(manage_subtenants),
            ))
            .execute(conn)
            .await
    }

    /// Does this grant reach the tenant with this path?
    pub fn covers(&self, tenant_id: i64, path: &[i64]) -> bool {
        self.tenant_id == tenant_id
            || (self.scope == Scope::Subtree && path.contains(&self.tenant_id))
    }
}
