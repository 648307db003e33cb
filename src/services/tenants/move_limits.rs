//! The limits a move keeps (issue #14): a tenant's storage, memory, instance and user
//! limits cover its whole subtree, so a subtree moved under a destination counts
//! against every limit on the destination's path that it was not under before (the
//! ancestors both paths share hold it already).
//!
//! # Under concurrency
//!
//! Inside the move's transaction, after the tree protocol's locks (the moved tenant
//! FOR UPDATE, both paths FOR KEY SHARE: no instance or user is created or resized
//! inside the moved subtree meanwhile, since those take its path FOR KEY SHARE first,
//! so its totals stand), [`refusal`] takes the limits' locks in the order the creates
//! take them, tenants before totals, each top-down:
//!
//! 1. the tenants with a user limit among those the subtree joins, FOR NO KEY UPDATE
//!    (`user_limit::lock_limits`, as a user create does on its path);
//! 2. the subtree-totals rows of both paths FOR NO KEY UPDATE, by depth then id
//!    (`Instance::lock_usage`, as an instance write's trigger does on its path; the
//!    rows the move then shifts),
//!
//! and reads the sums there. An instance create under a joining tenant either
//! committed before (its write's trigger added it to the totals read here) or waits
//! for the move (at its "create under" locks, or at those rows) and then checks
//! against totals that hold the moved subtree; a user create likewise (its deferred
//! trigger adds it at its commit, under the tenants' locks taken first): the two
//! never both pass.

use crate::db::models::instance::{Instance, TenantUsage};
use crate::db::models::tenant::SubtreeTotals;
use crate::db::models::user_limit::lock_limits;
use crate::db::models::Tenant;
use crate::domain::resources::{move_refusal, Budget};
use crate::error::AppError;
use diesel_async::AsyncPgConnection;
use std::collections::BTreeSet;

/// Whether the one asking may see a tenant, by its path (a limit set on one they
/// cannot see is not named).
pub type Seen<'a> = &'a (dyn Fn(&[i64]) -> bool + Sync);

/// Why moving `tenant` under `destination` would take a tenant it joins over a
/// limit, as one message naming each limit and its use; `None` when it fits (equal
/// to a limit fits). `lock`: inside the move's transaction, holding the tree locks
/// (see the module comment); without, a preview's reading of the rows as they are.
pub async fn refusal(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
    lock: bool,
    seen: Seen<'_>,
) -> Result<Option<String>, AppError> {
    let old = &tenant.path[..tenant.path.len().saturating_sub(1)];
    let joining: Vec<i64> = destination
        .path
        .iter()
        .copied()
        .filter(|id| !old.contains(id))
        .collect();
    if joining.is_empty() {
        return Ok(None);
    }
    let usage = if lock {
        lock_limits(conn, &joining).await?;
        // (depth, id) of every tenant on both paths: top-down, as `add_totals` orders them.
        let rows: BTreeSet<(usize, i64)> = old
            .iter()
            .enumerate()
            .chain(destination.path.iter().enumerate())
            .map(|(depth, id)| (depth, *id))
            .collect();
        let ordered: Vec<i64> = rows.into_iter().map(|(_, id)| id).collect();
        Instance::lock_usage(conn, &ordered).await?
    } else {
        Instance::usage(conn, &joining).await?
    };
    let moved = SubtreeTotals::find(conn, tenant.id).await?;
    let overruns = overruns(&usage, &joining, destination, &moved, seen);
    Ok((!overruns.is_empty()).then(|| {
        format!(
            "{} cannot move under {}: {}",
            tenant.name,
            destination.name,
            overruns.join(" ")
        )
    }))
}

/// The limits of the `joining` tenants (`usage`, top-down) that `moved` takes them
/// over, one message each.
fn overruns(
    usage: &[TenantUsage],
    joining: &[i64],
    destination: &Tenant,
    moved: &SubtreeTotals,
    seen: Seen<'_>,
) -> Vec<String> {
    let mut out = Vec::new();
    for u in usage.iter().filter(|u| joining.contains(&u.tenant_id)) {
        let checks = [
            (
                "Storage",
                " GB",
                u.storage_gb,
                u.storage_limit_gb,
                moved.storage_gb,
            ),
            (
                "Memory",
                " GB",
                u.memory_gb,
                u.memory_limit_gb,
                moved.memory_gb,
            ),
            (
                "Instances",
                "",
                u.instance_count,
                u.max_instances,
                moved.instances,
            ),
            (
                "Users",
                "",
                u.user_count,
                u.max_users.map(i64::from),
                moved.users,
            ),
        ];
        for (what, unit, used, limit, brings) in checks {
            let Some(limit) = limit else { continue };
            let budget = Budget {
                used,
                limit: Some(limit),
            };
            if !budget.allows(brings) {
                let place = place(u, destination, seen);
                out.push(move_refusal(what, unit, used, limit, brings, &place));
            }
        }
    }
    out
}

/// Where a limit is set, as the mover may be told.
fn place(u: &TenantUsage, destination: &Tenant, seen: Seen<'_>) -> String {
    let upto = destination
        .path
        .iter()
        .position(|id| *id == u.tenant_id)
        .map(|i| &destination.path[..=i]);
    if u.tenant_id == destination.id || upto.is_some_and(seen) {
        u.name.clone()
    } else {
        format!("a tenant above {}", destination.name)
    }
}
