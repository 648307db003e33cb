//! The tenant list: filter, sort and page the tenants below the acting one.

use crate::auth::{authz, session_keys, CurrentUser};
use crate::db::models::tenant::{Depth, ListPage, ListQuery, SortKey, TenantFilter, COUNT_CAP};
use crate::db::models::{Tenant, TenantListRow};
use crate::domain::SearchText;
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::tenants::bulk::ActionKind;
use crate::services::tenants::filter::{self, FilterSpec, FilterText};
use crate::web::extract::Query;
use crate::web::form;
use crate::web::page::{render_status, wants_fragment, PageCtx};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub const PER_PAGE_DEFAULT: i64 = 50;
pub const PER_PAGE_MAX: i64 = 200;

#[derive(serde::Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct ListParams {
    pub(super) q: String,
    pub(super) status: String,
    pub(super) kind: String,
    pub(super) parent: String,
    pub(super) within: String,
    pub(super) label: String,
    pub(super) sort: String,
    pub(super) dir: String,
    pub(super) page: String,
    pub(super) per_page: String,
}

/// The bulk bar of the Tenants page (`POST /tenants/bulk`) as last sent: the rows
/// ticked, "all matching", the action's fields and their errors. Empty on a fresh
/// page; kept when the bar's post is refused (422).
#[derive(Clone, Debug, Default)]
pub struct BulkBar {
    pub selected: Vec<i64>,
    pub all: bool,
    pub action: String,
    pub scope: String,
    /// The new parent as typed (its subdomain or name) …
    pub destination: String,
    /// … and as picked (its id).
    pub parent: String,
    pub label: String,
    pub errors: FieldErrors,
}

impl BulkBar {
    pub fn is_selected(&self, id: &i64) -> bool {
        self.selected.contains(id)
    }

    /// The message of a field ("" for none).
    pub fn error(&self, field: &str) -> &str {
        self.errors.get(field).map_or("", String::as_str)
    }

    /// The actions offered, as (value, title).
    pub fn actions(&self) -> Vec<(&'static str, &'static str)> {
        ActionKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.title()))
            .collect()
    }
}

pub struct Column {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
    pub numeric: bool,
}

/// The list and everything its links need.
pub struct TenantList {
    pub rows: Vec<TenantListRow>,
    pub total: i64,
    /// More than `total` match; the exact number was not counted.
    pub capped: bool,
    pub page: i64,
    pub pages: i64,
    pub per_page: i64,
    pub q: String,
    pub sort: &'static str,
    pub dir: &'static str,
    pub within_name: String,
    /// The filter's parameters besides `q`, as the links carry them (empty: unset).
    pub status: String,
    pub kind: String,
    pub parent: String,
    pub within: String,
    pub label: String,
    /// The names of the `parent` and `within` tenants, for the active filters.
    pub parent_name: String,
    /// How many tenants the user may not see: with `parent`, of its children, else
    /// below the list's tenant (a count only).
    pub hidden: i64,
    /// Filter parameters that are not valid (or name no tenant one may see).
    pub errors: FieldErrors,
    /// The rows whose Edit and Disable/Enable actions are offered (`authz::can_edit_row`,
    /// per row: a grant may cover some rows and not others); the action routes decide
    /// each right again. The rows' forms share the CSRF token.
    pub editable: Vec<i64>,
    pub csrf: String,
    /// The bulk bar's state.
    pub bulk: BulkBar,
    /// Whether the bulk bar (and the rows' checkboxes) is offered: the user may
    /// change some listed row (`authz::may_bulk_change`).
    pub bulk_bar: bool,
}

