//! `/tenants/{id}/branding` (feature Settings): a tenant's product name, logo,
//! primary colour and support contact, each set here or inherited (the page shows
//! from where) with **Reset to inherited**; and what shows a branding to anyone:
//! the logo (`/branding/logo/{etag}`) and the colour's style sheet
//! (`/branding/theme/{rrggbb}.css`). Every write goes through
//! `services::branding::change`.

use crate::auth::{authz, CurrentUser};
use crate::db::models::branding::{Brand, Effective, Inherited, OwnBranding};
use crate::db::models::Tenant;
use crate::domain::branding::{BrandingFields, Color, FIELDS};
use crate::domain::logo::Logo;
use crate::error::{AppError, FieldErrors};
use crate::services::branding::{self as service, BrandingChange, Field};
use crate::services::change::Change;
use crate::web::form::field_errors;
use crate::web::owned::{
    can_change, page_or_fragment, readable, saved, status, tenant_page, writable, Branding,
};
use crate::web::page::{done, flash, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::upload::{parts, read_upload, UploadCut};
use crate::web::AppState;
use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/branding" => show),
        route!(POST "/tenants/{id}/branding" => save),
        route!(POST "/tenants/{id}/branding/reset" => reset),
        route!(POST "/tenants/{id}/branding/logo" => upload_logo),
        route!(GET "/branding/logo/{etag}" => logo),
        route!(GET "/branding/theme/{rrggbb}.css" => theme),
    ]
}

/// The policy of a served logo: nothing in it runs, loads or navigates (an SVG
/// opened on its own is a document; `sandbox` keeps it from scripting even so).
pub const LOGO_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// The effective branding of `tenant_id` for `user`'s page: what the session load
/// read when it is the acting tenant's, else one statement.
pub async fn brand_of(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
) -> Result<Brand, AppError> {
    match &user.brand {
        Some(brand) if tenant_id == user.acting.id => Ok(brand.clone()),
        _ => Ok(Brand::of(conn, tenant_id).await?),
    }
}

/// May `p` see `source`, a tenant on `tenant`'s path that a field comes from (else
/// the page and the API name it "a tenant above", as the breadcrumb does)?
pub fn sees_source(p: &crate::auth::Principal, tenant: &Tenant, source: i64) -> bool {
    tenant
        .path
        .iter()
        .position(|t| *t == source)
        .is_some_and(|i| authz::can_see_path(p, &tenant.path[..=i]))
}

/// Where a field's value comes from, as the page and the API say it: set on this
/// tenant, inherited from an ancestor (named if the user may see it), or unset.
pub fn source_label(p: &crate::auth::Principal, tenant: &Tenant, field: &Inherited) -> String {
    match &field.from {
        Some((id, _)) if *id == tenant.id => "Set here".into(),
        Some((id, name)) => {
            if sees_source(p, tenant, *id) {
                format!("Inherited from {name}")
            } else {
                "Inherited from a tenant above".into()
            }
        }
        None => "Not set on this tenant or above".into(),
    }
}

/// What the console shows for `field` when no tenant on the path sets it: its own
/// product name and colour (the support contact and the logo: none).
fn default_shown(field: &str) -> Option<String> {
    match field {
        "product_name" => Some(crate::domain::branding::DEFAULT_PRODUCT_NAME.into()),
        "primary_color" => Some("the console's own colour".into()),
        _ => None,
    }
}

/// The text fields as posted: each must be sent (empty to inherit); a form that
/// leaves one out is refused rather than read as "inherit everything".
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct BrandingForm {
    pub product_name: Option<String>,
    pub primary_color: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
}

/// The error of a field the form did not send.
const NOT_SENT: &str = "This field was not sent: send it, empty to inherit.";

impl BrandingForm {
    /// The tenant's own values (empty where it inherits), those its plan keeps from
    /// taking effect included.
    fn of(own: &OwnBranding) -> Self {
        let text = |v: &Option<String>| Some(v.clone().unwrap_or_default());
        BrandingForm {
            product_name: text(&own.product_name),
            primary_color: text(&own.primary_color),
            support_email: text(&own.support_email),
            support_url: text(&own.support_url),
        }
    }

