//! Creating and editing a tenant, and enabling or disabling it.

use super::list::ListReturn;
use super::show::DomainView;
use super::{editable, named_or_acting};
use crate::auth::{authz, CurrentUser};
use crate::db::models::plan::Plan;
use crate::db::models::role::TenantRole;
use crate::db::models::user_limit::limits_of as user_limits;
use crate::db::models::Tenant;
use crate::domain::domain_name::ConsoleHosts;
use crate::domain::label;
use crate::domain::plan::PlanOption;
use crate::domain::resources::parse_limit;
use crate::domain::usage::parse_quota;
use crate::domain::user_limit;
use crate::error::{AppError, FieldErrors};
use crate::services::plans::{self, Warned};
use crate::services::tenants::{
    self as service, RoleChoice, TenantChange, TenantInput, TenantText,
};
use crate::web::actor;
use crate::web::confirm::{ask, Choice, Confirm, Question};
use crate::web::extract::with_path_tenant;
use crate::web::extract::Query;
use crate::web::form::{checked, field_id};
use crate::web::page::{flash, render, render_status, see_other, PageCtx};
use crate::web::plans::noted;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The tenant form as sent, kept to show again with its field errors.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TenantForm {
    pub name: String,
    pub subdomain: String,
    pub description: String,
    pub custom_domain: String,
    /// Create only: the parent's id.
    pub parent_id: String,
    /// Offered to root administrators only.
    pub tenant_role_id: String,
    pub can_have_subtenants: Option<String>,
    /// Edit only (never the root's): an unchecked box sends nothing, so absent is off.
    pub enabled: Option<String>,
    /// Labels, comma- or newline-separated; absent (a form without the field) keeps
    /// the current ones.
    pub labels: Option<String>,
    /// Queries per month, empty for no quota; absent (a form without the field)
    /// keeps the current one.
    pub monthly_query_quota: Option<String>,
    /// The subtree's limits, empty for none; absent (a form without the field) keeps
    /// the current one.
    pub storage_limit_gb: Option<String>,
    pub memory_limit_gb: Option<String>,
    pub max_instances: Option<String>,
    /// The most users of its subtree, empty for no limit; absent (a form without
    /// the field) keeps the current one.
    pub max_users: Option<String>,
    /// The plan's id, empty for none; offered to root Owners and Administrators
    /// only: absent (everyone else's form) keeps the current one.
    pub plan_id: Option<String>,
}

impl TenantForm {
    /// The edit form's starting values.
    pub fn from_tenant(t: &Tenant) -> Self {
        Self {
            name: t.name.clone(),
            subdomain: t.subdomain.clone(),
            description: t.description.clone(),
            custom_domain: t.custom_domain.clone().unwrap_or_default(),
            parent_id: t.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            tenant_role_id: t.tenant_role_id.to_string(),
            can_have_subtenants: t.can_have_subtenants.then(|| "true".into()),
            enabled: t.enabled.then(|| "true".into()),
            labels: None,
            // Read apart, like the labels (`edit_form`).
            max_users: None,
            monthly_query_quota: Some(
                t.monthly_query_quota
                    .map(|q| q.to_string())
                    .unwrap_or_default(),
            ),
            storage_limit_gb: Some(limit_text(t.limits.storage_limit_gb)),
            memory_limit_gb: Some(limit_text(t.limits.memory_limit_gb)),
            max_instances: Some(limit_text(t.limits.max_instances)),
            plan_id: Some(t.plan_id.map(|p| p.to_string()).unwrap_or_default()),
        }
    }