impl TenantList {
    /// The page's parameters, with `changes` over them; empty values are left out.
    fn params(&self, changes: &[(&str, &str)]) -> String {
        let page = self.page.to_string();
        let per_page = self.per_page.to_string();
        let mut params: Vec<(&str, &str)> = vec![
            ("q", &self.q),
            ("status", &self.status),
            ("kind", &self.kind),
            ("parent", &self.parent),
            ("within", &self.within),
            ("label", &self.label),
            ("sort", self.sort),
            ("dir", self.dir),
            ("page", &page),
            ("per_page", &per_page),
        ];
        for (key, value) in changes {
            if let Some(p) = params.iter_mut().find(|(k, _)| k == key) {
                p.1 = value;
            }
        }
        params.retain(|(_, v)| !v.is_empty());
        serde_urlencoded::to_string(params).unwrap_or_default()
    }

    fn href(&self, sort: &str, dir: &str, page: i64) -> String {
        let page = page.to_string();
        format!(
            "/tenants?{}",
            self.params(&[("sort", sort), ("dir", dir), ("page", &page)])
        )
    }

    /// The list with one filter parameter set (empty: removed), from page 1.
    pub fn filter_href(&self, key: &str, value: &str) -> String {
        format!("/tenants?{}", self.params(&[(key, value), ("page", "1")]))
    }

    /// The tenants below `id` (instead of the children of a parent), from page 1.
    pub fn within_href(&self, id: &i64) -> String {
        let id = id.to_string();
        format!(
            "/tenants?{}",
            self.params(&[("within", &id), ("parent", ""), ("page", "1")])
        )
    }

    /// Whether any filter besides the name narrows the list.
    pub fn narrowed(&self) -> bool {
        [
            &self.status,
            &self.kind,
            &self.parent,
            &self.within,
            &self.label,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }

    /// The row forms' way back to this list (`ListReturn`): `return=list` and the
    /// list's parameters.
    pub fn return_fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![("return".to_string(), "list".to_string())];
        for key in LIST_KEYS {
            let value = match key {
                "q" => self.q.clone(),
                "status" => self.status.clone(),
                "kind" => self.kind.clone(),
                "parent" => self.parent.clone(),
                "within" => self.within.clone(),
                "label" => self.label.clone(),
                "sort" => self.sort.to_string(),
                "dir" => self.dir.to_string(),
                "page" => self.page.to_string(),
                _ => self.per_page.to_string(),
            };
            if !value.is_empty() {
                fields.push((key.to_string(), value));
            }
        }
        fields
    }

    /// Are this row's Edit and Disable/Enable actions offered?
    pub fn can_edit(&self, id: &i64) -> bool {
        self.editable.contains(id)
    }

    pub fn page_href(&self, page: i64) -> String {
        self.href(self.sort, self.dir, page)
    }

    pub fn columns(&self) -> Vec<Column> {
        [
            ("Name", "name", false),
            ("Role", "role", false),
            ("Total Instances", "instances", true),
            ("Total Users", "users", true),
            ("Created", "created", false),
        ]
        .into_iter()
        .map(|(label, key, numeric)| {
            let current = self.sort == key;
            let dir = if current && self.dir == "asc" {
                "desc"
            } else {
                "asc"
            };
            Column {
                label,
                href: self.href(key, dir, 1),
                current,
                numeric,
            }
        })
        .collect()
    }
}

impl ListParams {
    /// The order, page, choices and tenant ids asked for, checked as the API checks
    /// its own: a value no link or form of the page sends is a 400 naming the
    /// parameter (empty ones, as a submitted GET form sends them, mean the default).
    pub fn check_query(&self) -> Result<(), AppError> {
        form::one_of("status", &self.status, &[("enabled", ()), ("disabled", ())])?;
        form::one_of("kind", &self.kind, &[("reseller", ()), ("customer", ())])?;
        let sorts = [
            SortKey::Name,
            SortKey::Role,
            SortKey::Instances,
            SortKey::Users,
            SortKey::Created,
        ]
        .map(|k| (k.as_str(), k));
        form::one_of("sort", &self.sort, &sorts)?;
        form::dir_param(&self.dir)?;
        form::page_param(&self.page)?;
        form::count_param("per_page", &self.per_page, PER_PAGE_DEFAULT, PER_PAGE_MAX)?;
        // A tenant id that is not one is a malformed request, as in the API; an id
        // one may not see answers 404 (`selected`), as in a path.
        form::query_id("parent", &self.parent)?;
        form::query_id("within", &self.within)?;
        Ok(())
    }

