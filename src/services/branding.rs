//! A tenant's branding (issue #16): what its users — and those of every tenant
//! below it that does not say otherwise — see as the product's name, logo, colour
//! and support contact, on pages, login pages, mail and printed statistics.
//!
//! Reads need Settings read ([`read`]); every write — the text fields, a reset to
//! inherited, a logo's upload or removal — is one call of [`change`]: Settings full
//! through `authz::require_branding_change`, then the tenant's plan: without
//! `custom_branding` a change that sets a value is refused (409, "Not in plan …"),
//! a reset is not, the tenant's own row locked, one audit event. The caller has checked
//! visibility (404).

use super::change::Change;
use crate::auth::{authz, Principal};
use crate::db::models::branding::{Brand, Effective, OwnBranding};
use crate::db::models::outbox::NewMail;
use crate::db::models::Tenant;
use crate::db::transaction::{in_transaction, set_lock_timeout};
use crate::domain::activity::Action;
use crate::domain::branding::BrandingFields;
use crate::domain::logo::Logo;
use crate::domain::plan::PlanOption;
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

/// Queues a plain-text notice (alert, report, migration) to `to`, worded in the
/// branding of their home tenant — never the branding of the tenant the mail is
/// about: a tenant below must not word (or sign) mail that goes up to its
/// ancestors' users — and linking to their home tenant's address, where they log
/// in (`NewMail::linking_to`). `compose` writes the subject and the text, signed
/// (`mail::signed`), with that branding; its product name is the From name. The
/// one way the console sends a notice; returns the outbox id (for attachments).
pub async fn queue_notice(
    conn: &mut AsyncPgConnection,
    to: &Principal,
    now: DateTime<Utc>,
    compose: impl FnOnce(&Brand) -> anyhow::Result<(String, String)>,
) -> Result<i64, AppError> {
    let brand = Brand::of(conn, to.home.id).await?;
    let (subject, text) = compose(&brand).map_err(AppError::Unexpected)?;
    Ok(NewMail::notice(&to.user.email, &subject, &text)
        .from_name(brand.name())
        .reply_to(brand.support_email.as_deref())
        .linking_to(to.home.id)
        .insert(conn, now)
        .await?)
}

/// A field of a branding that can be reset to inherited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    ProductName,
    Logo,
    PrimaryColor,
    SupportEmail,
    SupportUrl,
}

impl Field {
    /// The field a form or an API names (`product_name`, `logo`, …).
    pub fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "product_name" => Field::ProductName,
            "logo" => Field::Logo,
            "primary_color" => Field::PrimaryColor,
            "support_email" => Field::SupportEmail,
            "support_url" => Field::SupportUrl,
            _ => return None,
        })
    }
}

/// One change of a tenant's own branding.
#[derive(Clone, Debug)]
pub enum BrandingChange {
    /// Every text field at once (`None`: inherit), the logo kept: the form, the API's PUT.
    Fields(BrandingFields),
    /// One field back to inherited.
    Reset(Field),
    /// A new logo (made safe by `Logo::parse`).
    Logo(Logo),
}

/// Settings read on `tenant` (403): the prologue of every read.
pub fn read(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Settings, Level::Read)
}

/// A tenant's branding as its page and the API show it: what is in effect, what it
/// stores itself, and whether its plan lets its own values take effect.
#[derive(Clone, Debug)]
pub struct BrandingView {
    /// Each field in effect with where it comes from.
    pub effective: Effective,
    /// The tenant's own values as stored, in effect or not.
    pub own: OwnBranding,
    /// Why the tenant's governing plan keeps its own values from taking effect
    /// ("Not in plan Basic."): they are kept, not shown, until the plan allows them.
    pub plan_refusal: Option<String>,
}

impl BrandingView {
    /// The tenant's own value of `field` that its plan keeps from taking effect
    /// (the logo's ETag for the logo), with the reason.
    pub fn kept(&self, field: Field) -> Option<(&str, &str)> {
        let reason = self.plan_refusal.as_deref()?;
        let value = match field {
            Field::ProductName => &self.own.product_name,
            Field::PrimaryColor => &self.own.primary_color,
            Field::SupportEmail => &self.own.support_email,
            Field::SupportUrl => &self.own.support_url,
            Field::Logo => &self.own.logo_etag,
        };
        Some((value.as_deref()?, reason))
    }
}

