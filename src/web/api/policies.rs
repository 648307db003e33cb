//! `/api/v1/tenants/{id}/policies`: a tenant's policies and the ones it inherits
//! (issue #15). The handlers call the same `services::policies` functions as the
//! pages: Policies read to read, Policies full to write; 404 for a tenant the
//! caller may not see and for a policy the tenant does not see, 403 naming the
//! owner for a change of an inherited one. `POST …/{pid}/override` overrides an
//! inherited policy; deleting an override resets the tenant to the inherited one.

use super::owned::{changed_found_in, is_null, listed, refuse_nulls, sent, shown_in, PageParams};
use super::tenants::{integral_opt_i64, nullable, nullable_integral};
use super::{json, parse_json};
use crate::auth::authz::{self, PolicyAccess};
use crate::auth::ApiUser;
use crate::db::models::policy::{Policy, SeenPolicy};
use crate::domain::policy::{ClearedCounts, Enforcement, PolicyKind, PolicySettings};
use crate::error::{AppError, FieldErrors};
use crate::services::policies::{self as service, Confirmation, PolicyInput, RawPolicy, Updated};
use crate::web::owned::Policies;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/tenants/{id}/policies" => list_policies),
        route!(POST "/api/v1/tenants/{id}/policies" => create_policy),
        // Before `{pid}`, which would take the word for an id.
        route!(GET "/api/v1/tenants/{id}/policies/effective" => effective_policies),
        route!(GET "/api/v1/tenants/{id}/policies/{pid}" => show_policy),
        route!(PATCH "/api/v1/tenants/{id}/policies/{pid}" => update_policy),
        route!(DELETE "/api/v1/tenants/{id}/policies/{pid}" => delete_policy),
        route!(POST "/api/v1/tenants/{id}/policies/{pid}/override" => override_policy),
    ]
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Policy)]
pub struct PolicyJson {
    pub id: i64,
    /// The tenant that owns it.
    pub tenant_id: i64,
    /// Its owner's name.
    pub owner_name: String,
    /// Inherited from a tenant above (read-only here).
    pub inherited: bool,
    pub name: String,
    pub kind: PolicyKind,
    /// A blocking threshold's, 0–100; only for `blocking_threshold`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i32>,
    /// A content filter's categories; only for `content_filter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// A regulatory policy's lists; only for `regulatory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regulatory: Option<Vec<String>>,
    /// An allow or deny list's domains (IDNs as punycode); only for `allow_list`
    /// and `deny_list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<String>>,
    pub inheritable: bool,
    pub enforcement: Enforcement,
    /// The inherited policy this one overrides.
    pub overrides_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PolicyJson {
    /// One of the changing tenant's own policies, as just written.
    fn own(p: Policy, c: &service::Change<'_>) -> Self {
        let owner_name = c.tenant.name.clone();
        PolicyJson::of(
            SeenPolicy {
                policy: p,
                owner_name,
            },
            c.tenant.id,
        )
    }

    fn of(s: SeenPolicy, viewer: i64) -> Self {
        let p = s.policy;
        PolicyJson {
            id: p.id,
            tenant_id: p.tenant_id,
            owner_name: s.owner_name,
            inherited: p.tenant_id != viewer,
            threshold: (p.kind == PolicyKind::BlockingThreshold)
                .then_some(p.threshold)
                .flatten(),
            categories: (p.kind == PolicyKind::ContentFilter).then(|| p.entries()),
            regulatory: (p.kind == PolicyKind::Regulatory).then(|| p.entries()),
            domains: matches!(p.kind, PolicyKind::AllowList | PolicyKind::DenyList)
                .then(|| p.entries()),
            name: p.name,
            kind: p.kind,
            inheritable: p.inheritable,
            enforcement: p.enforcement,
            overrides_id: p.overrides_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PolicyPage {
    pub items: Vec<PolicyJson>,
    pub next_cursor: Option<String>,
}

/// A new policy: a name (1–100 characters once trimmed, no control characters,
/// unique in the tenant in any case), its kind and the kind's setting —
/// `threshold` (0–100) for `blocking_threshold`, `categories` for
/// `content_filter`, `regulatory` for `regulatory`, `domains` (host names) for
/// `allow_list` and `deny_list`. A setting of another kind is checked the same way
/// and not stored. `inheritable` (default `false`) publishes it to every
/// descendant; `enforcement` (default `default`): `locked` makes descendants use it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    pub kind: PolicyKind,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    #[schema(value_type = Option<i64>)]
    pub threshold: Option<i64>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub regulatory: Option<Vec<String>>,
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    #[serde(default)]
    pub inheritable: bool,
    #[serde(default)]
    pub enforcement: Option<Enforcement>,
    /// `true` creates a lock (`inheritable` and `locked`) that clears choices below
    /// (resolvers and subnets there that chose another policy of its kind, overrides
    /// of a policy of its kind); without it such a create is refused (409) and
    /// nothing is created. A policy that clears nothing needs no confirmation.
    #[serde(default)]
    pub confirm: Option<bool>,
}

/// Changes to a policy (or, for an override, how it differs from the inherited
/// policy): only the fields sent change. The kind never changes. `null` for any
/// field (`name`, a setting, `inheritable`, `enforcement`) is a 422 naming it
/// (leave the field out to keep it), and so is a setting of another kind than the
/// policy's (`domains` on a `blocking_threshold` policy: "A blocking threshold
/// policy has no domains: its setting is threshold.").
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = i64)]
    pub threshold: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<String>)]
    pub categories: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<String>)]
    pub regulatory: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<String>)]
    pub domains: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub inheritable: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Enforcement)]
    pub enforcement: Option<Option<Enforcement>>,
    /// `true` applies a change that clears choices below (switching `inheritable`
    /// off, or making the policy a lock; an override that is a lock); without it
    /// such a change is refused (409) and nothing changes.
    #[serde(default)]
    pub confirm: Option<bool>,
}