    fn to_input(&self) -> Result<BrandingChange, FieldErrors> {
        let sent = [
            ("product_name", &self.product_name),
            ("primary_color", &self.primary_color),
            ("support_email", &self.support_email),
            ("support_url", &self.support_url),
        ];
        let missing: FieldErrors = sent
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| (*name, NOT_SENT.to_string()))
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        BrandingFields::parse(
            Some(&text(&self.product_name)),
            Some(&text(&self.primary_color)),
            Some(&text(&self.support_email)),
            Some(&text(&self.support_url)),
        )
        .map(BrandingChange::Fields)
    }
}

/// One field's row on the page.
struct FieldView {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: &'static str,
    input: String,
    /// What shows now (inherited or not, else the console's default) and from where.
    shown: Option<String>,
    /// `shown` is the console's default: no tenant on the path sets the field.
    default: bool,
    source: String,
    set_here: bool,
    /// The tenant's own value, kept but not shown while its plan lacks custom branding.
    kept: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "branding/show.html", blocks = ["content"])]
struct BrandingPage {
    page: PageCtx,
    tenant: Tenant,
    fields: Vec<FieldView>,
    logo_url: Option<String>,
    logo_source: String,
    logo_set_here: bool,
    /// The tenant has a logo of its own that its plan keeps from showing.
    logo_kept: bool,
    logo_error: Option<String>,
    /// Errors of no field on the page (a reset of a field that does not exist).
    form_errors: Vec<String>,
    contrast_warning: Option<String>,
    can_change: bool,
    /// Why the tenant's plan keeps it from setting its own branding ("Not in plan
    /// Basic."): the fields show disabled, its own values are kept but not shown;
    /// resets stay offered.
    plan_refusal: Option<String>,
}

impl BrandingPage {
    /// May the user set values here (the right and the plan)?
    fn can_set(&self) -> bool {
        self.can_change && self.plan_refusal.is_none()
    }

    fn errors_empty(&self) -> bool {
        self.logo_error.is_none() && self.fields.iter().all(|f| f.error.is_none())
    }

    /// "kept, not shown: not in plan Basic." after an own value its plan keeps
    /// from taking effect.
    fn kept_note(&self) -> String {
        let reason = self.plan_refusal.as_deref().unwrap_or_default();
        let mut chars = reason.chars();
        let reason: String = chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect())
            .unwrap_or_default();
        format!("kept, not shown: {reason}")
    }
}

async fn render(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    form: Option<BrandingForm>,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let view = service::view(conn, user, &tenant).await?;
    let e = &view.effective;
    let form = form.unwrap_or_else(|| BrandingForm::of(&view.own));
    let kept = |field| view.kept(field).map(|(value, _)| value.to_string());
    let row = |name: &'static str,
               label: &'static str,
               hint: &'static str,
               kind: &'static str,
               input: &Option<String>,
               f: &Inherited| FieldView {
        name,
        label,
        hint,
        kind,
        input: input.clone().unwrap_or_default(),
        shown: f.value.clone().or_else(|| default_shown(name)),
        default: f.value.is_none() && default_shown(name).is_some(),
        source: source_label(user, &tenant, f),
        set_here: f.from.as_ref().is_some_and(|(id, _)| *id == tenant.id),
        kept: Field::parse(name).and_then(kept),
        error: errors.get(name).cloned(),
    };
    let fields = vec![
        row(
            "product_name",
            "Product name",
            "Shown in every page's header and title, on the login page and in mail. At most 60 characters.",
            "text",
            &form.product_name,
            &e.product_name,
        ),
        row(
            "primary_color",
            "Primary colour",
            "#rrggbb, e.g. #1f6feb: buttons, links and highlights.",
            "text",
            &form.primary_color,
            &e.primary_color,
        ),
        row(
            "support_email",
            "Support email",
            "Where users and mail recipients are told to write for help.",
            "email",
            &form.support_email,
            &e.support_email,
        ),
        row(
            "support_url",
            "Support page",
            "A web address starting with https:// (or http://), e.g. https://help.example.com.",
            "url",
            &form.support_url,
            &e.support_url,
        ),
    ];
    let brand = e.brand();
    let page = BrandingPage {
        page: PageCtx::new(user, conn, "branding").await?,
        can_change: can_change::<Branding>(user, &tenant),
        logo_url: brand.logo_url(),
        logo_source: source_label(user, &tenant, &e.logo),
        logo_set_here: e.logo.from.as_ref().is_some_and(|(id, _)| *id == tenant.id),
        logo_kept: view.kept(Field::Logo).is_some(),
        logo_error: errors.get("logo").cloned(),
        form_errors: errors
            .iter()
            .filter(|(name, _)| !FIELDS.contains(name))
            .map(|(_, e)| e.clone())
            .collect(),
        contrast_warning: contrast_warning(e),
        plan_refusal: view.plan_refusal.clone(),
        fields,
        tenant,
    };
    page_or_fragment!(req, page, page_status(&errors))
}

