//! Invitations: create, resend, revoke and accept — each in one transaction with
//! its mail in the outbox and its audit event. Create, resend and revoke take the
//! acting [`Principal`] and decide through `authz` whether it may give (or manage)
//! the offer; acceptance re-checks the inviter's rights as they are at that moment.
//!
//! The caller has read the tenant with `authz::visible_tenant` (404 for an
//! invisible one).

use super::Actor;
use crate::auth::tokens::{random_token, InvitationToken};
use crate::auth::{authz, Principal};
use crate::config::Settings;
use crate::db::models::branding::Brand;
use crate::db::models::invitation::{Invitation, NewInvitation, ONE_PENDING};
use crate::db::models::outbox::{self, NewMail};
use crate::db::models::role::UserRole;
use crate::db::models::user::UserFields;
use crate::db::models::{Grant, Tenant, User};
use crate::domain::activity::Action;
use crate::domain::email::{self, Email};
use crate::domain::invitation::{InvitationStatus, Offer};
use crate::domain::number::grouped;
use crate::domain::{Permissions, Username};
use crate::error::{AppError, FieldErrors};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::ExposeSecret;

/// The email field's error when the address already has a pending invitation.
pub const ALREADY_INVITED: &str =
    "This address already has a pending invitation to this tenant; resend it instead.";

/// The offer in words, with the role's current name for a role invitation.
pub async fn describe(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    offer: Option<Offer>,
) -> Result<String, AppError> {
    Ok(match offer {
        Some(Offer::Role(id)) => {
            let role = UserRole::find_in_tenant(conn, tenant.id, id).await?;
            Offer::Role(id).describe(&tenant.name, role.as_ref().map(|r| r.name.as_str()))
        }
        Some(offer) => offer.describe(&tenant.name, None),
        None => Offer::Role(0).describe(&tenant.name, None),
    })
}

fn offer_json(offer: Option<Offer>) -> serde_json::Value {
    match offer {
        Some(Offer::Role(id)) => serde_json::json!({ "role_id": id }),
        Some(Offer::Grant {
            role,
            scope,
            manage_subtenants,
        }) => serde_json::json!({
            "grant_role": role.as_str(),
            "scope": scope.as_str(),
            "manage_subtenants": manage_subtenants,
        }),
        None => serde_json::json!({ "role_id": null }),
    }
}

/// What the audit trail keeps of an invitation: never its token or hash.
fn snapshot(inv: &Invitation) -> serde_json::Value {
    serde_json::json!({
        "invitation_id": inv.id,
        "email": inv.email,
        "offer": offer_json(inv.offer()),
        "inviter": inv.inviter_login,
        "status": inv.status,
        "expires_at": inv.expires_at,
    })
}

/// A fresh link seed, its token's hash, and the expiry of a link issued now.
fn new_link(settings: &Settings, now: DateTime<Utc>) -> (String, String, DateTime<Utc>) {
    let seed = random_token();
    let token = InvitationToken::derive(settings.secret_key.expose_secret().as_bytes(), &seed);
    let expires_at = now + chrono::Duration::hours(settings.invitation_ttl_hours);
    (seed, token.hash(), expires_at)
}

/// Queues the invitation mail for `inv` with the link of `seed`.
async fn queue_mail(
    conn: &mut AsyncPgConnection,
    inv: &Invitation,
    tenant: &Tenant,
    seed: &str,
    requested_by: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let offer = describe(conn, tenant, inv.offer()).await?;
    let brand = Brand::of(conn, tenant.id).await?;
    let (subject, text, html) = crate::mail::invitation(
        &inv.inviter_login,
        &tenant.name,
        &offer,
        inv.expires_at,
        &brand,
    )?;
    NewMail {
        from_name: Some(brand.name()),
        recipient: &inv.email,
        subject: &subject,
        body_text: &text,
        body_html: Some(&html),
        invitation_id: Some(inv.id),
        link_seed: Some(seed),
        requested_by_user_id: Some(requested_by),
        // The link leads to the invitee's tenant's own address.
        link_tenant_id: Some(tenant.id),
        // Replies go to the support address of the branding it is worded in.
        reply_to: brand.support_email.as_deref(),
    }
    .insert(conn, now)
    .await?;
    Ok(())
}

