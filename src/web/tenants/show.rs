//! A tenant's page: its place in the tree, sub-tenants, custom domain and actions.

use super::tree::{levels, TreeLevel};
use crate::auth::{authz, CurrentUser};
use crate::db::models::plan::Plan;
use crate::db::models::Tenant;
use crate::domain::domain_name::{
    challenge_name, challenge_value, parse_custom_domain, ConsoleHosts, DomainStatus,
};
use crate::domain::resources::Measure;
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::services::tenants::parent_of;
use crate::web::extract::with_path_tenant;
use crate::web::page::{render_status, visible_path, Crumb, PageCtx};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

#[derive(Template)]
#[template(path = "tenants/show.html")]
struct ShowPage {
    page: PageCtx,
    tenant: Tenant,
    path: Vec<Crumb>,
    role_name: String,
    /// The tenant's labels, each with the Tenants list of that label.
    labels: Vec<(String, String)>,
    level: TreeLevel,
    can_edit: bool,
    /// Why a user with a strong grant here still cannot edit the tenant.
    edit_refusal: Option<String>,
    can_delete: bool,
    can_move: bool,
    /// The "New sub-tenant" button: offered, or disabled saying why.
    new_child: super::NewChild,
    /// The plan governing the tenant, as everyone who sees the page is told.
    plan: PlanLine,
    can_switch: bool,
    /// The "Activity" link: audit read here.
    can_read_activity: bool,
    /// The "Usage" link: usage read here.
    can_read_usage: bool,
    can_read_rules: bool,
    /// The "Branding" link: Settings read here.
    can_read_branding: bool,
    /// The "Clouds" and "Instances" links and the usage bars: Resources read here.
    can_read_resources: bool,
    bars: Vec<crate::domain::resources::UsageBar>,
    /// Its subtree's users against the limit that binds first (its own, its plan's or
    /// one above; no limit: none).
    users_bar: Option<crate::domain::resources::UsageBar>,
    /// The DNS configuration's links (resolvers, devices, subnets): Resources read here.
    can_read_network: bool,
    /// The "Policies" link: Policies read here.
    can_read_policies: bool,
    /// Its monthly query quota in effect (its own, else its plan's) and where it
    /// comes from.
    quota: crate::domain::plan::SourcedLimit,
    /// Why its plan keeps it from having sub-tenants ("Not in plan Basic."): the
    /// page says "not available" whatever `can_have_subtenants` is set to.
    subtenants_refusal: Option<String>,
    /// The custom domain and its proof, while one is set.
    domain: Option<DomainView>,
    /// Why the last custom-domain check or approval failed.
    domain_error: Option<String>,
}

/// The plan governing a tenant as its page says it: "Basic", "Basic (via Acme)"
/// when it follows an ancestor's; `name` `None`: no plan.
pub struct PlanLine {
    pub name: Option<String>,
    /// The plan's page, for those who manage plans.
    pub href: Option<String>,
    /// The ancestor it follows the plan through ("a tenant above" when the user
    /// cannot see it).
    pub via: Option<String>,
}

impl PlanLine {
    /// The line of `tenant`, governed by `plan` (`services::plans::plan_of`).
    async fn of(
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
        plan: Option<crate::db::models::plan::Plan>,
    ) -> Result<Self, AppError> {
        Ok(
            match crate::services::plans::governing_of(conn, tenant, plan).await? {
                None => PlanLine {
                    name: None,
                    href: None,
                    via: None,
                },
                Some((plan, via)) => PlanLine {
                    href: authz::can_manage_plans(user).then(|| format!("/plans/{}", plan.id)),
                    name: Some(plan.name),
                    via: via.map(|(id, name)| {
                        if crate::web::branding::sees_source(user, tenant, id) {
                            name
                        } else {
                            "a tenant above".into()
                        }
                    }),
                },
            },
        )
    }
}

/// A custom domain as the tenant page and the edit form show it.
pub struct DomainView {
    pub name: String,
    pub status: DomainStatus,
    /// The TXT record that proves it: name and value.
    pub txt_name: String,
    pub txt_value: String,
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the console's rules no longer allow this domain (set before they existed).
    pub problem: Option<String>,
    /// "Check now": whoever may edit the tenant.
    pub can_check: bool,
    /// "Approve": Owners of the root.
    pub can_approve: bool,
    /// Why neither goes through: the tenant's plan lacks a custom domain ("Not in
    /// plan Basic."); the buttons show disabled with it.
    pub plan_refusal: Option<String>,
}

