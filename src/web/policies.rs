//! `/tenants/{id}/policies`: a tenant's policies and the ones it inherits (issue
//! #15). The list (own and inherited, nearest owner first, with an "inherited from"
//! badge), the new-policy form, a policy's page (`/{pid}`: its form when it is the
//! tenant's own, read-only when inherited; an override shows what differs from the
//! inherited policy and offers **Reset to inherited**), its delete, the override
//! form of an inherited policy (`/{pid}/override`), the effective policies
//! (`/effective`) and the overrides report (`/overrides`). Policies read to see
//! them, Policies full to change them (`services::policies` decides, with
//! `authz::require_own_policy` for inherited ones).

use crate::auth::authz::{self, PolicyAccess, PolicyReason};
use crate::auth::CurrentUser;
use crate::db::models::policy::{Policy, SeenPolicy};
use crate::db::models::Tenant;
use crate::domain::policy::{
    entry_label, Cleared, Enforcement, PolicyKind, PolicySettings, SettingDiff, CATEGORIES,
    REGULATORY_LISTS,
};
use crate::error::{AppError, FieldErrors};
use crate::services::policies::{
    self as service, Change, Confirmation, Effective, OverridesReport, PolicyInput, RawPolicy,
    Updated,
};
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::{
    field_errors, given_twice, one_of, paged, read_form, with_checkbox, NoParams,
};
use crate::web::owned::{
    can_change, confirmed, page_or_fragment, readable, status, tenant_page, writable, Policies,
};
use crate::web::page::{done, PageCtx};
use crate::web::routes::{form_routes, route, Route};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    let mut all = vec![
        route!(GET "/tenants/{id}/policies/effective" => effective),
        route!(GET "/tenants/{id}/policies/overrides" => overrides),
    ];
    all.extend(form_routes!("/tenants/{id}/policies", "{pid}"));
    all.extend([
        route!(GET "/tenants/{id}/policies/{pid}/override" => override_form),
        route!(POST "/tenants/{id}/policies/{pid}/override" => create_override),
        route!(POST "/tenants/{id}/policies/{pid}/reset" => reset),
    ]);
    all
}

/// The list's page under the tenant.
const LIST: &str = "policies";
/// Rows a list page shows at once.
const PER_PAGE: i64 = 50;

fn list(tenant: &Tenant) -> String {
    tenant_page(tenant, LIST)
}

/// The list's query string: the page (others are ignored, as on every console
/// list: a link from a mail may carry `utm_source`).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub page: String,
}

#[derive(Template)]
#[template(path = "policies/index.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<SeenPolicy>,
    total: i64,
    page_no: i64,
    pages: i64,
    can_change: bool,
    /// The policies seen that a lock above their owner overrides, with that lock.
    overruled: Vec<(SeenPolicy, SeenPolicy)>,
}

impl IndexPage {
    fn page_href(&self, page: i64) -> String {
        format!("{}?page={page}", list(&self.tenant))
    }

    /// The lock that overrides `p` (it has no effect), if one does.
    fn overruled(&self, p: &Policy) -> Option<&SeenPolicy> {
        self.overruled
            .iter()
            .find(|(s, _)| s.policy.id == p.id)
            .map(|(_, lock)| lock)
    }

    fn inherited(&self, p: &Policy) -> bool {
        p.tenant_id != self.tenant.id
    }

    fn summary(&self, p: &Policy) -> String {
        summary(p)
    }
}

/// What a policy's settings say, in a line.
fn summary(p: &Policy) -> String {
    match p.threshold {
        Some(t) => format!("threshold {t}"),
        None => {
            let e = p.entries();
            let shown: Vec<&str> = e.iter().take(3).map(|e| entry_label(e)).collect();
            let more = e.len().saturating_sub(3);
            if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            }
        }
    }
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Policies>(&user, &mut conn, &path).await?;
    let shown = paged(&params.page, PER_PAGE, async |n| {
        Ok(Policy::visible_page(&mut conn, &tenant.path, n, PER_PAGE).await?)
    })
    .await?;
    let overruled = service::overruled_in(&mut conn, &tenant).await?;
    let page = IndexPage {
        overruled,
        page: PageCtx::new(&user, &mut conn, "policies").await?,
        total: shown.total,
        page_no: shown.page_no,
        pages: shown.pages,
        rows: shown.rows,
        can_change: can_change::<Policies>(&user, &tenant),
        tenant,
    };
    page_or_fragment!(&req, page, actix_web::http::StatusCode::OK)
}

