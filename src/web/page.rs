//! What every page shares (acting tenant, breadcrumb, CSRF token, flash) and the
//! helpers that turn templates into responses.

use crate::auth::{authz, session_keys, CurrentUser};
use crate::db::models::branding::Brand;
use crate::db::models::Tenant;
use crate::domain::GrantRole;
use crate::error::AppError;
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

const FLASH: &str = "flash";

#[derive(Clone, Debug)]
pub struct Crumb {
    pub id: i64,
    pub name: String,
    /// A tenant between two the user may see that they may not see themselves (a
    /// subtree moved under another's tenant): shown unnamed and unlinked.
    pub hidden: bool,
}

/// The crumbs of a path (ids and names, root first) the user may be shown: from the
/// highest tenant they reach down, each tenant named only if they may see it.
fn crumbs(user: &CurrentUser, names: Vec<(i64, String)>) -> Vec<Crumb> {
    let ids: Vec<i64> = names.iter().map(|(id, _)| *id).collect();
    let start = authz::visible_path_start(user, &ids);
    names
        .into_iter()
        .enumerate()
        .skip(start)
        .map(|(i, (id, name))| {
            let hidden = !authz::can_see_path(user, &ids[..=i]);
            Crumb {
                id,
                name: if hidden {
                    crate::domain::HIDDEN_TENANT.to_string()
                } else {
                    name
                },
                hidden,
            }
        })
        .collect()
}

/// The frame around every logged-in page.
#[derive(Clone, Debug)]
pub struct PageCtx {
    pub csrf: String,
    pub user_display: String,
    pub user_login: String,
    pub acting_id: i64,
    pub acting_name: String,
    /// The name of the tenant the page is about (`/tenants/{id}/…`, or the parent a new
    /// tenant goes under), else the acting one's: the title names it.
    pub page_tenant_name: String,
    pub is_switched: bool,
    /// The user's role where they act ("Owner"), from the strongest grant covering it.
    pub acting_role: &'static str,
    pub home_id: i64,
    pub home_name: String,
    /// The path of the tenant the page is about (`/tenants/{id}/…`), else of the acting one.
    pub breadcrumb: Vec<Crumb>,
    /// The kind of page this is (`switch::PageKind`), kept by the switcher.
    pub return_to: &'static str,
    pub active: &'static str,
    pub flash: Option<String>,
    /// Which navigation links lead somewhere for this user in the acting tenant.
    pub nav_people: bool,
    pub nav_users: bool,
    pub nav_roles: bool,
    pub nav_tenant_roles: bool,
    /// The installation's usage ingestion keys (root Owners and Administrators).
    pub nav_ingestion_keys: bool,
    /// The plans (root Owners and Administrators).
    pub nav_plans: bool,
    /// The acting tenant's Activity (audit read there).
    pub nav_activity: bool,
    /// The acting tenant's resources (Resources read there).
    pub nav_resources: bool,
    /// The acting tenant's Policies (Policies read there).
    pub nav_policies: bool,
    /// The acting tenant's Rules (Rules read there).
    pub nav_rules: bool,
    /// The acting tenant's effective branding: the header, the title, the theme.
    pub brand: Brand,
}

impl PageCtx {
    pub async fn new(
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        active: &'static str,
    ) -> Result<Self, AppError> {
        let session = &user.session.0;
        // The page's own tenant, when it is not the acting one: its path in one statement.
        let about = match user.page.as_ref().and_then(|p| p.tenant_id) {
            Some(id) if id != user.acting.id => match &user.page_path_names {
                // What the session load read for this path's id (a path ends at its tenant).
                Some(names) if names.last().is_some_and(|(last, _)| *last == id) => {
                    Some(names.clone())
                }
                _ => Some(Tenant::path_of(conn, id).await?),
            },
            _ => None,
        };
        let about = about.filter(|names| {
            let ids: Vec<i64> = names.iter().map(|(id, _)| *id).collect();
            authz::can_see_path(user, &ids)
        });
        let page_tenant_name = about
            .as_ref()
            .and_then(|names| names.last())
            .map_or_else(|| user.acting.name.clone(), |(_, name)| name.clone());
        // The navigation's Users, Roles, Access and Activity are the acting tenant's: on
        // another tenant's such page none of them is the current one.
        let elsewhere = user
            .page
            .as_ref()
            .and_then(|p| p.tenant_id)
            .is_some_and(|id| id != user.acting.id);
        let active = match active {
            "users" | "roles" | "access" | "activity" | "rules" | "resources" | "policies"
                if elsewhere =>
            {
                ""
            }
            active => active,
        };
        let breadcrumb = if let Some(names) = about {
            crumbs(user, names)
        } else if user.acting.path.len() == 1 {
            vec![Crumb {
                id: user.acting.id,
                name: user.acting.name.clone(),
                hidden: false,
            }]
        } else {
            // Only the part of the path the user may see: no names of tenants above their reach.
            let names = match &user.acting_path_names {
                Some(names) => names.clone(),
                None => user.acting.path_tenants(conn).await?,
            };
            crumbs(user, names)
        };
        // A fragment shows no frame: its flash waits for the next whole page.
        let flash = match &user.page {
            Some(page) if page.fragment => None,
            _ => take_flash(session),
        };
        let brand = match &user.brand {
            Some(brand) => brand.clone(),
            None => Brand::of(conn, user.acting.id).await?,
        };
        Ok(Self::frame(
            user,
            page_tenant_name,
            breadcrumb,
            active,
            flash,
            brand,
        ))
    }