impl DomainView {
    pub(super) fn of(tenant: &Tenant, hosts: &ConsoleHosts) -> Option<Self> {
        let name = tenant.custom_domain.clone()?;
        Some(DomainView {
            status: tenant
                .domain_claim
                .status()
                .unwrap_or(DomainStatus::Pending),
            txt_name: challenge_name(&name),
            txt_value: challenge_value(tenant.domain_claim.token.as_deref().unwrap_or_default()),
            verified_at: tenant.domain_claim.verified_at,
            problem: parse_custom_domain(&name, hosts).err(),
            can_check: false,
            can_approve: false,
            plan_refusal: None,
            name,
        })
    }

    pub fn is_pending(&self) -> bool {
        self.status == DomainStatus::Pending
    }

    pub fn is_approved(&self) -> bool {
        self.status == DomainStatus::Approved
    }

    pub fn status_name(&self) -> &'static str {
        self.status.as_str()
    }
}

pub(super) async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (mut conn, tenant) = with_path_tenant(&user, &state, &path).await?;
    authz::require(&user, &tenant, Feature::Tenants, Level::Read)?;
    show_page(&user, &state, &mut conn, tenant, None, StatusCode::OK).await
}

/// The tenant page; `domain_error` says why a custom-domain check or approval failed.
pub(super) async fn show_page(
    user: &CurrentUser,
    state: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    domain_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let parent = parent_of(conn, &tenant).await?;
    let crumbs = visible_path(user, conn, &tenant).await?;
    let level = levels(user, conn, &tenant, None).await?;
    let labels = tenant
        .labels(conn)
        .await?
        .into_iter()
        .map(|label| {
            let href = format!(
                "/tenants?{}",
                serde_urlencoded::to_string([("label", &label)]).unwrap_or_default()
            );
            (label, href)
        })
        .collect();
    let can_edit = authz::can_edit(user, &tenant, parent.as_ref());
    let can_read_resources =
        authz::effective_level(user, &tenant, Feature::Resources) >= Level::Read;
    // The tenant's effective limits (its own or its plan's) and those set above, as
    // the limit checks read them; the resources' bars to those who may read them.
    let bars = crate::services::instances::usage(conn, user, &tenant).await?;
    let users_bar = bars.iter().find(|b| b.measure == Measure::Users).cloned();
    let edit_refusal = authz::edit_refusal(user, &tenant, parent.as_ref());
    let plan = crate::services::plans::plan_of(conn, &tenant).await?;
    let [quota, ..] = Plan::sourced(&tenant.own_limits(None), plan.as_ref());
    let subtenants_refusal =
        authz::plan_refusal(plan.as_ref(), crate::domain::plan::PlanOption::SubTenants);
    let domain = match DomainView::of(&tenant, &state.settings.console_hosts()) {
        Some(d) => Some(DomainView {
            can_check: can_edit && d.problem.is_none(),
            can_approve: authz::can_approve_custom_domain(user) && d.problem.is_none(),
            plan_refusal: authz::plan_refusal(
                plan.as_ref(),
                crate::domain::plan::PlanOption::CustomDomain,
            ),
            ..d
        }),
        None => None,
    };
    let page = ShowPage {
        page: PageCtx::new(user, conn, "tenants").await?,
        role_name: user.cap_name(&tenant),
        labels,
        path: crumbs,
        level,
        can_edit,
        edit_refusal,
        domain,
        subtenants_refusal,
        quota,
        can_delete: authz::can_delete(user, &tenant, parent.as_ref()),
        can_move: authz::can_move(user, &tenant, parent.as_ref()),
        new_child: super::NewChild::of(user, conn, &tenant).await?,
        plan: PlanLine::of(user, conn, &tenant, plan).await?,
        can_switch: tenant.enabled && tenant.id != user.acting.id,
        can_read_activity: authz::can_read_activity(user, &tenant),
        can_read_usage: authz::can_read_usage(user, &tenant),
        can_read_rules: authz::can_read_rules(user, &tenant),
        can_read_branding: crate::services::branding::read(user, &tenant).is_ok(),
        can_read_resources,
        bars,
        users_bar,
        can_read_network: authz::require(user, &tenant, Feature::Resources, Level::Read).is_ok(),
        can_read_policies: crate::services::policies::read(user, &tenant).is_ok(),
        domain_error,
        tenant,
    };
    render_status(&page, status)
}