fn inviter_id(actor: &Actor) -> Result<i64, AppError> {
    actor
        .user_id
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("an invitation needs a user")))
}

/// A converted input, or the field errors of its conversion (as in
/// `services::tenants`): the operation reports them together with its own.
pub type Parsed<T> = Result<T, FieldErrors>;

/// The role field's error for a role that is not one of the tenant's.
pub const NO_SUCH_ROLE: &str = "Choose a role of this tenant.";

/// An invitation as the invite form asks for it: the address and the offer, each
/// converted (valid by construction) or with its field errors. Whether the inviter
/// may give the offer is the operation's to decide ([`create`]).
#[derive(Clone, Debug)]
pub struct InvitationInput {
    pub email: Parsed<Email>,
    pub offer: Parsed<Offer>,
}

/// The permissions of the user role `offer` names, if it offers one of `tenant`'s
/// roles; `None` for a grant offer and for a role that is not (or no longer) there.
async fn offered_role(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    offer: Option<Offer>,
) -> Result<Option<Permissions>, AppError> {
    Ok(match offer {
        Some(Offer::Role(id)) => UserRole::find_in_tenant(conn, tenant.id, id)
            .await?
            .map(|r| r.permissions),
        _ => None,
    })
}

/// The address and the offer of `input` if `p` may invite with it into `tenant`;
/// else every field error at once. 403 when `p` may invite nobody there.
async fn check_offer(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    input: InvitationInput,
) -> Result<(Email, Offer), AppError> {
    if !authz::can_invite(p, tenant) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let email = input.email.map_err(|mut e| errors.append(&mut e)).ok();
    let offer = input.offer.map_err(|mut e| errors.append(&mut e)).ok();
    if let Some(offer) = offer {
        let role = offered_role(conn, tenant, Some(offer)).await?;
        match offer {
            Offer::Role(_) if role.is_none() => {
                errors.insert("role_id", NO_SUCH_ROLE.into());
            }
            Offer::Role(_) if !authz::can_offer(p, tenant, offer, role.as_ref()) => {
                errors.insert(
                    "role_id",
                    "You cannot offer a role with more rights than you hold here.".into(),
                );
            }
            Offer::Grant { .. } if !authz::can_offer(p, tenant, offer, None) => {
                errors.insert(
                    "role",
                    "You cannot offer a grant stronger than your own (role, scope or “may manage sub-tenants”).".into(),
                );
            }
            _ => {}
        }
    }
    match (email, offer) {
        (Some(email), Some(offer)) if errors.is_empty() => Ok((email, offer)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Invites the address of `input` into `tenant` with its offer, if `p` may give it
/// there (else field errors; 403 if `p` may invite nobody): the invitation and its
/// mail in one transaction. 429 past the hourly limit; a field error on `email` when
/// the address already has a pending invitation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    settings: &Settings,
    tenant: &Tenant,
    input: InvitationInput,
    now: DateTime<Utc>,
) -> Result<Invitation, AppError> {
    let inviter = inviter_id(actor)?;
    let (email, offer) = check_offer(conn, p, tenant, input).await?;
    conn.transaction(async |conn| {
        User::lock(conn, inviter).await?;
        check_rate(conn, inviter, settings, now).await?;
        if Invitation::pending_for_email(conn, tenant.id, email.as_str())
            .await?
            .is_some()
        {
            return Err(AppError::field("email", ALREADY_INVITED));
        }
        let (seed, token_hash, expires_at) = new_link(settings, now);
        let inv = NewInvitation {
            tenant_id: tenant.id,
            email: email.as_str(),
            token_hash: &token_hash,
            offer,
            inviter_user_id: inviter,
            inviter_login: &actor.login,
            expires_at,
        }
        .insert(conn)
        .await
        .map_err(already_invited)?;
        queue_mail(conn, &inv, tenant, &seed, inviter, now).await?;
        let mut event = actor.event(Action::InvitationCreate, Some(tenant.id));
        event.after = Some(snapshot(&inv));
        event.record(conn).await?;
        Ok(inv)
    })
    .await
}

/// What the inviter is told when `tenant` (or a tenant above it, whose limit
/// covers it) has no room for another user: the invitation goes out, but cannot be
/// accepted until there is room. `None` when a user fits. Read as the rows are now
/// (the accept checks again, locked).
pub async fn full_warning(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<Option<String>, AppError> {
    use crate::domain::resources::Measure;
    let bars = super::instances::usage(conn, p, tenant).await?;
    let Some(bar) = bars.into_iter().find(|b| b.measure == Measure::Users) else {
        return Ok(None);
    };
    // The plan whose limit it is, of a tenant that may be named.
    let (used, limit, place, origin) = match &bar.above {
        Some(a) => (
            a.used,
            Some(a.limit),
            a.name.clone().unwrap_or_else(|| "a tenant above it".into()),
            a.origin.as_ref().filter(|_| a.name.is_some()),
        ),
        None => (
            bar.used,
            bar.limit,
            tenant.name.clone(),
            bar.origin.as_ref(),
        ),
    };
    Ok(limit.filter(|l| used >= *l).map(|l| {
        let (used, l) = (grouped(used), grouped(l));
        format!(
            "Users {used} of {l} used in {place}: it cannot be accepted until a user is \
             removed or the limit is raised{}.",
            crate::domain::resources::plan_clause(origin)
        )
    }))
}

/// 429 when `inviter` has had as many invitation mails queued within the last hour
/// as allowed. The caller holds the lock on the inviter's row, so parallel requests
/// count in turn.
async fn check_rate(
    conn: &mut AsyncPgConnection,
    inviter: i64,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let since = now - chrono::Duration::hours(1);
    if outbox::requested_since(conn, inviter, since).await? >= settings.invitations_per_hour {
        return Err(AppError::TooManyRequests);
    }
    Ok(())
}

/// The audit event of a change of an invitation: what it was and is.
async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: Action,
    before: &Invitation,
    after: &Invitation,
) -> Result<(), AppError> {
    let mut event = actor.event(action, Some(after.tenant_id));
    event.before = Some(snapshot(before));
    event.after = Some(snapshot(after));
    event.record(conn).await?;
    Ok(())
}

/// A pending invitation for the address, whichever request won the race.
fn already_invited(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(ONE_PENDING) =>
        {
            AppError::field("email", ALREADY_INVITED)
        }
        _ => e.into(),
    }
}

/// The invitation `id` of `tenant`, locked, if `p` may manage it (404 if there is
/// none, 403 unless `p` could offer it now), and open (else 409 with `closed`'s
/// message for its stored status).
async fn lock_manageable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    id: i64,
    now: DateTime<Utc>,
    closed: impl FnOnce(&Invitation) -> String,
) -> Result<Invitation, AppError> {
    manageable(conn, p, tenant, id, now, true, closed).await
}