/// A created or changed policy, with what it cleared below: the resolvers and subnets
/// whose choice of a policy it took away or locked out (they follow their tenant's
/// effective policy), and the overrides that became plain policies.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PolicyChanged {
    #[serde(flatten)]
    pub policy: PolicyJson,
    pub cleared: ClearedCounts,
}

/// The settings sent, whatever the kind: each checked by its own rules.
struct Settings<'a> {
    threshold: Option<i64>,
    categories: Option<&'a [String]>,
    regulatory: Option<&'a [String]>,
    domains: Option<&'a [String]>,
}

impl Settings<'_> {
    /// Field errors of every setting sent (the kind's own and the others alike).
    fn errors(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let mut check = |kind: PolicyKind, threshold: Option<i64>, entries: &[String]| {
            if let Err(e) = PolicySettings::parse(kind, threshold, entries) {
                errors.insert(kind.setting(), e);
            }
        };
        if self.threshold.is_some() {
            check(PolicyKind::BlockingThreshold, self.threshold, &[]);
        }
        if let Some(c) = self.categories {
            check(PolicyKind::ContentFilter, None, c);
        }
        if let Some(r) = self.regulatory {
            check(PolicyKind::Regulatory, None, r);
        }
        if let Some(d) = self.domains {
            check(PolicyKind::AllowList, None, d);
        }
        errors
    }

    /// The kind's own entries sent, or `old`'s.
    fn entries(&self, kind: PolicyKind, old: Vec<String>) -> Vec<String> {
        let sent = match kind {
            PolicyKind::ContentFilter => self.categories,
            PolicyKind::Regulatory => self.regulatory,
            PolicyKind::AllowList | PolicyKind::DenyList => self.domains,
            PolicyKind::BlockingThreshold => None,
        };
        sent.map_or(old, <[String]>::to_vec)
    }
}