    /// The service's input. A new tenant starts enabled (the create form has no box).
    /// A field that cannot be read stands in as `stored` (the tenant edited) has it,
    /// its error reported with the service's (`services::draft`).
    pub fn to_input(
        &self,
        creating: bool,
        hosts: &ConsoleHosts,
        stored: Option<&Tenant>,
    ) -> TenantChange {
        let tenant_role = match self.tenant_role_id.trim() {
            "" => None,
            raw => Some(field_id(raw).map_or(RoleChoice::Unknown, RoleChoice::Id)),
        };
        let limit = |raw: &Option<String>| raw.as_deref().map(parse_limit);
        TenantChange {
            fields: TenantInput::with_max_users(
                TenantInput::with_limits(
                    TenantInput::with_quota(
                        TenantInput::with_labels(
                            TenantInput::draft(
                                TenantText::new(
                                    &self.name,
                                    &self.subdomain,
                                    &self.description,
                                    Some(&self.custom_domain),
                                ),
                                self.subtenants_checked(),
                                creating || self.enabled_checked(),
                                hosts,
                                stored,
                            ),
                            self.labels.as_deref().map(label::parse_text),
                        ),
                        self.monthly_query_quota.as_deref().map(parse_quota),
                    ),
                    [
                        limit(&self.storage_limit_gb),
                        limit(&self.memory_limit_gb),
                        limit(&self.max_instances),
                    ],
                ),
                self.max_users.as_deref().map(user_limit::parse),
            ),
            tenant_role,
            // An id that is no number names no plan (0 never does): the field's error.
            plan: self.plan_id.as_deref().map(|raw| match raw.trim() {
                "" => None,
                raw => Some(field_id(raw).unwrap_or(0)),
            }),
        }
    }

    pub fn subtenants_checked(&self) -> bool {
        checked(&self.can_have_subtenants)
    }

    pub fn enabled_checked(&self) -> bool {
        checked(&self.enabled)
    }
}

/// A limit as its field shows it: empty for none.
fn limit_text(limit: Option<i64>) -> String {
    limit.map(|l| l.to_string()).unwrap_or_default()
}

pub struct ParentOption {
    pub id: i64,
    pub label: String,
    /// Why it cannot be chosen: its plan has no sub-tenants ("Not in plan Basic.");
    /// it shows disabled with this.
    pub refusal: Option<String>,
}

#[derive(Template)]
#[template(path = "tenants/form.html")]
struct FormPage {
    page: PageCtx,
    form: TenantForm,
    errors: FieldErrors,
    parents: Vec<ParentOption>,
    /// Offered only to root administrators; empty hides the field.
    tenant_roles: Vec<TenantRole>,
    editing: Option<i64>,
    action: String,
    cancel_href: String,
    show_enabled: bool,
    /// Editing the root: it always may have sub-tenants (the box shows that, fixed).
    root: bool,
    /// The saved custom domain of the tenant being edited, with its proof.
    domain: Option<DomainView>,
    /// The plans to choose from (root Owners and Administrators; empty: the plan is
    /// shown read-only).
    plans: Vec<Plan>,
    /// The plan governing the tenant (its own, else its nearest ancestor's; a new
    /// one: its parent's), if any.
    plan: Option<Plan>,
    /// Why its plan keeps it from sub-tenants and from a custom domain ("Not in
    /// plan Basic."), if it does.
    subtenants_refusal: Option<String>,
    domain_refusal: Option<String>,
    /// Why the parent the link named is not the one chosen ("Acme may not have
    /// sub-tenants: Not in plan Basic.").
    parent_refusal: Option<String>,
}

impl FormPage {
    /// What an empty limit field means, shown to everyone who sees the form: the
    /// plan's limit where the tenant's plan has one ("Empty: plan Basic's limit,
    /// 500 GB."), else none ("Empty: unlimited (plan Basic sets no limit)." or,
    /// without a plan, "Empty: unlimited.").
    pub fn empty_hint(&self, field: &str) -> String {
        let quota = field == "monthly_query_quota";
        let (limit, none) = if quota {
            ("quota", "no quota")
        } else {
            ("limit", "unlimited")
        };
        let Some(plan) = &self.plan else {
            return format!("Empty: {none}.");
        };
        let value = plan
            .limits()
            .each()
            .into_iter()
            .find(|(f, _, _)| *f == field)
            .and_then(|(_, value, unit)| Some(crate::domain::plan::counted(value?, unit)));
        match value {
            Some(v) => format!(
                "Empty: plan {} {limit}, {v}.",
                crate::domain::text::possessive(&plan.name)
            ),
            None => format!("Empty: {none} (plan {} sets no {limit}).", plan.name),
        }
    }

