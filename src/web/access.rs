//! A tenant's Access page: who holds which grant here, giving and revoking grants,
//! and the access explainer — what a user can do here, and why.

use crate::auth::{authz, CurrentUser, Principal};
use crate::db::models::grant::GrantListRow;
use crate::db::models::user::PersonRow;
use crate::db::models::{Grant, Tenant, User};
use crate::domain::{login_name, Feature, GrantRole, Level, Scope};
use crate::error::{AppError, FieldErrors};
use crate::services::grants::{self as service, GranteeInput};
use crate::services::tenants::Parsed;
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::{path_tenant, Query};
use crate::web::form::{field_errors, field_id, SearchBox};
use crate::web::page::{flash, render_status, rerender, see_other, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/access" => page),
        route!(POST "/tenants/{id}/access" => give),
        route!(POST "/tenants/{id}/access/{grant_id}/revoke" => revoke),
    ]
}

pub struct GrantView {
    pub row: GrantListRow,
    pub inherited: bool,
    pub can_revoke: bool,
}

impl GrantView {
    pub fn role_label(&self) -> &'static str {
        self.row.role.label()
    }

    pub fn scope_label(&self) -> &'static str {
        if self.row.scope == Scope::Subtree {
            "this tenant and all its sub-tenants"
        } else {
            "this tenant only"
        }
    }
}

/// One feature of the explainer.
pub struct ExplainRow {
    pub feature: &'static str,
    pub level: &'static str,
    pub reasons: Vec<String>,
}

pub struct Explanation {
    pub login: String,
    pub visible: bool,
    pub rows: Vec<ExplainRow>,
}

#[derive(Template)]
#[template(path = "access/index.html")]
struct AccessPage {
    page: PageCtx,
    tenant: Tenant,
    grants: Vec<GrantView>,
    /// The users a typed reference fits, to choose from (none unless it fits several).
    choices: Vec<PersonRow>,
    roles: Vec<GrantRole>,
    can_invite: bool,
    may_subtree: bool,
    may_manage: bool,
    form: GrantForm,
    errors: FieldErrors,
    /// The explainer's question as asked (`?user=`): what was typed, and when it names
    /// nobody one may see or several people, the message and the people to choose from.
    asked: Asked,
    explanation: Option<Explanation>,
}

/// The explainer's `?user=` as asked, and why it explains nobody yet.
#[derive(Default)]
struct Asked {
    /// The user the question names, once resolved to one.
    subject: Option<i64>,
    typed: String,
    error: String,
    choices: Vec<PersonRow>,
}

impl Asked {
    /// The same words for a user who does not exist and one the viewer may not see.
    fn nobody(typed: &str) -> Asked {
        Asked {
            subject: None,
            typed: typed.to_string(),
            error: format!("No user you can see matches “{typed}”."),
            choices: Vec::new(),
        }
    }
}

impl AccessPage {
    /// Where the grant form's picker searches: the grant candidates of this tenant.
    fn grant_search(&self) -> String {
        format!("/users/search?grant_on={}", self.tenant.id)
    }

    /// The grant form's error about its user, whichever field it came from.
    fn user_error(&self) -> &str {
        self.errors
            .get("user")
            .or_else(|| self.errors.get("user_id"))
            .map_or("", String::as_str)
    }

    /// The picked user id the form keeps: none while choices (radio buttons of the
    /// same name) are offered instead.
    fn picked(&self) -> &str {
        if self.choices.is_empty() {
            self.form.user_id.trim()
        } else {
            ""
        }
    }
}

#[derive(serde::Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct GrantForm {
    /// What was typed into the user picker (absent from forms before it).
    pub user: Option<String>,
    /// The user picked (or posted alone by older clients).
    pub user_id: String,
    pub role: String,
    pub scope: String,
    pub manage_subtenants: Option<String>,
}

impl GrantForm {
    pub fn user_text(&self) -> &str {
        self.user.as_deref().unwrap_or_default()
    }

    /// Who the form names, for `services::grants::resolve_grantee`.
    fn grantee(&self) -> GranteeInput {
        GranteeInput {
            typed: self.user.clone(),
            picked: field_id(&self.user_id),
        }
    }

    pub fn manage_checked(&self) -> bool {
        crate::web::form::checked(&self.manage_subtenants)
    }

