//! The usage statistics' reads: per tenant and month of a subtree (the tenants a
//! reader may see), the tenant's own counts and its subtree's, as the stats page,
//! its CSV export, its printable page and the API read them.
//!
//! The subtree columns are maintained by ingestion and moves (migration `usage`), so
//! a row is read by key and nothing is summed per request: the tenants come from
//! `tenant_paths` (GIN on the path), their months from `usage_monthly` by primary key
//! (tenant_id, month), and an ordered page stops after its rows. Only tenant-months
//! with usage somewhere in the tenant's subtree have a row. A tenant the reader may
//! not see, or whose cap takes Usage away, is never a row; its usage is in the
//! subtree totals of the tenants above it, which the reader reads.
//!
//! Raw SQL: the sort and the keyset predicate are chosen per request from a fixed
//! set (never from input text), and array operators on paths and a lateral join have
//! no DSL form.

use crate::db::models::Visibility;
use crate::domain::stats::{Period, RowCursor, StatsSort};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The stats page counts its rows exactly up to this many, then says "more than".
pub const COUNT_CAP: i64 = 10_000;

/// One tenant's month.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct StatsRow {
    #[diesel(sql_type = BigInt)]
    pub tenant_id: i64,
    #[diesel(sql_type = Text)]
    pub subdomain: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub parent_id: Option<i64>,
    /// The month's first day.
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    /// The tenant's own counts.
    #[diesel(sql_type = BigInt)]
    pub queries: i64,
    #[diesel(sql_type = BigInt)]
    pub blocked: i64,
    /// Its own and every descendant's (deleted ones included).
    #[diesel(sql_type = BigInt)]
    pub subtree_queries: i64,
    #[diesel(sql_type = BigInt)]
    pub subtree_blocked: i64,
    /// The tenant's monthly query quota now.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub quota: Option<i64>,
    /// `lower(name)`, the name sort's key (for keyset cursors).
    #[diesel(sql_type = Text)]
    pub sort_name: String,
    /// Ids from the root down to the tenant (who may see its parent).
    #[diesel(sql_type = Array<BigInt>)]
    pub path: Vec<i64>,
}

impl StatsRow {
    /// Where a keyset read goes on after this row.
    pub fn cursor(&self) -> RowCursor {
        RowCursor {
            tenant_id: self.tenant_id,
            month: self.month,
            queries: self.queries,
            subtree_queries: self.subtree_queries,
            subdomain: self.subdomain.clone(),
            sort_name: self.sort_name.clone(),
        }
    }
}

/// Which rows: the subtree of `root`, the tenants of it `visibility` lets the
/// reader see (already narrowed to the subtree: `Visibility::below`) but those
/// capped by one of `capped_roles` (never the root), the months of `period`, in
/// `sort` order.
#[derive(Clone, Debug)]
pub struct StatsQuery {
    pub root: i64,
    pub visibility: Visibility,
    /// Tenant roles whose cap takes Usage away (`authz::subtree_reading`), usually
    /// none: then the statements carry no clause for them.
    pub capped_roles: Vec<i64>,
    pub period: Period,
    pub sort: StatsSort,
    pub descending: bool,
}

/// The per-month subtree totals of the root: the chart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthTotal {
    pub month: NaiveDate,
    pub queries: i64,
    pub blocked: i64,
}

/// One page of rows with the capped count and the chart, read in one statement.
#[derive(Clone, Debug, Default)]
pub struct StatsPage {
    pub rows: Vec<StatsRow>,
    /// Matching rows, counted up to `COUNT_CAP + 1`.
    pub total: i64,
    pub chart: Vec<MonthTotal>,
}

/// `quota` is the effective one: own, else the plan's (`effective_limit!`).
const COLUMNS: &str = concat!(
    "t.id AS tenant_id, t.subdomain, t.name, t.parent_id, u.month, \
     u.queries, u.blocked, u.subtree_queries, u.subtree_blocked, ",
    crate::effective_limit!("t", "monthly_query_quota"),
    " AS quota, lower(t.name) AS sort_name, p.path"
);