    /// The filter's parameters as sent.
    pub fn filter_text(&self) -> FilterText<'_> {
        FilterText {
            q: &self.q,
            status: &self.status,
            kind: &self.kind,
            parent: &self.parent,
            within: &self.within,
            label: &self.label,
        }
    }
}

/// The list's parameters, in the order its links carry them.
const LIST_KEYS: [&str; 10] = [
    "q", "status", "kind", "parent", "within", "label", "sort", "dir", "page", "per_page",
];

/// Where a row action of the Tenants page (disable, enable) returns: the list as it
/// was. The row's form sends `return=list` and the list's parameters; only those
/// keys are read, the filter must parse, and the way back is always `/tenants?…`:
/// never a URL taken from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListReturn {
    params: Vec<(String, String)>,
}

impl ListReturn {
    /// The way back a form's fields ask for, if they ask for one.
    pub fn from_fields(fields: &[(String, String)]) -> Option<Self> {
        if !fields.iter().any(|(k, v)| k == "return" && v == "list") {
            return None;
        }
        let value = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map_or("", |(_, v)| v.as_str())
        };
        let sent = ListParams {
            q: value("q").into(),
            status: value("status").into(),
            kind: value("kind").into(),
            parent: value("parent").into(),
            within: value("within").into(),
            label: value("label").into(),
            sort: value("sort").into(),
            dir: value("dir").into(),
            page: value("page").into(),
            per_page: value("per_page").into(),
        };
        // A filter that does not parse is not carried back: the whole list instead.
        let Ok(spec) = filter::parse_filter(sent.filter_text()) else {
            return Some(Self { params: Vec::new() });
        };
        let positive = |v: &str| v.trim().parse::<i64>().ok().filter(|n| *n >= 1);
        let params = [
            ("q", spec.filter.name.clone().unwrap_or_default()),
            ("status", sent.status.trim().to_string()),
            ("kind", sent.kind.trim().to_string()),
            ("parent", sent.parent.trim().to_string()),
            ("within", sent.within.trim().to_string()),
            ("label", sent.label.trim().to_string()),
            (
                "sort",
                SortKey::parse(Some(sent.sort.as_str())).as_str().into(),
            ),
            ("dir", if sent.dir == "desc" { "desc" } else { "" }.into()),
            (
                "page",
                positive(&sent.page)
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            ),
            (
                "per_page",
                positive(&sent.per_page)
                    .map(|n| n.min(PER_PAGE_MAX).to_string())
                    .unwrap_or_default(),
            ),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Some(Self { params })
    }

    /// The list it returns to.
    pub fn href(&self) -> String {
        if self.params.is_empty() {
            return "/tenants".into();
        }
        format!(
            "/tenants?{}",
            serde_urlencoded::to_string(&self.params).unwrap_or_default()
        )
    }

    /// The fields a form sends to return there (a confirmation repeats them).
    pub fn fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![("return".to_string(), "list".to_string())];
        fields.extend(self.params.iter().cloned());
        fields
    }
}

/// The page size asked for, within bounds.
fn per_page(params: &ListParams) -> i64 {
    match params.per_page.trim().parse::<i64>() {
        Ok(n) if n >= 1 => n.min(PER_PAGE_MAX),
        _ => PER_PAGE_DEFAULT,
    }
}

