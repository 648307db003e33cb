//! `/tenants/{id}/clouds`: the clouds a tenant sees (its own, and those shared with
//! it, marked "shared by" and read-only; filters provider, visibility, own or shared
//! and a name search; pages of 50), the new-cloud form, a cloud's page (its
//! form, or read-only when shared or without Resources full) and the delete with its
//! confirmation.

use super::{value_choices, Choice};
use crate::auth::CurrentUser;
use crate::db::models::cloud::{Cloud, CloudFilter, SeenCloud};
use crate::db::models::Tenant;
use crate::domain::resources::{CloudProvider, CloudVisibility};
use crate::domain::sorting::CloudSort;
use crate::domain::{Feature, Level, TenantName};
use crate::error::{AppError, FieldErrors};
use crate::services::clouds::{self as service, Assignable, CloudInput, CloudView};
use crate::services::draft::Draft;
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::{path_tenant, Query};
use crate::web::form::{field_id, given_twice, one_of, paged, read_form, SearchBox};
use crate::web::owned::{
    can_change, confirmed, page_or_fragment, readable, saved, status, tenant_page, Resources,
};
use crate::web::page::PageCtx;
use crate::web::routes::{form_routes, Route};
use crate::web::sort::{list_href, PageOrder, SortedList};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/clouds", "{rid}")
}

const PER_PAGE: i64 = 50;

/// The list's query string (others are ignored, as on every console list).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub provider: String,
    pub visibility: String,
    /// `own` or `shared`.
    pub owner: String,
    pub q: String,
    pub sort: String,
    pub dir: String,
    pub page: String,
}