/// `FROM … WHERE …` of every read: $1 root, $2–$3 the months, $4 "sees every
/// tenant here", $5 the reader's subtree roots, $6 their single tenants (and
/// [`CAPPED`] on $7 after it when a cap takes Usage away).
const FROM: &str = "FROM tenant_paths p \
     JOIN tenants t ON t.id = p.tenant_id \
     JOIN usage_monthly u ON u.tenant_id = p.tenant_id AND u.month BETWEEN $2 AND $3 \
     WHERE p.path @> ARRAY[$1::bigint] \
       AND ($4 OR p.path && $5::bigint[] OR p.tenant_id = ANY($6::bigint[]))";

/// "Not capped by one of the roles $7" (the root never is), a filter on the
/// tenant row already joined.
const CAPPED: &str = " AND (t.parent_id IS NULL OR t.tenant_role_id <> ALL($7::bigint[]))";

/// Subtrees up to this many tenants are read whole and sorted; larger ones are read
/// in the order of an index (migration `usage_stats`) and stop after the page. The
/// planner cannot tell the two apart (a rare id in `path @>` is estimated like a
/// common one), so the choice is made on the maintained exact count instead: both
/// branches are in the statement, each behind a one-time filter on it.
pub const SMALL_SUBTREE: i64 = 2_000;

impl StatsQuery {
    /// `FROM` with [`CAPPED`] when some cap takes Usage away.
    fn from(&self) -> String {
        if self.capped_roles.is_empty() {
            FROM.to_string()
        } else {
            format!("{FROM}{CAPPED}")
        }
    }