    /// May the user choose the plan here (and so the options of another plan in
    /// the same save)?
    pub fn chooses_plan(&self) -> bool {
        !self.plans.is_empty()
    }

    /// The create form (`editing` None, under `parent`) or the edit form of `editing`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the form's parts, each from its caller"
    )]
    async fn build(
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        form: TenantForm,
        errors: FieldErrors,
        editing: Option<&Tenant>,
        parent: Option<&Tenant>,
        parents: Vec<ParentOption>,
        hosts: &ConsoleHosts,
    ) -> Result<Self, AppError> {
        // The root is never capped: its form offers no tenant role.
        let root = editing.is_some_and(Tenant::is_root);
        let tenant_roles = if authz::can_manage_tenant_roles(user) && !root {
            TenantRole::all(conn).await?
        } else {
            Vec::new()
        };
        let plans = if authz::can_manage_plans(user) && !root {
            Plan::all(conn).await?
        } else {
            Vec::new()
        };
        let plan = judged_plan(conn, &form, &plans, editing, parent).await?;
        let refusal = |option| authz::plan_refusal(plan.as_ref(), option);
        Ok(FormPage {
            page: PageCtx::new(user, conn, "tenants").await?,
            form,
            errors,
            parents,
            tenant_roles,
            editing: editing.map(|t| t.id),
            action: editing.map_or("/tenants".into(), |t| format!("/tenants/{}/edit", t.id)),
            cancel_href: editing.map_or("/tenants".into(), |t| format!("/tenants/{}", t.id)),
            show_enabled: editing.is_some_and(|t| !t.is_root()),
            root,
            domain: editing.and_then(|t| DomainView::of(t, hosts)),
            subtenants_refusal: refusal(PlanOption::SubTenants),
            domain_refusal: refusal(PlanOption::CustomDomain),
            parent_refusal: None,
            plans,
            plan,
        })
    }
}

/// The plan the form is judged against: the one chosen in it (a re-shown form of
/// someone who chooses plans), else the tenant's governing plan (a new one: its
/// parent's). "No plan of its own" is the plan governing the parent.
async fn judged_plan(
    conn: &mut AsyncPgConnection,
    form: &TenantForm,
    plans: &[Plan],
    editing: Option<&Tenant>,
    parent: Option<&Tenant>,
) -> Result<Option<Plan>, AppError> {
    let chosen = match form.plan_id.as_deref().map(str::trim) {
        _ if plans.is_empty() => None,
        Some("") => Some(None),
        Some(raw) => plans
            .iter()
            .find(|p| p.id.to_string() == raw)
            .map(|p| Some(p.clone())),
        None => None,
    };
    let judged = match chosen {
        Some(Some(plan)) => return Ok(Some(plan)),
        // No plan of its own: its parent's.
        Some(None) => match editing {
            Some(t) => service::parent_of(conn, t).await?,
            None => parent.cloned(),
        },
        // A new tenant is on its parent's plan unless another is chosen.
        None => editing.or(parent).cloned(),
    };
    match judged {
        Some(t) => plans::plan_of(conn, &t).await,
        None => Ok(None),
    }
}

const PARENT_CHOICES: i64 = 300;

