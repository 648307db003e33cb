//! A tenant's usage statistics: per tenant (it and every sub-tenant the user may see)
//! and month, own and subtree queries and blocked queries, with quota use, a bar
//! chart of the months; as a page, a streamed CSV file and a printable page.

use crate::auth::{authz, CurrentUser};
use crate::db::models::usage_stats::{MonthTotal, StatsRow, COUNT_CAP};
use crate::db::models::Tenant;
use crate::domain::stats::{
    grouped, quota_level, quota_percent_text, Month, Period, QuotaLevel, StatsSort,
};
use crate::error::{AppError, FieldErrors};
use crate::services::usage_stats::{row_cells, StatsReader, CSV_HEADER, PAGE_SIZE, PRINT_CAP};
use crate::web::csv_export;
use crate::web::extract::{with_path_tenant, Query};
use crate::web::form;
use crate::web::page::{render_checked, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/stats" => index),
        route!(GET "/tenants/{id}/stats.csv" => export),
        route!(GET "/tenants/{id}/stats/print" => print),
    ]
}

/// The query of the page, the export and the printable page, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatsParams {
    pub from: String,
    pub to: String,
    pub sort: String,
    pub dir: String,
    pub page: String,
}

impl StatsParams {
    fn sort(&self) -> StatsSort {
        StatsSort::parse(&self.sort).unwrap_or_default()
    }

    fn descending(&self) -> bool {
        self.dir.trim() == "desc"
    }