    /// The order's keys, as expressions over `t` and `u`; one direction for all.
    fn keys(&self) -> &'static [&'static str] {
        match self.sort {
            StatsSort::Name => &["lower(t.name)", "t.id", "u.month"],
            StatsSort::Subdomain => &["t.subdomain", "u.month"],
            StatsSort::Queries => &["u.queries", "t.id", "u.month"],
            StatsSort::SubtreeQueries => &["u.subtree_queries", "t.id", "u.month"],
            StatsSort::Month => &["u.month", "t.id"],
        }
    }

    fn dir(&self) -> &'static str {
        if self.descending {
            "DESC"
        } else {
            "ASC"
        }
    }

    /// `ORDER BY` over the key expressions; `indexed: false` wraps each in a no-op
    /// (`|| ''`, `+ 0`) so that no index matches and the rows are sorted.
    fn order_by_keys(&self, indexed: bool) -> String {
        self.keys()
            .iter()
            .map(|k| {
                let text = k.contains("name") || k.contains("subdomain");
                match (indexed, text) {
                    (true, _) => format!("{k} {}", self.dir()),
                    (false, true) => format!("({k} || '') {}", self.dir()),
                    (false, false) => format!("({k} + 0) {}", self.dir()),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The same order over the output columns of `COLUMNS`, qualified by `prefix`.
    fn order_by(&self, prefix: &str) -> String {
        self.keys()
            .iter()
            .map(|k| {
                let column = match *k {
                    "lower(t.name)" => "sort_name",
                    "t.id" => "tenant_id",
                    other => other.trim_start_matches("t.").trim_start_matches("u."),
                };
                format!("{prefix}{column} {}", self.dir())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// "After the cursor's row" in this order: the keys against binds $8–$13
    /// (tenant id, month, queries, subtree queries, subdomain, lower(name)).
    fn after(&self) -> String {
        let bind = |k: &str| match k {
            "lower(t.name)" => "$13",
            "t.id" => "$8",
            "u.month" => "$9",
            "u.queries" => "$10",
            "u.subtree_queries" => "$11",
            _ => "$12",
        };
        let keys = self.keys();
        let op = if self.descending { "<" } else { ">" };
        let row = |keys: &[&str]| {
            (
                keys.join(", "),
                keys.iter().map(|k| bind(k)).collect::<Vec<_>>().join(", "),
            )
        };
        let (all, all_binds) = row(keys);
        // The same bound on the leading keys of one table, implied by the full one:
        // a row comparison over `t` and `u` together is only a filter, and the index
        // walk then started at the first row of the order for every chunk (each chunk
        // of an export read past all the chunks before it again).
        let table = |k: &str| k.starts_with("u.");
        let lead = keys
            .iter()
            .take_while(|k| table(k) == table(keys[0]))
            .count();
        let (first, first_binds) = row(&keys[..lead]);
        format!("({all}) {op} ({all_binds}) AND ({first}) {op}= ({first_binds})")
    }

    /// The rows matching `FROM` and `extra`, ordered, `limit` and `offset` applied:
    /// the index-ordered branch for a large subtree, the sorted one for a small.
    fn ordered(&self, extra: &str, limit: i64, offset: i64) -> String {
        let branch = |indexed: bool| {
            format!(
                "(SELECT {COLUMNS} {from} AND {extra} \
                 AND (SELECT tenant_count FROM tenant_subtree_totals WHERE tenant_id = $1) {cmp} {SMALL_SUBTREE} \
                 ORDER BY {order} LIMIT {limit} OFFSET {offset})",
                from = self.from(),
                cmp = if indexed { ">" } else { "<=" },
                order = self.order_by_keys(indexed),
                limit = limit.max(0),
                offset = offset.max(0),
            )
        };
        format!("{} UNION ALL {}", branch(true), branch(false))
    }

    /// `sql` with binds $1–$7 (see `FROM`; $7 is bound even where no clause reads it,
    /// so that the cursor's binds keep their numbers).
    fn bound(
        &self,
        sql: String,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        diesel::pg::Pg,
        diesel::query_builder::SqlQuery,
    > {
        let (all, roots, singles) = match &self.visibility {
            Visibility::All => (true, Vec::new(), Vec::new()),
            Visibility::Within {
                subtree_roots,
                tenants,
            } => (false, subtree_roots.clone(), tenants.clone()),
        };
        diesel::sql_query(sql)
            .into_boxed()
            .bind::<BigInt, _>(self.root)
            .bind::<Date, _>(self.period.from.first_day())
            .bind::<Date, _>(self.period.to.first_day())
            .bind::<Bool, _>(all)
            .bind::<Array<BigInt>, _>(roots)
            .bind::<Array<BigInt>, _>(singles)
            .bind::<Array<BigInt>, _>(self.capped_roles.clone())
    }

    /// Up to `limit` rows after `after` (from the first without it): the export's
    /// and the API's keyset reads.
    pub async fn read(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&RowCursor>,
        limit: i64,
    ) -> QueryResult<Vec<StatsRow>> {
        let keyset = match after {
            Some(_) => self.after(),
            None => "true".to_string(),
        };
        let sql = format!(
            "SELECT * FROM ({}) s ORDER BY {}",
            self.ordered(&keyset, limit, 0),
            self.order_by("s.")
        );
        let query = self.bound(sql);
        let query = match after {
            None => query,
            Some(c) => query
                .bind::<BigInt, _>(c.tenant_id)
                .bind::<Date, _>(c.month)
                .bind::<BigInt, _>(c.queries)
                .bind::<BigInt, _>(c.subtree_queries)
                .bind::<Text, _>(c.subdomain.clone())
                .bind::<Text, _>(c.sort_name.clone()),
        };
        query.load(conn).await
    }

    /// Every matching row in this order, in one statement whose rows arrive as
    /// PostgreSQL sends them (the CSV download): no `LIMIT`, so the planner picks
    /// the whole set's plan (joins and one sort, as `COPY` of the same query does)
    /// rather than a walk of the order's index that pays per row. Rows are read from
    /// the connection only as fast as the stream is polled.
    pub async fn stream<'c>(
        &self,
        conn: &'c mut AsyncPgConnection,
    ) -> QueryResult<impl futures_util::Stream<Item = QueryResult<StatsRow>> + Send + 'c> {
        let sql = format!(
            "SELECT {COLUMNS} {from} ORDER BY {order}",
            from = self.from(),
            order = self.order_by_keys(true)
        );
        self.bound(sql).load_stream::<StatsRow>(conn).await
    }

    /// One page (`offset`, `limit`), the capped count of all matching rows, and the
    /// root's monthly subtree totals, in one statement (the page's budget).
    pub async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        offset: i64,
        limit: i64,
    ) -> QueryResult<StatsPage> {
        let sql = format!(
            "SELECT r.*, c.total, ch.months, ch.chart_queries, ch.chart_blocked \
             FROM (SELECT count(*) AS total FROM (SELECT 1 {from} LIMIT {cap}) x) c \
             CROSS JOIN (SELECT coalesce(array_agg(m.month ORDER BY m.month), '{{}}') AS months, \
                 coalesce(array_agg(m.subtree_queries ORDER BY m.month), '{{}}') AS chart_queries, \
                 coalesce(array_agg(m.subtree_blocked ORDER BY m.month), '{{}}') AS chart_blocked \
                 FROM usage_monthly m \
                 WHERE m.tenant_id = $1 AND m.month BETWEEN $2 AND $3) ch \
             LEFT JOIN LATERAL ({rows}) r ON true \
             ORDER BY {outer}",
            from = self.from(),
            cap = COUNT_CAP + 1,
            rows = self.ordered("true", limit, offset),
            outer = self.order_by("r."),
        );
        let found: Vec<PageSqlRow> = self.bound(sql).load(conn).await?;
        let mut page = StatsPage::default();
        if let Some(first) = <[PageSqlRow]>::first(&found) {
            page.total = first.total;
            page.chart = first
                .months
                .iter()
                .zip(&first.chart_queries)
                .zip(&first.chart_blocked)
                .map(|((month, queries), blocked)| MonthTotal {
                    month: *month,
                    queries: *queries,
                    blocked: *blocked,
                })
                .collect();
        }
        page.rows = found.into_iter().filter_map(PageSqlRow::row).collect();
        Ok(page)
    }
}

/// A row of `page`'s statement: one page row (absent when the page is empty) with
/// the count and the chart repeated.
#[derive(QueryableByName)]
struct PageSqlRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    tenant_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    subdomain: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    parent_id: Option<i64>,
    #[diesel(sql_type = Nullable<Date>)]
    month: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<BigInt>)]
    queries: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    blocked: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    subtree_queries: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    subtree_blocked: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    quota: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    sort_name: Option<String>,
    #[diesel(sql_type = Nullable<Array<BigInt>>)]
    path: Option<Vec<i64>>,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = Array<Date>)]
    months: Vec<NaiveDate>,
    #[diesel(sql_type = Array<BigInt>)]
    chart_queries: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    chart_blocked: Vec<i64>,
}