/// Parses list parameters leniently: anything odd falls back to the default (the
/// Tenants page reports a filter that is not valid: see `index`).
pub fn list_query(
    params: &ListParams,
    within: Tenant,
    visibility: crate::db::models::Visibility,
) -> ListQuery {
    let per_page = per_page(params);
    ListQuery {
        within,
        visibility,
        filter: filter::parse_filter(params.filter_text())
            .unwrap_or_default()
            .filter,
        sort: SortKey::parse(Some(params.sort.trim())),
        descending: params.dir.trim() == "desc",
        page: params
            .page
            .trim()
            .parse()
            .unwrap_or(1)
            .clamp(1, form::PAGE_MAX),
        per_page,
    }
}

/// Runs the list query; shared by the Tenants page and the benchmark's bare page.
pub async fn load_list(
    conn: &mut AsyncPgConnection,
    query: ListQuery,
) -> Result<TenantList, AppError> {
    load(conn, query, false).await
}

/// `load_list`, with `count_hidden` also how many tenants below the list's tenant
/// the user may not see (in the list's statement).
async fn load(
    conn: &mut AsyncPgConnection,
    query: ListQuery,
    count_hidden: bool,
) -> Result<TenantList, AppError> {
    let ListPage {
        rows,
        total,
        hidden,
    } = Tenant::list_counting_hidden(conn, &query, count_hidden).await?;
    let capped = total > COUNT_CAP;
    // Past the cap the last page is unknown; "Next" stays while full pages come back.
    let pages = if capped {
        query.page + i64::from(rows.len() as i64 == query.per_page)
    } else {
        ((total + query.per_page - 1) / query.per_page).max(1)
    };
    Ok(TenantList {
        rows,
        total: total.min(COUNT_CAP),
        capped,
        page: query.page,
        pages,
        per_page: query.per_page,
        q: query.filter.name.clone().unwrap_or_default(),
        sort: query.sort.as_str(),
        dir: if query.descending { "desc" } else { "asc" },
        within_name: query.within.name,
        status: match query.filter.enabled {
            Some(true) => "enabled",
            Some(false) => "disabled",
            None => "",
        }
        .into(),
        kind: match query.filter.reseller {
            Some(true) => "reseller",
            Some(false) => "customer",
            None => "",
        }
        .into(),
        parent: query
            .filter
            .parent
            .map(|p| p.to_string())
            .unwrap_or_default(),
        within: String::new(),
        label: query.filter.labels.join(","),
        parent_name: String::new(),
        hidden,
        errors: FieldErrors::new(),
        editable: Vec::new(),
        csrf: String::new(),
        bulk: BulkBar::default(),
        bulk_bar: false,
    })
}

/// The page for filter parameters that select nothing valid: their messages, no rows.
fn invalid_list(params: &ListParams, errors: FieldErrors, within_name: String) -> TenantList {
    TenantList {
        rows: Vec::new(),
        total: 0,
        capped: false,
        page: 1,
        pages: 1,
        per_page: per_page(params),
        q: SearchText::shown(&params.q),
        sort: SortKey::parse(Some(params.sort.as_str())).as_str(),
        dir: if params.dir == "desc" { "desc" } else { "asc" },
        within_name,
        status: params.status.clone(),
        kind: params.kind.clone(),
        parent: params.parent.clone(),
        within: params.within.clone(),
        label: params.label.clone(),
        parent_name: String::new(),
        hidden: 0,
        errors,
        editable: Vec::new(),
        csrf: String::new(),
        bulk: BulkBar::default(),
        bulk_bar: false,
    }
}

#[derive(Template)]
#[template(path = "tenants/index.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    list: TenantList,
    /// "New tenant" under the acting tenant: offered, or disabled saying why.
    new_child: super::NewChild,
}

#[derive(Template)]
#[template(path = "tenants/_table.html")]
pub struct TableFragment {
    pub list: TenantList,
}

pub(super) async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    authz::require(&user, &user.acting, Feature::Tenants, Level::Read)?;
    params.check_query()?;
    let mut conn = state.pool.get().await?;
    list_page(&req, &user, &mut conn, &params, None).await
}

