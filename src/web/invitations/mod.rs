//! Invitations: the inviter's pages of a tenant (`inviter`) and the public pages
//! behind an emailed link where the invitee accepts (`accept`).

mod accept;
mod inviter;

use crate::web::routes::{route, Route};

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/invitations" => inviter::index),
        route!(POST "/tenants/{id}/invitations" => inviter::create),
        route!(GET "/tenants/{id}/invitations/new" => inviter::new_form),
        route!(POST "/tenants/{id}/invitations/new" => inviter::create),
        route!(POST "/tenants/{id}/invitations/{invitation_id}/revoke" => inviter::revoke),
        route!(POST "/tenants/{id}/invitations/{invitation_id}/resend" => inviter::resend),
        route!(GET "/invitations/{token}" => accept::show),
        route!(POST "/invitations/{token}" => accept::accept_new),
        route!(POST "/invitations/{token}/accept" => accept::accept_existing),
    ]
}