/// Parents the user may create under, below the acting tenant (plus the preselected one).
async fn parent_options(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    selected: Option<&Tenant>,
) -> Result<Vec<ParentOption>, AppError> {
    let mut candidates =
        Tenant::possible_parents(conn, &user.acting, &authz::visibility(user), PARENT_CHOICES)
            .await?;
    if let Some(sel) = selected {
        if !candidates.iter().any(|t| t.id == sel.id) {
            candidates.insert(0, sel.clone());
        }
    }
    let ids: Vec<i64> = candidates
        .iter()
        .flat_map(|t| t.path.iter().copied())
        .collect();
    let names = Tenant::names(conn, ids).await?;
    let candidates: Vec<Tenant> = candidates
        .into_iter()
        .filter(|t| t.can_have_subtenants && authz::can_manage_children(user, t))
        .collect();
    let ids: Vec<i64> = candidates.iter().map(|t| t.id).collect();
    let governing = Plan::governing(conn, &ids).await?;
    Ok(candidates
        .into_iter()
        .map(|t| {
            let start = authz::visible_path_start(user, &t.path);
            let label = t.path[start..]
                .iter()
                .filter_map(|id| names.get(id).cloned())
                .collect::<Vec<_>>()
                .join(" / ");
            ParentOption {
                id: t.id,
                label,
                refusal: authz::plan_refusal(governing.get(&t.id), PlanOption::SubTenants),
            }
        })
        .collect())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NewParams {
    parent_id: String,
}

pub(super) async fn new_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: Query<NewParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let named = named_or_acting(&user, &mut conn, "parent_id", &params.parent_id).await?;
    let parents = parent_options(&user, &mut conn, Some(&named)).await?;
    // The tenant named, unless its plan refuses sub-tenants: then the first parent
    // that may take one, and the form says why the one named may not.
    let refused = parents
        .iter()
        .find(|p| p.id == named.id)
        .and_then(|p| p.refusal.as_ref())
        .map(|reason| format!("{} may not have sub-tenants: {reason}", named.name));
    let Some(first) = parents.iter().find(|p| p.refusal.is_none()) else {
        // No parent to offer: the page says why the one named takes none (its plan),
        // to whoever manages its sub-tenants; anyone else may not create here.
        return Err(match refused {
            Some(reason) if authz::can_manage_children(&user, &named) => {
                AppError::Conflict(format!("{reason} No sub-tenant can be created there."))
            }
            _ => AppError::Forbidden,
        });
    };
    let parent = match refused {
        Some(_) => Tenant::find(&mut conn, first.id).await?,
        None => named,
    };
    let form = TenantForm {
        parent_id: parent.id.to_string(),
        tenant_role_id: parent.tenant_role_id.to_string(),
        enabled: Some("true".into()),
        plan_id: authz::can_manage_plans(&user)
            .then(|| parent.plan_id.map(|p| p.to_string()).unwrap_or_default()),
        ..Default::default()
    };
    let hosts = state.settings.console_hosts();
    let page = FormPage::build(
        &user,
        &mut conn,
        form,
        FieldErrors::new(),
        None,
        Some(&parent),
        parents,
        &hosts,
    )
    .await?;
    render(&FormPage {
        parent_refusal: refused,
        ..page
    })
}

/// A save of the tenant form: the request it came in and what it was about.
struct Save<'a> {
    req: &'a HttpRequest,
    user: &'a CurrentUser,
    state: &'a AppState,
    /// The form as sent, shown again with its field errors.
    form: TenantForm,
    /// The tenant edited; `None` for a create.
    editing: Option<&'a Tenant>,
    /// A create's parent, preselected when the form is shown again.
    parent: Option<&'a Tenant>,
}

impl Save<'_> {
    /// After the save: the tenant's page (the flash saying what the save warns of),
    /// or the form again with its field errors (422).
    async fn answer(
        self,
        conn: &mut AsyncPgConnection,
        result: Result<Warned<Tenant>, AppError>,
    ) -> Result<HttpResponse, AppError> {
        let Save {
            req,
            user,
            state,
            form,
            editing,
            parent,
        } = self;
        // A plan sent by someone who may not choose it: the field's error.
        let result = result.map_err(|e| match e {
            AppError::Problem { detail, .. } if detail == service::ONLY_ROOT_CHOOSES_PLAN => {
                AppError::field("plan_id", detail)
            }
            e => e,
        });
        match result {
            Ok(Warned { value: t, warnings }) => {
                let verb = if editing.is_some() {
                    "Saved"
                } else {
                    "Created"
                };
                flash(
                    &user.session.0,
                    noted(format!("{verb} {}.", t.name), &warnings),
                );
                Ok(see_other(req, &format!("/tenants/{}", t.id)))
            }
            Err(AppError::Validation(errors)) => {
                let parents = match editing {
                    Some(_) => Vec::new(),
                    None => parent_options(user, conn, parent).await?,
                };
                let hosts = state.settings.console_hosts();
                let page =
                    FormPage::build(user, conn, form, errors, editing, parent, parents, &hosts)
                        .await?;
                render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => Err(e),
        }
    }
}

