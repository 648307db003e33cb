//! The tenant switcher: search as you type over the visible tenants, then act in one.

use crate::auth::{authz, session_keys, CurrentUser};
use crate::db::models::{AuditEvent, Tenant};
use crate::domain::activity::Action;
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::services::tenants::parent_of;
use crate::web::extract::Query;
use crate::web::form::SearchBox;
use crate::web::page::{flash, render, render_status, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/switch" => switch_page),
        route!(POST "/switch" => switch),
        route!(GET "/switch/search" => search),
    ]
}

/// How many matches the switcher (and the move picker) shows.
pub const RESULTS: i64 = 20;

/// The switcher counts all matches up to this many, then says "more than".
const COUNT_CAP: i64 = 1_000;

/// The kinds of page a switch keeps: from the Users of A to the Users of B, from the
/// Tenants list (below A) to the Tenants list (below B). A fixed list: the switch
/// form's `return_to` names one of them, never a URL. From any other page a switch
/// leads to the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    Tenant,
    Edit,
    Users,
    Roles,
    Access,
    Invitations,
    Activity,
    /// Usage statistics, and their emailed reports.
    Stats,
    StatsReports,
    /// The Tenants list, of what is below the acting tenant.
    List,
    /// The tenant tree, likewise.
    Tree,
    /// Finding people (`/users`): the same page whatever the acting tenant.
    People,
    /// A tenant's protection configuration (`web::rules`).
    Rules,
    RuleVersions,
    RulesMigrate,
    Applications,
    Domains,
    CredentialStuffing,
    /// A tenant's resources (`web::resources`) and DNS configuration (`web::network`).
    Clouds,
    Instances,
    Resolvers,
    Devices,
    Subnets,
}

impl PageKind {
    /// Each kind with its name in forms and its route pattern (`{id}`: the tenant's).
    const ALL: [(PageKind, &'static str, &'static str); 23] = [
        (PageKind::Tenant, "tenant", "/tenants/{id}"),
        (PageKind::Edit, "edit", "/tenants/{id}/edit"),
        (PageKind::Users, "users", "/tenants/{id}/users"),
        (PageKind::Roles, "roles", "/tenants/{id}/roles"),
        (PageKind::Access, "access", "/tenants/{id}/access"),
        (
            PageKind::Invitations,
            "invitations",
            "/tenants/{id}/invitations",
        ),
        (PageKind::Activity, "activity", "/tenants/{id}/activity"),
        (PageKind::Stats, "stats", "/tenants/{id}/stats"),
        (
            PageKind::StatsReports,
            "stats-reports",
            "/tenants/{id}/stats/reports",
        ),
        (PageKind::List, "list", "/tenants"),
        (PageKind::Tree, "tree", "/tenants/tree"),
        (PageKind::People, "people", "/users"),
        (PageKind::Rules, "rules", "/tenants/{id}/rules"),
        (
            PageKind::RuleVersions,
            "rule-versions",
            "/tenants/{id}/rules/versions",
        ),
        (
            PageKind::RulesMigrate,
            "rules-migrate",
            "/tenants/{id}/rules/migrate",
        ),
        (
            PageKind::Applications,
            "applications",
            "/tenants/{id}/applications",
        ),
        (PageKind::Domains, "domains", "/tenants/{id}/domains"),
        (
            PageKind::CredentialStuffing,
            "credential-stuffing",
            "/tenants/{id}/credential-stuffing",
        ),
        (PageKind::Clouds, "clouds", "/tenants/{id}/clouds"),
        (PageKind::Instances, "instances", "/tenants/{id}/instances"),
        (PageKind::Resolvers, "resolvers", "/tenants/{id}/resolvers"),
        (PageKind::Devices, "devices", "/tenants/{id}/devices"),
        (PageKind::Subnets, "subnets", "/tenants/{id}/subnets"),
    ];