/// The policy form as sent: the kind's settings in their own fields (`threshold`;
/// `categories` and `regulatory`, one value per ticked box; `domains`, one per line).
#[derive(Clone, Debug, Default)]
pub struct PolicyForm {
    pub name: String,
    pub kind: String,
    pub threshold: String,
    pub categories: Vec<String>,
    pub regulatory: Vec<String>,
    pub domains: String,
    pub inheritable: Option<String>,
    pub enforcement: String,
    /// `1` once the user confirmed what the change clears below (`yes` as well, as
    /// the other confirmations send).
    pub confirm: String,
    /// What the confirmation showed it clears (`Cleared::fingerprint`): confirmed,
    /// a change that clears something else by then is asked about again.
    pub cleared: String,
    /// Set by the confirmation's Cancel: back to the form as filled in, nothing saved.
    pub back: bool,
}

impl PolicyForm {
    /// The form's fields from the body (400 when it cannot be read).
    fn read(req: &HttpRequest, body: &[u8]) -> Result<Self, AppError> {
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let mut form = PolicyForm::default();
        let mut seen = std::collections::HashSet::new();
        for (name, value) in read_form(content_type, body)? {
            let single = !matches!(name.as_str(), "categories" | "regulatory");
            if single && !seen.insert(name.clone()) {
                return Err(given_twice(&name));
            }
            match name.as_str() {
                "name" => form.name = value,
                "kind" => form.kind = value,
                "threshold" => form.threshold = value,
                "categories" => form.categories.push(value),
                "regulatory" => form.regulatory.push(value),
                "domains" => form.domains = value,
                "inheritable" => form.inheritable = Some(value),
                "enforcement" => form.enforcement = value,
                "confirm" => form.confirm = value,
                "cleared" => form.cleared = value,
                "back" => form.back = true,
                _ => {}
            }
        }
        Ok(form)
    }

    fn of(p: &Policy) -> Self {
        let entries = p.entries();
        let mut form = PolicyForm {
            name: p.name.clone(),
            kind: p.kind.as_str().into(),
            threshold: p.threshold.map(|t| t.to_string()).unwrap_or_default(),
            inheritable: p.inheritable.then(|| "true".into()),
            enforcement: p.enforcement.as_str().into(),
            ..PolicyForm::default()
        };
        match p.kind {
            PolicyKind::ContentFilter => form.categories = entries,
            PolicyKind::Regulatory => form.regulatory = entries,
            PolicyKind::AllowList | PolicyKind::DenyList => form.domains = entries.join("\n"),
            PolicyKind::BlockingThreshold => {}
        }
        form
    }

    /// How the change was confirmed: not at all, after a confirmation that showed
    /// what it clears (its fingerprint sent back), or with a bare `confirm=1`.
    fn confirmation(&self) -> Confirmation {
        match (self.confirm.trim(), self.cleared.trim()) {
            ("1" | "yes", "") => Confirmation::Any,
            ("1" | "yes", seen) => Confirmation::Shown(seen.to_string()),
            _ => Confirmation::No,
        }
    }

    /// The fields as sent, for the confirmation to send again.
    fn hidden(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("name", self.name.clone()),
            ("kind", self.kind.clone()),
            ("threshold", self.threshold.clone()),
        ];
        fields.extend(self.categories.iter().map(|c| ("categories", c.clone())));
        fields.extend(self.regulatory.iter().map(|r| ("regulatory", r.clone())));
        fields.push(("domains", self.domains.clone()));
        if let Some(i) = &self.inheritable {
            fields.push(("inheritable", i.clone()));
        }
        fields.push(("enforcement", self.enforcement.clone()));
        fields
    }

    /// The service's input, or every field error at once.
    fn to_input(&self) -> Result<PolicyInput, FieldErrors> {
        let threshold = match self.threshold.trim() {
            "" => None,
            raw => match raw.parse::<i64>() {
                Ok(t) => Some(t),
                Err(_) => Some(-1),
            },
        };
        let kind = self.kind.trim().parse::<PolicyKind>().ok();
        let entries = match kind {
            Some(PolicyKind::ContentFilter) => self.categories.clone(),
            Some(PolicyKind::Regulatory) => self.regulatory.clone(),
            Some(PolicyKind::AllowList | PolicyKind::DenyList) => {
                PolicySettings::lines(&self.domains)
            }
            _ => Vec::new(),
        };
        with_checkbox("inheritable", &self.inheritable, |inheritable| {
            PolicyInput::parse(&RawPolicy {
                name: &self.name,
                kind: &self.kind,
                threshold,
                entries,
                inheritable,
                enforcement: &self.enforcement,
            })
        })
    }
}