impl ListParams {
    /// The filter, or the 400 naming the parameter that cannot be read.
    fn filter(&self, search: &SearchBox) -> Result<CloudFilter, AppError> {
        let providers: Vec<(&str, CloudProvider)> = CloudProvider::ALL
            .iter()
            .map(|p| (p.as_str(), *p))
            .collect();
        let visibilities: Vec<(&str, CloudVisibility)> = CloudVisibility::ALL
            .iter()
            .map(|v| (v.as_str(), *v))
            .collect();
        Ok(CloudFilter {
            provider: one_of("provider", &self.provider, &providers)?,
            visibility: one_of("visibility", &self.visibility, &visibilities)?,
            own: one_of("owner", &self.owner, &[("own", true), ("shared", false)])?,
            q: search.query().map(str::to_string),
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct CloudForm {
    pub name: String,
    pub provider: String,
    pub visibility: String,
    /// Tenant ids, separated by commas or spaces (each ticked checkbox sends one).
    pub assigned_tenant_ids: String,
}

impl CloudForm {
    /// The form's fields from its body: `assigned_tenant_ids` once per ticked
    /// tenant (the picker's checkboxes) or as ids separated by commas; every other
    /// field once (twice: 400).
    fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, AppError> {
        let mut form = CloudForm::default();
        let mut ids: Vec<String> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in read_form(content_type, body)? {
            let field = match key.as_str() {
                "assigned_tenant_ids" => {
                    ids.push(value);
                    continue;
                }
                "name" => &mut form.name,
                "provider" => &mut form.provider,
                "visibility" => &mut form.visibility,
                _ => continue,
            };
            if seen.contains(&key) {
                return Err(given_twice(&key));
            }
            *field = value;
            seen.push(key);
        }
        form.assigned_tenant_ids = ids.join(", ");
        Ok(form)
    }

    /// The ids the assignment field names (those that can be read).
    fn chosen(&self) -> Vec<i64> {
        self.assigned_tenant_ids
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter_map(field_id)
            .collect()
    }

    fn of(view: &CloudView) -> Self {
        let c = &view.seen.cloud;
        CloudForm {
            name: c.name.clone(),
            provider: c.provider.to_string(),
            visibility: c.visibility.to_string(),
            assigned_tenant_ids: view
                .assigned
                .iter()
                .map(|(id, _)| id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The input, with every field's error and a stand-in for each field that
    /// could not be read, so that the service reports its own errors with them.
    fn to_input(&self) -> Draft<CloudInput> {
        let mut errors = FieldErrors::new();
        let name = TenantName::parse(&self.name).unwrap_or_else(|e| {
            errors.insert("name", e);
            TenantName::stand_in()
        });
        let provider = self
            .provider
            .trim()
            .parse::<CloudProvider>()
            .unwrap_or_else(|_| {
                errors.insert("provider", "Pick a provider.".into());
                CloudProvider::Other
            });
        let ids: Vec<Option<i64>> = self
            .assigned_tenant_ids
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(field_id)
            .collect();
        if ids.iter().any(Option::is_none) {
            errors.insert(
                "assigned_tenant_ids",
                "Tenant ids are whole numbers, separated by commas.".into(),
            );
        }
        let assigned_tenant_ids: Vec<i64> = ids.into_iter().flatten().collect();
        let visibility = match self.visibility.trim() {
            "" => CloudVisibility::Private,
            v => v.parse::<CloudVisibility>().unwrap_or_else(|_| {
                errors.insert("visibility", "Pick a visibility.".into());
                // The tenants listed are checked as for an assigned cloud.
                match assigned_tenant_ids.is_empty() {
                    true => CloudVisibility::Private,
                    false => CloudVisibility::Assigned,
                }
            }),
        };
        let input = CloudInput {
            name,
            provider,
            visibility,
            assigned_tenant_ids,
        };
        Draft::new(input, errors)
    }
}

/// One cloud as the list shows it.
pub struct CloudLine {
    pub seen: SeenCloud,
    /// Shared with this tenant from above (read-only, "shared by").
    pub shared: bool,
    /// For its own assigned cloud: the tenants it is assigned to that the user
    /// sees, the first few named ("a1, a2, a3 and 4 more"; empty: none).
    pub assigned: Option<String>,
}

/// How many assignees the clouds list names before "and N more".
const ASSIGNEES_SHOWN: usize = 3;

/// Where a cloud is assigned, as the user may be told: "a1, a2 and a3", "a1, a2,
/// a3 and 4 more", with "2 tenants you cannot see" (never "nobody" then), or
/// "nobody".
fn assignees(to: &service::Assignees) -> String {
    let names: Vec<&str> = to.seen.iter().map(|(_, name)| name.as_str()).collect();
    let mut parts: Vec<String> = match names.len() {
        0 => Vec::new(),
        n if n <= ASSIGNEES_SHOWN => names.iter().map(|n| n.to_string()).collect(),
        n => names[..ASSIGNEES_SHOWN]
            .iter()
            .map(|n| n.to_string())
            .chain(std::iter::once(format!("{} more", n - ASSIGNEES_SHOWN)))
            .collect(),
    };
    if to.hidden > 0 {
        let s = if to.hidden == 1 { "" } else { "s" };
        parts.push(format!("{} tenant{s} you cannot see", to.hidden));
    }
    match parts.split_last() {
        None => "nobody".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[derive(Template)]
#[template(path = "resources/clouds.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<CloudLine>,
    total: i64,
    page_no: i64,
    pages: i64,
    params: ListParams,
    search: SearchBox,
    providers: Vec<Choice>,
    visibilities: Vec<Choice>,
    owners: Vec<Choice>,
    can_change: bool,
    /// Always empty (the selects' template reads it).
    errors: FieldErrors,
    order: PageOrder<CloudSort>,
}

impl SortedList for IndexPage {
    type Key = CloudSort;

    fn order(&self) -> &PageOrder<CloudSort> {
        &self.order
    }

    fn href(&self, more: &[(&str, &str)]) -> String {
        let p = &self.params;
        let mut pairs = vec![
            ("provider", p.provider.as_str()),
            ("visibility", p.visibility.as_str()),
            ("owner", p.owner.as_str()),
            ("q", self.search.shown.as_str()),
        ];
        pairs.extend_from_slice(more);
        list_href(&list(&self.tenant), &pairs)
    }
}

#[derive(Template)]
#[template(path = "resources/cloud_form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    /// The cloud shown (`None`: a new one).
    view: Option<CloudView>,
    /// Whether the form is shown (else the cloud is read-only here).
    editable: bool,
    form: CloudForm,
    errors: FieldErrors,
    providers: Vec<Choice>,
    visibilities: Vec<Choice>,
    /// Whether this tenant may share (public/assigned are offered).
    may_share: bool,
    /// The tenants the assignment picker offers.
    assignable: Assignable,
    /// The ids ticked (the form's, or the cloud's assignments).
    chosen: Vec<i64>,
    /// The picker's search (when it searches).
    assign_q: String,
}

impl FormPage {
    fn form_action(&self) -> String {
        match &self.view {
            Some(v) => format!("/tenants/{}/clouds/{}", self.tenant.id, v.seen.cloud.id),
            None => format!("/tenants/{}/clouds/new", self.tenant.id),
        }
    }

    fn is_chosen(&self, id: &i64) -> bool {
        self.chosen.contains(id)
    }

    /// Where the tenant's own assigned cloud is shared, as the user may be told
    /// (the read-only view's "Assigned to"; tenants they cannot see counted).
    fn assigned_to(&self) -> Option<String> {
        let v = self.view.as_ref()?;
        (!v.read_only() && v.seen.cloud.visibility == CloudVisibility::Assigned).then(|| {
            assignees(&service::Assignees {
                seen: v.assigned.clone(),
                hidden: v.assigned_hidden,
            })
        })
    }

    /// How many tenants the cloud is assigned to that the user cannot see (the
    /// form keeps them: it cannot show them).
    fn assigned_hidden(&self) -> i64 {
        self.view.as_ref().map_or(0, |v| v.assigned_hidden)
    }
}

/// The form page's query string: the assignment picker's search, and the tenants
/// ticked so far (htmx sends them along so that a search keeps them).
#[derive(Clone, Debug, Default)]
struct PickerParams {
    assign_q: String,
    chosen: Vec<i64>,
}

impl PickerParams {
    fn read(req: &HttpRequest) -> Self {
        let mut out = PickerParams::default();
        for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
            match key.as_ref() {
                "assign_q" => out.assign_q = value.chars().take(100).collect(),
                "assigned_tenant_ids" => out.chosen.extend(field_id(&value)),
                _ => {}
            }
        }
        out
    }
}

/// The list's page under the tenant.
const LIST: &str = "clouds";

fn list(tenant: &Tenant) -> String {
    tenant_page(tenant, LIST)
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let search = SearchBox::read(&params.q);
    let filter = params.filter(&search)?;
    let order = PageOrder::read(&params.sort, &params.dir, CloudSort::Created);
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path).await?;
    let shown = paged(&params.page, PER_PAGE, async |n| {
        if search.error.is_some() {
            return Ok((0, Vec::new()));
        }
        let offset = (n - 1) * PER_PAGE;
        let (rows, total) = service::page(
            &mut conn,
            &user,
            &tenant,
            &filter,
            order.order,
            offset,
            PER_PAGE,
        )
        .await?;
        Ok((total, rows))
    })
    .await?;
    let (rows, total, page_no) = (shown.rows, shown.total, shown.page_no);
    let mut assigned = service::assigned_of(&mut conn, &user, &tenant, &rows).await?;
    let rows = rows
        .into_iter()
        .map(|seen| {
            let shared = seen.cloud.tenant_id != tenant.id;
            let mine = !shared && seen.cloud.visibility == CloudVisibility::Assigned;
            let to = assigned.remove(&seen.cloud.id).unwrap_or_default();
            CloudLine {
                shared,
                assigned: mine.then(|| assignees(&to)),
                seen,
            }
        })
        .collect();
    let status = search.status();
    let page = IndexPage {
        page: PageCtx::new(&user, &mut conn, "").await?,
        can_change: can_change::<Resources>(&user, &tenant),
        total,
        page_no,
        pages: shown.pages,
        providers: value_choices(
            CloudProvider::ALL.iter().map(|p| (p.as_str(), p.label())),
            &params.provider,
            Some("any provider"),
        ),
        visibilities: value_choices(
            CloudVisibility::ALL.iter().map(|v| (v.as_str(), v.label())),
            &params.visibility,
            Some("any visibility"),
        ),
        owners: value_choices(
            [("own", "this tenant's"), ("shared", "shared with it")].into_iter(),
            &params.owner,
            Some("any owner"),
        ),
        errors: FieldErrors::new(),
        order,
        params,
        search,
        tenant,
        rows,
    };
    page_or_fragment!(&req, page, status)
}

#[expect(
    clippy::too_many_arguments,
    reason = "the form page's parts: the cloud, the form, its errors, the picker's search"
)]
async fn form_page(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    view: Option<CloudView>,
    form: CloudForm,
    errors: FieldErrors,
    picker: PickerParams,
) -> Result<HttpResponse, AppError> {
    let status = status(&errors);
    let editable =
        can_change::<Resources>(user, &tenant) && view.as_ref().is_none_or(|v| !v.read_only());
    let may_share = crate::auth::authz::may_share(&tenant);
    let mut chosen = form.chosen();
    chosen.extend(picker.chosen);
    let assignable = if editable && may_share {
        let q = Some(picker.assign_q.as_str()).filter(|q| !q.trim().is_empty());
        service::assignable(conn, user, &tenant, q, &chosen).await?
    } else {
        Assignable::default()
    };
    let page = FormPage {
        assignable,
        chosen,
        assign_q: picker.assign_q,
        page: PageCtx::new(user, conn, "").await?,
        providers: value_choices(
            CloudProvider::ALL.iter().map(|p| (p.as_str(), p.label())),
            &form.provider,
            Some("(choose)"),
        ),
        visibilities: value_choices(
            CloudVisibility::ALL.iter().map(|v| (v.as_str(), v.label())),
            if form.visibility.is_empty() {
                "private"
            } else {
                &form.visibility
            },
            None,
        ),
        may_share,
        editable,
        tenant,
        view,
        form,
        errors,
    };
    page_or_fragment!(req, page, status)
}

async fn new_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Resources, Level::Full).await?;
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        None,
        CloudForm::default(),
        FieldErrors::new(),
        PickerParams::read(&req),
    )
    .await
}

