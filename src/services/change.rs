//! Who changes which tenant's items, when: the one context the services of every
//! tenant-owned family (`services::rules`, `services::network`, the policies next)
//! run a change under, so that the pages and the API build it in one place
//! (`web::owned`, `web::api::owned`).

use super::Actor;
use crate::auth::Principal;
use crate::db::models::Tenant;
use chrono::{DateTime, Utc};

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