/// What a policy's page is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    New,
    /// The tenant's own policy.
    Own,
    /// An inherited policy: read-only, perhaps overridable.
    Inherited {
        owner: String,
        may_override: bool,
        /// This tenant's override of it, if it has one.
        overridden_by: Option<(i64, String)>,
    },
    /// A new override of the inherited policy.
    NewOverride,
}

#[derive(Template)]
#[template(path = "policies/form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    /// The policy shown (`None`: a new one).
    policy: Option<Policy>,
    mode: Mode,
    /// The inherited policy this one overrides (or, for a new override, is to).
    overrides: Option<SeenPolicy>,
    /// An override's fields beside the inherited policy's, every one of them.
    differences: Vec<SettingDiff>,
    form: PolicyForm,
    errors: FieldErrors,
    can_change: bool,
    /// The lock above the policy's owner that overrides it (it has no effect).
    overruled_by: Option<SeenPolicy>,
}

impl FormPage {
    fn form_action(&self) -> String {
        match (&self.mode, &self.policy, &self.overrides) {
            (Mode::NewOverride, _, Some(of)) => {
                format!("{}/{}/override", list(&self.tenant), of.policy.id)
            }
            (_, Some(p), _) => format!("{}/{}", list(&self.tenant), p.id),
            _ => format!("{}/new", list(&self.tenant)),
        }
    }

    fn editable(&self) -> bool {
        self.can_change && !matches!(self.mode, Mode::Inherited { .. })
    }

    /// Does the override differ from the inherited policy in any field?
    fn differs(&self) -> bool {
        self.differences.iter().any(|d| d.differs)
    }

    /// The kind is chosen only for a new policy (an override keeps the inherited one's).
    fn kind_fixed(&self) -> bool {
        self.mode != Mode::New
    }

    fn kinds(&self) -> Vec<(&'static str, &'static str, bool)> {
        PolicyKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(), self.form.kind == k.as_str()))
            .collect()
    }

    /// Each category: its value, its label, and whether it is ticked.
    fn categories(&self) -> Vec<(&'static str, &'static str, bool)> {
        CATEGORIES
            .iter()
            .map(|c| {
                (
                    *c,
                    entry_label(c),
                    self.form.categories.iter().any(|x| x == c),
                )
            })
            .collect()
    }

    /// Each regulatory list: its value, its label, and whether it is ticked.
    fn regulatory(&self) -> Vec<(&'static str, &'static str, bool)> {
        REGULATORY_LISTS
            .iter()
            .map(|c| {
                (
                    *c,
                    entry_label(c),
                    self.form.regulatory.iter().any(|x| x == c),
                )
            })
            .collect()
    }

    /// Does the form show the fields of `setting` (`PolicyKind::setting`)? Those of
    /// the policy's kind only, once it has one (a policy's page, an override, a new
    /// policy whose kind is chosen); every kind's, each labelled with its kind, on
    /// a new policy's form before that (with htmx, choosing the kind swaps in its
    /// fields only: `?kind=`).
    fn shows(&self, setting: &str) -> bool {
        match self.form.kind.parse::<PolicyKind>() {
            Ok(kind) => kind.setting() == setting,
            Err(_) => true,
        }
    }

    /// Is the form's kind one (so only its fields show)?
    fn kind_chosen(&self) -> bool {
        self.form.kind.parse::<PolicyKind>().is_ok()
    }

    fn locked(&self) -> bool {
        self.form.enforcement == Enforcement::Locked.as_str()
    }

    fn inheritable(&self) -> bool {
        self.form.inheritable.is_some()
    }

    fn kind_label(&self) -> &'static str {
        self.form
            .kind
            .parse::<PolicyKind>()
            .map(PolicyKind::label)
            .unwrap_or("")
    }
}