/// The Tenants page for `params`; with `bulk`, the bulk bar's refused post shown
/// again (422, its input kept), whole or, for htmx, as the page's content.
pub(super) async fn list_page(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    params: &ListParams,
    bulk: Option<BulkBar>,
) -> Result<HttpResponse, AppError> {
    let new_child = super::NewChild::of(user, conn, &user.acting).await?;
    // The bar's refused post shows its filter's messages (its fields are a form's);
    // the page's own query answers 404 for a tenant one may not see.
    let mut list = match selected(conn, user, params, bulk.is_some()).await? {
        Ok(list) => list,
        Err(errors) => invalid_list(params, errors, user.acting.name.clone()),
    };
    list.editable = list
        .rows
        .iter()
        .filter(|row| authz::can_edit_row(user, row))
        .map(|row| row.id)
        .collect();
    list.csrf = session_keys::csrf_token(&user.session.0);
    list.bulk_bar = authz::may_bulk_change(user, list.rows.iter().map(|r| r.path.as_slice()));
    let refused_bulk = bulk.is_some();
    if let Some(bulk) = bulk {
        list.bulk = bulk;
    }
    // A filter that is not valid answers 422 with its messages; as a live-filter
    // fragment it answers 200, so that htmx shows them in place of the table.
    let status = if refused_bulk || (!list.errors.is_empty() && !wants_fragment(req)) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    if wants_fragment(req) && !refused_bulk {
        return render_status(&TableFragment { list }, status);
    }
    let page = IndexPage {
        page: PageCtx::new(user, conn, "tenants").await?,
        list,
        new_child,
    };
    if wants_fragment(req) {
        return render_status(&page.as_content(), status);
    }
    render_status(&page, status)
}

/// The list the parameters select, or the messages of the filter parameters that
/// are not valid (the search text, the label); a `parent` or `within` one may not
/// see answers 404, as one that does not exist — or with `as_fields` (a form's
/// fields, the bulk bar's) its field message.
async fn selected(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    params: &ListParams,
    as_fields: bool,
) -> Result<Result<TenantList, FieldErrors>, AppError> {
    let spec: FilterSpec = match filter::parse_filter(params.filter_text()) {
        Ok(spec) => spec,
        Err(errors) => return Ok(Err(errors)),
    };
    let named = match filter::resolve(conn, user, &spec).await? {
        Ok(named) => named,
        Err(errors) if as_fields => return Ok(Err(errors)),
        Err(_) => return Err(AppError::NotFound),
    };
    // `parent=` lists the visible children of its tenant wherever it is, as
    // `within=` does; neither: the acting tenant's subtree.
    let within = named
        .within
        .clone()
        .or_else(|| named.parent.clone())
        .unwrap_or_else(|| user.acting.clone());
    // As the tree says it (issue #11, honest empty states): on the plain list of a
    // subtree (the acting tenant's, or `within=`'s), every tenant below it one may not
    // see, counted in the list's statement; with a parent, its children one may not
    // see. Not with other filters: how many hidden tenants match them would tell
    // about what one may not see.
    let plain = spec.filter == TenantFilter::default();
    let query = ListQuery {
        filter: spec.filter,
        ..list_query(params, within, authz::visibility(user))
    };
    let mut list = load(conn, query.clone(), plain).await?;
    // A page past the end (an old link, a filter that now matches less) shows the
    // last page, numbered as such, as its links do.
    if !list.capped && list.page > list.pages {
        let last = ListQuery {
            page: list.pages,
            ..query
        };
        list = load(conn, last, plain).await?;
    }
    if let Some(w) = &named.within {
        list.within = w.id.to_string();
    }
    if let Some(p) = &named.parent {
        list.parent_name = p.name.clone();
        let visibility = authz::visibility(user).below(p);
        list.hidden = Tenant::hidden_below(conn, p, Depth::Children, &visibility).await?;
    }
    Ok(Ok(list))
}