pub(super) async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<TenantForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    // An unknown or invisible parent is the same field error (the service's).
    let parent = match field_id(&form.parent_id) {
        Some(id) => authz::visible_tenant(&user, id, &mut conn).await.ok(),
        None => None,
    };
    let input = form.to_input(true, &state.settings.console_hosts(), None);
    let result = service::create(
        &mut conn,
        &user,
        &actor(&user, &req),
        parent.as_ref(),
        input,
    )
    .await
    .map(|value| Warned {
        value,
        warnings: Vec::new(),
    });
    let save = Save {
        req: &req,
        user: &user,
        state: &state,
        form,
        editing: None,
        parent: parent.as_ref(),
    };
    save.answer(&mut conn, result).await
}

pub(super) async fn edit_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, _) = editable(&user, &mut conn, &path).await?;
    let mut form = TenantForm::from_tenant(&tenant);
    if !authz::can_manage_plans(&user) {
        form.plan_id = None;
    }
    form.labels = Some(tenant.labels(&mut conn).await?.join(", "));
    form.max_users = Some(
        user_limits(&mut conn, &[tenant.id])
            .await?
            .get(&tenant.id)
            .map(|m| m.to_string())
            .unwrap_or_default(),
    );
    render(
        &FormPage::build(
            &user,
            &mut conn,
            form,
            FieldErrors::new(),
            Some(&tenant),
            None,
            Vec::new(),
            &state.settings.console_hosts(),
        )
        .await?,
    )
}

pub(super) async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<TenantForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let (mut conn, tenant) = with_path_tenant(&user, &state, &path).await?;
    let input = form.to_input(false, &state.settings.console_hosts(), Some(&tenant));
    let now = state.clock.now();
    let result = service::update(&mut conn, &user, &actor(&user, &req), &tenant, input, now).await;
    let save = Save {
        req: &req,
        user: &user,
        state: &state,
        form,
        editing: Some(&tenant),
        parent: None,
    };
    save.answer(&mut conn, result).await
}

/// `POST /tenants/{id}/enable` (`ENABLED`) and `/disable`, of the tenant alone or
/// with `scope=subtree` of every tenant below it too. Disabling asks for
/// confirmation first (`web::confirm`), offering the scope where there are sub-tenants.
pub(super) async fn set_enabled<const ENABLED: bool>(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let (mut conn, tenant) = with_path_tenant(&user, &state, &path).await?;
    // From the Tenants list: back there, its filters kept.
    let back = ListReturn::from_fields(&confirm.fields);
    let subtree = match confirm.scope.as_deref() {
        None | Some("tenant") => false,
        Some("subtree") => true,
        Some(_) => {
            return Err(AppError::BadRequest(
                "scope must be tenant or subtree.".into(),
            ))
        }
    };
    // Confirmed without a scope where there are sub-tenants: which one was meant is
    // not guessed; the confirmation is asked again, saying to choose.
    let unchosen = !ENABLED
        && confirm.confirmed
        && confirm.scope.is_none()
        && Tenant::has_children(&mut conn, tenant.id).await?;
    if !ENABLED && (!confirm.confirmed || unchosen) {
        service::require_editable(&mut conn, &user, &tenant).await?;
        if tenant.is_root() {
            return Err(AppError::BadRequest(
                "The root tenant cannot be disabled.".into(),
            ));
        }
        let counts = Tenant::subtree_counts(&mut conn, tenant.id).await?;
        let mut question = disable_question(&tenant, counts.tenants - 1, counts.users, subtree);
        if unchosen {
            question.error = Some(
                "Choose whether to disable this tenant only or this tenant and all its sub-tenants."
                    .into(),
            );
            for c in &mut question.choices {
                c.checked = false;
            }
        }
        if let Some(back) = &back {
            question.hidden = back.fields();
            question.cancel = back.href();
        }
        return ask(&req, &user, &mut conn, "tenants", question).await;
    }
    let actor = actor(&user, &req);
    let t = service::set_enabled(&mut conn, &user, &actor, &tenant, ENABLED, subtree).await?;
    let now = if ENABLED { "enabled" } else { "disabled" };
    let below = if subtree {
        " with all its sub-tenants"
    } else {
        ""
    };
    flash(&user.session.0, format!("{} is now {now}{below}.", t.name));
    let location = back.map_or_else(|| format!("/tenants/{}", t.id), |b| b.href());
    Ok(see_other(&req, &location))
}