    /// The pages about one object of a kind, or its form: a switch leads to the
    /// target's list of that kind (the object itself is not the target's).
    const OBJECT_PAGES: [(&'static str, PageKind); 22] = [
        ("/tenants/{id}/users/new", PageKind::Users),
        ("/tenants/{id}/users/{user_id}", PageKind::Users),
        ("/tenants/{id}/roles/new", PageKind::Roles),
        ("/tenants/{id}/roles/{role_id}", PageKind::Roles),
        ("/tenants/{id}/invitations/new", PageKind::Invitations),
        ("/tenants/{id}/stats/print", PageKind::Stats),
        ("/tenants/{id}/rules/new", PageKind::Rules),
        ("/tenants/{id}/rules/{rid}", PageKind::Rules),
        ("/tenants/{id}/applications/new", PageKind::Applications),
        ("/tenants/{id}/applications/{aid}", PageKind::Applications),
        ("/tenants/{id}/domains/new", PageKind::Domains),
        ("/tenants/{id}/domains/{did}", PageKind::Domains),
        ("/tenants/{id}/clouds/new", PageKind::Clouds),
        ("/tenants/{id}/clouds/{rid}", PageKind::Clouds),
        ("/tenants/{id}/instances/new", PageKind::Instances),
        ("/tenants/{id}/instances/{rid}", PageKind::Instances),
        ("/tenants/{id}/resolvers/new", PageKind::Resolvers),
        ("/tenants/{id}/resolvers/{rid}", PageKind::Resolvers),
        ("/tenants/{id}/devices/new", PageKind::Devices),
        ("/tenants/{id}/devices/{did}", PageKind::Devices),
        ("/tenants/{id}/subnets/new", PageKind::Subnets),
        ("/tenants/{id}/subnets/{sid}", PageKind::Subnets),
    ];

    /// The kind a form names; anything else is none.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == name.trim())
            .map(|(k, _, _)| *k)
    }

    /// The kind of page a route pattern (`/tenants/{id}/users`, or a page about one
    /// of them, `/tenants/{id}/users/{user_id}`) shows, if it is one.
    pub fn of_route(pattern: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, _, p)| *p == pattern)
            .map(|(k, _, _)| *k)
            .or_else(|| {
                Self::OBJECT_PAGES
                    .iter()
                    .find(|(p, _)| *p == pattern)
                    .map(|(_, k)| *k)
            })
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("", |e| e.1)
    }

    /// This kind of page for `tenant_id` (the pages without `{id}` show the acting
    /// tenant's, which the switch has just made `tenant_id`).
    pub fn href(self, tenant_id: i64) -> String {
        Self::ALL
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("/dashboard", |e| e.2)
            .replace("{id}", &tenant_id.to_string())
    }

    /// Does `tenant` have this page for the user (the handler's own check would pass)?
    async fn open_to(
        self,
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
    ) -> Result<bool, AppError> {
        let needs = |feature| authz::require(user, tenant, feature, Level::Read).is_ok();
        Ok(match self {
            PageKind::Tenant | PageKind::List | PageKind::Tree => needs(Feature::Tenants),
            PageKind::Users | PageKind::Access => needs(Feature::Users),
            PageKind::Roles => needs(Feature::Roles),
            PageKind::Invitations => needs(Feature::Invitations),
            PageKind::Activity => needs(Feature::Audit),
            PageKind::Stats => authz::can_read_usage(user, tenant),
            PageKind::StatsReports => authz::can_subscribe_reports(user, tenant),
            PageKind::People => authz::can_find_people(user),
            PageKind::Rules
            | PageKind::RuleVersions
            | PageKind::Applications
            | PageKind::Domains
            | PageKind::CredentialStuffing => authz::can_read_rules(user, tenant),
            PageKind::RulesMigrate => authz::can_migrate_rules_from(user, tenant),
            PageKind::Clouds
            | PageKind::Instances
            | PageKind::Resolvers
            | PageKind::Devices
            | PageKind::Subnets => needs(Feature::Resources),
            PageKind::Edit => {
                authz::can_edit(user, tenant, parent_of(conn, tenant).await?.as_ref())
            }
        })
    }
}

/// The kind of the page the user is on, as the switcher's `return_to` (empty for none).
pub fn current_kind(user: &CurrentUser) -> &'static str {
    user.page
        .as_ref()
        .and_then(|p| PageKind::of_route(&p.pattern))
        .map_or("", PageKind::name)
}

