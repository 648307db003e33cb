//! Quota threshold alerts: when a batch of usage takes a tenant's own queries of the
//! current (or just closed) month to 80 % or 100 % of its monthly query quota, its Owners (and the Owners
//! above it who opted in on their profile) are mailed, once per threshold and
//! month, through the outbox, in the transaction of the fold that adds the months (`services::usage::fold`).

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::quota_alert::{self, Crossing};
use crate::db::models::Tenant;
use crate::domain::activity::Action;
use crate::domain::stats::{quota_percent_text, Month};
use crate::error::AppError;
use crate::mail::{self, QuotaAlert, PUBLIC_URL_PLACEHOLDER};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::collections::{BTreeMap, HashMap};

/// Records the thresholds the tenant-months `keys` (whose own counts a fold just
/// raised) crossed, and queues their alerts; returns how many mails were queued.
/// Runs inside the fold's transaction: the crossing and its mails commit
/// together or not at all. Only the month that is current at `now` (UTC) and the
/// one before it are alerted: an alert is a warning while the month can still be
/// acted on, and resolvers post their last batches of a month just after
/// midnight; usage backfilled for an older month changes its numbers silently
/// (nor is such a crossing recorded, so it never alerts later either).
pub async fn alert_crossings(
    conn: &mut AsyncPgConnection,
    keys: &[(i64, NaiveDate)],
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let current = Month::of(now.date_naive());
    let alerted = [current.first_day(), current.previous().first_day()];
    let keys: Vec<(i64, NaiveDate)> = keys
        .iter()
        .copied()
        .filter(|k| alerted.contains(&k.1))
        .collect();
    let crossings = quota_alert::record_crossings(conn, &keys, now).await?;
    if crossings.is_empty() {
        return Ok(0);
    }
    // A batch that takes a tenant from under 80 % to over 100 % records both
    // thresholds but mails only the higher: one mail says it all.
    let mut highest: BTreeMap<(i64, NaiveDate), Crossing> = BTreeMap::new();
    for c in crossings {
        let entry = highest.entry((c.tenant_id, c.month)).or_insert(c.clone());
        if c.threshold > entry.threshold {
            *entry = c;
        }
    }
    let ids: Vec<i64> = highest.keys().map(|(t, _)| *t).collect();
    let tenants: HashMap<i64, Tenant> = Tenant::find_many(conn, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut principals: HashMap<i64, Option<Principal>> = HashMap::new();
    let mut queued = 0;
    for ((tenant_id, _), crossing) in &highest {
        let Some(tenant) = tenants.get(tenant_id) else {
            continue;
        };
        let ancestors = &tenant.path[..tenant.path.len().saturating_sub(1)];
        for user_id in quota_alert::owners_to_alert(conn, tenant.id, ancestors).await? {
            let p = match principals.entry(user_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Principal::load(conn, user_id).await?)
                }
            };
            let Some(p) = p else {
                continue;
            };
            if authz::usage_mail_refusal(p, tenant).is_some() {
                continue;
            }
            let own = p.grants.iter().any(|g| g.tenant_id == tenant.id);
            queue(conn, p, tenant, crossing, !own, now).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

async fn queue(
    conn: &mut AsyncPgConnection,
    to: &Principal,
    tenant: &Tenant,
    c: &Crossing,
    above: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let month = Month::of(c.month);
    let percent =
        quota_percent_text(c.queries, c.quota).unwrap_or_else(|| "over the quota".to_string());
    let link = format!(
        "{PUBLIC_URL_PLACEHOLDER}/tenants/{}/stats?from={m}&to={m}",
        tenant.id,
        m = month.text()
    );
    let alert = QuotaAlert {
        tenant: &tenant.name,
        subdomain: &tenant.subdomain,
        month: &c.month.format("%B %Y").to_string(),
        threshold: c.threshold,
        queries: &crate::domain::stats::grouped(c.queries),
        quota: &crate::domain::stats::grouped(c.quota),
        percent: &percent,
        link: &link,
        profile_link: &format!("{PUBLIC_URL_PLACEHOLDER}{PROFILE_ALERTS}"),
        above,
        over: c.threshold >= 100 && c.queries > c.quota,
    };
    super::branding::queue_notice(conn, to, now, |brand| mail::quota_alert(&alert, brand)).await?;
    Ok(())
}

/// Where a user chooses whether to get the alerts of the tenants below those they
/// own (the alert mails link there).
pub const PROFILE_ALERTS: &str = "/profile#quota-alerts";

/// Whether `p` wants the alerts of the tenants below those they own.
pub async fn opted_in(conn: &mut AsyncPgConnection, p: &Principal) -> Result<bool, AppError> {
    Ok(quota_alert::opted_in(conn, p.user.id).await?)
}

/// The refusal to opt in from an account without an email address: alerts are
/// mail, and none can reach it (the profile says where an address is added).
pub const NO_EMAIL: &str = "Alerts are sent by email, and your account has no email address: \
     add one first (see Email above), then opt in.";

/// Opts `p` in or out of the alerts of the tenants below those they own (their
/// own tenants' alerts always come); audited when it changes. Opting in takes an
/// email address on the account (a field error otherwise); opting out never does.
pub async fn set_opt_in(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    on: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if on && !p.user.has_email() {
        return Err(AppError::field("alerts_from_below", NO_EMAIL));
    }
    conn.transaction(async |conn| {
        if quota_alert::set_opt_in(conn, p.user.id, on, now).await? {
            let mut event = actor.event(Action::ProfileQuotaAlerts, Some(p.home.id));
            event.after = Some(serde_json::json!({ "alerts_from_below": on }));
            event.record(conn).await?;
        }
        Ok(())
    })
    .await
}