    /// The frame of an error page, from what the session load read (nothing more is
    /// read): the acting tenant's navigation and the part of its path the session
    /// brought (else the acting tenant alone) — never the tenant the request named,
    /// which may be one the user may not see. The flash stays for the next page.
    pub fn for_error(user: &CurrentUser) -> Self {
        let breadcrumb = match &user.acting_path_names {
            Some(names) if user.acting.path.len() > 1 => crumbs(user, names.clone()),
            _ => vec![Crumb {
                id: user.acting.id,
                name: user.acting.name.clone(),
                hidden: false,
            }],
        };
        let brand = user.brand.clone().unwrap_or_default();
        Self::frame(user, user.acting.name.clone(), breadcrumb, "", None, brand)
    }

    /// What every frame shows of the user and the acting tenant.
    fn frame(
        user: &CurrentUser,
        page_tenant_name: String,
        breadcrumb: Vec<Crumb>,
        active: &'static str,
        flash: Option<String>,
        brand: Brand,
    ) -> Self {
        let session = &user.session.0;
        let nav = authz::navigation(user, &user.acting);
        Self {
            csrf: session_keys::csrf_token(session),
            user_display: user.user.display_name(),
            user_login: user.login(),
            acting_id: user.acting.id,
            acting_name: user.acting.name.clone(),
            page_tenant_name,
            is_switched: user.is_switched(),
            acting_role: authz::grant_role(user, &user.acting).map_or("no role", GrantRole::label),
            home_id: user.home.id,
            home_name: user.home.name.clone(),
            breadcrumb,
            return_to: crate::web::switch::current_kind(user),
            active,
            flash,
            nav_people: nav.people,
            nav_users: nav.users,
            nav_roles: nav.roles,
            nav_tenant_roles: nav.tenant_roles,
            nav_ingestion_keys: nav.ingestion_keys,
            nav_plans: nav.plans,
            nav_resources: nav.resources,
            nav_policies: nav.policies,
            nav_activity: authz::can_read_activity(user, &user.acting),
            nav_rules: authz::can_read_rules(user, &user.acting),
            brand,
        }
    }
}

/// The part of `tenant`'s path the user may see, root side first, as crumbs.
pub async fn visible_path(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<Vec<Crumb>, AppError> {
    Ok(crumbs(user, tenant.path_tenants(conn).await?))
}

/// Leaves a one-time message for the next page.
pub fn flash(session: &Session, message: impl Into<String>) {
    let _ = session.insert(FLASH, message.into());
}

pub(crate) fn take_flash(session: &Session) -> Option<String> {
    // `remove` marks the session changed even when the key is absent, which would
    // write the session back to the database on every page view.
    if !session.contains_key(FLASH) {
        return None;
    }
    session.remove_as::<String>(FLASH).and_then(Result::ok)
}

/// Is this an htmx request for a fragment (not a boosted page load)?
pub fn wants_fragment(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request") && !req.headers().contains_key("HX-Boosted")
}

pub fn render<T: Template>(template: &T) -> Result<HttpResponse, AppError> {
    render_status(template, StatusCode::OK)
}

/// The answer to a form that creates a credential (an API token, an ingestion key):
/// its page showing the secret this once (201; rendered, not redirected, so that the
/// secret travels through neither a URL nor the session store), or the form again
/// with its errors (422).
pub fn render_created<T: Template>(page: &T, created: bool) -> Result<HttpResponse, AppError> {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(page, status)
}

/// A moment as the console's lists show it (`2026-12-05 14:03 UTC`).
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A page that shows its input's field errors: 422 when there are any, else 200.
pub fn render_checked<T: Template>(
    template: &T,
    errors: &crate::error::FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(template, status)
}

pub fn render_status<T: Template>(
    template: &T,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let body = template
        .render()
        .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A change done: `message` as a flash for the next page, and a 303 to `location`.
pub fn done(
    req: &HttpRequest,
    user: &CurrentUser,
    message: impl Into<String>,
    location: &str,
) -> Result<HttpResponse, AppError> {
    flash(&user.session.0, message);
    Ok(see_other(req, location))
}

/// A form shown again with its field errors: 422.
pub fn rerender<T: Template>(template: &T) -> Result<HttpResponse, AppError> {
    render_status(template, StatusCode::UNPROCESSABLE_ENTITY)
}

/// 303 to `location`; htmx follows `HX-Redirect` instead of swapping the target.
pub fn see_other(req: &HttpRequest, location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, location));
    if wants_fragment(req) {
        response.insert_header(("HX-Redirect", location));
    }
    response.finish()
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    /// A logged-in user's acting tenant's branding; without a session, the host's
    /// tenant's (`banner_slot`), else the installation's.
    brand: Brand,
    status: u16,
    title: &'a str,
    detail: &'a str,
    /// Quoted by a user to an operator, found in the server log.
    request_id: Option<String>,
}