impl PageSqlRow {
    fn row(self) -> Option<StatsRow> {
        Some(StatsRow {
            tenant_id: self.tenant_id?,
            subdomain: self.subdomain?,
            name: self.name?,
            parent_id: self.parent_id,
            month: self.month?,
            queries: self.queries?,
            blocked: self.blocked?,
            subtree_queries: self.subtree_queries?,
            subtree_blocked: self.subtree_blocked?,
            quota: self.quota,
            sort_name: self.sort_name?,
            path: self.path?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::Month;

    /// Prints a statement for EXPLAIN by hand: `cargo test --lib print_stats_sql -- --nocapture --ignored`.
    #[test]
    #[ignore]
    fn print_stats_sql() {
        let sort = match std::env::var("SORT").as_deref() {
            Ok(s) => StatsSort::parse(s).unwrap_or_default(),
            Err(_) => StatsSort::Name,
        };
        let q = query(sort, std::env::var("DESC").is_ok());
        println!("{}", q.ordered("true", 50, 0));
    }

    fn query(sort: StatsSort, descending: bool) -> StatsQuery {
        StatsQuery {
            root: 1,
            visibility: Visibility::All,
            capped_roles: Vec::new(),
            period: Period {
                from: Month::parse("2026-01").unwrap(),
                to: Month::parse("2026-12").unwrap(),
            },
            sort,
            descending,
        }
    }

    /// The keyset bound repeats its leading keys of one table on their own, so that
    /// an index on them starts the walk at the cursor (not at the order's start).
    #[test]
    fn the_keyset_bound_starts_an_index_walk_at_the_cursor() {
        for (sort, descending, bound) in [
            (StatsSort::Name, false, "(lower(t.name), t.id, u.month) > ($13, $8, $9) AND (lower(t.name), t.id) >= ($13, $8)"),
            (StatsSort::Queries, true, "(u.queries, t.id, u.month) < ($10, $8, $9) AND (u.queries) <= ($10)"),
            (StatsSort::Month, false, "(u.month, t.id) > ($9, $8) AND (u.month) >= ($9)"),
            (StatsSort::Subdomain, true, "(t.subdomain, u.month) < ($12, $9) AND (t.subdomain) <= ($12)"),
        ] {
            assert_eq!(query(sort, descending).after(), bound);
        }
    }
}