    /// The grant's role, scope and "may manage sub-tenants": every field error at once.
    fn terms(&self) -> Parsed<(GrantRole, Scope, bool)> {
        let mut errors = FieldErrors::new();
        let role = self
            .role
            .parse::<GrantRole>()
            .map_err(|_| errors.insert("role", "Choose Owner, Administrator or Viewer.".into()))
            .ok();
        let scope = self
            .scope
            .parse::<Scope>()
            .map_err(|_| errors.insert("scope", "Choose this tenant or all sub-tenants.".into()))
            .ok();
        let manage = self.manage_checked();
        if manage && scope == Some(Scope::Tenant) {
            errors.insert(
                "manage_subtenants",
                "Managing sub-tenants needs the scope “this tenant and all its sub-tenants”."
                    .into(),
            );
        }
        match (role, scope) {
            (Some(role), Some(scope)) if errors.is_empty() => Ok((role, scope, manage)),
            _ => Err(errors),
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AccessQuery {
    user: String,
}

/// How the explainer names a tenant the viewer may not see.
pub use crate::domain::HIDDEN_TENANT;

fn level_reason(l: Level) -> &'static str {
    l.as_str()
}

/// "What can this user do here, and why", from the same decision function as every request.
pub fn explain(
    subject: &Principal,
    tenant: &Tenant,
    names: &std::collections::HashMap<i64, String>,
) -> Explanation {
    let visible = authz::can_see(subject, tenant);
    let rows = Feature::ALL
        .into_iter()
        .map(|f| {
            let d = authz::decide(subject, tenant, f);
            let mut reasons = Vec::new();
            if let Some((role, l)) = &d.home_role {
                reasons.push(format!(
                    "home role “{role}” in this tenant gives {}",
                    level_reason(*l)
                ));
            }
            for (g, l) in &d.grants {
                // Tenants above or beside the viewer's reach stay unnamed, as on the Access page.
                let on = names
                    .get(&g.tenant_id)
                    .cloned()
                    .unwrap_or_else(|| HIDDEN_TENANT.to_string());
                let scope = if g.scope == Scope::Subtree {
                    "and all its sub-tenants"
                } else {
                    "only"
                };
                reasons.push(format!(
                    "{} grant on {on} ({scope}) gives {}",
                    g.role.label(),
                    level_reason(*l)
                ));
            }
            if reasons.is_empty() {
                reasons.push("no home role here and no grant reaching this tenant".into());
            }
            reasons.push(format!(
                "capped by tenant role “{}” at {}",
                d.cap.0,
                level_reason(d.cap.1)
            ));
            ExplainRow {
                feature: f.label(),
                level: d.level.as_str(),
                reasons,
            }
        })
        .collect();
    Explanation {
        login: subject.login(),
        visible,
        rows,
    }
}

async fn build(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    form: GrantForm,
    errors: FieldErrors,
    choices: Vec<PersonRow>,
    asked: Asked,
) -> Result<AccessPage, AppError> {
    // Grants inherited from above the user's reach stay hidden, like those tenants' names.
    let visible_from = authz::visible_path_start(user, &tenant.path);
    let grants = Grant::reaching(conn, &tenant)
        .await?
        .into_iter()
        .filter(|row| {
            tenant
                .path
                .iter()
                .position(|id| *id == row.tenant_id)
                .is_some_and(|i| i >= visible_from)
        })
        .map(|row| {
            let inherited = row.tenant_id != tenant.id;
            let can_revoke = !inherited
                && authz::can_revoke_grant(
                    user,
                    &tenant,
                    (row.role, row.scope, row.manage_subtenants),
                );
            GrantView {
                row,
                inherited,
                can_revoke,
            }
        })
        .collect();
    let roles = authz::grantable_roles(user, &tenant);
    let mut asked = asked;
    let subject = match asked.subject {
        Some(id) => Principal::load(conn, id).await?,
        None => None,
    };
    let explanation = match subject {
        // Only users the viewer could find anyway (`/users` lists them).
        Some(subject) if !authz::can_find_person(user, &subject.home) => {
            asked = Asked::nobody(&asked.typed);
            None
        }
        Some(subject) => {
            // Name only tenants the viewer may see: those on the path from their reach
            // down, and the subject's grant tenants that are visible to the viewer.
            let mut ids: Vec<i64> = tenant
                .path
                .get(visible_from..)
                .map(<[i64]>::to_vec)
                .unwrap_or_default();
            let grant_ids: Vec<i64> = subject.grants.iter().map(|g| g.tenant_id).collect();
            ids.extend(
                Tenant::find_many(conn, &grant_ids)
                    .await?
                    .iter()
                    .filter(|t| authz::can_see(user, t))
                    .map(|t| t.id),
            );
            let names = Tenant::names(conn, ids).await?;
            Some(explain(&subject, &tenant, &names))
        }
        None => {
            if !asked.typed.is_empty() && asked.error.is_empty() {
                asked = Asked::nobody(&asked.typed);
            }
            None
        }
    };
    Ok(AccessPage {
        page: PageCtx::new(user, conn, "access").await?,
        can_invite: authz::can_invite(user, &tenant),
        may_subtree: authz::can_give_grant(user, &tenant, GrantRole::Viewer, Scope::Subtree, false),
        may_manage: authz::can_give_grant(user, &tenant, GrantRole::Viewer, Scope::Tenant, true),
        tenant,
        grants,
        choices,
        roles,
        form,
        errors,
        asked,
        explanation,
    })
}

async fn page(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query<AccessQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Users, Level::Read).await?;
    // A user id, or a username or login that names exactly one person one may find;
    // otherwise the page says so (and offers the people a name fits).
    let search = SearchBox::read(&query.user);
    let mut asked = Asked {
        typed: search.shown.clone(),
        ..Asked::default()
    };
    asked.subject = match search.text.as_str() {
        // Refused search text names nobody; the page says why.
        _ if search.error.is_some() => {
            asked.error = search.error.clone().unwrap_or_default();
            None
        }
        "" => None,
        raw if raw.bytes().all(|b| b.is_ascii_digit()) => parse_id(raw).ok(),
        raw => {
            let mut found = crate::services::users::resolve_person(&mut conn, &user, raw).await?;
            match found.len() {
                1 => found.pop().map(|one| one.user.id),
                0 => None,
                _ => {
                    asked.error = format!("Several users match “{raw}”: choose one.");
                    asked.choices = found;
                    None
                }
            }
        }
    };
    let form = GrantForm {
        scope: "tenant".into(),
        role: "viewer".into(),
        ..Default::default()
    };
    let page = build(
        &user,
        &mut conn,
        tenant,
        form,
        FieldErrors::new(),
        Vec::new(),
        asked,
    )
    .await?;
    render_status(&page, search.status())
}

async fn give(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Users, Level::Read).await?;
    let grantee = service::resolve_grantee(&mut conn, &user, &tenant, &form.grantee()).await?;
    let result = service::give(
        &mut conn,
        &user,
        &actor(&user, &req),
        &tenant,
        &grantee,
        form.terms(),
    )
    .await;
    match field_errors(result)? {
        Ok(subject) => {
            flash(
                &user.session.0,
                format!(
                    "{} now holds {} on {}.",
                    subject.login(),
                    form.role,
                    tenant.name
                ),
            );
            Ok(see_other(&req, &format!("/tenants/{}/access", tenant.id)))
        }
        Err(errors) => {
            let choices = grantee.choices().to_vec();
            let page = build(
                &user,
                &mut conn,
                tenant,
                form,
                errors,
                choices,
                Asked::default(),
            )
            .await?;
            rerender(&page)
        }
    }
}