/// What [`revoke`] checks, without locking or changing anything (asked before its
/// confirmation is shown): the open invitation `id` of `tenant` that `p` may manage.
pub async fn require_revocable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Invitation, AppError> {
    manageable(conn, p, tenant, id, now, false, already_closed).await
}

fn already_closed(inv: &Invitation) -> String {
    format!("This invitation was already {}.", inv.status)
}

/// [`lock_manageable`], locking the row only when `lock`.
async fn manageable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    id: i64,
    now: DateTime<Utc>,
    lock: bool,
    closed: impl FnOnce(&Invitation) -> String,
) -> Result<Invitation, AppError> {
    let inv = if lock {
        Invitation::lock_in_tenant(conn, tenant.id, id).await?
    } else {
        Invitation::find_in_tenant(conn, tenant.id, id).await?
    }
    .ok_or(AppError::NotFound)?;
    let role = offered_role(conn, tenant, inv.offer()).await?;
    if !authz::can_manage_invitation(p, tenant, inv.offer(), role.as_ref()) {
        return Err(AppError::Forbidden);
    }
    if !inv.status(now).is_open() {
        return Err(AppError::Conflict(closed(&inv)));
    }
    Ok(inv)
}

/// Sends a pending (or expired) invitation again, if `p` may manage it: a new link
/// and expiry, the old link stops working, mail of the old link not yet delivered is
/// cancelled. The actor becomes the inviter (their rights count at acceptance).
pub async fn resend(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    settings: &Settings,
    tenant: &Tenant,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Invitation, AppError> {
    let inviter = inviter_id(actor)?;
    conn.transaction(async |conn| {
        User::lock(conn, inviter).await?;
        let before = lock_manageable(conn, p, tenant, id, now, |inv| {
            format!(
                "This invitation was {} and cannot be resent; invite {} again instead.",
                inv.status, inv.email
            )
        })
        .await?;
        if before.offer().is_none() {
            return Err(AppError::Conflict(
                "The role this invitation offers no longer exists; revoke it and invite again."
                    .into(),
            ));
        }
        check_rate(conn, inviter, settings, now).await?;
        let (seed, token_hash, expires_at) = new_link(settings, now);
        outbox::cancel_for_invitation(conn, id, "replaced by a newer mail (resent)").await?;
        let after =
            Invitation::renew(conn, id, &token_hash, expires_at, inviter, &actor.login).await?;
        queue_mail(conn, &after, tenant, &seed, inviter, now).await?;
        record(conn, actor, Action::InvitationResend, &before, &after).await?;
        Ok(after)
    })
    .await
}

/// Withdraws a pending (or expired) invitation, if `p` may manage it: its link
/// stops working and mail not yet delivered is cancelled.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Invitation, AppError> {
    conn.transaction(async |conn| {
        let before = lock_manageable(conn, p, tenant, id, now, already_closed).await?;
        outbox::cancel_for_invitation(conn, id, "the invitation was revoked").await?;
        let after = Invitation::revoke(conn, id, now).await?;
        record(conn, actor, Action::InvitationRevoke, &before, &after).await?;
        Ok(after)
    })
    .await
}