/// The tenant's branding (Settings read, 403): each field in effect with where it
/// comes from, and its own values its plan keeps from taking effect.
pub async fn view(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<BrandingView, AppError> {
    read(p, tenant)?;
    let plan = crate::services::plans::plan_of(conn, tenant).await?;
    Ok(BrandingView {
        effective: Effective::of(conn, tenant.id).await?,
        own: OwnBranding::of(conn, tenant.id).await?,
        plan_refusal: authz::plan_refusal(plan.as_ref(), PlanOption::CustomBranding),
    })
}

/// What the audit keeps of a branding: the text fields and the logo's type and
/// ETag (not its bytes).
fn audited(b: &OwnBranding) -> serde_json::Value {
    serde_json::json!({
        "product_name": b.product_name,
        "primary_color": b.primary_color,
        "support_email": b.support_email,
        "support_url": b.support_url,
        "logo": b.logo_etag.as_ref().map(|etag| serde_json::json!({
            "type": b.logo_mime,
            "etag": etag,
        })),
    })
}

/// Applies `change` to the tenant's own branding: Settings full (403), one
/// transaction, one audit event (`branding.update`, `.reset`, `.logo`); the tenant's
/// branding after it. Invalid input comes as its field errors (422).
pub async fn change(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    change: Result<BrandingChange, FieldErrors>,
) -> Result<BrandingView, AppError> {
    authz::require_branding_change(c.p, c.tenant)?;
    let change = change.map_err(AppError::Validation)?;
    let action = match &change {
        BrandingChange::Fields(_) => Action::BrandingUpdate,
        BrandingChange::Reset(_) => Action::BrandingReset,
        BrandingChange::Logo(_) => Action::BrandingLogo,
    };
    // A change of nothing (a reset of a field not set, the values stored saved
    // again) writes nothing and records nothing: not even an empty row of its own.
    // Read unlocked: a change committing meanwhile is as if it came after this one.
    if changes_nothing(&change, &OwnBranding::of(conn, c.tenant.id).await?) {
        return view(conn, c.p, c.tenant).await;
    }
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        // Its path held: a move or plan switch judging its branding waits for this.
        let (_, plan_refusal) = crate::services::plans::lock_for_option(
            conn,
            c.tenant.id,
            PlanOption::CustomBranding,
            false,
        )
        .await?;
        let before = OwnBranding::lock(conn, c.tenant.id, c.now).await?;
        let mut after = before.clone();
        match change {
            BrandingChange::Fields(f) => {
                after.product_name = f.product_name.map(|v| v.as_str().to_string());
                after.primary_color = f.primary_color.map(|v| v.hex());
                after.support_email = f.support_email.map(|v| v.to_string());
                after.support_url = f.support_url.map(|v| v.as_str().to_string());
            }
            BrandingChange::Reset(field) => match field {
                Field::ProductName => after.product_name = None,
                Field::PrimaryColor => after.primary_color = None,
                Field::SupportEmail => after.support_email = None,
                Field::SupportUrl => after.support_url = None,
                Field::Logo => {
                    after.logo = None;
                    after.logo_mime = None;
                    after.logo_etag = None;
                }
            },
            BrandingChange::Logo(logo) => {
                after.logo_mime = Some(logo.kind.mime().to_string());
                after.logo_etag = Some(logo.etag);
                after.logo = Some(logo.bytes);
            }
        }
        if let Some(reason) = plan_refusal
            .as_ref()
            .filter(|_| takes_up_more(&before, &after))
        {
            return Err(AppError::Conflict(format!("Custom branding: {reason}")));
        }
        if after != before {
            after.write(conn, c.tenant.id, c.now).await?;
            let mut event = c.actor.event(action, Some(c.tenant.id));
            event.before = Some(audited(&before));
            event.after = Some(audited(&after));
            event.record(conn).await?;
        }
        Ok(BrandingView {
            effective: Effective::of(conn, c.tenant.id).await?,
            own: after,
            plan_refusal,
        })
    })
    .await
}

/// Would `change` leave `own` as it is?
fn changes_nothing(change: &BrandingChange, own: &OwnBranding) -> bool {
    match change {
        BrandingChange::Fields(f) => {
            own.product_name.as_deref() == f.product_name.as_ref().map(|v| v.as_str())
                && own.primary_color == f.primary_color.as_ref().map(|v| v.hex())
                && own.support_email == f.support_email.as_ref().map(|v| v.to_string())
                && own.support_url.as_deref() == f.support_url.as_ref().map(|v| v.as_str())
        }
        BrandingChange::Reset(field) => match field {
            Field::ProductName => own.product_name.is_none(),
            Field::PrimaryColor => own.primary_color.is_none(),
            Field::SupportEmail => own.support_email.is_none(),
            Field::SupportUrl => own.support_url.is_none(),
            Field::Logo => own.logo.is_none() && own.logo_etag.is_none(),
        },
        BrandingChange::Logo(logo) => {
            own.logo_etag.as_deref() == Some(logo.etag.as_str())
                && own.logo_mime.as_deref() == Some(logo.kind.mime())
        }
    }
}

/// Does `after` set a value `before` did not have? On a plan without
/// `custom_branding` only that is refused: a reset, or a save that clears fields,
/// gives the tenant back its inherited branding.
fn takes_up_more(before: &OwnBranding, after: &OwnBranding) -> bool {
    let new = |b: &Option<String>, a: &Option<String>| a.is_some() && a != b;
    new(&before.product_name, &after.product_name)
        || new(&before.primary_color, &after.primary_color)
        || new(&before.support_email, &after.support_email)
        || new(&before.support_url, &after.support_url)
        || new(&before.logo_etag, &after.logo_etag)
}