/// The request's content type, as the form reader takes it.
fn content_type(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = CloudForm::parse(content_type(&req), &body)?;
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| service::create(conn, c.p, c.actor, c.tenant, input).await,
        |cloud: &Cloud| format!("Created cloud {}.", cloud.name),
        async |conn, tenant, errors| {
            let picker = PickerParams::default();
            form_page(&req, &user, conn, tenant, None, form, errors, picker).await
        },
    )
    .await
}

async fn edit_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path.0).await?;
    let view = service::read(&mut conn, &user, &tenant, parse_id(&path.1)?).await?;
    let form = CloudForm::of(&view);
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(view),
        form,
        FieldErrors::new(),
        PickerParams::read(&req),
    )
    .await
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = CloudForm::parse(content_type(&req), &body)?;
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| {
            let id = parse_id(&path.1)?;
            service::update(conn, c.p, c.actor, c.tenant, id, input).await
        },
        |cloud: &Cloud| format!("Saved cloud {}.", cloud.name),
        async |conn, tenant, errors| {
            let view = service::read(conn, &user, &tenant, parse_id(&path.1)?).await?;
            let picker = PickerParams::default();
            form_page(&req, &user, conn, tenant, Some(view), form, errors, picker).await
        },
    )
    .await
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    confirmed::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        &confirm,
        LIST,
        async |conn, tenant, id| {
            let seen = service::require_changeable(conn, &user, tenant, id).await?;
            let back = format!("{}/{id}", list(tenant));
            Ok(Question {
                title: format!("Delete the cloud {}?", seen.cloud.name),
                detail: "Tenants it is shared with no longer see it. A cloud that instances \
                         run on cannot be deleted."
                    .into(),
                button: "Delete cloud".into(),
                action: format!("{back}/delete"),
                cancel: back,
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete(conn, c.p, c.actor, c.tenant, id).await,
        |cloud: &Cloud| format!("Deleted cloud {}.", cloud.name),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(names: &[&str], hidden: i64) -> String {
        assignees(&service::Assignees {
            seen: names
                .iter()
                .enumerate()
                .map(|(i, n)| (i as i64, n.to_string()))
                .collect(),
            hidden,
        })
    }

    #[test]
    fn a_cloud_assigned_to_unseen_tenants_never_reads_as_assigned_to_nobody() {
        assert_eq!(to(&[], 0), "nobody");
        assert_eq!(to(&["a1"], 0), "a1");
        assert_eq!(to(&["a1", "a2", "a3"], 0), "a1, a2 and a3");
        assert_eq!(to(&["a1", "a2", "a3", "a4"], 0), "a1, a2, a3 and 1 more");
        assert_eq!(to(&[], 1), "1 tenant you cannot see");
        assert_eq!(to(&[], 2), "2 tenants you cannot see");
        assert_eq!(to(&["a1"], 2), "a1 and 2 tenants you cannot see");
    }
}
