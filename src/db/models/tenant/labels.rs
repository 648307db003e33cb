//! Tenant labels (`tier:gold`): one `tenant_labels` row per tenant and label.

use super::Tenant;
use crate::db::schema::tenant_labels;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

impl Tenant {
    /// The labels of these tenants, sorted, by tenant id (a tenant without labels has
    /// no entry).
    pub async fn labels_of(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<HashMap<i64, Vec<String>>> {
        let rows: Vec<(i64, String)> = tenant_labels::table
            .filter(tenant_labels::tenant_id.eq_any(ids))
            .order((tenant_labels::tenant_id, tenant_labels::label))
            .select((tenant_labels::tenant_id, tenant_labels::label))
            .load(conn)
            .await?;
        let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, label) in rows {
            labels.entry(id).or_default().push(label);
        }
        Ok(labels)
    }

    /// The labels of one tenant, sorted.
    pub async fn labels(&self, conn: &mut AsyncPgConnection) -> QueryResult<Vec<String>> {
        Ok(Self::labels_of(conn, &[self.id])
            .await?
            .remove(&self.id)
            .unwrap_or_default())
    }

    /// Makes `labels` the tenant's labels (the caller holds the tenant locked).
    pub async fn set_labels(
        conn: &mut AsyncPgConnection,
        id: i64,
        labels: &[String],
    ) -> QueryResult<()> {
        diesel::delete(
            tenant_labels::table
                .filter(tenant_labels::tenant_id.eq(id))
                .filter(tenant_labels::label.ne_all(labels.to_vec())),
        )
        .execute(conn)
        .await?;
        let rows: Vec<_> = labels
            .iter()
            .map(|l| (tenant_labels::tenant_id.eq(id), tenant_labels::label.eq(l)))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        diesel::insert_into(tenant_labels::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    }
}