/// The service's input from a kind and what was sent (falling back on `base`'s
/// fields), with the errors of every setting sent.
fn input(
    name: &str,
    kind: PolicyKind,
    sent: &Settings<'_>,
    base: Option<&Policy>,
    inheritable: bool,
    enforcement: Enforcement,
) -> Result<PolicyInput, FieldErrors> {
    let old_entries = base.map(Policy::entries).unwrap_or_default();
    let threshold = sent
        .threshold
        .or_else(|| base.and_then(|b| b.threshold).map(i64::from));
    let parsed = PolicyInput::parse(&RawPolicy {
        name,
        kind: kind.as_str(),
        threshold,
        entries: sent.entries(kind, old_entries),
        inheritable,
        enforcement: enforcement.as_str(),
    });
    let mut errors = sent.errors();
    match parsed {
        Ok(input) if errors.is_empty() => Ok(input),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.extend(e);
            Err(errors)
        }
    }
}

impl PolicyBody {
    fn settings(&self) -> Settings<'_> {
        Settings {
            threshold: self.threshold,
            categories: self.categories.as_deref(),
            regulatory: self.regulatory.as_deref(),
            domains: self.domains.as_deref(),
        }
    }
}

impl PolicyPatch {
    fn settings(&self) -> Settings<'_> {
        Settings {
            threshold: sent(&self.threshold).copied(),
            categories: sent(&self.categories).map(Vec::as_slice),
            regulatory: sent(&self.regulatory).map(Vec::as_slice),
            domains: sent(&self.domains).map(Vec::as_slice),
        }
    }

    /// The settings sent that `kind` has not (a `domains` on a blocking threshold),
    /// each an error naming the kind's own.
    fn other_kinds(&self, kind: PolicyKind) -> FieldErrors {
        [
            ("threshold", sent(&self.threshold).is_some()),
            ("categories", sent(&self.categories).is_some()),
            ("regulatory", sent(&self.regulatory).is_some()),
            ("domains", sent(&self.domains).is_some()),
        ]
        .into_iter()
        .filter(|(field, given)| *given && *field != kind.setting())
        .map(|(field, _)| {
            (
                field,
                format!(
                    "A {} policy has no {field}: its setting is {}.",
                    kind.label().to_lowercase(),
                    kind.setting()
                ),
            )
        })
        .collect()
    }

    /// The input changing `base` by what was sent (`name` defaults to
    /// `default_name`, then `base`'s); a field sent as `null` is an error of its
    /// own, and so is a setting of another kind than `base`'s (it would not be
    /// stored: refused rather than ignored).
    fn on(&self, base: &Policy, default_name: Option<String>) -> Result<PolicyInput, FieldErrors> {
        let other_kinds = self.other_kinds(base.kind);
        let name = sent(&self.name)
            .cloned()
            .or(default_name)
            .unwrap_or_else(|| base.name.clone());
        let parsed = refuse_nulls(
            input(
                &name,
                base.kind,
                &self.settings(),
                Some(base),
                sent(&self.inheritable).copied().unwrap_or(base.inheritable),
                sent(&self.enforcement).copied().unwrap_or(base.enforcement),
            ),
            &[
                ("name", is_null(&self.name)),
                ("threshold", is_null(&self.threshold)),
                ("categories", is_null(&self.categories)),
                ("regulatory", is_null(&self.regulatory)),
                ("domains", is_null(&self.domains)),
                ("inheritable", is_null(&self.inheritable)),
                ("enforcement", is_null(&self.enforcement)),
            ],
        );
        if other_kinds.is_empty() {
            return parsed;
        }
        let mut errors = parsed.err().unwrap_or_default();
        errors.extend(other_kinds);
        Err(errors)
    }
}

/// `"confirm": true` applies a change whatever it clears below; anything else asks.
fn confirmation(confirm: Option<bool>) -> Confirmation {
    match confirm {
        Some(true) => Confirmation::Any,
        _ => Confirmation::No,
    }
}