pub struct SwitchResult {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
    pub path: String,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "switch/index.html")]
struct SwitchPage {
    page: PageCtx,
    search: SearchBox,
    found: Found,
    csrf: String,
    return_to: &'static str,
}

#[derive(Template)]
#[template(path = "switch/_results.html")]
struct SwitchResults {
    search: SearchBox,
    found: Found,
    csrf: String,
    return_to: &'static str,
}

/// The matches shown and how many there are in all (capped at `COUNT_CAP`).
#[derive(Default)]
struct Found {
    results: Vec<SwitchResult>,
    total: i64,
}

impl Found {
    /// "20 of 57 shown": there are more matches than the list shows.
    fn more(&self) -> bool {
        self.total > self.results.len() as i64
    }

    /// The total as shown: "more than 1000" past the cap.
    fn total_label(&self) -> String {
        if self.total > COUNT_CAP {
            format!("more than {COUNT_CAP}")
        } else {
            self.total.to_string()
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    /// The kind of page the switcher was opened on (`PageKind`), kept for the switch.
    return_to: String,
}

impl SearchQuery {
    fn return_to(&self) -> &'static str {
        PageKind::parse(&self.return_to).map_or("", PageKind::name)
    }
}

/// Matches with the visible part of each path, looked up in one query, and how many
/// match in all when that is more than are shown.
async fn results(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    search: &SearchBox,
) -> Result<Found, AppError> {
    let Some(q) = search.query() else {
        return Ok(Found::default());
    };
    let visibility = authz::visibility(user);
    let tenants = Tenant::search(conn, &visibility, q, RESULTS).await?;
    let total = match tenants.len() as i64 {
        RESULTS => Tenant::search_count(conn, &visibility, q, COUNT_CAP).await?,
        n => n,
    };
    Ok(Found {
        results: labelled(user, conn, tenants).await?,
        total,
    })
}

/// The part of each tenant's path `user` may see, as "name / name / …"; the names
/// are looked up in one query.
pub async fn visible_paths<'t>(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenants: impl IntoIterator<Item = &'t Tenant>,
) -> Result<Vec<String>, AppError> {
    let tenants: Vec<&Tenant> = tenants.into_iter().collect();
    let ids: Vec<i64> = tenants
        .iter()
        .flat_map(|t| t.path.iter().copied())
        .collect();
    let names = Tenant::names(conn, ids).await?;
    Ok(tenants
        .into_iter()
        .map(|t| {
            t.path[authz::visible_path_start(user, &t.path)..]
                .iter()
                .filter_map(|id| names.get(id).cloned())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .collect())
}

/// Search results with the part of each one's path the user may see (also the move
/// destination picker's results).
pub async fn labelled(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenants: Vec<Tenant>,
) -> Result<Vec<SwitchResult>, AppError> {
    let paths = visible_paths(user, conn, &tenants).await?;
    Ok(tenants
        .into_iter()
        .zip(paths)
        .map(|(t, path)| SwitchResult {
            id: t.id,
            name: t.name,
            subdomain: t.subdomain,
            path,
            enabled: t.enabled,
        })
        .collect())
}

async fn switch_page(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let search = SearchBox::read(&query.q);
    let found = results(&user, &mut conn, &search).await?;
    let page = PageCtx::new(&user, &mut conn, "switch").await?;
    let status = search.status();
    render_status(
        &SwitchPage {
            csrf: page.csrf.clone(),
            page,
            search,
            found,
            return_to: query.return_to(),
        },
        status,
    )
}

async fn search(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let search = SearchBox::read(&query.q);
    // A fragment answers 200 even when the text is refused: htmx shows its message.
    let found = results(&user, &mut conn, &search).await?;
    render(&SwitchResults {
        search,
        found,
        csrf: session_keys::csrf_token(&user.session.0),
        return_to: query.return_to(),
    })
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SwitchForm {
    tenant_id: String,
    /// The kind of page to land on in the target (`PageKind`); its dashboard otherwise.
    return_to: String,
}

async fn switch(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    // A malformed id is a 400 naming the field; an unseen tenant a 404.
    let id: i64 = form
        .tenant_id
        .trim()
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::BadRequest("The field “tenant_id” must be a tenant id.".into()))?;
    let mut conn = state.pool.get().await?;
    let tenant = authz::visible_tenant(&user, id, &mut conn).await?;
    if !tenant.enabled {
        return Err(AppError::Conflict(format!(
            "{} is disabled; nobody can switch into it.",
            tenant.name
        )));
    }
    user.session
        .0
        .insert(session_keys::ACTING_TENANT, tenant.id)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("session: {e}")))?;
    let mut event: AuditEvent =
        crate::web::actor(&user, &req).event(Action::TenantSwitch, Some(tenant.id));
    // Where the user acted before the switch (home or the tenant switched into last).
    event.before = Some(serde_json::json!({"acting_tenant_id": user.acting.id}));
    event.after = Some(serde_json::json!({"acting_tenant_id": tenant.id}));
    event.record(&mut conn).await?;
    flash(
        &user.session.0,
        format!("You are now acting in {}.", tenant.name),
    );
    let location = match PageKind::parse(&form.return_to) {
        Some(kind) if kind.open_to(&user, &mut conn, &tenant).await? => kind.href(tenant.id),
        _ => "/dashboard".to_string(),
    };
    Ok(see_other(&req, &location))
}

