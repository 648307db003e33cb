//! A tenant's custom domain: checking its DNS proof, or a root Owner approving it.

use super::tree::snapshot;
use crate::auth::{authz, Principal};
use crate::db::models::Tenant;
use crate::db::set_lock_timeout;
use crate::dns::{DnsError, TxtResolver};
use crate::domain::activity::Action;
use crate::domain::domain_name::{
    challenge_name, challenge_value, parse_custom_domain, txt_proof, ConsoleHosts, DomainStatus,
    TxtProof,
};
use crate::domain::plan::PlanOption;
use crate::error::{AppError, ProblemKind};
use crate::services::{plans, Actor};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// What a custom-domain check or approval did.
#[derive(Clone, Debug)]
pub enum DomainChange {
    /// The domain serves from now on.
    Serving(Tenant),
    /// It served already: nothing changed.
    AlreadyServing(Tenant),
}

impl DomainChange {
    pub fn tenant(&self) -> &Tenant {
        match self {
            DomainChange::Serving(t) | DomainChange::AlreadyServing(t) => t,
        }
    }
}

/// The pending domain of `tenant` and its token, or why there is nothing to prove:
/// no domain (a field error), a domain the console's rules no longer allow (set
/// before they existed: a field error), or one that serves already (`Ok(None)`).
fn pending_claim<'t>(
    tenant: &'t Tenant,
    hosts: &ConsoleHosts,
) -> Result<Option<(&'t str, &'t str)>, AppError> {
    let (Some(domain), Some(token)) = (
        tenant.custom_domain.as_deref(),
        tenant.domain_claim.token.as_deref(),
    ) else {
        return Err(AppError::field(
            "custom_domain",
            "This tenant has no custom domain.",
        ));
    };
    if let Err(message) = parse_custom_domain(domain, hosts) {
        return Err(AppError::field(
            "custom_domain",
            format!("{message} Remove or change it in the tenant's settings."),
        ));
    }
    if tenant.domain_claim.serves() {
        return Ok(None);
    }
    Ok(Some((domain, token)))
}

/// Checks the DNS proof of `tenant`'s pending custom domain (whoever may edit the
/// tenant; `tenant` is visible to `p`, read by the caller): the TXT record `_tenantry-challenge.<domain>` must hold
/// `tenantry-verify=<token>`. Found: the domain is verified and serves from now on.
/// Missing or different: a field error on `custom_domain` that says what to add. A
/// resolver that fails or does not answer in time: a 503 problem, nothing changed.
///
/// No database connection is held during the lookup: a slow resolver must not
/// starve the pool.
pub async fn verify_custom_domain(
    pool: &crate::db::DbPool,
    resolver: &TxtResolver,
    hosts: &ConsoleHosts,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
) -> Result<DomainChange, AppError> {
    {
        let mut conn = pool.get().await?;
        let parent = super::parent_of(&mut conn, tenant).await?;
        authz::require_edit(p, tenant, parent.as_ref())?;
        // Before the DNS lookup (the write checks again, locked).
        if pending_claim(tenant, hosts)?.is_some() {
            let plan = plans::plan_of(&mut conn, tenant).await?;
            if let Some(reason) = authz::plan_refusal(plan.as_ref(), PlanOption::CustomDomain) {
                return Err(AppError::field("custom_domain", reason));
            }
        }
    }
    let Some((domain, token)) = pending_claim(tenant, hosts)? else {
        return Ok(DomainChange::AlreadyServing(tenant.clone()));
    };
    let name = challenge_name(domain);
    let value = challenge_value(token);
    let records = resolver
        .txt_records(&name)
        .await
        .map_err(|e| dns_unavailable(&name, &e))?;
    match txt_proof(&records, token) {
        TxtProof::Found => {}
        TxtProof::Missing => {
            return Err(AppError::field(
                "custom_domain",
                format!(
                    "No TXT record found at {name}. Add one with the value {value} and check \
                     again (new DNS records can take a while to appear)."
                ),
            ))
        }
        TxtProof::Mismatch(n) => {
            return Err(AppError::field(
                "custom_domain",
                format!(
                    "The TXT record{} at {name} do{} not hold {value}. Set the value exactly \
                     and check again.",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "es" } else { "" },
                ),
            ))
        }
    }
    let mut conn = pool.get().await?;
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let (before, refusal) =
            plans::lock_for_option(conn, tenant.id, PlanOption::CustomDomain, true).await?;
        // Approved by someone else while the lookup ran: the same claim, serving.
        if before.custom_domain.as_deref() == Some(domain)
            && before.domain_claim.token.as_deref() == Some(token)
            && before.domain_claim.serves()
        {
            return Ok(DomainChange::AlreadyServing(before));
        }
        if let Some(reason) = refusal {
            return Err(AppError::field("custom_domain", reason));
        }
        let Some(after) =
            Tenant::set_domain_serving(conn, tenant.id, domain, token, DomainStatus::Verified)
                .await?
        else {
            return Err(changed_meanwhile(&before));
        };
        let mut event = actor.event(Action::CustomDomainVerify, Some(tenant.id));
        event.before = Some(snapshot(&before));
        event.after = Some(serde_json::json!({
            "custom_domain": after.custom_domain, "custom_domain_status": after.domain_claim.status,
            "txt_name": name, "txt_value": value,
        }));
        event.record(conn).await?;
        Ok(DomainChange::Serving(after))
    })
    .await
}

/// A root Owner approves the pending custom domain of `tenant` (visible to `p`)
/// without a DNS proof. `expected` is the domain the approver was shown: if the
/// domain changed since, nothing is approved (409), so nobody approves a name they
/// never saw.
pub async fn approve_custom_domain(
    conn: &mut AsyncPgConnection,
    hosts: &ConsoleHosts,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    expected: &str,
) -> Result<DomainChange, AppError> {
    if !authz::can_approve_custom_domain(p) {
        return Err(AppError::Forbidden);
    }
    let id = tenant.id;
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let (before, refusal) =
            plans::lock_for_option(conn, id, PlanOption::CustomDomain, true).await?;
        let Some((domain, token)) = pending_claim(&before, hosts)? else {
            return Ok(DomainChange::AlreadyServing(before));
        };
        if let Some(reason) = refusal {
            return Err(AppError::field("custom_domain", reason));
        }
        if !domain.eq_ignore_ascii_case(expected.trim().trim_end_matches('.')) {
            return Err(changed_meanwhile(&before));
        }
        let Some(after) =
            Tenant::set_domain_serving(conn, id, domain, token, DomainStatus::Approved).await?
        else {
            return Err(changed_meanwhile(&before));
        };
        let mut event = actor.event(Action::CustomDomainApprove, Some(id));
        event.before = Some(snapshot(&before));
        event.after = Some(snapshot(&after));
        event.record(conn).await?;
        Ok(DomainChange::Serving(after))
    })
    .await
}

fn changed_meanwhile(now: &Tenant) -> AppError {
    AppError::Conflict(match &now.custom_domain {
        Some(d) => {
            format!("The custom domain changed meanwhile; it is now {d}. Review it and try again.")
        }
        None => "The custom domain was removed meanwhile.".into(),
    })
}

/// A DNS failure as the client sees it: what could not be checked, and that nothing changed.
fn dns_unavailable(name: &str, e: &DnsError) -> AppError {
    tracing::warn!(name, error = %e, "custom domain check: DNS lookup failed");
    AppError::problem(
        ProblemKind::Unavailable,
        format!("Could not look up {name}: {e}. Nothing was changed; try again in a moment."),
    )
}