#[expect(clippy::too_many_arguments, reason = "each is one part of the page")]
async fn form_page(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    policy: Option<Policy>,
    mode: Mode,
    overrides: Option<SeenPolicy>,
    form: PolicyForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = status(&errors);
    let differences = match (&policy, &overrides) {
        (Some(p), Some(of)) => service::comparison(&of.policy, p),
        _ => Vec::new(),
    };
    let overruled_by = match &policy {
        Some(p) => service::overruled_here(conn, &tenant, p).await?,
        None => None,
    };
    let page = FormPage {
        overruled_by,
        page: PageCtx::new(user, conn, "policies").await?,
        can_change: can_change::<Policies>(user, &tenant),
        tenant,
        policy,
        mode,
        overrides,
        differences,
        form,
        errors,
    };
    page_or_fragment!(req, page, status)
}

/// The new-policy form's query string: the kind whose fields it shows (htmx asks
/// for it when the kind is chosen; without it, every kind's fields show).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewParams {
    pub kind: String,
}

async fn new_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<NewParams>,
) -> Result<HttpResponse, AppError> {
    let kinds: Vec<(&str, PolicyKind)> = PolicyKind::ALL.iter().map(|k| (k.as_str(), *k)).collect();
    let kind = one_of("kind", &params.kind, &kinds)?;
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Policies>(&user, &mut conn, &path).await?;
    service::may_change(&user, &tenant)?;
    let form = PolicyForm {
        kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        enforcement: Enforcement::Default.as_str().into(),
        ..PolicyForm::default()
    };
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        None,
        Mode::New,
        None,
        form,
        FieldErrors::new(),
    )
    .await
}

/// The flash of a saved change: `done`, and what it cleared below, if anything.
fn saved_message(done: String, cleared: &Cleared) -> String {
    if cleared.is_empty() {
        return done;
    }
    format!(
        "{done} Cleared below: {} (resolvers and subnets follow their tenant's effective \
         policy, overrides became plain policies).",
        cleared.totals().phrase()
    )
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = PolicyForm::read(&req, &body)?;
    let input = form.to_input();
    // As `saved`, with a third answer: a new lock that would clear choices below is
    // asked about first (`Updated::Unconfirmed`: nothing created).
    let mut conn = state.pool.get().await?;
    let tenant = writable::<Policies>(&user, &mut conn, &path).await?;
    // The confirmation's Cancel: the form again as filled in, nothing saved.
    let created = if form.back {
        service::may_change(&user, &tenant)?;
        Ok(Err(FieldErrors::new()))
    } else {
        let actor = crate::web::actor(&user, &req);
        let c = Change::new(&user, &actor, &tenant, state.clock.now());
        field_errors(service::create(&mut conn, &c, input, &form.confirmation()).await)
    };
    match created? {
        Ok(Updated::Saved(p, cleared)) => done(
            &req,
            &user,
            saved_message(format!("Created policy {}.", p.name), &cleared),
            &list(&tenant),
        ),
        Ok(Updated::Unconfirmed(cleared)) => {
            let action = format!("{}/new", list(&tenant));
            let question = lock_question(&form.name, &form.kind, &tenant);
            ask(&req, &user, &mut conn, question, action, form, &cleared).await
        }
        Err(errors) => {
            form_page(
                &req,
                &user,
                &mut conn,
                tenant,
                None,
                Mode::New,
                None,
                form,
                errors,
            )
            .await
        }
    }
}

/// A policy's page as the tenant sees it: its form, or read-only when inherited.
async fn shown(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    id: i64,
    form: Option<PolicyForm>,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (seen, access) = service::find(conn, &tenant, id).await?;
    let mode = match access {
        PolicyAccess::Own => Mode::Own,
        _ => {
            let over = Policy::override_of(conn, tenant.id, id).await?;
            let may_override = match service::overridable(conn, &tenant, id).await {
                Ok(_) => true,
                Err(AppError::Problem { .. }) => false,
                Err(e) => return Err(e),
            };
            Mode::Inherited {
                may_override: may_override && over.is_none(),
                owner: seen.owner_name.clone(),
                overridden_by: over.map(|o| (o.id, o.name)),
            }
        }
    };
    let overrides = service::overridden(conn, &seen.policy).await?;
    let mut form = form.unwrap_or_else(|| PolicyForm::of(&seen.policy));
    // The kind is the policy's: only its fields show, whatever was sent.
    form.kind = seen.policy.kind.as_str().into();
    form_page(
        req,
        user,
        conn,
        tenant,
        Some(seen.policy),
        mode,
        overrides,
        form,
        errors,
    )
    .await
}