    /// The period, sort and direction as a query string (the period as typed, so a
    /// link keeps what the user asked for), with `page` when given.
    fn query(&self, sort: StatsSort, descending: bool, page: Option<i64>) -> String {
        let page = page.map(|p| p.to_string()).unwrap_or_default();
        let pairs: Vec<(&str, &str)> = [
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            (
                "sort",
                if sort == StatsSort::Name {
                    ""
                } else {
                    sort.as_str()
                },
            ),
            ("dir", if descending { "desc" } else { "" }),
            ("page", page.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// `base?query`, or `base` alone.
fn link(base: &str, query: &str) -> String {
    if query.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{query}")
    }
}

/// What every view starts from: the tenant (404 unless visible), the right to read
/// its usage (403), and the period (or its field errors).
struct Start {
    conn: crate::db::DbConn,
    tenant: Tenant,
    params: StatsParams,
    period: Result<Period, FieldErrors>,
    reader: StatsReader,
    /// `/tenants/{id}/stats`, and the period and order as a query string: what the
    /// views' links are made of.
    base: String,
    filters: String,
}

async fn start(
    user: &CurrentUser,
    state: &AppState,
    path: &str,
    params: Query<StatsParams>,
) -> Result<Start, AppError> {
    let params = params.into_inner();
    let (conn, tenant) = with_path_tenant(user, state, path).await?;
    // The order as the links send it; anything else names the parameter. The page
    // number is the page's alone (`index`): the CSV and the print page hold every
    // row, so they ignore `page` (and `per_page`) whatever it says.
    let sorts = StatsSort::ALL.map(|k| (k.as_str(), k));
    form::one_of("sort", &params.sort, &sorts)?;
    form::dir_param(&params.dir)?;
    let today = state.clock.now().date_naive();
    let period = Period::parse(&params.from, &params.to, today);
    let reader = StatsReader::new(
        user,
        &tenant,
        period
            .clone()
            .unwrap_or_else(|_| Period::default_for(today)),
        params.sort(),
        params.descending(),
    )?;
    Ok(Start {
        conn,
        base: format!("/tenants/{}/stats", tenant.id),
        filters: params.query(params.sort(), params.descending(), None),
        tenant,
        params,
        period,
        reader,
    })
}

/// "January 2026".
fn month_name(day: chrono::NaiveDate) -> String {
    day.format("%B %Y").to_string()
}

/// One row as the pages show it.
pub struct RowView {
    pub tenant_id: i64,
    pub name: String,
    pub subdomain: String,
    /// `YYYY-MM`.
    pub month: String,
    pub queries: String,
    pub blocked: String,
    pub subtree_queries: String,
    pub subtree_blocked: String,
    /// "85 % of 1,000", or empty without a quota.
    pub quota: String,
    /// `quota-near` from 80 %, `quota-over` from 100 % (the quota reached exactly,
    /// or passed), with `quota_note` in words.
    pub quota_class: &'static str,
    pub quota_note: &'static str,
    /// The page's own tenant (its subtree is the whole report).
    pub is_root: bool,
}

/// A tenant's quota use as the pages show it (the statistics, a plan's tenants).
pub struct QuotaUse {
    /// "85 % of 1,000", or empty without a quota.
    pub text: String,
    /// `quota-near` from 80 %, `quota-over` from 100 % (the quota reached exactly,
    /// or passed), with `note` in words.
    pub class: &'static str,
    pub note: &'static str,
}

impl QuotaUse {
    pub fn new(queries: i64, quota: Option<i64>) -> Self {
        let text = match quota.map(|q| (q, quota_percent_text(queries, q))) {
            None => String::new(),
            Some((q, Some(pct))) => format!("{pct} of {}", grouped(q)),
            Some((q, None)) => format!("over the quota of {}", grouped(q)),
        };
        let (class, note) = match quota_level(queries, quota) {
            QuotaLevel::Normal => ("", ""),
            QuotaLevel::Near => ("quota-near", "near the quota"),
            QuotaLevel::Reached => ("quota-over", "quota reached"),
            QuotaLevel::Over => ("quota-over", "over the quota"),
        };
        QuotaUse { text, class, note }
    }
}

impl RowView {
    fn new(row: &StatsRow, root: i64) -> Self {
        let QuotaUse {
            text: quota,
            class: quota_class,
            note: quota_note,
        } = QuotaUse::new(row.queries, row.quota);
        RowView {
            tenant_id: row.tenant_id,
            name: row.name.clone(),
            subdomain: row.subdomain.clone(),
            month: Month::of(row.month).text(),
            queries: grouped(row.queries),
            blocked: grouped(row.blocked),
            subtree_queries: grouped(row.subtree_queries),
            subtree_blocked: grouped(row.subtree_blocked),
            quota,
            quota_class,
            quota_note,
            is_root: row.tenant_id == root,
        }
    }
}

/// One bar of the chart, in the SVG's coordinates.
pub struct Bar {
    pub label: String,
    pub title: String,
    pub x: i64,
    pub width: i64,
    pub queries_y: i64,
    pub queries_height: i64,
    pub blocked_y: i64,
    pub blocked_height: i64,
    pub label_x: i64,
}

/// The chart: the tenant's subtree queries (and blocked queries) per month of the
/// period, zero where there was no usage; server-rendered SVG.
pub struct Chart {
    pub title: String,
    pub desc: String,
    pub bars: Vec<Bar>,
    pub max: String,
    pub width: i64,
    pub height: i64,
    /// The baseline's y.
    pub base: i64,
}

const CHART_HEIGHT: i64 = 220;
const CHART_TOP: i64 = 20;
const CHART_BASE: i64 = 180;
const CHART_LEFT: i64 = 10;
const SLOT: i64 = 40;

impl Chart {
    fn new(tenant: &Tenant, period: &Period, totals: &[MonthTotal]) -> Self {
        let months = period.each();
        let value = |m: &Month| {
            totals
                .iter()
                .find(|t| t.month == m.first_day())
                .map_or((0, 0), |t| (t.queries, t.blocked))
        };
        let max = months.iter().map(|m| value(m).0).max().unwrap_or(0);
        let scale = |n: i64| {
            if max == 0 {
                0
            } else {
                i64::try_from(i128::from(n) * i128::from(CHART_BASE - CHART_TOP) / i128::from(max))
                    .unwrap_or(0)
            }
        };
        let mut desc = Vec::new();
        let bars = months
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (queries, blocked) = value(m);
                let (qh, bh) = (scale(queries), scale(blocked));
                let x = CHART_LEFT + i as i64 * SLOT + 6;
                let title = format!(
                    "{}: {} queries, {} blocked",
                    month_name(m.first_day()),
                    grouped(queries),
                    grouped(blocked)
                );
                desc.push(title.clone());
                Bar {
                    label: m.first_day().format("%b %y").to_string(),
                    title,
                    x,
                    width: SLOT - 12,
                    queries_y: CHART_BASE - qh,
                    queries_height: qh,
                    blocked_y: CHART_BASE - bh,
                    blocked_height: bh,
                    label_x: x + (SLOT - 12) / 2,
                }
            })
            .collect::<Vec<_>>();
        Chart {
            title: format!(
                "Queries per month of {} and its sub-tenants, {}",
                tenant.name,
                period.title()
            ),
            desc: format!("{}.", desc.join("; ")),
            width: CHART_LEFT * 2 + bars.len() as i64 * SLOT,
            height: CHART_HEIGHT,
            base: CHART_BASE,
            max: grouped(max),
            bars,
        }
    }
}

/// A sortable column heading.
pub struct Column {
    pub label: &'static str,
    pub href: String,
    /// `ascending`/`descending` when the rows are sorted by it (aria-sort).
    pub sorted: &'static str,
    pub numeric: bool,
}

#[derive(Template)]
#[template(path = "stats/index.html", blocks = ["content"])]
struct StatsPageView {
    page: PageCtx,
    tenant: Tenant,
    params: StatsParams,
    errors: FieldErrors,
    period_title: String,
    rows: Vec<RowView>,
    chart: Option<Chart>,
    columns: Vec<Column>,
    total: i64,
    capped: bool,
    page_no: i64,
    pages: i64,
    base: String,
    sort: StatsSort,
    descending: bool,
    csv: String,
    print: String,
    /// The monthly report form is offered (Owners).
    may_subscribe: bool,
    report_form: crate::web::reports::ReportForm,
    report_errors: FieldErrors,
    report_days: Vec<i16>,
}

impl StatsPageView {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    pub fn page_href(&self, page: i64) -> String {
        link(
            &self.base,
            &self.params.query(self.sort, self.descending, Some(page)),
        )
    }