/// An error page for a logged-in user: the same, in the console's frame (navigation,
/// breadcrumb, the "Acting in … (as …)" banner while switched).
#[derive(Template)]
#[template(path = "errors/error_in_frame.html")]
struct ErrorInFrame<'a> {
    page: PageCtx,
    status: u16,
    title: &'a str,
    detail: &'a str,
    request_id: Option<String>,
}

tokio::task_local! {
    static ASKING: std::cell::RefCell<Option<CurrentUser>>;
    /// An error page shown without a session (status, title, detail, request id):
    /// `banner_slot` renders it again with the branding of the host's tenant.
    static ANONYMOUS_ERROR: std::cell::RefCell<Option<(StatusCode, String, String, Option<String>)>>;
}

/// Middleware inside the session layer: a slot per request for who is asking, so
/// that an error page (rendered without the request) can show the console's frame;
/// and an anonymous visitor's error page on a tenant's host shows that tenant's
/// branding ("contact <support>"), read only when such a page is shown.
pub async fn banner_slot(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    ASKING
        .scope(
            std::cell::RefCell::new(None),
            ANONYMOUS_ERROR.scope(std::cell::RefCell::new(None), async move {
                let response = next.call(req).await?.map_into_boxed_body();
                let shown = ANONYMOUS_ERROR
                    .try_with(|slot| slot.borrow_mut().take())
                    .ok()
                    .flatten();
                Ok(match shown {
                    // The response holds the request: no copy of it is kept meanwhile
                    // (actix needs the request alone while the handlers run).
                    Some(error) => match host_brand(response.request()).await {
                        Some(brand) => rebranded(response, brand, error),
                        None => response,
                    },
                    None => response,
                })
            }),
        )
        .await
}

/// The branding of the request's host, if it can be read (else the page stays as
/// it is: an error page must not fail for want of its branding).
async fn host_brand(req: &HttpRequest) -> Option<Brand> {
    let state = req.app_data::<actix_web::web::Data<crate::web::AppState>>()?;
    let mut conn = state.pool.get().await.ok()?;
    let host = crate::web::login::host_tenant(req, state, &mut conn)
        .await
        .ok()?;
    crate::web::login::host_brand(&mut conn, host.as_ref())
        .await
        .ok()
}

/// The anonymous error page again, with `brand`.
fn rebranded(
    response: actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
    brand: Brand,
    (status, title, detail, request_id): (StatusCode, String, String, Option<String>),
) -> actix_web::dev::ServiceResponse<actix_web::body::BoxBody> {
    let page = ErrorPage {
        brand,
        status: status.as_u16(),
        title: &title,
        detail: &detail,
        request_id,
    };
    match page.render() {
        Ok(body) => response.map_body(|_, _| actix_web::body::BoxBody::new(body)),
        Err(_) => response,
    }
}

/// Keeps who is asking for an error page of this request (the `CurrentUser`
/// extractor, and the CSRF guard's refusal, which no extractor precedes). A copy of
/// what the session load read: the frame is built only if an error page is shown.
pub fn keep_banner(user: &CurrentUser) {
    let _ = ASKING.try_with(|slot| *slot.borrow_mut() = Some(user.clone()));
}