#[cfg(test)]
mod tests {
    use super::PageKind;

    #[test]
    fn a_page_kind_is_one_of_a_fixed_list_and_never_a_url() {
        for (name, pattern) in [
            ("tenant", "/tenants/{id}"),
            ("edit", "/tenants/{id}/edit"),
            ("users", "/tenants/{id}/users"),
            ("roles", "/tenants/{id}/roles"),
            ("access", "/tenants/{id}/access"),
            ("invitations", "/tenants/{id}/invitations"),
            ("activity", "/tenants/{id}/activity"),
            ("stats", "/tenants/{id}/stats"),
            ("stats-reports", "/tenants/{id}/stats/reports"),
            ("list", "/tenants"),
            ("tree", "/tenants/tree"),
            ("people", "/users"),
            ("rules", "/tenants/{id}/rules"),
            ("rule-versions", "/tenants/{id}/rules/versions"),
            ("rules-migrate", "/tenants/{id}/rules/migrate"),
            ("applications", "/tenants/{id}/applications"),
            ("domains", "/tenants/{id}/domains"),
            ("credential-stuffing", "/tenants/{id}/credential-stuffing"),
            ("clouds", "/tenants/{id}/clouds"),
            ("instances", "/tenants/{id}/instances"),
            ("resolvers", "/tenants/{id}/resolvers"),
            ("devices", "/tenants/{id}/devices"),
            ("subnets", "/tenants/{id}/subnets"),
        ] {
            let kind = PageKind::parse(name).expect(name);
            assert_eq!(kind.name(), name);
            assert_eq!(PageKind::of_route(pattern), Some(kind), "{pattern}");
            assert_eq!(kind.href(7), pattern.replace("{id}", "7"));
        }
        for other in [
            "",
            "tenants",
            "USERS",
            "/users",
            "/tenants",
            "https://evil.example/",
            "users/../x",
        ] {
            assert_eq!(PageKind::parse(other), None, "{other:?}");
        }
        // A page about one object (or its form) keeps the kind of its list.
        for (pattern, name) in [
            ("/tenants/{id}/users/{user_id}", "users"),
            ("/tenants/{id}/users/new", "users"),
            ("/tenants/{id}/rules/{rid}", "rules"),
            ("/tenants/{id}/domains/{did}", "domains"),
            ("/tenants/{id}/applications/new", "applications"),
            ("/tenants/{id}/instances/{rid}", "instances"),
            ("/tenants/{id}/subnets/new", "subnets"),
        ] {
            assert_eq!(PageKind::of_route(pattern).map(PageKind::name), Some(name));
        }
        // The tenant's own actions and other pages keep nothing.
        for pattern in ["/tenants/new", "/tenants/{id}/delete", "/dashboard"] {
            assert_eq!(PageKind::of_route(pattern), None, "{pattern}");
        }
    }
}