/// The form error a change its plan refuses is shown as (not a field's).
const PLAN_REFUSED: &str = "plan";

/// The page's status: 409 when the tenant's plan refused the change, else 422 with
/// field errors.
fn page_status(errors: &FieldErrors) -> actix_web::http::StatusCode {
    if errors.contains_key(PLAN_REFUSED) {
        actix_web::http::StatusCode::CONFLICT
    } else {
        status(errors)
    }
}

/// A change the tenant's plan refuses (`services::branding::change`'s 409) as the
/// page's form error, so the page shows again with it instead of an error page.
fn plan_refused(e: AppError) -> AppError {
    match e {
        AppError::Conflict(message) => {
            AppError::Validation(FieldErrors::from([(PLAN_REFUSED, message)]))
        }
        e => e,
    }
}

/// The warning of the colour, if it reads badly against white and is set on this
/// tenant: an inherited one is its owner's to change, so not warned about here.
pub fn contrast_warning(e: &Effective) -> Option<String> {
    let color = &e.primary_color;
    let set_here = color.from.as_ref().map(|(id, _)| *id) == Some(e.tenant_id);
    color
        .value
        .as_deref()
        .filter(|_| set_here)
        .and_then(|c| Color::parse(c).ok())
        .and_then(|c| c.contrast_warning())
}

async fn show(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Branding>(&user, &mut conn, &path).await?;
    render(&req, &user, &mut conn, tenant, None, FieldErrors::new()).await
}

/// The flash after a change: saved, with the colour's warning if it has one.
fn saved_message(what: &str, e: &Effective) -> String {
    match contrast_warning(e) {
        Some(w) => format!("{what} Note: {w}"),
        None => what.to_string(),
    }
}

async fn save(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<BrandingForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    changed(
        &req,
        &user,
        &state,
        &path,
        input,
        "Saved the branding.",
        Some(form),
    )
    .await
}

/// One change of the page's forms through `services::branding::change`: done, 303
/// back to the page with `message` (and the colour's warning); field errors, the
/// page again with them (and `form` as typed, when the text fields were posted).
async fn changed(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    path: &str,
    input: Result<BrandingChange, FieldErrors>,
    message: &str,
    form: Option<BrandingForm>,
) -> Result<HttpResponse, AppError> {
    saved::<Branding, _>(
        req,
        user,
        state,
        path,
        "branding",
        async |conn, c| service::change(conn, c, input).await.map_err(plan_refused),
        |v| saved_message(message, &v.effective),
        async |conn, tenant, errors| render(req, user, conn, tenant, form, errors).await,
    )
    .await
}

/// A reset button's post. The text fields' buttons are inside the one form
/// (`formaction`), so the fields come with it as typed: edits not saved yet are
/// shown again after the reset, not lost. The logo's button sends `field` alone.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ResetForm {
    pub field: String,
    pub product_name: Option<String>,
    pub primary_color: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
}

impl ResetForm {
    /// The text fields as the form had them, if it sent them all (the logo's
    /// button sends none).
    fn typed(&self) -> Option<BrandingForm> {
        Some(BrandingForm {
            product_name: Some(self.product_name.clone()?),
            primary_color: Some(self.primary_color.clone()?),
            support_email: Some(self.support_email.clone()?),
            support_url: Some(self.support_url.clone()?),
        })
    }

    /// The text fields as typed, `reset` emptied (it now inherits), when one
    /// differs from what the tenant stores after the reset (`own`): edits the user
    /// has not saved.
    fn unsaved(&self, reset: Field, own: &OwnBranding) -> Option<BrandingForm> {
        let mut typed = self.typed()?;
        let emptied = match reset {
            Field::ProductName => &mut typed.product_name,
            Field::PrimaryColor => &mut typed.primary_color,
            Field::SupportEmail => &mut typed.support_email,
            Field::SupportUrl => &mut typed.support_url,
            Field::Logo => return None,
        };
        *emptied = Some(String::new());
        let edited = [
            (&typed.product_name, &own.product_name),
            (&typed.primary_color, &own.primary_color),
            (&typed.support_email, &own.support_email),
            (&typed.support_url, &own.support_url),
        ]
        .into_iter()
        .any(|(sent, stored)| {
            sent.as_deref().unwrap_or_default().trim() != stored.as_deref().unwrap_or_default()
        });
        edited.then_some(typed)
    }
}