/// A created policy with what it cleared below, and its id; an unconfirmed one
/// that would clear something is the 409 of [`service::unconfirmed`].
fn changed_answer(
    c: &service::Change<'_>,
    done: Updated,
) -> Result<(PolicyChanged, i64), AppError> {
    match done {
        Updated::Saved(p, cleared) => {
            let id = p.id;
            let policy = PolicyJson::own(p, c);
            Ok((
                PolicyChanged {
                    policy,
                    cleared: cleared.totals(),
                },
                id,
            ))
        }
        Updated::Unconfirmed(cleared) => Err(service::unconfirmed(&cleared)),
    }
}

/// List the policies the tenant sees (its own and the inheritable ones of the
/// tenants above it), by id.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/policies", tag = "policies",
    params(("id" = i64, Path, description = "Tenant id"), PageParams),
    responses((status = 200, description = "One page of policies", body = PolicyPage)),
    security(("bearer" = [])))]
pub async fn list_policies(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: crate::web::extract::Query<PageParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed::<Policies, _, PolicyJson>(
        &req,
        &user,
        &state,
        &path,
        &params,
        async |conn, tenant, after, limit| {
            let rows = Policy::visible_by_id(conn, &tenant.path, after, limit).await?;
            Ok(rows
                .into_iter()
                .map(|s| PolicyJson::of(s, tenant.id))
                .collect())
        },
        |p: &PolicyJson| p.id,
    )
    .await?;
    Ok(json(StatusCode::OK, &PolicyPage { items, next_cursor }))
}

/// Why a policy applies to a tenant (the effective view's reason).
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveReason {
    /// The tenant's own policy of the kind.
    Own,
    /// The tenant's own override of an inherited policy (`overrides`).
    Override,
    /// Inherited from its owner above.
    Inherited,
    /// Locked by its owner above: no other policy of the kind applies below it.
    Locked,
}

/// A policy the tenant sees that does not apply to it, and the lock that leaves
/// it without effect here, if one does (else it applies only where a resolver or
/// subnet chooses it).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ShadowedPolicy {
    pub policy: PolicyJson,
    pub overruled_by: Option<PolicyJson>,
}

/// What applies to a tenant for one kind of policy, and why.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EffectiveKind {
    pub kind: PolicyKind,
    /// The policy that applies (`null`: none of the kind reaches the tenant).
    pub policy: Option<PolicyJson>,
    pub reason: Option<EffectiveReason>,
    /// The inherited policy an override (`reason: override`) overrides.
    pub overrides: Option<PolicyJson>,
    /// The other policies of the kind the tenant sees: its own first, then the
    /// inherited ones nearest first.
    pub shadowed: Vec<ShadowedPolicy>,
}

/// The effective view: per kind, the policy that applies to the tenant and why.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EffectivePolicies {
    pub tenant_id: i64,
    pub items: Vec<EffectiveKind>,
}

impl EffectiveKind {
    fn of(e: service::Effective, viewer: i64) -> Self {
        use authz::PolicyReason;
        let json = |s: SeenPolicy| PolicyJson::of(s, viewer);
        EffectiveKind {
            kind: e.kind,
            reason: e.reason.map(|r| match r {
                PolicyReason::Own => EffectiveReason::Own,
                PolicyReason::Override { .. } => EffectiveReason::Override,
                PolicyReason::Inherited => EffectiveReason::Inherited,
                PolicyReason::Locked => EffectiveReason::Locked,
            }),
            policy: e.policy.map(json),
            overrides: e.overrides.map(json),
            shadowed: e
                .shadowed
                .into_iter()
                .map(|(s, lock)| ShadowedPolicy {
                    policy: json(s),
                    overruled_by: lock.map(json),
                })
                .collect(),
        }
    }
}

/// The policy of each kind that applies to the tenant and why — its own, an
/// override of an inherited one, inherited, or locked from above — with the
/// others of the kind it sees (as the console's Effective policies page).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/policies/effective", tag = "policies",
    params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, description = "Per kind, the policy in effect and why", body = EffectivePolicies)),
    security(("bearer" = [])))]
