//! Who changes which tenant's items, when: the one context the services of every
//! tenant-owned family (`services::rules`, `services::network`, the policies next)
//! run a change under, so that the pages and the API build it in one place
//! (`web::owned`, `web::api::owned`).

use super::Actor;
use crate::auth::authz;
use crate::auth::Principal;
use crate::db::models::Tenant;
use crate::db::transaction::{in_transaction, set_lock_timeout};
use crate::domain::activity::{changed_only, Action};
use crate::domain::{Feature, Level};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

/// Who (`p`, audited as `actor`) changes which `tenant`'s items, at `now`.
pub struct Change<'a> {
    pub p: &'a Principal,
    pub actor: &'a Actor,
    pub tenant: &'a Tenant,
    pub now: DateTime<Utc>,
}

impl<'a> Change<'a> {
    pub fn new(p: &'a Principal, actor: &'a Actor, tenant: &'a Tenant, now: DateTime<Utc>) -> Self {
        Change {
            p,
            actor,
            tenant,
            now,
        }
    }
}

/// An audit event's before and after.
#[derive(Clone, Debug, Default)]
pub struct Audit {
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Audit {
    /// A change of an item from the snapshot `before` to `after`: only the fields
    /// that differ, plus those `keep` names (what the item is) on both sides
    /// (`domain::activity::changed_only`); `None` when nothing differs.
    pub fn changed(
        before: &serde_json::Value,
        after: &serde_json::Value,
        keep: &[&str],
    ) -> Option<Audit> {
        changed_only(before, after, keep).map(|(before, after)| Audit {
            before: Some(before),
            after: Some(after),
        })
    }

    /// An item removed: what it was, nothing after.
    pub fn removed(before: serde_json::Value) -> Audit {
        Audit {
            before: Some(before),
            after: None,
        }
    }
}

impl Change<'_> {
    /// Runs `body` as one audited change (the families without versions: network,
    /// policies): `feature` full on the tenant (403), then one transaction with a
    /// bounded lock wait, then the audit event `action` on the tenant, `body`'s
    /// value as its `after`.
    pub async fn audited<T>(
        &self,
        feature: Feature,
        conn: &mut AsyncPgConnection,
        action: Action,
        body: impl AsyncFnOnce(&mut AsyncPgConnection) -> Result<(T, serde_json::Value), AppError>,
    ) -> Result<T, AppError> {
        self.audited_as(feature, conn, action, async |conn| {
            let (value, after) = body(conn).await?;
            let audit = Audit {
                before: None,
                after: Some(after),
            };
            Ok((value, Some(audit)))
        })
        .await
    }

    /// [`Change::audited`] with the event's before and after as `body` says, or
    /// no event at all (`None`: a save that changed nothing).
    pub async fn audited_as<T>(
        &self,
        feature: Feature,
        conn: &mut AsyncPgConnection,
        action: Action,
        body: impl AsyncFnOnce(&mut AsyncPgConnection) -> Result<(T, Option<Audit>), AppError>,
    ) -> Result<T, AppError> {
        authz::require(self.p, self.tenant, feature, Level::Full)?;
        in_transaction(conn, async |conn| {
            set_lock_timeout(conn).await?;
            let (value, audit) = body(conn).await?;
            if let Some(audit) = audit {
                let mut event = self.actor.event(action, Some(self.tenant.id));
                event.before = audit.before;
                event.after = audit.after;
                event.record(conn).await?;
            }
            Ok(value)
        })
        .await
    }
}