async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let (id, grant_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &id, Feature::Users, Level::Read).await?;
    let grant = Grant::find_on_tenant(&mut conn, tenant.id, parse_id(&grant_id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    if !confirm.confirmed {
        service::require_revocable(&user, &tenant, &grant)?;
        let (holder, home) = User::find_with_tenant(&mut conn, grant.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let reach = match grant.scope {
            Scope::Tenant => format!("{} (not its sub-tenants)", tenant.name),
            Scope::Subtree => format!("{} and all its sub-tenants", tenant.name),
        };
        let page = format!("/tenants/{}/access", tenant.id);
        let question = Question {
            title: format!(
                "Revoke the {} grant of {} on {}?",
                grant.role.label(),
                login_name(&home.subdomain, &holder.username),
                tenant.name
            ),
            detail: format!(
                "From now on they no longer have the rights this grant gives on {reach}. Their home role and their other grants stay."
            ),
            button: "Revoke grant".into(),
            action: format!("{page}/{}/revoke", grant.id),
            cancel: page,
            choices: vec![],
            hidden: vec![],
            error: None,
        };
        return ask(&req, &user, &mut conn, "access", question).await;
    }
    service::revoke(&mut conn, &user, &actor(&user, &req), &tenant, &grant).await?;
    flash(&user.session.0, "Grant revoked.");
    Ok(see_other(&req, &format!("/tenants/{}/access", tenant.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(role: &str, scope: &str, manage: bool) -> GrantForm {
        GrantForm {
            user: None,
            user_id: "1".into(),
            role: role.into(),
            scope: scope.into(),
            manage_subtenants: manage.then(|| "true".into()),
        }
    }

    #[test]
    fn terms_convert() {
        assert_eq!(
            form("owner", "subtree", true).terms(),
            Ok((GrantRole::Owner, Scope::Subtree, true))
        );
        assert_eq!(
            form("viewer", "tenant", false).terms(),
            Ok((GrantRole::Viewer, Scope::Tenant, false))
        );
    }

    #[test]
    fn terms_report_every_field_error() {
        let errors = form("king", "galaxy", true).terms().unwrap_err();
        assert_eq!(errors["role"], "Choose Owner, Administrator or Viewer.");
        assert_eq!(errors["scope"], "Choose this tenant or all sub-tenants.");
        let errors = form("viewer", "tenant", true).terms().unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["manage_subtenants"]
        );
    }
}