// ---------------------------------------------------------------- acceptance

/// Why a link cannot be used (the link's holder may be told; nothing about other
/// invitations is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    Expired,
    Revoked,
    Used,
}

/// How accepting (or showing) an invitation can fail.
#[derive(Debug)]
pub enum AcceptError {
    /// No invitation has this link (never had, or it was replaced by a resend).
    Unknown,
    /// The invitation exists but is closed.
    Closed(Closed),
    /// Open, but it cannot be accepted as things stand (the inviter lost the right,
    /// the role or tenant is gone or disabled, a conflicting grant).
    Refused {
        message: String,
        invitation_id: i64,
        tenant_id: i64,
        email: String,
    },
    /// Open, but addressed to another email than the logged-in account's: only the
    /// invited address may take the rights into an existing account. `masked` is the
    /// invited address as the refusal may show it.
    OtherAddress {
        masked: String,
        invitation_id: i64,
        tenant_id: i64,
        email: String,
    },
    /// The new-account form has errors.
    Invalid(FieldErrors),
    Other(AppError),
}

impl From<diesel::result::Error> for AcceptError {
    fn from(e: diesel::result::Error) -> Self {
        AcceptError::Other(e.into())
    }
}

impl From<AppError> for AcceptError {
    fn from(e: AppError) -> Self {
        AcceptError::Other(e)
    }
}

/// An open invitation with what it offers, as the accept page shows it.
#[derive(Clone, Debug)]
pub struct Preview {
    pub invitation: Invitation,
    pub tenant: Tenant,
    pub offer: Offer,
    pub description: String,
}

fn open_or_closed(inv: &Invitation, now: DateTime<Utc>) -> Result<(), AcceptError> {
    match inv.status(now) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Expired => Err(AcceptError::Closed(Closed::Expired)),
        InvitationStatus::Revoked => Err(AcceptError::Closed(Closed::Revoked)),
        InvitationStatus::Accepted => Err(AcceptError::Closed(Closed::Used)),
    }
}

