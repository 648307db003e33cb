//! The logged-in user of a request: loaded from the server-side session on every
//! request, so disabling a user or tenant, or changing a password, ends sessions at once.
//! `web::extract` makes it a request extractor.

use super::principal::Principal;
use super::session_keys::{ACTING_TENANT, EPOCH, USER_ID};
use crate::db::models::principal::SessionPrincipal;
use crate::db::models::Tenant;
use crate::db::DbPool;
use crate::error::AppError;
use actix_session::Session;

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub principal: Principal,
    /// The tenant the user is acting in (switched into), always visible and enabled.
    pub acting: Tenant,
    /// Id and name of every tenant on the acting tenant's path, root first, when the
    /// session load read them (the breadcrumb); `None` means look them up.
    pub acting_path_names: Option<Vec<(i64, String)>>,
    /// Id and name of every tenant on the path of the tenant the page is about, root
    /// first, when the session load read them; `None` means look them up.
    pub page_path_names: Option<Vec<(i64, String)>>,
    /// The page the request is for, as the web extractor read its route: the
    /// breadcrumb shows the path of the tenant it is about, and the switcher keeps
    /// its kind. `None` outside a page (and in tests that build a user by hand).
    pub page: Option<PageRoute>,
    /// The acting tenant's effective branding, when the session load read it for
    /// that tenant; `None` means look it up.
    pub brand: Option<crate::db::models::branding::Brand>,
    /// Whether the acting tenant's plan lacks sub-tenants (`Some(Some(plan name))`),
    /// when the session load read it for that tenant; `None` means look it up.
    pub acting_plan_without_subtenants: Option<Option<String>>,
    pub session: SessionHandle,
}

/// The route a page request matched and the tenant its `{id}` segment names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRoute {
    /// The route's pattern, e.g. `/tenants/{id}/users`.
    pub pattern: String,
    /// The `{id}` of a `/tenants/{id}/…` path (the `parent_id` of `/tenants/new`),
    /// when it is a number.
    pub tenant_id: Option<i64>,
    /// An htmx request for a fragment: the page frame, and with it the flash, is not shown.
    pub fragment: bool,
}

/// The user the request's session named, as its load read them: `load` needs no
/// further statement for the acting tenant or the breadcrumb.
#[derive(Debug)]
pub struct SessionUser {
    pub principal: Principal,
    pub acting: Option<Tenant>,
    pub path_names: std::collections::HashMap<i64, String>,
    pub page_path: Vec<(i64, String)>,
    /// The effective branding of the tenant the session named (else the home), by id.
    pub brand: Option<(i64, crate::db::models::branding::Brand)>,
    /// For the same tenant: the name of its plan when that lacks sub-tenants.
    pub plan_without_subtenants: Option<String>,
}

impl From<SessionPrincipal> for SessionUser {
    fn from(p: SessionPrincipal) -> Self {
        SessionUser {
            principal: p.row.into(),
            acting: p.acting,
            path_names: p.path_names.into_iter().collect(),
            page_path: p.page_path,
            brand: p.brand,
            plan_without_subtenants: p.plan_without_subtenants,
        }
    }
}

impl std::ops::Deref for CurrentUser {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// The session, kept so handlers can switch tenants or log out.
#[derive(Clone)]
pub struct SessionHandle(pub Session);

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session")
    }
}

impl CurrentUser {
    /// Loads the user behind the session, or `None` when anonymous or no longer valid.
    pub async fn load(pool: &DbPool, session: Session) -> Result<Option<CurrentUser>, AppError> {
        let Ok(Some(user_id)) = session.get::<i64>(USER_ID) else {
            return Ok(None);
        };
        let epoch = session.get::<i32>(EPOCH).ok().flatten().unwrap_or(-1);
        let (principal, loaded_acting, path_names, page_path, brand) =
            match super::session_store::take_principal(user_id) {
                Some(s) => (
                    Some(s.principal),
                    Some(s.acting),
                    Some(s.path_names),
                    Some(s.page_path),
                    s.brand
                        .map(|(id, brand)| (id, brand, s.plan_without_subtenants)),
                ),
                None => (
                    Principal::load(&mut *pool.get().await?, user_id).await?,
                    None,
                    None,
                    None,
                    None,
                ),
            };
        let Some(principal) = principal else {
            session.purge();
            return Ok(None);
        };
        let (user, home) = (&principal.user, &principal.home);
        if !user.enabled || !home.enabled || user.session_epoch != epoch {
            // A replayed cookie of an ended session is anonymous from now on.
            session.purge();
            return Ok(None);
        }
        let acting_id = session
            .get::<i64>(ACTING_TENANT)
            .ok()
            .flatten()
            .unwrap_or(home.id);
        let mut current = CurrentUser {
            acting: home.clone(),
            acting_path_names: None,
            page_path_names: page_path.filter(|p| !p.is_empty()),
            page: None,
            brand: None,
            acting_plan_without_subtenants: None,
            principal,
            session: SessionHandle(session),
        };
        if acting_id != current.home.id {
            let found = match loaded_acting {
                // The session load read the tenant its state names: the same id.
                Some(acting) => acting.filter(|t| t.id == acting_id).ok_or(diesel::NotFound),
                None => Tenant::find(&mut *pool.get().await?, acting_id).await,
            };
            match found {
                Ok(t) if t.enabled && super::authz::can_see(&current, &t) => current.acting = t,
                // The acting tenant went away, was disabled or is no longer visible.
                _ => {
                    let _ = current.session.0.insert(ACTING_TENANT, current.home.id);
                }
            }
        }
        // Read for the tenant the session named: the acting one unless it fell back home.
        if let Some((_, brand, plan)) = brand.filter(|(id, _, _)| *id == current.acting.id) {
            current.brand = Some(brand);
            current.acting_plan_without_subtenants = Some(plan);
        }
        current.acting_path_names = path_names.and_then(|names| {
            let path = &current.acting.path;
            path.iter()
                .map(|id| Some((*id, names.get(id)?.clone())))
                .collect()
        });
        Ok(Some(current))
    }

    /// True when the user acts in a tenant other than their home tenant.
    pub fn is_switched(&self) -> bool {
        self.acting.id != self.home.id
    }
}
