//! A tenant's DNS configuration in the console: resolvers
//! (`/tenants/{id}/resolvers`), devices (`/devices`) and subnets (`/subnets`), each
//! a list (filters, pages of 50), a form for a new one (`/new`), the item's form
//! (`/{rid}`) and its delete with a confirmation. Resources read to see them,
//! Resources full to change them (`services::network` decides).

mod devices;
mod resolvers;
mod subnets;

use crate::db::models::network::Resolver;
use crate::domain::sorting::SortKey;
use crate::error::AppError;
use crate::web::form::{bad_param, field_id, SearchBox};
use crate::web::routes::Route;
use crate::web::sort::{list_href, PageOrder};
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

pub fn routes() -> Vec<Route> {
    [resolvers::routes(), devices::routes(), subnets::routes()]
        .into_iter()
        .flatten()
        .collect()
}

/// Rows a list page shows at once.
const PER_PAGE: i64 = 50;

/// A list's query string: search text, the resolver used, the order, the page
/// (`web::form::paged`). Others are ignored, as on every console list (a link from
/// a mail may carry `utm_source`); the API names them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub q: String,
    pub resolver: String,
    pub sort: String,
    pub dir: String,
    pub page: String,
}

impl ListParams {
    /// The search box and the resolver filter (400 naming `resolver` when it is no
    /// id).
    fn read(&self) -> Result<(SearchBox, Option<i64>), AppError> {
        let resolver = match self.resolver.trim() {
            "" => None,
            raw => {
                Some(field_id(raw).ok_or_else(|| bad_param("resolver", "must be a whole number"))?)
            }
        };
        Ok((SearchBox::read(&self.q), resolver))
    }

    /// The order asked for (`default` where none of the list's is).
    fn order<K: SortKey>(&self, default: K) -> PageOrder<K> {
        PageOrder::read(&self.sort, &self.dir, default)
    }

    /// The list's link with the same filters and `more` parameters.
    fn href(&self, list: &str, search: &SearchBox, more: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("q", search.shown.as_str()),
            ("resolver", self.resolver.as_str()),
        ];
        pairs.extend_from_slice(more);
        list_href(list, &pairs)
    }
}

/// The `web::sort::SortedList` of a list page here: an `IndexPage` with its
/// `order` (of `$key`), `params`, `search` and `tenant`, in a module with `list`.
macro_rules! sorted_list {
    ($key:ident) => {
        impl SortedList for IndexPage {
            type Key = $key;

            fn order(&self) -> &PageOrder<$key> {
                &self.order
            }

            fn href(&self, more: &[(&str, &str)]) -> String {
                self.params.href(&list(&self.tenant), &self.search, more)
            }
        }
    };
}
use sorted_list;

/// The tenant's resolvers, `(id, name)` by name, and by id.
async fn resolver_names(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
) -> Result<(Vec<(i64, String)>, HashMap<i64, String>), AppError> {
    let all = Resolver::choices(conn, tenant_id).await?;
    let by_id = all.iter().cloned().collect();
    Ok((all, by_id))
}

/// The policy part of a resolver or subnet form: the select, or why it is not there.
pub(super) struct PolicyPicker {
    /// The select's choices (none when the user may not choose).
    pub choices: Vec<crate::web::owned::Choice>,
    /// Why the user may not choose the policy here (`authz::policy_choice_refusal`),
    /// said where the select would be; the form then sends no `policy_id`, and the
    /// item keeps its policy.
    pub refusal: Option<String>,
    /// The links to the tenant's policies (Policies read) and to a new one (full).
    pub links: (bool, bool),
}