/// What the page says after a reset that left other edits unsaved.
const EDITS_KEPT: &str = "Your other changes are not saved yet: Save branding to keep them.";

async fn reset(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let field = Field::parse(form.field.trim());
    let input = field.map(BrandingChange::Reset).ok_or_else(|| {
        FieldErrors::from([(
            "field",
            format!("Choose a field to reset: one of {}.", FIELDS.join(", ")),
        )])
    });
    let mut conn = state.pool.get().await?;
    let tenant = writable::<Branding>(&user, &mut conn, &path).await?;
    let actor = crate::web::actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    let changed = service::change(&mut conn, &c, input)
        .await
        .map_err(plan_refused);
    match field_errors(changed)? {
        Ok(view) => {
            let message = saved_message("Reset to inherited.", &view.effective);
            match field.and_then(|f| form.unsaved(f, &view.own)) {
                // The other fields' edits shown again, unsaved, with the reset done.
                Some(kept) => {
                    flash(&user.session.0, format!("{message} {EDITS_KEPT}"));
                    render(
                        &req,
                        &user,
                        &mut conn,
                        tenant,
                        Some(kept),
                        FieldErrors::new(),
                    )
                    .await
                }
                None => done(&req, &user, message, &tenant_page(&tenant, "branding")),
            }
        }
        // Refused: the page again, the fields as typed when they came.
        Err(errors) => render(&req, &user, &mut conn, tenant, form.typed(), errors).await,
    }
}

/// The logo form (`multipart/form-data`, its file in `logo`): the CSRF guard has
/// read its token; the file is judged after the rights (`saved`).
async fn upload_logo(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let upload = read_upload(payload.into_inner()).await?;
    // Cut here or by the CSRF guard: past what is kept, the file is too large.
    let cut = upload.cut || req.extensions().get::<UploadCut>().is_some();
    let mut files: Vec<_> = if cut {
        Vec::new()
    } else {
        parts(req.headers(), upload.body)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, _)| name == "logo")
            .map(|(_, data)| data)
            .collect()
    };
    let input = if cut {
        Err(crate::domain::logo::too_large())
    } else if files.len() > 1 {
        Err("Send one logo file at a time.".to_string())
    } else {
        Logo::parse(&files.pop().unwrap_or_default())
    }
    .map(BrandingChange::Logo)
    .map_err(|e| FieldErrors::from([("logo", e)]));
    changed(&req, &user, &state, &path, input, "Saved the logo.", None).await
}

/// A logo by its ETag (a hash of its content: the URL names no tenant, so no one
/// learns tenant ids or who is whose reseller from it, and it cannot be guessed
/// without the image), to anyone (it shows on login pages and in mail): its type,
/// `nosniff`, a policy under which nothing in it runs, and its ETag.
async fn logo(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let etag = path.into_inner();
    if !crate::domain::logo::is_etag(&etag) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.pool.get().await?;
    let logo = OwnBranding::logo_by_etag(&mut conn, &etag)
        .await?
        .ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", logo.etag);
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CONTENT_TYPE, logo.mime))
        .insert_header((header::ETAG, etag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, LOGO_CSP))
        .insert_header((header::CONTENT_DISPOSITION, "inline; filename=\"logo\""))
        // The URL names the image's content: another logo is another URL.
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"));
    Ok(if unchanged {
        response.finish()
    } else {
        response.body(logo.bytes)
    })
}

/// The style sheet of a primary colour: the console's accent, nothing else.
async fn theme(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let color = Color::parse(&format!("#{}", path.as_str())).map_err(|_| AppError::NotFound)?;
    if path.len() != 6 {
        return Err(AppError::NotFound);
    }
    let hex = color.hex();
    // White text on a light accent would vanish: dark text instead.
    let fg = if color.contrast_with_white() < 3.0 {
        "#1f2328"
    } else {
        "#ffffff"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(format!(":root {{ --accent: {hex}; --accent-fg: {fg}; }}\n")))
}
