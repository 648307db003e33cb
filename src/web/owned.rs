//! What the pages of every tenant-owned collection share (`/tenants/{id}/<items>`,
//! `/new`, `/{item}`, `/{item}/delete`: rules, applications, domains, clouds,
//! instances, resolvers, devices, subnets, policies). A [`Family`] says
//! which feature's levels decide and what else a read or a change needs (the rules'
//! lock); [`saved`] is every form post's change, [`confirmed`] every destructive one
//! behind its confirmation (`web::confirm::ask`). The API's counterpart is
//! `web::api::owned`.

use crate::auth::{authz, CurrentUser, Principal};
use crate::db::models::Tenant;
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::change::Change;
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::path_tenant;
use crate::web::form::field_errors;
use crate::web::page::done;
use crate::web::{actor, parse_id, AppState};
use actix_web::{HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;

/// A family of tenant-owned items: the feature whose levels decide (read to see,
/// full to change), the navigation section of its pages, and what a read or a
/// change needs beyond the level.
pub(crate) trait Family {
    const FEATURE: Feature;
    const SECTION: &'static str;

    /// The read right on `tenant` (403) and whatever else a read must pass.
    async fn read(
        conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError>;

    /// Whether the pages offer the change forms: the feature at full.
    fn can_change(p: &Principal, tenant: &Tenant) -> bool {
        authz::effective_level(p, tenant, Self::FEATURE) >= Level::Full
    }

    /// The change right on `tenant` (403) and whatever else a change must pass:
    /// what a confirmation checks before it asks.
    async fn may_change(
        conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError>;
}

/// A tenant's protection configuration (`services::rules`): Rules read and full,
/// and no migration holding the tenant (423).
pub(crate) struct Rules;

impl Family for Rules {
    const FEATURE: Feature = Feature::Rules;
    const SECTION: &'static str = "rules";

    async fn read(
        conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        crate::services::rules::read(conn, p, tenant).await
    }

    async fn may_change(
        conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        crate::services::rules::may_change(conn, p, tenant).await
    }
}

/// A tenant's resources and DNS configuration (`services::{clouds, instances,
/// network}`): Resources read and full.
pub(crate) struct Resources;

impl Family for Resources {
    const FEATURE: Feature = Feature::Resources;
    const SECTION: &'static str = "resources";

    async fn read(
        _conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        authz::require(p, tenant, Feature::Resources, Level::Read)
    }

    async fn may_change(
        _conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        authz::require(p, tenant, Feature::Resources, Level::Full)
    }
}

/// A tenant's policies (`services::policies`): Policies read and full.
pub(crate) struct Policies;

impl Family for Policies {
    const FEATURE: Feature = Feature::Policies;
    const SECTION: &'static str = "policies";

    async fn read(
        _conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        crate::services::policies::read(p, tenant)
    }

    async fn may_change(
        _conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        crate::services::policies::may_change(p, tenant)
    }
}

/// A tenant's branding (`services::branding`): Settings read, and the one branding
/// right (`authz::require_branding_change`) to change.
pub(crate) struct Branding;

impl Family for Branding {
    const FEATURE: Feature = Feature::Settings;
    const SECTION: &'static str = "branding";

    fn can_change(p: &Principal, tenant: &Tenant) -> bool {
        authz::can_change_branding(p, tenant)
    }

    async fn read(
        _conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        crate::services::branding::read(p, tenant)
    }

    async fn may_change(
        _conn: &mut AsyncPgConnection,
        p: &Principal,
        tenant: &Tenant,
    ) -> Result<(), AppError> {
        authz::require_branding_change(p, tenant)
    }
}

/// The tenant a page's path names: 404 unless visible, then what a read needs
/// (403, and 423 for a locked rule set).
pub(crate) async fn readable<F: Family>(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    let tenant = writable::<F>(user, conn, raw).await?;
    F::read(conn, user, &tenant).await?;
    Ok(tenant)
}

/// The tenant a write's path names: 404 unless visible, 403 without the read
/// level (the service asks for full, and for anything else a change needs).
pub(crate) async fn writable<F: Family>(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    path_tenant(user, conn, raw, F::FEATURE, Level::Read).await
}

/// May the user change the family's items of `tenant` (the pages show their forms)?
pub(crate) fn can_change<F: Family>(user: &CurrentUser, tenant: &Tenant) -> bool {
    F::can_change(user, tenant)
}

/// The page of the tenant's `to` (`devices`, `rules/versions`, …).
pub(crate) fn tenant_page(tenant: &Tenant, to: &str) -> String {
    format!("/tenants/{}/{to}", tenant.id)
}

/// A form post's change of the tenant the path names ([`writable`]: 404, 403
/// without the read level; the service asks for the rest): `change` under its
/// [`Change`]; done, 303 to the tenant's `to` page with `message`; field errors,
/// `again` shows the form with them (422). Anything else answers as it is.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one part of every form post"
)]
pub(crate) async fn saved<F: Family, T>(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    raw: &str,
    to: &str,
    change: impl AsyncFnOnce(&mut AsyncPgConnection, &Change<'_>) -> Result<T, AppError>,
    message: impl FnOnce(&T) -> String,
    again: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        Tenant,
        FieldErrors,
    ) -> Result<HttpResponse, AppError>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = writable::<F>(user, &mut conn, raw).await?;
    let actor = actor(user, req);
    let c = Change::new(user, &actor, &tenant, state.clock.now());
    match field_errors(change(&mut conn, &c).await)? {
        Ok(value) => done(req, user, message(&value), &tenant_page(&tenant, to)),
        Err(errors) => again(&mut conn, tenant, errors).await,
    }
}

/// A destructive change of the item the path's second id names (a delete, a
/// restore), behind its confirmation: unconfirmed, after the change's own checks
/// (404, 403, 423), `question` about the item is asked and nothing changes;
/// confirmed, `change` with the id, then 303 to the tenant's `to` page with `message`.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one part of every confirmed change"
)]
pub(crate) async fn confirmed<F: Family, T>(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    path: &(String, String),
    confirm: &Confirm,
    to: &str,
    question: impl AsyncFnOnce(&mut AsyncPgConnection, &Tenant, i64) -> Result<Question, AppError>,
    change: impl AsyncFnOnce(&mut AsyncPgConnection, &Change<'_>, i64) -> Result<T, AppError>,
    message: impl FnOnce(&T) -> String,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = writable::<F>(user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    if !confirm.confirmed {
        F::may_change(&mut conn, user, &tenant).await?;
        let q = question(&mut conn, &tenant, id).await?;
        return ask(req, user, &mut conn, F::SECTION, q).await;
    }
    let actor = actor(user, req);
    let c = Change::new(user, &actor, &tenant, state.clock.now());
    let value = change(&mut conn, &c, id).await?;
    done(req, user, message(&value), &tenant_page(&tenant, to))
}

/// A form page's status: 422 when it shows field errors.
pub(crate) fn status(errors: &FieldErrors) -> actix_web::http::StatusCode {
    if errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A select's option: value, label, selected.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The options of an id select: none, then each `(id, name)`.
pub(crate) fn id_choices(items: &[(i64, String)], chosen: &str, none: &str) -> Vec<Choice> {
    std::iter::once(Choice {
        value: String::new(),
        label: none.to_string(),
        selected: chosen.trim().is_empty(),
    })
    .chain(items.iter().map(|(id, name)| Choice {
        value: id.to_string(),
        label: name.clone(),
        selected: chosen.trim() == id.to_string(),
    }))
    .collect()
}

/// The whole page, or for htmx its content block.
macro_rules! page_or_fragment {
    ($req:expr, $page:expr, $status:expr) => {
        if crate::web::page::wants_fragment($req) {
            crate::web::page::render_status(&$page.as_content(), $status)
        } else {
            crate::web::page::render_status(&$page, $status)
        }
    };
}
pub(crate) use page_or_fragment;