async fn edit_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _none: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Policies>(&user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    shown(&req, &user, &mut conn, tenant, id, None, FieldErrors::new()).await
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = PolicyForm::read(&req, &body)?;
    let input = form.to_input();
    let id = parse_id(&path.1)?;
    // As `saved`, with a third answer: a change that would clear choices below is
    // asked about first (`Updated::Unconfirmed`: nothing changed).
    let mut conn = state.pool.get().await?;
    let tenant = writable::<Policies>(&user, &mut conn, &path.0).await?;
    if form.back {
        let errors = FieldErrors::new();
        return shown(&req, &user, &mut conn, tenant, id, Some(form), errors).await;
    }
    let actor = crate::web::actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    let updated = service::update(&mut conn, &c, id, input, &form.confirmation()).await;
    match field_errors(updated)? {
        Ok(Updated::Saved(p, cleared)) => done(
            &req,
            &user,
            saved_message(format!("Saved policy {}.", p.name), &cleared),
            &list(&tenant),
        ),
        Ok(Updated::Unconfirmed(cleared)) => {
            confirm_change(&req, &user, &mut conn, &tenant, id, form, &cleared).await
        }
        Err(errors) => shown(&req, &user, &mut conn, tenant, id, Some(form), errors).await,
    }
}

/// The confirmation of a change that clears choices below: what it clears, per
/// tenant the user sees and as one number for the rest; its form sends the change
/// again with `confirm=1` and the fingerprint of what it showed (`cleared`), its
/// Cancel (`back=1`) returns to the form as filled in.
#[derive(Template)]
#[template(path = "policies/confirm.html", blocks = ["content"])]
struct ConfirmChangePage {
    page: PageCtx,
    title: String,
    detail: String,
    lines: Vec<String>,
    /// Asked again: the change clears something else than the confirmation sent
    /// back had shown.
    stale: bool,
    action: String,
    hidden: Vec<(&'static str, String)>,
}

async fn confirm_change(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    id: i64,
    form: PolicyForm,
    cleared: &Cleared,
) -> Result<HttpResponse, AppError> {
    let (seen, _) = service::find(conn, tenant, id).await?;
    let old = seen.policy;
    let (name, below) = (&old.name, &tenant.name);
    let question = if old.inheritable && form.inheritable.is_none() {
        (
            format!("Stop {name} reaching the tenants below?"),
            format!(
                "{name} stops reaching the tenants below {below}: their resolvers and subnets \
                 that use it follow their tenant's effective policy, and their overrides of it \
                 become plain policies."
            ),
        )
    } else {
        lock_question(name, old.kind.as_str(), tenant)
    };
    let back = format!("{}/{}", list(tenant), id);
    ask(req, user, conn, question, back, form, cleared).await
}

/// The title and detail of the confirmation of a lock (a new one, an override
/// that is one, or a policy made one) named `name` of kind `kind` in `tenant`.
fn lock_question(name: &str, kind: &str, tenant: &Tenant) -> (String, String) {
    let kind = kind
        .parse::<PolicyKind>()
        .map(|k| k.label().to_lowercase())
        .unwrap_or_default();
    let below = &tenant.name;
    (
        format!("Lock {name} for the tenants below?"),
        format!(
            "Locked, {name} is the only {kind} policy the tenants below {below} may use: \
             their resolvers and subnets that chose another {kind} policy follow the lock, \
             and their overrides of {kind} policies — of this one, and of any other the lock \
             now leaves without effect — become plain policies."
        ),
    )
}

/// The confirmation page: `question` (title, detail), what `cleared` clears as the
/// user may be told, and a form posting `form` again to `action` with `confirm=1`
/// and `cleared`'s fingerprint (or, with its Cancel, `back=1`). A form that was
/// confirmed already (it carries a fingerprint) is asked again: what it clears
/// changed meanwhile, and the page says so.
async fn ask(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    (title, detail): (String, String),
    action: String,
    form: PolicyForm,
    cleared: &Cleared,
) -> Result<HttpResponse, AppError> {
    let view = service::cleared_view(conn, user, cleared).await?;
    let mut hidden = form.hidden();
    hidden.push(("cleared", cleared.fingerprint()));
    let page = ConfirmChangePage {
        page: PageCtx::new(user, conn, "policies").await?,
        title,
        detail,
        lines: view.lines(),
        stale: form.confirmation() != Confirmation::No,
        action,
        hidden,
    };
    page_or_fragment!(req, page, actix_web::http::StatusCode::OK)
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    confirmed::<Policies, _>(
        &req,
        &user,
        &state,
        &path,
        &confirm,
        LIST,
        async |conn, tenant, id| {
            let (seen, access) = service::find(conn, tenant, id).await?;
            authz::require_own_policy(access, &seen.owner_name)?;
            let p = seen.policy;
            let used = Policy::uses_by_tenant(conn, &p).await?;
            let used = if used.is_empty() {
                "Nothing uses it.".to_string()
            } else {
                format!(
                    "What uses it: {}.",
                    service::cleared_view(conn, &user, &used)
                        .await?
                        .lines()
                        .join("; ")
                )
            };
            let back = format!("{}/{}", list(tenant), p.id);
            Ok(Question {
                title: format!("Delete the policy {}?", p.name),
                detail: format!(
                    "The policy {} is removed for good: the resolvers and subnets using it \
                     (here or below) then follow their tenant's effective policy, overrides of \
                     it become plain policies of their tenants. {used}",
                    p.name,
                ),
                button: "Delete policy".into(),
                action: format!("{back}/delete"),
                cancel: back,
                ..Question::default()
            })
        },
        // The page asked already, naming what uses the policy.
        async |conn, c, id| match service::delete(conn, c, id, &Confirmation::Any).await? {
            Updated::Saved(p, _) => Ok(p),
            Updated::Unconfirmed(cleared) => Err(service::delete_unconfirmed(&cleared)),
        },
        |p: &Policy| format!("Deleted policy {}.", p.name),
    )
    .await
}

/// The inherited policy `raw` names, if the tenant may override it (404, 403).
async fn overridable(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    raw: &str,
) -> Result<SeenPolicy, AppError> {
    service::overridable(conn, tenant, parse_id(raw)?).await
}

async fn override_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _none: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Policies>(&user, &mut conn, &path.0).await?;
    service::may_change(&user, &tenant)?;
    let of = overridable(&mut conn, &tenant, &path.1).await?;
    if let Some(over) = Policy::override_of(&mut conn, tenant.id, of.policy.id).await? {
        // One override per inherited policy: this tenant's is the one to change.
        return Ok(crate::web::page::see_other(
            &req,
            &format!("{}/{}", list(&tenant), over.id),
        ));
    }
    // The inherited policy's settings, `inheritable` too: unchanged, the override
    // differs in nothing.
    let mut form = PolicyForm::of(&of.policy);
    form.name = service::free_override_name(&mut conn, &tenant, &of.policy).await?;
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        None,
        Mode::NewOverride,
        Some(of),
        form,
        FieldErrors::new(),
    )
    .await
}