pub async fn effective_policies(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _none: crate::web::extract::Query<crate::web::form::NoParams>,
) -> Result<HttpResponse, actix_web::Error> {
    use crate::web::owned::Family;
    let (mut conn, tenant) = super::tenants::path_tenant(&req, &user, &state, &path).await?;
    Policies::read(&mut conn, &user, &tenant).await?;
    let items = service::effective(&mut conn, &tenant)
        .await?
        .into_iter()
        .map(|e| EffectiveKind::of(e, tenant.id))
        .collect();
    Ok(json(
        StatusCode::OK,
        &EffectivePolicies {
            tenant_id: tenant.id,
            items,
        },
    ))
}

/// Create a policy. A new lock that clears choices below needs `"confirm": true`;
/// the answer counts what it cleared. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/policies", tag = "policies",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = PolicyBody, content_type = "application/json"),
    responses((status = 201, description = "Created, with what it cleared below", body = PolicyChanged),
        (status = 409, description = "A lock that would clear choices below (named by count in `detail`) and `confirm` is not `true`: nothing created"),
        (status = 422, description = "A field is not valid (`errors`): the name is taken in the tenant; `enforcement`: a second lock of a kind locked already above or in the tenant")),
    security(("bearer" = [])))]
pub async fn create_policy(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    super::owned::created(
        &req,
        &user,
        &state,
        &path,
        &body,
        "policies",
        async |conn, c, data: PolicyBody| {
            let input = input(
                &data.name,
                data.kind,
                &data.settings(),
                None,
                data.inheritable,
                data.enforcement.unwrap_or(Enforcement::Default),
            );
            let confirm = confirmation(data.confirm);
            changed_answer(c, service::create(conn, c, input, &confirm).await?)
        },
    )
    .await
}

/// Read one policy the tenant sees (its own or inherited).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/policies/{pid}", tag = "policies",
    params(("id" = i64, Path, description = "Tenant id"), ("pid" = i64, Path, description = "Policy id")),
    responses((status = 200, description = "The policy", body = PolicyJson)),
    security(("bearer" = [])))]
pub async fn show_policy(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown_in::<Policies, _>(&req, &user, &state, &path, async |conn, tenant, id| {
        let (seen, _) = service::find(conn, tenant, id).await?;
        Ok(PolicyJson::of(seen, tenant.id))
    })
    .await
}

/// The tenant's own policy `id` for a change (after the right to change, whatever
/// the body): 404 unless seen, 403 naming the owner of an inherited one.
async fn own(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: &crate::db::models::Tenant,
    id: i64,
) -> Result<Policy, AppError> {
    let (seen, access) = service::find(conn, tenant, id).await?;
    authz::require_own_policy(access, &seen.owner_name)?;
    Ok(seen.policy)
}

/// Change one of the tenant's own policies (an inherited one: 403 naming its owner).
/// A change that clears choices below (switching `inheritable` off, or making the
/// policy a lock) needs `"confirm": true`; the answer counts what it cleared.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/policies/{pid}", tag = "policies",
    params(("id" = i64, Path, description = "Tenant id"), ("pid" = i64, Path, description = "Policy id")),
    request_body(content = PolicyPatch, content_type = "application/json"),
    responses((status = 200, description = "The changed policy, with what the change cleared below", body = PolicyChanged),
        (status = 409, description = "The change would clear choices below (named by count in `detail`) and `confirm` is not `true`: nothing changed"),
        (status = 422, description = "A field is not valid (`errors`): the name is taken in the tenant; `enforcement`: a second lock of a kind locked already above or in the tenant")),
    security(("bearer" = [])))]
pub async fn update_policy(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    changed_found_in::<Policies, _>(&req, &user, &state, &path, own, async |conn, c, old| {
        let data: PolicyPatch = parse_json(&req, &body)?;
        let input = data.on(&old, None);
        let confirm = confirmation(data.confirm);
        match service::update(conn, c, old.id, input, &confirm).await? {
            Updated::Saved(p, cleared) => Ok(json(
                StatusCode::OK,
                &PolicyChanged {
                    policy: PolicyJson::own(p, c),
                    cleared: cleared.totals(),
                },
            )),
            Updated::Unconfirmed(cleared) => Err(service::unconfirmed(&cleared).into()),
        }
    })
    .await
}