    fn total_text(&self) -> String {
        if self.capped {
            format!("more than {}", grouped(COUNT_CAP))
        } else {
            grouped(self.total)
        }
    }
}

fn columns(params: &StatsParams, base: &str) -> Vec<Column> {
    let (sort, descending) = (params.sort(), params.descending());
    [
        ("Tenant", StatsSort::Name, false),
        ("Subdomain", StatsSort::Subdomain, false),
        ("Month", StatsSort::Month, false),
        ("Queries", StatsSort::Queries, true),
        ("Subtree queries", StatsSort::SubtreeQueries, true),
    ]
    .into_iter()
    .map(|(label, key, numeric)| {
        let current = sort == key;
        Column {
            label,
            href: link(base, &params.query(key, current && !descending, None)),
            sorted: match (current, descending) {
                (false, _) => "",
                (true, false) => "ascending",
                (true, true) => "descending",
            },
            numeric,
        }
    })
    .collect()
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<StatsParams>,
) -> Result<HttpResponse, AppError> {
    let Start {
        mut conn,
        tenant,
        params,
        period,
        reader,
        base,
        filters,
    } = start(&user, &state, &path, params).await?;
    let page_no = form::page_param(&params.page)?;
    let (errors, data, period_title) = match &period {
        Ok(period) => {
            let mut data = reader
                .page(&mut conn, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)
                .await?;
            let last = ((data.total.min(COUNT_CAP) + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
            // A page past the end (an old link) shows the last one.
            if data.rows.is_empty() && page_no > last && data.total <= COUNT_CAP {
                data = reader
                    .page(&mut conn, (last - 1) * PAGE_SIZE, PAGE_SIZE)
                    .await?;
            }
            (FieldErrors::new(), Some((data, *period)), period.title())
        }
        Err(errors) => (errors.clone(), None, String::new()),
    };
    let (rows, chart, total) = match &data {
        Some((data, period)) => (
            data.rows
                .iter()
                .map(|r| RowView::new(r, tenant.id))
                .collect(),
            Some(Chart::new(&tenant, period, &data.chart)),
            data.total,
        ),
        None => (Vec::new(), None, 0),
    };
    let capped = total > COUNT_CAP;
    let pages = if capped {
        page_no + i64::from(rows.len() as i64 == PAGE_SIZE)
    } else {
        ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
    };
    let view = StatsPageView {
        page: PageCtx::new(&user, &mut conn, "stats").await?,
        columns: columns(&params, &base),
        csv: link(&format!("{base}.csv"), &filters),
        print: link(&format!("{base}/print"), &filters),
        may_subscribe: authz::can_subscribe_reports(&user, &tenant),
        report_form: Default::default(),
        report_errors: FieldErrors::new(),
        report_days: crate::web::reports::report_days(),
        sort: params.sort(),
        descending: params.descending(),
        page_no: page_no.min(pages),
        pages,
        total,
        capped,
        rows,
        chart,
        period_title,
        base,
        errors,
        params,
        tenant,
    };
    render_checked(&view, &view.errors)
}

// ---------------------------------------------------------------- CSV

/// `/tenants/{id}/stats.csv`: every row the page shows over all its pages, in its
/// order, streamed in chunks of `EXPORT_CHUNK` rows read by keyset. A period that is
/// not valid is refused (the page's links never make one).
async fn export(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<StatsParams>,
) -> Result<HttpResponse, AppError> {
    let Start {
        mut conn,
        tenant,
        period,
        reader,
        ..
    } = start(&user, &state, &path, params).await?;
    let period = period.map_err(AppError::Validation)?;
    let filename = format!(
        "usage-{}-{}-{}.csv",
        tenant.subdomain,
        period.from.text(),
        period.to.text()
    );
    // Two batches in flight: the statement's next rows are read while the last are
    // formatted and sent, and memory stays a few chunks whatever the rows.
    let (batches, received) = tokio::sync::mpsc::channel(2);
    actix_web::rt::spawn(async move { reader.export(&mut conn, batches).await });
    Ok(csv_export::download_batches(
        &filename,
        &CSV_HEADER,
        row_cells,
        received,
    ))
}

// ---------------------------------------------------------------- print

#[derive(Template)]
#[template(path = "stats/print.html")]
struct PrintView {
    tenant: Tenant,
    period_title: String,
    errors: FieldErrors,
    rows: Vec<RowView>,
    /// Some row has a quota: else the quota column is left out (paper is scarce).
    any_quota: bool,
    chart: Option<Chart>,
    /// More rows matched than the page shows (`PRINT_CAP`).
    cut: bool,
    cap: String,
    printed_by: String,
    printed_at: String,
    back: String,
    csv: String,
    /// The effective branding of the tenant the usage is of.
    brand: crate::db::models::branding::Brand,
}

/// `/tenants/{id}/stats/print`: the same rows on one document made for paper (all
/// of them up to `PRINT_CAP`, then a note pointing to the CSV file).
async fn print(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<StatsParams>,
) -> Result<HttpResponse, AppError> {
    let mut s = start(&user, &state, &path, params).await?;
    let tenant = s.tenant;
    let (errors, rows, chart, cut, period_title) = match &s.period {
        Ok(period) => {
            let data = s.reader.page(&mut s.conn, 0, PRINT_CAP).await?;
            let rows: Vec<RowView> = data
                .rows
                .iter()
                .map(|r| RowView::new(r, tenant.id))
                .collect();
            (
                FieldErrors::new(),
                rows,
                Some(Chart::new(&tenant, period, &data.chart)),
                data.total > PRINT_CAP,
                period.title(),
            )
        }
        Err(errors) => (errors.clone(), Vec::new(), None, false, String::new()),
    };
    let brand = crate::web::branding::brand_of(&user, &mut s.conn, tenant.id).await?;
    let view = PrintView {
        brand,
        printed_by: user.login(),
        printed_at: state.clock.now().format("%Y-%m-%d %H:%M UTC").to_string(),
        back: link(&s.base, &s.filters),
        csv: link(&format!("{}.csv", s.base), &s.filters),
        cap: grouped(PRINT_CAP),
        tenant,
        period_title,
        any_quota: rows.iter().any(|r| !r.quota.is_empty()),
        rows,
        chart,
        cut,
        errors,
    };
    render_checked(&view, &view.errors)
}