async fn create_override(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let mut form = PolicyForm::read(&req, &body)?;
    let of_id = parse_id(&path.1)?;
    let mut conn = state.pool.get().await?;
    let tenant = writable::<Policies>(&user, &mut conn, &path.0).await?;
    service::may_change(&user, &tenant)?;
    // The kind is the inherited policy's (its field is not sent: it is shown fixed).
    let of = Policy::find_visible(&mut conn, &tenant.path, of_id).await?;
    form.kind = of.policy.kind.as_str().into();
    let input = form.to_input();
    // The confirmation's Cancel: the form again as filled in, nothing saved.
    let created = if form.back {
        Ok(Err(FieldErrors::new()))
    } else {
        let actor = crate::web::actor(&user, &req);
        let c = Change::new(&user, &actor, &tenant, state.clock.now());
        let created =
            service::create_override(&mut conn, &c, of_id, input, &form.confirmation()).await;
        field_errors(created)
    };
    match created? {
        Ok(Updated::Saved(p, cleared)) => done(
            &req,
            &user,
            saved_message(format!("Created override {}.", p.name), &cleared),
            &list(&tenant),
        ),
        Ok(Updated::Unconfirmed(cleared)) => {
            let action = format!("{}/{}/override", list(&tenant), of_id);
            let question = lock_question(&form.name, &form.kind, &tenant);
            ask(&req, &user, &mut conn, question, action, form, &cleared).await
        }
        Err(errors) => {
            let of = overridable(&mut conn, &tenant, &path.1).await?;
            form_page(
                &req,
                &user,
                &mut conn,
                tenant,
                None,
                Mode::NewOverride,
                Some(of),
                form,
                errors,
            )
            .await
        }
    }
}