/// Is the invitation acceptable as things stand now? Re-checks the inviter's rights
/// with their current principal: nobody gets more than the inviter may give today.
async fn check_acceptable(
    conn: &mut AsyncPgConnection,
    inv: &Invitation,
    now: DateTime<Utc>,
) -> Result<Preview, AcceptError> {
    open_or_closed(inv, now)?;
    let tenant = Tenant::find(conn, inv.tenant_id).await?;
    let refuse = |message: String| AcceptError::Refused {
        message,
        invitation_id: inv.id,
        tenant_id: tenant.id,
        email: inv.email.clone(),
    };
    if !tenant.enabled {
        return Err(refuse(format!(
            "{} is disabled, so its invitations cannot be accepted now. Ask the person who invited you.",
            tenant.name
        )));
    }
    let Some(offer) = inv.offer() else {
        return Err(refuse(
            "The role this invitation offers no longer exists. Ask the person who invited you for a new invitation."
                .into(),
        ));
    };
    let lost = || {
        refuse(format!(
            "{} may no longer give these rights in {}, so this invitation cannot be accepted. \
             Ask an administrator of {} to invite you again.",
            inv.inviter_login, tenant.name, tenant.name
        ))
    };
    let inviter = match inv.inviter_user_id {
        Some(id) => Principal::load(conn, id).await?,
        None => None,
    };
    let Some(inviter) = inviter.filter(|p| p.user.enabled && p.home.enabled) else {
        return Err(lost());
    };
    let role = match offer {
        Offer::Grant { .. } => None,
        Offer::Role(id) => match UserRole::find_in_tenant(conn, tenant.id, id).await? {
            Some(role) => Some(role.permissions),
            None => {
                return Err(refuse(
                    "The role this invitation offers no longer exists. Ask the person who invited you for a new invitation."
                        .into(),
                ))
            }
        },
    };
    if !authz::can_offer(&inviter, &tenant, offer, role.as_ref()) {
        return Err(lost());
    }
    let description = describe(conn, &tenant, Some(offer)).await?;
    Ok(Preview {
        invitation: inv.clone(),
        tenant,
        offer,
        description,
    })
}

/// The invitation behind a link, if it can be accepted now. Changes nothing.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    token: &InvitationToken,
    now: DateTime<Utc>,
) -> Result<Preview, AcceptError> {
    let inv = Invitation::by_token_hash(conn, &token.hash())
        .await?
        .ok_or(AcceptError::Unknown)?;
    check_acceptable(conn, &inv, now).await
}

/// The invitation behind a link, locked, if it can be accepted now.
async fn lock_acceptable(
    conn: &mut AsyncPgConnection,
    token: &InvitationToken,
    now: DateTime<Utc>,
) -> Result<Preview, AcceptError> {
    let inv = Invitation::lock_by_token_hash(conn, &token.hash())
        .await?
        .ok_or(AcceptError::Unknown)?;
    check_acceptable(conn, &inv, now).await
}

/// [`preview`] before an attempt to accept: a refusal is recorded as a failed
/// acceptance (`invitation.fail`) for the audit trail.
pub async fn precheck(
    conn: &mut AsyncPgConnection,
    token: &InvitationToken,
    who: Option<&Principal>,
    client_addr: Option<String>,
    now: DateTime<Utc>,
) -> Result<Preview, AcceptError> {
    let result = preview(conn, token, now).await;
    let actor = who.map(|p| Actor::user(p, p.home.id, client_addr.clone()));
    record_failure(conn, &result, actor, client_addr).await;
    result
}

/// A new account from an invitation.
pub struct NewAccount<'a> {
    pub username: &'a Username,
    pub password_hash: &'a str,
    pub client_addr: Option<String>,
}

/// What acceptance did.
pub struct Accepted {
    pub user: User,
    pub tenant: Tenant,
    /// False when an existing user already held at least the offered grant.
    pub changed: bool,
    pub description: String,
}