/// The confirmation of disabling `tenant`, which has `subtenants` below it and
/// `users` at home in its subtree; the scope choice when it has sub-tenants.
fn disable_question(tenant: &Tenant, subtenants: i64, users: i64, subtree: bool) -> Question {
    let page = format!("/tenants/{}", tenant.id);
    let name = &tenant.name;
    let mut question = Question {
        title: format!("Disable {name}?"),
        detail: format!(
            "The users at home in {name} cannot log in any more and their sessions end now; nothing is deleted, and it can be enabled again."
        ),
        button: "Disable tenant".into(),
        action: format!("{page}/disable"),
        cancel: page,
        choices: vec![],
        hidden: vec![],
        error: None,
    };
    if subtenants > 0 {
        let plural = |n: i64, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let subs = plural(subtenants, "sub-tenant", "sub-tenants");
        question.detail = format!(
            "{name} has {subs} ({} at home in the whole subtree). Nothing is deleted; what is disabled can be enabled again.",
            plural(users, "user", "users")
        );
        question.choices = vec![
            Choice {
                value: "tenant",
                label: "This tenant only".into(),
                detail: format!(
                    "Only {name} is disabled: its own users cannot log in and their sessions end; users of its {subs} still can log in."
                ),
                checked: !subtree,
            },
            Choice {
                value: "subtree",
                label: format!("This tenant and all its {subs}"),
                detail: format!(
                    "{name} and every tenant below it are disabled: every user at home in any of them cannot log in and their sessions end."
                ),
                checked: subtree,
            },
        ];
    }
    question
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::tenants::RoleChoice;

    fn hosts() -> ConsoleHosts {
        ConsoleHosts::example()
    }

    fn form(role: &str, enabled: Option<&str>) -> TenantForm {
        TenantForm {
            name: "Acme".into(),
            subdomain: "acme".into(),
            tenant_role_id: role.into(),
            can_have_subtenants: Some("on".into()),
            enabled: enabled.map(Into::into),
            ..TenantForm::default()
        }
    }

    #[test]
    fn the_form_becomes_typed_input() {
        let input = form("", None).to_input(false, &hosts(), None);
        assert_eq!(input.tenant_role, None);
        let fields = input.fields.into_result().unwrap();
        assert_eq!(fields.subdomain.as_str(), "acme");
        // A box sent with a yes-word is checked; an edit without the box disables.
        assert!(fields.can_have_subtenants && !fields.enabled);
        let enabled = |v| {
            form("", Some(v))
                .to_input(false, &hosts(), None)
                .fields
                .into_result()
                .unwrap()
                .enabled
        };
        assert!(enabled("true"));
        assert!(!enabled("0"));
        // A new tenant starts enabled (the create form has no box).
        assert!(
            form("", None)
                .to_input(true, &hosts(), None)
                .fields
                .into_result()
                .unwrap()
                .enabled
        );
    }

    #[test]
    fn a_tenant_role_that_is_no_number_is_named_unknown() {
        assert_eq!(
            form(" 7 ", None).to_input(true, &hosts(), None).tenant_role,
            Some(RoleChoice::Id(7))
        );
        assert_eq!(
            form("abc", None).to_input(true, &hosts(), None).tenant_role,
            Some(RoleChoice::Unknown)
        );
    }

    #[test]
    fn field_errors_keep_the_form_field_names() {
        let mut bad = form("", None);
        bad.name = " ".into();
        bad.custom_domain = "console.example.net".into();
        let errors = bad
            .to_input(false, &hosts(), None)
            .fields
            .into_result()
            .unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["custom_domain", "name"]
        );
    }
}