/// The form's [`PolicyPicker`]. The select offers none (the tenant's effective
/// policies, named), the tenant's own policies, then the inherited ones nearest
/// first, each saying where it comes from. `chosen` `None` (a new form) preselects
/// the default: for the nearest inherited policy's kind, the policy that applies
/// to the tenant (`services::policies::choices`). `existing`: the form is an
/// item's, whose policy stays when the user may not choose one.
async fn policy_picker(
    conn: &mut AsyncPgConnection,
    user: &crate::auth::CurrentUser,
    tenant: &crate::db::models::Tenant,
    chosen: Option<&str>,
    existing: bool,
) -> Result<PolicyPicker, AppError> {
    let links = (
        crate::services::policies::read(user, tenant).is_ok(),
        crate::services::policies::may_change(user, tenant).is_ok(),
    );
    if let Some(why) = crate::auth::authz::policy_choice_refusal(user, tenant) {
        let then = if existing {
            "its policy stays as it is".to_string()
        } else {
            format!("the effective policies of {} apply to it", tenant.name)
        };
        return Ok(PolicyPicker {
            choices: Vec::new(),
            refusal: Some(format!("{why}, so a policy cannot be chosen here: {then}.")),
            links,
        });
    }
    let offered = crate::services::policies::choices(conn, tenant).await?;
    let chosen = match chosen {
        Some(c) => c.trim().to_string(),
        None => offered.default.map(|d| d.to_string()).unwrap_or_default(),
    };
    let items: Vec<(i64, String)> = offered
        .usable
        .into_iter()
        .map(|s| {
            let label = if s.policy.tenant_id == tenant.id {
                format!("{} ({}, own)", s.policy.name, s.policy.kind.label())
            } else {
                format!(
                    "{} ({}, inherited from {})",
                    s.policy.name,
                    s.policy.kind.label(),
                    s.owner_name
                )
            };
            (s.policy.id, label)
        })
        .collect();
    Ok(PolicyPicker {
        choices: crate::web::owned::id_choices(
            &items,
            &chosen,
            &none_choice(&tenant.name, &offered.effective),
        ),
        refusal: None,
        links,
    })
}

/// A form's `policy_id` as the service takes it: not sent (the form had no picker)
/// keeps the item's policy; empty is none.
fn policy_pick(raw: Option<&str>) -> crate::services::network::PolicyPick {
    use crate::services::network::PolicyPick;
    match raw {
        None => PolicyPick::Keep,
        Some(raw) => PolicyPick::Set(form_id(raw)),
    }
}

/// The label of a policy select's empty choice: what applies then, the tenant's
/// effective policies by name ("(none: the effective policies of Tenant a1 apply —
/// Acme deny, A1 threshold)": no possessive of a tenant's name).
fn none_choice(tenant: &str, effective: &[crate::db::models::policy::SeenPolicy]) -> String {
    if effective.is_empty() {
        return format!("(none: no policy applies to {tenant} yet)");
    }
    let names: Vec<&str> = effective.iter().map(|s| s.policy.name.as_str()).collect();
    format!(
        "(none: the effective policies of {tenant} apply — {})",
        names.join(", ")
    )
}

/// The names of the policies that `used` (a list's rows' `policy_id`s) name, by
/// id: the lists' Policy column; `None` (no column) for whoever may not see the
/// tenant's policies (`authz::may_choose_policy`).
async fn policy_names(
    conn: &mut AsyncPgConnection,
    p: &crate::auth::Principal,
    tenant: &crate::db::models::Tenant,
    used: impl Iterator<Item = Option<i64>>,
) -> Result<Option<HashMap<i64, String>>, AppError> {
    // Whoever may not see the tenant's policies learns no names from a list either
    // (the column is not shown).
    if !crate::auth::authz::may_choose_policy(p, tenant) {
        return Ok(None);
    }
    let mut ids: Vec<i64> = used.flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(
        crate::db::models::policy::Policy::names(conn, &ids).await?,
    ))
}

/// A form's id field: empty is none, text that is no id names no resolver (the
/// same field error as another tenant's).
fn form_id(raw: &str) -> Option<i64> {
    match raw.trim() {
        "" => None,
        raw => Some(field_id(raw).unwrap_or(0)),
    }
}