/// Where a reset returns to: the overrides report it was started from (`next`, only
/// a report's own path: `/tenants/{id}/policies/overrides`), else the list.
fn report_path(confirm: &Confirm) -> Option<String> {
    let next = confirm.fields.iter().find(|(k, _)| k == "next")?.1.as_str();
    let id = next
        .strip_prefix("/tenants/")?
        .strip_suffix("/policies/overrides")?;
    let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    Some(format!("/tenants/{id}/policies/overrides"))
}

async fn reset(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    // As `confirmed`, returning to the report a reset was started from.
    let next = report_path(&confirm);
    let mut conn = state.pool.get().await?;
    let tenant = writable::<Policies>(&user, &mut conn, &path.0).await?;
    let id = parse_id(&path.1)?;
    if !confirm.confirmed {
        service::may_change(&user, &tenant)?;
        let (seen, access) = service::find(&mut conn, &tenant, id).await?;
        authz::require_own_policy(access, &seen.owner_name)?;
        let Some(of) = service::overridden(&mut conn, &seen.policy).await? else {
            return Err(AppError::NotFound);
        };
        let back = format!("{}/{}", list(&tenant), id);
        let detail = reset_detail(&mut conn, &user, &tenant, &seen.policy, &of).await?;
        let q = Question {
            title: format!(
                "Reset {} to the inherited {}?",
                seen.policy.name, of.policy.name
            ),
            detail,
            button: "Reset to inherited".into(),
            action: format!("{back}/reset"),
            cancel: next.clone().unwrap_or(back),
            hidden: next
                .iter()
                .map(|n| ("next".to_string(), n.clone()))
                .collect(),
            ..Question::default()
        };
        return crate::web::confirm::ask(&req, &user, &mut conn, "policies", q).await;
    }
    let actor = crate::web::actor(&user, &req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    let p = service::reset_override(&mut conn, &c, id).await?;
    let to = next.unwrap_or_else(|| list(&tenant));
    done(
        &req,
        &user,
        format!("Reset {} to the inherited policy.", p.name),
        &to,
    )
}

/// Names in a sentence: "dns-1, dns-2 and dns-3", at most `MAX_NAMED` of them.
fn named(names: &[String]) -> String {
    const MAX_NAMED: usize = 20;
    let shown = &names[..names.len().min(MAX_NAMED)];
    let more = names.len() - shown.len();
    match (shown, more) {
        ([], _) => String::new(),
        ([one], 0) => one.clone(),
        ([rest @ .., last], 0) => format!("{} and {last}", rest.join(", ")),
        (all, more) => format!("{} and {more} more", all.join(", ")),
    }
}

/// Exactly what resetting the override `over` to the inherited `of` does: the
/// override goes with what it changes; the tenant's resolvers and subnets that use
/// it (named) use `of` again; below, what used it follows its tenant's effective
/// policy and overrides of it become plain policies (tenants named where seen).
async fn reset_detail(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    tenant: &Tenant,
    over: &Policy,
    of: &SeenPolicy,
) -> Result<String, AppError> {
    let changes: Vec<String> = service::differences(&of.policy, over)
        .iter()
        .map(|d| d.summary())
        .collect();
    let mut detail = format!(
        "The override {} is deleted{}.",
        over.name,
        if changes.is_empty() {
            " (its settings are the inherited policy's)".to_string()
        } else {
            format!(" with what it changes ({})", changes.join("; "))
        }
    );
    let (resolvers, subnets) = Policy::users_in(conn, tenant.id, over.id).await?;
    let subnets: Vec<String> = subnets.iter().map(ToString::to_string).collect();
    let mut back = Vec::new();
    for (unit, names) in [("resolver", &resolvers), ("subnet", &subnets)] {
        if !names.is_empty() {
            let s = if names.len() == 1 { "" } else { "s" };
            back.push(format!("{unit}{s} {}", named(names)));
        }
    }
    let inherited = format!("{} (inherited from {})", of.policy.name, of.owner_name);
    detail.push(' ');
    detail.push_str(&if back.is_empty() {
        format!(
            "No resolver or subnet of {} uses it; they keep their policies.",
            tenant.name
        )
    } else {
        format!(
            "These of {} use {inherited} again: {}.",
            tenant.name,
            back.join("; ")
        )
    });
    let mut below = Policy::uses_by_tenant(conn, over).await?;
    below.0.remove(&tenant.id);
    if !below.is_empty() {
        let view = service::cleared_view(conn, user, &below).await?;
        detail.push_str(&format!(
            " Below {}, the resolvers and subnets that use it follow their tenant's effective \
             policy and overrides of it become plain policies: {}.",
            tenant.name,
            view.lines().join("; ")
        ));
    }
    Ok(detail)
}

// ---------------------------------------------------------------- effective

#[derive(Template)]
#[template(path = "policies/effective.html", blocks = ["content"])]
struct EffectivePage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<Effective>,
}