/// Creates the invitee's account in the tenant (with the offered role, or with no
/// role and the offered grant) and closes the invitation, in one transaction.
pub async fn accept_new(
    conn: &mut AsyncPgConnection,
    token: &InvitationToken,
    account: NewAccount<'_>,
    now: DateTime<Utc>,
) -> Result<Accepted, AcceptError> {
    let result = conn
        .transaction(async |conn| {
            let preview = lock_acceptable(conn, token, now).await?;
            let inv = &preview.invitation;
            let tenant = &preview.tenant;
            if User::username_taken(conn, tenant.id, account.username.as_str(), None).await? {
                return Err(taken());
            }
            // The invitee sees none of the tenants above: a limit there is not named.
            super::user_limit::make_room(conn, tenant, 1, &|_| false)
                .await
                .map_err(limit_reached)?;
            let fields = UserFields {
                username: account.username.as_str().to_string(),
                email: inv.email.clone(),
                first_name: String::new(),
                last_name: String::new(),
                role_id: match preview.offer {
                    Offer::Role(id) => Some(id),
                    Offer::Grant { .. } => None,
                },
                enabled: true,
                storage_limit_gb: None,
                memory_limit_gb: None,
            };
            let user = User::create(conn, tenant.id, &fields, account.password_hash)
                .await
                .map_err(|e| match &e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    ) => taken(),
                    _ => e.into(),
                })?;
            if let Offer::Grant {
                role,
                scope,
                manage_subtenants,
            } = preview.offer
            {
                Grant::insert(conn, user.id, tenant.id, role, scope, manage_subtenants).await?;
            }
            let after = Invitation::mark_accepted(conn, inv.id, user.id, now).await?;
            outbox::cancel_for_invitation(conn, inv.id, "the invitation was accepted").await?;
            let actor = Actor::account(&user, tenant, account.client_addr.clone());
            let mut event = actor.event(Action::UserCreate, Some(tenant.id));
            event.after = Some(serde_json::json!({
                "id": user.id, "tenant_id": user.tenant_id, "username": user.username,
                "email": user.email, "role_id": user.role_id, "source": user.source,
                "invitation_id": inv.id,
            }));
            event.record(conn).await?;
            let mut event = actor.event(Action::InvitationAccept, Some(tenant.id));
            event.before = Some(snapshot(inv));
            let mut after_json = snapshot(&after);
            after_json["accepted_user_id"] = serde_json::json!(user.id);
            after_json["new_account"] = serde_json::json!(true);
            event.after = Some(after_json);
            event.record(conn).await?;
            Ok(Accepted {
                user,
                tenant: preview.tenant.clone(),
                changed: true,
                description: preview.description,
            })
        })
        .await;
    record_failure(conn, &result, None, account.client_addr).await;
    result
}

/// A user limit's refusal, as the acceptance form shows it.
/// What the invitee is told when the tenant is full: not its usage (internal to
/// the tenant), but what they can do.
pub const TENANT_FULL: &str = "This tenant cannot take more users; ask whoever invited you.";

fn limit_reached(e: AppError) -> AcceptError {
    match e {
        AppError::Validation(errors) => {
            let mut told = FieldErrors::new();
            for (field, _) in errors {
                told.insert(field, TENANT_FULL.into());
            }
            AcceptError::Invalid(told)
        }
        e => e.into(),
    }
}

fn taken() -> AcceptError {
    let mut errors = FieldErrors::new();
    errors.insert(
        "username",
        "This username is already taken in this tenant; choose another.".into(),
    );
    AcceptError::Invalid(errors)
}

