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
use crate::domain::resources::{move_refusal, Measure};
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
    let mut none = Earlier::default();
    checked(conn, tenant, destination, lock, seen, &mut none).await
}

/// The moves a bulk move's preview passed before this one (all under the one
/// destination), as if made: each moved tenant's path as it is now and what its
/// subtree holds. A preview reads the rows as they are, so without these two
/// tenants moved together would each fit where both do not (the apply moves one
/// after the other and sees the first).
#[derive(Debug, Default)]
pub struct Earlier {
    moves: Vec<(Vec<i64>, SubtreeTotals)>,
}

impl Earlier {
    /// What the earlier moves add to the tenant `joined` (one on the destination's
    /// path), and how much of what `tenant` holds they moved already (the moved
    /// tenants below it): (added, moved already).
    fn shares(&self, joined: i64, destination: &Tenant, tenant: &Tenant) -> (Held, Held) {
        let mut added = Held::default();
        let mut inside = Held::default();
        for (path, totals) in &self.moves {
            let old = &path[..path.len().saturating_sub(1)];
            if destination.path.contains(&joined) && !old.contains(&joined) {
                added.add(totals);
            }
            if path.contains(&tenant.id) {
                inside.add(totals);
            }
        }
        (added, inside)
    }

    /// Whether a move passed before is of a tenant above `tenant`: that one took it
    /// under the destination already.
    fn carries(&self, tenant: &Tenant) -> bool {
        self.moves
            .iter()
            .any(|(path, _)| path.last().is_some_and(|id| above(tenant).contains(id)))
    }
}

/// The tenants above `tenant`.
fn above(tenant: &Tenant) -> &[i64] {
    &tenant.path[..tenant.path.len().saturating_sub(1)]
}

/// Storage, memory, instances, users: what a subtree holds, as the limits count it.
#[derive(Clone, Copy, Debug, Default)]
struct Held([i64; 4]);

impl Held {
    fn of(t: &SubtreeTotals) -> Self {
        Held([t.storage_gb, t.memory_gb, t.instances, t.users])
    }

    fn add(&mut self, t: &SubtreeTotals) {
        let more = Held::of(t);
        for (a, b) in self.0.iter_mut().zip(more.0) {
            *a += b;
        }
    }
}

/// A bulk preview's [`refusal`] of moving `tenant` under `destination` after the
/// `earlier` moves it passed; a move that fits is added to them.
pub async fn preview_refusal(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
    seen: Seen<'_>,
    earlier: &mut Earlier,
) -> Result<Option<String>, AppError> {
    checked(conn, tenant, destination, false, seen, earlier).await
}

async fn checked(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
    lock: bool,
    seen: Seen<'_>,
    earlier: &mut Earlier,
) -> Result<Option<String>, AppError> {
    let old = above(tenant);
    let joining: Vec<i64> = destination
        .path
        .iter()
        .copied()
        .filter(|id| !old.contains(id))
        .collect();
    if joining.is_empty() || earlier.carries(tenant) {
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
    let with_earlier: Vec<(TenantUsage, Held)> = usage
        .into_iter()
        .map(|mut u| {
            let (added, inside) = earlier.shares(u.tenant_id, destination, tenant);
            u.storage_gb += added.0[0];
            u.memory_gb += added.0[1];
            u.instance_count += added.0[2];
            u.user_count += added.0[3];
            let own = Held::of(&moved);
            let mut brings = Held::default();
            for (b, (o, i)) in brings.0.iter_mut().zip(own.0.into_iter().zip(inside.0)) {
                *b = o - i;
            }
            (u, brings)
        })
        .collect();
    let overruns = overruns(&with_earlier, &joining, destination, seen);
    if overruns.is_empty() {
        earlier.moves.push((tenant.path.clone(), moved));
        return Ok(None);
    }
    Ok(Some(format!(
        "{} cannot move under {}: {}",
        tenant.name,
        destination.name,
        overruns.join(" ")
    )))
}

/// The limits of the `joining` tenants (`usage`, top-down, each with what the move
/// brings it) that the move takes them over, one message each.
fn overruns(
    usage: &[(TenantUsage, Held)],
    joining: &[i64],
    destination: &Tenant,
    seen: Seen<'_>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (u, Held([storage, memory, instances, users])) in
        usage.iter().filter(|(u, _)| joining.contains(&u.tenant_id))
    {
        // The budgets the instance and user checks read (`TenantUsage::budget`).
        for (measure, brings) in Measure::ALL
            .into_iter()
            .zip([storage, memory, instances, users])
        {
            let budget = u.budget(measure);
            let Some(limit) = budget.limit else { continue };
            if !budget.allows(*brings) {
                let unit = match measure.unit() {
                    "" => "",
                    _ => " GB",
                };
                let place = place(u, destination, seen);
                // The plan only with a tenant the mover may be told of.
                let origin = u.origin(measure).filter(|_| !place.starts_with(HIDDEN));
                out.push(move_refusal(
                    measure.label(),
                    unit,
                    (budget.used, limit),
                    *brings,
                    &place,
                    origin.as_ref(),
                ));
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
        format!("{HIDDEN}{}", destination.name)
    }
}

/// How [`place`] names a tenant the mover may not see.
const HIDDEN: &str = "a tenant above ";

/// How many stranded instances a refusal names (the rest are counted).
const STRANDED_SHOWN: i64 = 5;

/// Why moving `tenant` under `destination` would leave instances of its subtree on
/// clouds they would no longer see (a cloud of a tenant the move leaves behind:
/// its public clouds reach only its subtree, and its assignments to the moved
/// tenants go), naming the first few; `None` when none would. The cloud's owner is
/// named where `seen`. Inside the move's transaction the tree locks hold the
/// subtree's paths, so no instance is created in it meanwhile.
pub async fn clouds_refusal(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
    seen: Seen<'_>,
) -> Result<Option<String>, AppError> {
    let left: Vec<i64> = above(tenant)
        .iter()
        .copied()
        .filter(|id| !destination.path.contains(id))
        .collect();
    let (stranded, total) =
        crate::db::models::cloud::Cloud::stranded_by_move(conn, tenant.id, &left, STRANDED_SHOWN)
            .await?;
    Ok(stranded_refusal(
        tenant,
        destination,
        &stranded,
        total,
        seen,
    ))
}

/// The words of [`clouds_refusal`] for the `stranded` instances named of `total`.
fn stranded_refusal(
    tenant: &Tenant,
    destination: &Tenant,
    stranded: &[crate::db::models::cloud::Stranded],
    total: i64,
    seen: Seen<'_>,
) -> Option<String> {
    if stranded.is_empty() {
        return None;
    }
    let items: Vec<String> = stranded
        .iter()
        .map(|s| {
            let whose = if s.tenant_id == tenant.id {
                String::new()
            } else {
                format!(" of {}", s.tenant)
            };
            let owner = if seen(&s.owner_path) {
                s.owner.as_str()
            } else {
                crate::domain::HIDDEN_TENANT
            };
            format!("{}{whose} runs on {} ({owner})", s.instance, s.cloud)
        })
        .collect();
    let head = format!("{} cannot move under {}:", tenant.name, destination.name);
    if total == 1 {
        return Some(format!(
            "{head} {}, which it would no longer see: move it to another cloud first.",
            items.join("")
        ));
    }
    let more = total - stranded.len() as i64;
    let rest = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    Some(format!(
        "{head} {total} instances run on clouds they would no longer see: {}{rest}. Move them to \
         another cloud first.",
        items.join("; ")
    ))
}