/// What the locked-page view shows, in the console's frame or alone.
struct LockedView<'a> {
    tenant_id: i64,
    description: &'a str,
    locked_by: &'a str,
    since: String,
    migration_id: Option<i64>,
    /// The holding migration's progress bar (`migrations/_progress.html`).
    migration_progress: Option<crate::domain::rules::MigrationProgress>,
    /// The holding migration failed: it must be rolled back or retried.
    failed: bool,
    /// The reader may do that (sent to the migration's page), else told who may.
    may_resolve: bool,
    way_out: &'static str,
    who_resolves: &'static str,
    request_id: Option<String>,
}

/// The locked page alone: an htmx request's answer (which `HX-Redirect` replaces)
/// or one without a session.
#[derive(Template)]
#[template(path = "errors/locked.html")]
struct LockedPage<'a> {
    v: LockedView<'a>,
}

/// The locked page in the console's frame (navigation, breadcrumb, banner).
#[derive(Template)]
#[template(path = "errors/locked_in_frame.html")]
struct LockedInFrame<'a> {
    page: PageCtx,
    v: LockedView<'a>,
}

/// Where htmx is sent for a tenant's locked view: its Rules page, which answers
/// with it (423) while the lock holds and is the Rules page again once it ends.
pub fn locked_location(tenant_id: i64) -> String {
    format!("/tenants/{tenant_id}/rules")
}

/// The locked-page view (423): who locked the tenant's rule configuration, since
/// when, what holds it, and when a migration does, its page and its progress bar
/// (polled by htmx, refreshed by the page itself without JavaScript while it runs);
/// a failed one says it must be rolled back or retried, and by whom. A logged-in
/// user's page has the console's frame. An htmx request gets `HX-Redirect` to
/// the locked page: htmx swaps no 4xx answer, so whatever its target, the user
/// would otherwise see nothing happen.
pub fn locked_page(notice: &crate::domain::rules::LockNotice) -> HttpResponse {
    let v = LockedView {
        tenant_id: notice.tenant_id,
        description: &notice.description,
        locked_by: notice.locked_by.as_deref().unwrap_or("(deleted user)"),
        since: timestamp(notice.since),
        // Linked only for who may open it (a 404 otherwise).
        migration_id: notice.migration_id.filter(|_| notice.linked),
        migration_progress: notice.progress.clone(),
        failed: notice.failed(),
        may_resolve: notice.may_resolve && notice.linked,
        way_out: notice.way_out(),
        who_resolves: notice.who_resolves(),
        request_id: crate::telemetry::current_request_id(),
    };
    let user = ASKING.try_with(|slot| slot.borrow().clone()).ok().flatten();
    let fragment = user
        .as_ref()
        .is_some_and(|u| u.page.as_ref().is_some_and(|p| p.fragment));
    let rendered = match user {
        Some(user) if !fragment => LockedInFrame {
            page: PageCtx::for_error(&user),
            v,
        }
        .render(),
        _ => LockedPage { v }.render(),
    };
    let body = rendered.unwrap_or_else(|_| notice.message());
    let mut response = HttpResponse::build(StatusCode::LOCKED);
    response
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if fragment {
        response.insert_header(("HX-Redirect", locked_location(notice.tenant_id)));
    }
    response.body(body)
}

/// An error page: no stack trace, no internal detail; in the console's frame for a
/// logged-in user (plain for an htmx fragment, with the acting tenant's branding
/// all the same), plain without a session (the host's branding).
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> HttpResponse {
    let request_id = crate::telemetry::current_request_id();
    let user = ASKING.try_with(|slot| slot.borrow().clone()).ok().flatten();
    let rendered = match user {
        Some(user) if !user.page.as_ref().is_some_and(|p| p.fragment) => ErrorInFrame {
            page: PageCtx::for_error(&user),
            status: status.as_u16(),
            title,
            detail,
            request_id,
        }
        .render(),
        // An htmx fragment's error: no frame, but the acting tenant's branding, as
        // the whole page would show it (never the host's).
        Some(user) => ErrorPage {
            brand: user.brand.clone().unwrap_or_default(),
            status: status.as_u16(),
            title,
            detail,
            request_id,
        }
        .render(),
        None => {
            let _ = ANONYMOUS_ERROR.try_with(|slot| {
                *slot.borrow_mut() = Some((
                    status,
                    title.to_string(),
                    detail.to_string(),
                    request_id.clone(),
                ))
            });
            ErrorPage {
                brand: Brand::default(),
                status: status.as_u16(),
                title,
                detail,
                request_id,
            }
            .render()
        }
    };
    let body = rendered.unwrap_or_else(|_| format!("{} {}", status.as_u16(), title));
    // Error pages may come from middleware, outside the default-headers layer: set them here too.
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CONTENT_SECURITY_POLICY, crate::web::CSP))
        .body(body)
}
