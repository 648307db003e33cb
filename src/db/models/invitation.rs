//! Invitations into a tenant, found by the hash of their link's token.

use crate::db::schema::{invitations, user_roles};
use crate::domain::invitation::{InvitationState, InvitationStatus, Offer};
use crate::domain::{GrantRole, Scope};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = invitations, check_for_backend(Pg))]
pub struct Invitation {
    pub id: i64,
    pub tenant_id: i64,
    pub email: String,
    pub token_hash: String,
    pub role_id: Option<i64>,
    pub grant_role: Option<GrantRole>,
    pub grant_scope: Option<Scope>,
    pub manage_subtenants: bool,
    pub inviter_user_id: Option<i64>,
    pub inviter_login: String,
    pub status: InvitationState,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_user_id: Option<i64>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new invitation; the caller made the token and checked the rights.
pub struct NewInvitation<'a> {
    pub tenant_id: i64,
    pub email: &'a str,
    pub token_hash: &'a str,
    pub offer: Offer,
    pub inviter_user_id: i64,
    pub inviter_login: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl NewInvitation<'_> {
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Invitation> {
        let (role_id, grant_role, grant_scope, manage) = match self.offer {
            Offer::Role(id) => (Some(id), None, None, false),
            Offer::Grant {
                role,
                scope,
                manage_subtenants,
            } => (None, Some(role), Some(scope), manage_subtenants),
        };
        diesel::insert_into(invitations::table)
            .values((
                invitations::tenant_id.eq(self.tenant_id),
                invitations::email.eq(self.email),
                invitations::token_hash.eq(self.token_hash),
                invitations::role_id.eq(role_id),
                invitations::grant_role.eq(grant_role),
                invitations::grant_scope.eq(grant_scope),
                invitations::manage_subtenants.eq(manage),
                invitations::inviter_user_id.eq(Some(self.inviter_user_id)),
                invitations::inviter_login.eq(self.inviter_login),
                invitations::expires_at.eq(self.expires_at),
            ))
            .returning(Invitation::as_returning())
            .get_result(conn)
            .await
    }
}

/// The unique index that keeps one pending invitation per address and tenant.
pub const ONE_PENDING: &str = "invitations_one_pending";

impl Invitation {
    /// The offer; `None` for a role invitation whose role was deleted.
    pub fn offer(&self) -> Option<Offer> {
        match self.grant_role {
            None => self.role_id.map(Offer::Role),
            Some(role) => Some(Offer::Grant {
                role,
                scope: self.grant_scope?,
                manage_subtenants: self.manage_subtenants,
            }),
        }
    }

    /// A grant invitation (as opposed to a plain tenant user with a role).
    pub fn is_grant(&self) -> bool {
        self.grant_role.is_some()
    }

    pub fn status(&self, now: DateTime<Utc>) -> InvitationStatus {
        InvitationStatus::of(self.status, self.expires_at, now)
    }

    /// The invitation behind a link, locked until the end of the transaction.
    pub async fn lock_by_token_hash(
        conn: &mut AsyncPgConnection,
        token_hash: &str,
    ) -> QueryResult<Option<Invitation>> {
        invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .select(Invitation::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    pub async fn by_token_hash(
        conn: &mut AsyncPgConnection,
        token_hash: &str,
    ) -> QueryResult<Option<Invitation>> {
        invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .select(Invitation::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// An invitation of this tenant, locked; another tenant's id is "not found".
    pub async fn lock_in_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Option<Invitation>> {
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::tenant_id.eq(tenant_id))
            .select(Invitation::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    pub async fn find_in_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Option<Invitation>> {
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::tenant_id.eq(tenant_id))
            .select(Invitation::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The pending (possibly expired) invitation of this address into this tenant.
    pub async fn pending_for_email(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        email: &str,
    ) -> QueryResult<Option<Invitation>> {
        invitations::table
            .filter(invitations::tenant_id.eq(tenant_id))
            .filter(super::lower(invitations::email).eq(email.to_lowercase()))
            .filter(invitations::status.eq(InvitationState::Pending))
            .select(Invitation::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The newest invitations of a tenant, with the name of the role each offers.
    pub async fn list_for_tenant(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        limit: i64,
    ) -> QueryResult<Vec<(Invitation, Option<String>)>> {
        invitations::table
            .left_join(user_roles::table)
            .filter(invitations::tenant_id.eq(tenant_id))
            .order(invitations::id.desc())
            .limit(limit)
            .select((Invitation::as_select(), user_roles::name.nullable()))
            .load(conn)
            .await
    }

    /// A new link (token hash) and expiry, sent by `inviter`: the old link stops working.
    pub async fn renew(
        conn: &mut AsyncPgConnection,
        id: i64,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        inviter_user_id: i64,
        inviter_login: &str,
    ) -> QueryResult<Invitation> {
        Change {
            token_hash: Some(token_hash),
            expires_at: Some(expires_at),
            inviter_user_id: Some(Some(inviter_user_id)),
            inviter_login: Some(inviter_login),
            ..Change::default()
        }
        .apply(conn, id)
        .await
    }

    pub async fn revoke(
        conn: &mut AsyncPgConnection,
        id: i64,
        now: DateTime<Utc>,
    ) -> QueryResult<Invitation> {
        Change {
            status: Some(InvitationState::Revoked),
            revoked_at: Some(Some(now)),
            ..Change::default()
        }
        .apply(conn, id)
        .await
    }

    pub async fn mark_accepted(
        conn: &mut AsyncPgConnection,
        id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> QueryResult<Invitation> {
        Change {
            status: Some(InvitationState::Accepted),
            accepted_at: Some(Some(now)),
            accepted_user_id: Some(Some(user_id)),
            ..Change::default()
        }
        .apply(conn, id)
        .await
    }
}

/// The columns a change of one invitation sets; `None` leaves a column as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = invitations)]
struct Change<'a> {
    token_hash: Option<&'a str>,
    expires_at: Option<DateTime<Utc>>,
    inviter_user_id: Option<Option<i64>>,
    inviter_login: Option<&'a str>,
    status: Option<InvitationState>,
    revoked_at: Option<Option<DateTime<Utc>>>,
    accepted_at: Option<Option<DateTime<Utc>>>,
    accepted_user_id: Option<Option<i64>>,
}

impl Change<'_> {
    /// Sets these columns of invitation `id`; the invitation as it is then.
    async fn apply(&self, conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Invitation> {
        diesel::update(invitations::table.find(id))
            .set(self)
            .returning(Invitation::as_returning())
            .get_result(conn)
            .await
    }
}