/// Adds the offered grant to an existing user's account and closes the invitation.
/// Only grant invitations, and only into the account whose email is the invited
/// address (compared trimmed and case-insensitively): a role invitation makes a new
/// account in the tenant. A grant the user already holds on the tenant is replaced
/// only by a stronger one.
pub async fn accept_existing(
    conn: &mut AsyncPgConnection,
    token: &InvitationToken,
    user: &Principal,
    client_addr: Option<String>,
    now: DateTime<Utc>,
) -> Result<Accepted, AcceptError> {
    let actor = Actor::user(user, user.home.id, client_addr.clone());
    let result = conn
        .transaction(async |conn| {
            let preview = lock_acceptable(conn, token, now).await?;
            let inv = &preview.invitation;
            let tenant = &preview.tenant;
            let refuse = |message: String| AcceptError::Refused {
                message,
                invitation_id: inv.id,
                tenant_id: tenant.id,
                email: inv.email.clone(),
            };
            let Offer::Grant {
                role,
                scope,
                manage_subtenants,
            } = preview.offer
            else {
                return Err(refuse(format!(
                    "This invitation makes a new account in {}: log out, open the link again and choose a username and password.",
                    tenant.name
                )));
            };
            // The link alone is not enough to put the rights into an account that
            // already exists: it must be the account of the invited address.
            if !email::same_address(&user.user.email, &inv.email) {
                return Err(AcceptError::OtherAddress {
                    masked: email::mask(&inv.email),
                    invitation_id: inv.id,
                    tenant_id: tenant.id,
                    email: inv.email.clone(),
                });
            }
            let offered = (role, scope, manage_subtenants);
            let held = Grant::existing(conn, user.user.id, tenant.id)
                .await?
                .map(|g| (g.role, g.scope, g.manage_subtenants));
            let changed = match held {
                Some(held) if authz::grant_covers(held, offered) => false,
                Some(held) if !authz::grant_covers(offered, held) => {
                    return Err(refuse(format!(
                        "You already hold a different grant on {} ({}); ask an administrator to change it on the Access page.",
                        tenant.name,
                        Offer::Grant { role: held.0, scope: held.1, manage_subtenants: held.2 }
                            .describe(&tenant.name, None)
                    )))
                }
                _ => {
                    Grant::insert(conn, user.user.id, tenant.id, role, scope, manage_subtenants)
                        .await?;
                    true
                }
            };
            let after = Invitation::mark_accepted(conn, inv.id, user.user.id, now).await?;
            outbox::cancel_for_invitation(conn, inv.id, "the invitation was accepted").await?;
            let mut event = actor.event(Action::InvitationAccept, Some(tenant.id));
            event.before = Some(snapshot(inv));
            let mut after_json = snapshot(&after);
            after_json["accepted_user_id"] = serde_json::json!(user.user.id);
            after_json["new_account"] = serde_json::json!(false);
            after_json["grant_changed"] = serde_json::json!(changed);
            event.after = Some(after_json);
            event.record(conn).await?;
            Ok(Accepted {
                user: user.user.clone(),
                tenant: preview.tenant.clone(),
                changed,
                description: preview.description,
            })
        })
        .await;
    record_failure(conn, &result, Some(actor), client_addr).await;
    result
}

/// A refused acceptance goes to the audit trail, after the rollback: nothing else changed.
async fn record_failure<T>(
    conn: &mut AsyncPgConnection,
    result: &Result<T, AcceptError>,
    actor: Option<Actor>,
    client_addr: Option<String>,
) {
    let (message, invitation_id, tenant_id, email) = match result {
        Err(AcceptError::Refused {
            message,
            invitation_id,
            tenant_id,
            email,
        }) => (message.clone(), invitation_id, tenant_id, email),
        Err(AcceptError::OtherAddress {
            invitation_id,
            tenant_id,
            email,
            ..
        }) => (
            "the invitation was sent to another address than the account's".to_string(),
            invitation_id,
            tenant_id,
            email,
        ),
        _ => return,
    };
    let actor = actor.unwrap_or_else(|| Actor::anonymous(format!("invitee:{email}"), client_addr));
    let mut event = actor.event(Action::InvitationFail, Some(*tenant_id));
    event.after = Some(serde_json::json!({
        "invitation_id": invitation_id, "email": email, "reason": message,
    }));
    if let Err(e) = event.record(conn).await {
        tracing::warn!(error = %e, "could not record invitation.fail");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitee_at_a_full_tenant_is_told_what_to_do_not_its_usage() {
        let full = AppError::field(
            crate::domain::resources::FORM_LEVEL,
            "Users 2 of 2 used in Retail".to_string(),
        );
        match limit_reached(full) {
            AcceptError::Invalid(errors) => {
                let told: Vec<&String> = errors.values().collect();
                assert_eq!(told, [TENANT_FULL]);
            }
            other => panic!("{other:?}"),
        }
    }
}