impl EffectivePage {
    /// Why the row's policy applies, in words.
    fn why(&self, e: &Effective) -> String {
        let owner = e.policy.as_ref().map_or("", |p| p.owner_name.as_str());
        match e.reason {
            Some(PolicyReason::Own) => "own".into(),
            Some(PolicyReason::Inherited) => format!("inherited from {owner}"),
            Some(PolicyReason::Locked) => format!("locked by {owner}"),
            Some(PolicyReason::Override { .. }) => match &e.overrides {
                Some(of) => format!("override of {} ({})", of.policy.name, of.owner_name),
                None => "override".into(),
            },
            None => "none".into(),
        }
    }

    /// How a policy of the row's kind that does not apply stands, once: whose it
    /// is, and what shadows it — the lock that leaves it without effect ("(own lock):
    /// overridden by the lock of Acme (no effect)"), or the applied policy and the
    /// rule that put it first ("(inherited from Acme): shadowed by this tenant's own
    /// A1 deny").
    fn shadowed(&self, e: &Effective, s: &SeenPolicy, lock: &Option<SeenPolicy>) -> String {
        let own = s.policy.tenant_id == self.tenant.id;
        let lock_of = s.policy.inheritable && s.policy.enforcement == Enforcement::Locked;
        let whose = match (own, lock_of) {
            (true, false) => "own".to_string(),
            (true, true) => "own lock".to_string(),
            (false, false) => format!("inherited from {}", s.owner_name),
            (false, true) => format!("lock inherited from {}", s.owner_name),
        };
        if let Some(lock) = lock {
            return format!(
                "({whose}): overridden by the lock of {} (no effect)",
                lock.owner_name
            );
        }
        let Some(applied) = &e.policy else {
            return format!("({whose}): not applied");
        };
        let a = &applied.policy.name;
        let kind = e.kind.label().to_lowercase();
        let why = match e.reason {
            Some(PolicyReason::Override { of }) if of == s.policy.id => {
                format!("shadowed by this tenant's override {a}")
            }
            Some(PolicyReason::Override { .. }) if own => format!(
                "shadowed by the override {a}: an override of the nearest inherited policy \
                 applies ahead of this tenant's other {kind} policies"
            ),
            Some(PolicyReason::Override { .. }) => {
                format!("shadowed by this tenant's override {a}")
            }
            Some(PolicyReason::Own) if own => format!(
                "shadowed by {a}: of this tenant's own {kind} policies, the oldest (created \
                 first) applies"
            ),
            Some(PolicyReason::Own) => format!("shadowed by this tenant's own {a}"),
            Some(PolicyReason::Inherited) if applied.policy.tenant_id == s.policy.tenant_id => {
                format!(
                    "shadowed by {a}: of the {kind} policies {} passes down, the oldest \
                     (created first) applies",
                    s.owner_name
                )
            }
            Some(PolicyReason::Inherited) => format!(
                "shadowed by {a}, inherited from {}: the nearest inherited policy applies",
                applied.owner_name
            ),
            Some(PolicyReason::Locked) => format!("shadowed by the lock {a}"),
            None => "not applied".to_string(),
        };
        format!("({whose}): {why}")
    }
}

async fn effective(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _none: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Policies>(&user, &mut conn, &path).await?;
    let rows = service::effective(&mut conn, &tenant).await?;
    let page = EffectivePage {
        page: PageCtx::new(&user, &mut conn, "policies").await?,
        tenant,
        rows,
    };
    page_or_fragment!(&req, page, actix_web::http::StatusCode::OK)
}

// ---------------------------------------------------------------- overrides

#[derive(Template)]
#[template(path = "policies/overrides.html", blocks = ["content"])]
struct OverridesPage {
    page: PageCtx,
    tenant: Tenant,
    report: OverridesReport,
}

async fn overrides(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _none: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Policies>(&user, &mut conn, &path).await?;
    let report = service::overrides_report(&mut conn, &user, &tenant).await?;
    let page = OverridesPage {
        page: PageCtx::new(&user, &mut conn, "policies").await?,
        tenant,
        report,
    };
    page_or_fragment!(&req, page, actix_web::http::StatusCode::OK)
}
