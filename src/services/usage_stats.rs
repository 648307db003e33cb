//! Usage statistics as the stats page, its CSV export, its printable page and the
//! API read them: per tenant and month of a subtree, for the tenants the reader may
//! see, with the right to read usage decided once.

use crate::auth::{authz, Principal};
use crate::db::models::usage_stats::{StatsPage, StatsQuery, StatsRow};
use crate::db::models::Tenant;
use crate::domain::stats::{Month, Period, RowCursor, StatsSort};
use crate::domain::Feature;
use crate::error::AppError;
use diesel_async::AsyncPgConnection;
use futures_util::StreamExt;

/// Rows per page of the stats page.
pub const PAGE_SIZE: i64 = 50;

/// Rows per chunk of the CSV download (one statement, sent in chunks as its rows
/// arrive) and per statement of a report's keyset reads: few enough that a chunk is a
/// few megabytes whatever the export's size, enough that a keyset statement's fixed
/// cost is small beside its rows (docs/PERFORMANCE.md).
pub const EXPORT_CHUNK: i64 = 5_000;

/// Most rows the printable page shows (a document past this is the CSV's job).
pub const PRINT_CAP: i64 = 2_000;

/// The right to read a tenant's usage statistics, decided once: a reader exists
/// only when `authz` allowed it (Usage read on the tenant; 403 without), so the
/// export's later chunks need no second decision. Its rows are the tenant's and
/// those of every tenant below it whose own statistics the principal could open
/// (`authz::subtree_reading`: seen, and Usage not capped away), never others.
#[derive(Clone, Debug)]
pub struct StatsReader {
    query: StatsQuery,
    /// Who reads: whose parent ids the rows may show.
    reader: Principal,
}

impl StatsReader {
    pub fn new(
        p: &Principal,
        tenant: &Tenant,
        period: Period,
        sort: StatsSort,
        descending: bool,
    ) -> Result<Self, AppError> {
        authz::require_usage(p, tenant)?;
        let reading = authz::subtree_reading(p, tenant, Feature::Usage);
        Ok(StatsReader {
            query: StatsQuery {
                root: tenant.id,
                visibility: reading.visibility,
                capped_roles: reading.capped_roles,
                period,
                sort,
                descending,
            },
            reader: p.clone(),
        })
    }

    /// One page of rows (from `offset`), their capped count, and the tenant's
    /// subtree totals per month (the chart), in one statement.
    pub async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        offset: i64,
        limit: i64,
    ) -> Result<StatsPage, AppError> {
        let mut page = self.query.page(conn, offset, limit).await?;
        page.rows = page.rows.into_iter().map(|r| self.redact(r)).collect();
        Ok(page)
    }

    /// The row as the reader may read it: the parent's id only when they may see
    /// the parent (the page's tenant's parent often lies above their reach).
    fn redact(&self, mut row: StatsRow) -> StatsRow {
        let above = &row.path[..row.path.len().saturating_sub(1)];
        if above.is_empty() || !authz::can_see_path(&self.reader, above) {
            row.parent_id = None;
        }
        row
    }

    /// Every row, in the export's order, sent to `out` in batches of `EXPORT_CHUNK`
    /// as one statement's rows arrive (the CSV download). Stops early when `out` is
    /// closed (the client went away); a failed read is sent as the last item.
    pub async fn export(
        &self,
        conn: &mut AsyncPgConnection,
        out: tokio::sync::mpsc::Sender<Result<Vec<StatsRow>, AppError>>,
    ) {
        let chunk = usize::try_from(EXPORT_CHUNK).unwrap_or(1);
        let mut rows = match self.query.stream(conn).await {
            Ok(rows) => std::pin::pin!(rows),
            Err(e) => {
                let _ = out.send(Err(e.into())).await;
                return;
            }
        };
        let mut batch = Vec::with_capacity(chunk);
        while let Some(row) = rows.next().await {
            match row {
                Ok(row) => batch.push(self.redact(row)),
                Err(e) => {
                    let _ = out.send(Err(e.into())).await;
                    return;
                }
            }
            if batch.len() == chunk
                && out
                    .send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(chunk))))
                    .await
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = out.send(Ok(batch)).await;
        }
    }

    /// Every row, in the export's order, read `EXPORT_CHUNK` at a time (a report
    /// attachment; the download streams instead).
    pub async fn read_all(&self, conn: &mut AsyncPgConnection) -> Result<Vec<StatsRow>, AppError> {
        let mut all = Vec::new();
        let mut after: Option<RowCursor> = None;
        loop {
            let (rows, next) = self.read(conn, after.as_ref(), EXPORT_CHUNK).await?;
            all.extend(rows);
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// Up to `limit` rows after `after`, and where to read on when more follow.
    pub async fn read(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&RowCursor>,
        limit: i64,
    ) -> Result<(Vec<StatsRow>, Option<RowCursor>), AppError> {
        let mut rows = self.query.read(conn, after, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next = if more {
            rows.last().map(StatsRow::cursor)
        } else {
            None
        };
        Ok((rows.into_iter().map(|r| self.redact(r)).collect(), next))
    }
}

/// The CSV export's columns (docs/API.md), of the download and the monthly report.
pub const CSV_HEADER: [&str; 10] = [
    "tenant_id",
    "subdomain",
    "name",
    "parent_id",
    "month",
    "queries",
    "blocked",
    "subtree_queries",
    "subtree_blocked",
    "quota",
];

/// One row's cells, in [`CSV_HEADER`]'s order.
pub fn row_cells(r: &StatsRow) -> Vec<String> {
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    vec![
        r.tenant_id.to_string(),
        r.subdomain.clone(),
        r.name.clone(),
        opt(r.parent_id),
        Month::of(r.month).text(),
        r.queries.to_string(),
        r.blocked.to_string(),
        r.subtree_queries.to_string(),
        r.subtree_blocked.to_string(),
        opt(r.quota),
    ]
}