/// The query of a delete: `confirm=true` lets a delete clear the choices that use
/// the policy.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// `true`: delete even though resolvers, subnets or overrides use the policy
    /// (they are cleared); without it such a delete is 409, nothing deleted.
    pub confirm: Option<bool>,
}

/// Delete one of the tenant's own policies: resolvers and subnets using it follow
/// their tenant's effective policy, overrides of it become plain policies — which
/// is asked first: without `confirm=true` a delete of a policy in use is 409
/// counting them, nothing deleted. Deleting an override resets to the inherited
/// policy (the tenant's resolvers and subnets that used it use that one again).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/policies/{pid}", tag = "policies",
    params(("id" = i64, Path, description = "Tenant id"), ("pid" = i64, Path, description = "Policy id"), DeleteParams),
    responses((status = 204, description = "Deleted"),
        (status = 409, description = "Resolvers, subnets or overrides use the policy (counted in `detail`) and `confirm` is not `true`: nothing deleted")),
    security(("bearer" = [])))]
pub async fn delete_policy(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    params: crate::web::extract::Query<DeleteParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let confirm = confirmation(params.confirm);
    changed_found_in::<Policies, _>(&req, &user, &state, &path, own, async |conn, c, p| {
        if p.overrides_id.is_some() {
            service::reset_override(conn, c, p.id).await?;
        } else if let Updated::Unconfirmed(cleared) =
            service::delete(conn, c, p.id, &confirm).await?
        {
            return Err(service::delete_unconfirmed(&cleared).into());
        }
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

/// Override an inherited policy whose owner allows it (`default`; a `locked` one
/// or the tenant's own: 403): a policy of this tenant, of the same kind, with the
/// inherited policy's settings changed by what is sent. `name` defaults to the
/// inherited policy's name and this tenant's ("Ads (Subc)", or "Ads (Subc) 2" when
/// that is taken); every other field to the inherited policy's (`inheritable` too). A
/// policy without effect here (a lock above its owner, or between its owner and the
/// tenant, overrules it) is 403. One
/// override per inherited policy (409). Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/policies/{pid}/override", tag = "policies",
    params(("id" = i64, Path, description = "Tenant id"), ("pid" = i64, Path, description = "The inherited policy's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = PolicyPatch, content_type = "application/json"),
    responses((status = 201, description = "Created, with what it cleared below", body = PolicyChanged),
        (status = 409, description = "An override that is a lock would clear choices below (named by count in `detail`) and `confirm` is not `true`: nothing created"),
        (status = 422, description = "A field is not valid (`errors`): the name is taken in the tenant; `enforcement`: a second lock of a kind locked already above or in the tenant")),
    security(("bearer" = [])))]
pub async fn override_policy(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let of = super::owned::item_id(&req, &path.1)?;
    super::owned::created(
        &req,
        &user,
        &state,
        &path.0,
        &body,
        "policies",
        async |conn, c, data: PolicyPatch| {
            service::may_change(c.p, c.tenant)?;
            let inherited = Policy::find_visible(conn, &c.tenant.path, of).await?;
            if authz::policy_access(&c.tenant.path, &authz::PolicyFacts::of(&inherited.policy))
                == PolicyAccess::Hidden
            {
                return Err(AppError::NotFound);
            }
            let default_name =
                service::free_override_name(conn, c.tenant, &inherited.policy).await?;
            // The inherited policy's settings, `inheritable` too: an override sent
            // empty differs in nothing.
            let input = data.on(&inherited.policy, Some(default_name));
            let confirm = confirmation(data.confirm);
            changed_answer(
                c,
                service::create_override(conn, c, of, input, &confirm).await?,
            )
        },
    )
    .await
}
