//! The authorization matrix: every route of the router × every kind of user × every
//! tenant relation → the expected outcome (404, 403, or allowed).
//!
//! Expectations come from a small reference model written here by hand for the
//! fixture tree below, independent of `authz`. Every route in `tenantry::web::routes()`
//! must have a rule in `rule_for`, so a new route without one fails this test.

use crate::helpers::*;
use std::collections::HashMap;
use tenantry::db::models::role::{TenantRole, UserRole};
use tenantry::db::models::{Tenant, User};
use tenantry::domain::{GrantRole, Level, Permissions, Scope};

// ---------------------------------------------------------------- the fixture
//
// root ─┬─ p1 (partner) ─┬─ c1 ── g1
//       │                └─ c2        (tenant role "Readers": everything read)
//       └─ p2 (partner) ─── c3
//
// admin    root: home role Administrator (full), Owner on root + sub-tenants, manages
// rv       root: no role, Viewer on root + sub-tenants
// p1owner  p1:   home role full, Owner on p1 + sub-tenants, manages
// p1admin  p1:   no role, Administrator on p1 + sub-tenants, manages
// p1viewer p1:   no role, Viewer on p1 only
// p1plain  p1:   home role read, no grant
// c1admin  c1:   no role, Administrator on c1 only, does not manage
// c3user   c3:   home role full, no grant

pub(crate) const TENANTS: [&str; 7] = ["root", "p1", "c1", "g1", "c2", "p2", "c3"];
pub(crate) const USERS: [&str; 9] = [
    "anonymous",
    "admin",
    "rv",
    "p1owner",
    "p1admin",
    "p1viewer",
    "p1plain",
    "c1admin",
    "c3user",
];

/// Effective level of each user in each tenant (same for every feature: roles and grants
/// here are uniform). '-' = cannot see, 'N' none, 'R' read, 'F' full.
const LEVELS: [(&str, &str); 8] = [
    //            root p1 c1 g1 c2 p2 c3
    ("admin", "FFFFRFF"),
    ("rv", "RRRRRRR"),
    ("p1owner", "-FFFR--"),
    ("p1admin", "-FFFR--"),
    ("p1viewer", "-R-----"),
    ("p1plain", "-R-----"),
    ("c1admin", "--F----"),
    ("c3user", "------F"),
];

/// Who may create, edit and disable children of each tenant (manage sub-tenants with
/// sub-tenant scope and Tenants full there); `delete` additionally needs Owner.
pub(crate) fn manages(user: &str, tenant: &str) -> bool {
    match user {
        "admin" => tenant != "c2",
        "p1owner" | "p1admin" => matches!(tenant, "p1" | "c1" | "g1"),
        _ => false,
    }
}

pub(crate) fn owns_children(user: &str, tenant: &str) -> bool {
    manages(user, tenant) && matches!(user, "admin" | "p1owner")
}

pub(crate) fn parent(tenant: &str) -> Option<&'static str> {
    match tenant {
        "p1" | "p2" => Some("root"),
        "c1" | "c2" => Some("p1"),
        "g1" => Some("c1"),
        "c3" => Some("p2"),
        _ => None,
    }
}

pub(crate) fn level(user: &str, tenant: &str) -> Option<Level> {
    let row = LEVELS.iter().find(|(u, _)| *u == user)?.1;
    let i = TENANTS.iter().position(|t| *t == tenant)?;
    match row.as_bytes()[i] {
        b'F' => Some(Level::Full),
        b'R' => Some(Level::Read),
        b'N' => Some(Level::None),
        _ => None,
    }
}

pub(crate) fn sees(user: &str, tenant: &str) -> bool {
    level(user, tenant).is_some()
}

/// Gives grants: Owner/Administrator with a covering grant (not a Viewer, not a home role).
pub(crate) fn gives_grants(user: &str, tenant: &str) -> bool {
    level(user, tenant) == Some(Level::Full)
        && match user {
            "admin" => true,
            "p1owner" | "p1admin" => matches!(tenant, "p1" | "c1" | "g1"),
            "c1admin" => tenant == "c1",
            _ => false,
        }
}

pub(crate) fn home(user: &str) -> &'static str {
    match user {
        "admin" | "rv" => "root",
        "c1admin" => "c1",
        "c3user" => "c3",
        _ => "p1",
    }
}

// ---------------------------------------------------------------- outcomes

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// 303 to /login.
    Login,
    NotFound,
    Forbidden,
    /// Past authorization: 200, 303, 400, 401 or 429 (a failed login), 409 or 422 (never a 5xx).
    Allowed,
}

fn classify(status: u16, location: Option<&str>) -> Outcome {
    match status {
        404 => Outcome::NotFound,
        403 => Outcome::Forbidden,
        // A page's GET returns there after the login (`?next=`).
        303 if location.is_some_and(|l| l == "/login" || l.starts_with("/login?next=")) => {
            Outcome::Login
        }
        200 | 303 | 400 | 401 | 409 | 422 | 429 => Outcome::Allowed,
        other => panic!("unexpected status {other}"),
    }
}

/// 404 unless visible, then 403 unless `ok`.
pub(crate) fn gate(user: &str, tenant: &str, ok: bool) -> Outcome {
    if !sees(user, tenant) {
        Outcome::NotFound
    } else if ok {
        Outcome::Allowed
    } else {
        Outcome::Forbidden
    }
}

pub(crate) fn at_least(user: &str, tenant: &str, wanted: Level) -> Outcome {
    gate(
        user,
        tenant,
        level(user, tenant).is_some_and(|l| l >= wanted),
    )
}

/// How a route is authorized, as the reference model sees it.
#[derive(Clone, Copy, Debug)]
enum Rule {
    Public,
    LoggedIn,
    /// Needs this level in the user's own (acting) tenant.
    Acting(Level),
    /// Needs this level in the `{id}` tenant.
    Tenant(Level),
    /// Creating a child under the tenant posted as `parent_id`.
    CreateUnder,
    /// The new-tenant form for `?parent_id=`.
    NewTenantForm,
    EditTenant,
    DeleteTenant,
    Switch,
    GiveGrant,
    /// Revoking the fixture's Viewer grant on the tenant.
    RevokeGrant,
    /// Revoking an API token that is not the user's (here a made-up id): 404.
    ForeignToken,
    /// Changing the fixture's Viewer holder of the tenant: Users Full there and the
    /// authority to give their Viewer grant (the dominance rule; see dominance.rs).
    ActOnUser,
    /// Revoking a made-up token id of the `{user_id}` user: authorized like changing
    /// that user (`ActOnUser`), then 404 for the token.
    UserToken,
    TenantRolesRead,
    TenantRolesWrite,
    /// Approving a custom domain without its DNS proof: Owners of the root only.
    ApproveDomain,
    /// The usage ingestion keys: Owners and Administrators of the root; a page that
    /// does not exist (404) for everyone else.
    IngestionKeys,
    /// The plans (`/plans`): Owners and Administrators of the root, as the ingestion
    /// keys; a page that does not exist (404) for everyone else.
    Plans,
    /// Monthly usage reports: Owners over the tenant (the fixture's admin and p1owner).
    ReportOwner,
    /// A public invitation link; the matrix's token is forged: 404 for everyone.
    Token,
    /// A served logo, public: the fixture's tenants have none, 404 for everyone.
    NoLogo,
    /// Needs this level in the `{id}` tenant, then names a made-up item (an
    /// application, domain, rule or version): 404.
    TenantItem(Level),
    /// A rule-set migration's form of the `{id}` tenant: Owners and Administrators
    /// over it with Rules full (the grant givers of the fixture).
    MigrateFrom,
}

fn expected(rule: Rule, user: &str, tenant: &str) -> Outcome {
    if matches!(rule, Rule::Token | Rule::NoLogo) {
        return Outcome::NotFound;
    }
    if user == "anonymous" {
        return if matches!(rule, Rule::Public) {
            Outcome::Allowed
        } else {
            Outcome::Login
        };
    }
    match rule {
        Rule::Public | Rule::LoggedIn => Outcome::Allowed,
        Rule::Acting(l) => at_least(user, home(user), l),
        Rule::Tenant(l) => at_least(user, tenant, l),
        Rule::TenantItem(l) => match at_least(user, tenant, l) {
            Outcome::Allowed => Outcome::NotFound,
            other => other,
        },
        // An invisible parent is the same field error (422) as a missing one.
        Rule::CreateUnder if !sees(user, tenant) => Outcome::Allowed,
        Rule::CreateUnder => gate(user, tenant, manages(user, tenant)),
        Rule::NewTenantForm => gate(
            user,
            tenant,
            matches!(user, "admin" | "p1owner" | "p1admin"),
        ),
        Rule::EditTenant => gate(
            user,
            tenant,
            match parent(tenant) {
                Some(p) => manages(user, p),
                None => user == "admin",
            },
        ),
        Rule::DeleteTenant => gate(
            user,
            tenant,
            parent(tenant).is_some_and(|p| owns_children(user, p)),
        ),
        Rule::Switch => gate(user, tenant, true),
        Rule::ForeignToken => Outcome::NotFound,
        Rule::UserToken => match expected(Rule::ActOnUser, user, tenant) {
            Outcome::Allowed => Outcome::NotFound,
            other => other,
        },
        Rule::GiveGrant => match at_least(user, tenant, Level::Read) {
            Outcome::Allowed => gate(user, tenant, gives_grants(user, tenant)),
            other => other,
        },
        Rule::RevokeGrant => match at_least(user, tenant, Level::Read) {
            Outcome::Allowed => gate(user, tenant, gives_grants(user, tenant)),
            other => other,
        },
        Rule::ActOnUser => match at_least(user, tenant, Level::Full) {
            Outcome::Allowed => gate(user, tenant, gives_grants(user, tenant)),
            other => other,
        },
        Rule::TenantRolesRead => gate(user, "root", true),
        Rule::Token | Rule::NoLogo => Outcome::NotFound,
        Rule::TenantRolesWrite => gate(user, "root", user == "admin"),
        Rule::ApproveDomain => gate(user, tenant, user == "admin"),
        Rule::MigrateFrom => gate(user, tenant, gives_grants(user, tenant)),
        Rule::IngestionKeys | Rule::Plans if user == "admin" => Outcome::Allowed,
        Rule::IngestionKeys | Rule::Plans => Outcome::NotFound,
        Rule::ReportOwner => gate(
            user,
            tenant,
            user == "admin" || (user == "p1owner" && matches!(tenant, "p1" | "c1" | "g1" | "c2")),
        ),
    }
}

/// The rule, the form body (one that fails validation after authorization, so allowed
/// requests change nothing), and whether an allowed request changes state anyway.
fn rule_for(method: &str, path: &str) -> Option<(Rule, &'static str, bool)> {
    use Level::{Full as F, Read as R};
    use Rule::*;
    let empty = "";
    Some(match (method, path) {
        ("GET", "/") | ("GET", "/login") => (Public, empty, false),
        ("POST", "/login") => (Public, "username=nobody&password=x", false),
        ("POST", "/logout") => (Public, empty, true),
        ("GET", "/dashboard")
        | ("GET", "/switch")
        | ("GET", "/switch/search")
        | ("GET", "/profile")
        // Finding people: every logged-in user; what each finds is people.rs's test.
        | ("GET", "/users")
        | ("GET", "/users/search") => (LoggedIn, empty, false),
        ("POST", "/profile/password") => (
            LoggedIn,
            "current_password=wrong&new_password=x&confirm_password=y",
            false,
        ),
        ("POST", "/switch") => (Switch, empty, true),
        ("GET", "/tenants") | ("GET", "/tenants/tree") => (Acting(R), empty, false),
        ("POST", "/tenants") | ("POST", "/tenants/new") => {
            (CreateUnder, "name=X&subdomain=Bad_Sub", false)
        }
        ("GET", "/tenants/new") => (NewTenantForm, empty, false),
        // The bulk bar: as the list; without an action or a selection, a field error
        // after authorization (each row's own right is bulk.rs's test).
        ("POST", "/tenants/bulk") => (Acting(R), "action=", false),
        // The bulk bar's destination picker: as the list (which destinations each
        // user finds is bulk.rs's test).
        ("GET", "/tenants/destinations") => (Acting(R), empty, false),
        ("GET", "/tenants/{id}") | ("GET", "/tenants/{id}/children") => (Tenant(R), empty, false),
        ("POST", "/tenants/{id}") | ("POST", "/tenants/{id}/edit") => {
            (EditTenant, "name=&subdomain=Bad_Sub", false)
        }
        ("GET", "/tenants/{id}/edit") => (EditTenant, empty, false),
        ("POST", "/tenants/{id}/enable") | ("POST", "/tenants/{id}/disable") => {
            (EditTenant, empty, true)
        }
        ("GET", "/tenants/{id}/delete") => (DeleteTenant, empty, false),
        // Moving needs the same right as deleting (Owner over the parent); the posted
        // destination is then missing: a field error after authorization.
        ("GET", "/tenants/{id}/move") => (DeleteTenant, empty, false),
        ("POST", "/tenants/{id}/move") => (DeleteTenant, "parent_id=", false),
        // The fixture's tenants have no custom domain: a message, nothing changes.
        ("POST", "/tenants/{id}/custom-domain/check") => (EditTenant, empty, false),
        ("POST", "/tenants/{id}/custom-domain/approve") => {
            (ApproveDomain, "custom_domain=console.example.org", false)
        }
        ("GET", "/profile/tokens") => (LoggedIn, empty, false),
        ("POST", "/profile/tokens") => (LoggedIn, "name=&expires_at=never", false),
        ("POST", "/profile/tokens/{token_id}/revoke") => (ForeignToken, empty, false),
        // Without its confirmation box: a field error after authorization.
        ("POST", "/profile/logout-everywhere") => (LoggedIn, empty, false),
        ("POST", "/tenants/{id}/users/{user_id}/tokens/{token_id}/revoke") => {
            (UserToken, empty, false)
        }
        ("POST", "/tenants/{id}/delete") => (DeleteTenant, empty, true),
        ("GET", "/tenants/{id}/roles") | ("GET", "/tenants/{id}/roles/{role_id}") => {
            (Tenant(R), empty, false)
        }
        ("GET", "/tenants/{id}/roles/new") => (Tenant(F), empty, false),
        ("POST", "/tenants/{id}/roles")
        | ("POST", "/tenants/{id}/roles/new")
        | ("POST", "/tenants/{id}/roles/{role_id}") => (Tenant(F), "name=", false),
        ("POST", "/tenants/{id}/roles/{role_id}/delete") => (Tenant(F), empty, true),
        ("GET", "/tenant-roles") | ("GET", "/tenant-roles/{id}") => (TenantRolesRead, empty, false),
        ("GET", "/tenant-roles/new") => (TenantRolesWrite, empty, false),
        ("POST", "/tenant-roles")
        | ("POST", "/tenant-roles/new")
        | ("POST", "/tenant-roles/{id}") => (TenantRolesWrite, "name=", false),
        ("POST", "/tenant-roles/{id}/delete") => (TenantRolesWrite, empty, true),
        ("GET", "/tenants/{id}/access") => (Tenant(R), empty, false),
        // Audit read (levels are uniform across features in the fixture).
        ("GET", "/tenants/{id}/activity") | ("GET", "/tenants/{id}/activity.csv") => {
            (Tenant(R), empty, false)
        }
        // Usage read (Viewers too); which rows each sees is usage_stats.rs's test.
        ("GET", "/tenants/{id}/stats")
        | ("GET", "/tenants/{id}/stats.csv")
        | ("GET", "/tenants/{id}/stats/print") => (Tenant(R), empty, false),
        // Owners only; a day out of range is a field error after authorization.
        ("GET", "/tenants/{id}/stats/reports") => (ReportOwner, empty, false),
        ("POST", "/tenants/{id}/stats/reports") => (ReportOwner, "day=0&scope=subtree", false),
        // One's own subscription only; a made-up id: 404 for everyone.
        ("POST", "/tenants/{id}/stats/reports/{report_id}/cancel")
        | ("POST", "/profile/reports/{report_id}/cancel") => (ForeignToken, empty, false),
        // Saving the choice (off, without the box) changes a row at most.
        ("POST", "/profile/quota-alerts") => (LoggedIn, empty, true),
        ("POST", "/tenants/{id}/access") => (GiveGrant, "user_id=x&role=bogus&scope=tenant", false),
        ("POST", "/tenants/{id}/access/{grant_id}/revoke") => (RevokeGrant, empty, true),
        ("GET", "/tenants/{id}/users") | ("GET", "/tenants/{id}/users/{user_id}") => {
            (Tenant(R), empty, false)
        }
        ("GET", "/tenants/{id}/users/new") => (Tenant(F), empty, false),
        ("POST", "/tenants/{id}/users") | ("POST", "/tenants/{id}/users/new") => {
            (Tenant(F), "username=&email=bad", false)
        }
        ("POST", "/tenants/{id}/users/{user_id}") => (ActOnUser, "email=not-an-email", false),
        ("POST", "/tenants/{id}/users/{user_id}/disable")
        | ("POST", "/tenants/{id}/users/{user_id}/enable")
        | ("POST", "/tenants/{id}/users/{user_id}/delete") => (ActOnUser, empty, true),
        ("POST", "/tenants/{id}/users/{user_id}/password") => (ActOnUser, "password=short", false),
        ("GET", "/tenants/{id}/invitations") => (Tenant(R), empty, false),
        ("GET", "/tenants/{id}/invitations/new") => (GiveGrant, empty, false),
        ("POST", "/tenants/{id}/invitations") | ("POST", "/tenants/{id}/invitations/new") => {
            (GiveGrant, "email=bad&kind=grant&role=bogus", false)
        }
        ("POST", "/tenants/{id}/invitations/{invitation_id}/revoke")
        | ("POST", "/tenants/{id}/invitations/{invitation_id}/resend") => {
            (RevokeGrant, empty, true)
        }
        // Root Owners and Administrators only (the fixture's admin); an empty name
        // is a field error after authorization.
        ("GET", "/usage/keys") => (IngestionKeys, empty, false),
        // Plans (#16): root Owners and Administrators only (the fixture's admin); an
        // empty name is a field error after authorization; a delete without
        // `confirm=yes` only asks for confirmation.
        ("GET", "/plans")
        | ("GET", "/plans/new")
        | ("GET", "/plans/{id}")
        | ("GET", "/plans/{id}/delete") => (Plans, empty, false),
        ("POST", "/plans") | ("POST", "/plans/new") | ("POST", "/plans/{id}") => {
            (Plans, "name=", false)
        }
        ("POST", "/plans/{id}/delete") => (Plans, empty, false),
        ("POST", "/usage/keys") => (IngestionKeys, "name=", false),
        // A made-up key id: 404 for everyone (for the others before the key is looked for).
        ("POST", "/usage/keys/{key_id}/revoke") => (ForeignToken, empty, false),
        ("GET", "/invitations/{token}")
        | ("POST", "/invitations/{token}")
        | ("POST", "/invitations/{token}/accept") => (Token, "username=x&password=short", false),
        // Rules (#13): Rules read to read, full to write; a bad body is a field error
        // after authorization. The items are made up (`MADE_UP`): 404 once authorized.
        ("GET", "/tenants/{id}/rules")
        | ("GET", "/tenants/{id}/applications")
        | ("GET", "/tenants/{id}/applications/new")
        | ("GET", "/tenants/{id}/domains")
        | ("GET", "/tenants/{id}/domains/new")
        | ("GET", "/tenants/{id}/credential-stuffing")
        | ("GET", "/tenants/{id}/rules/versions") => (Tenant(R), empty, false),
        ("GET", "/tenants/{id}/rules/new") => (Tenant(F), empty, false),
        ("POST", "/tenants/{id}/rules") | ("POST", "/tenants/{id}/rules/new") => {
            (Tenant(F), "kind=&value=", false)
        }
        ("POST", "/tenants/{id}/applications")
        | ("POST", "/tenants/{id}/applications/new")
        | ("POST", "/tenants/{id}/domains")
        | ("POST", "/tenants/{id}/domains/new") => (Tenant(F), "name=", false),
        ("POST", "/tenants/{id}/credential-stuffing") => (Tenant(F), "threshold=0", false),
        ("GET", "/tenants/{id}/rules/{rid}")
        | ("GET", "/tenants/{id}/applications/{aid}")
        | ("GET", "/tenants/{id}/domains/{did}") => (TenantItem(R), empty, false),
        ("POST", "/tenants/{id}/rules/{rid}")
        | ("POST", "/tenants/{id}/rules/{rid}/delete")
        | ("POST", "/tenants/{id}/applications/{aid}")
        | ("POST", "/tenants/{id}/applications/{aid}/delete")
        | ("POST", "/tenants/{id}/domains/{did}")
        | ("POST", "/tenants/{id}/domains/{did}/delete")
        | ("POST", "/tenants/{id}/rules/versions/{version}/restore") => {
            (TenantItem(F), "name=", false)
        }
        // Rule-set migrations (#13 part B): the source's form (an empty target is a
        // field error after authorization); the migrations the user may see (none
        // here); a made-up migration: 404 for everyone.
        ("GET", "/tenants/{id}/rules/migrate") | ("GET", "/tenants/{id}/rules/migrate/targets") => {
            (MigrateFrom, empty, false)
        }
        ("POST", "/tenants/{id}/rules/migrate") => (MigrateFrom, "target=", false),
        // Resources (#14): Resources read to read, full to write; a bad body is a
        // field error after authorization. The items are made up (`MADE_UP`): 404
        // once authorized.
        ("GET", "/tenants/{id}/clouds") | ("GET", "/tenants/{id}/instances") => {
            (Tenant(R), empty, false)
        }
        ("GET", "/tenants/{id}/clouds/new") | ("GET", "/tenants/{id}/instances/new") => {
            (Tenant(F), empty, false)
        }
        ("POST", "/tenants/{id}/clouds")
        | ("POST", "/tenants/{id}/clouds/new")
        | ("POST", "/tenants/{id}/instances")
        | ("POST", "/tenants/{id}/instances/new") => (Tenant(F), "name=", false),
        ("GET", "/tenants/{id}/clouds/{rid}") | ("GET", "/tenants/{id}/instances/{rid}") => {
            (TenantItem(R), empty, false)
        }
        ("POST", "/tenants/{id}/clouds/{rid}")
        | ("POST", "/tenants/{id}/clouds/{rid}/delete")
        | ("POST", "/tenants/{id}/instances/{rid}")
        | ("POST", "/tenants/{id}/instances/{rid}/delete") => (TenantItem(F), "name=", false),
        // Resolvers, devices, subnets (#14 part B): Resources read to read, full to
        // write; a bad body is a field error after authorization; made-up items 404.
        ("GET", "/tenants/{id}/resolvers")
        | ("GET", "/tenants/{id}/devices")
        | ("GET", "/tenants/{id}/subnets") => (Tenant(R), empty, false),
        ("GET", "/tenants/{id}/resolvers/new")
        | ("GET", "/tenants/{id}/devices/new")
        | ("GET", "/tenants/{id}/subnets/new") => (Tenant(F), empty, false),
        ("POST", "/tenants/{id}/resolvers")
        | ("POST", "/tenants/{id}/resolvers/new")
        | ("POST", "/tenants/{id}/devices")
        | ("POST", "/tenants/{id}/devices/new")
        | ("POST", "/tenants/{id}/subnets")
        | ("POST", "/tenants/{id}/subnets/new") => (Tenant(F), "name=&cidr=", false),
        ("GET", "/tenants/{id}/resolvers/{rid}")
        | ("GET", "/tenants/{id}/devices/{did}")
        | ("GET", "/tenants/{id}/subnets/{sid}") => (TenantItem(R), empty, false),
        ("POST", "/tenants/{id}/resolvers/{rid}")
        | ("POST", "/tenants/{id}/resolvers/{rid}/delete")
        | ("POST", "/tenants/{id}/devices/{did}")
        | ("POST", "/tenants/{id}/devices/{did}/delete")
        | ("POST", "/tenants/{id}/subnets/{sid}")
        | ("POST", "/tenants/{id}/subnets/{sid}/delete") => (TenantItem(F), "name=", false),
        // Policies (#15): Policies read to read, full to write; a bad body is a field
        // error after authorization; made-up items (also as the policy to override
        // or reset) 404 once authorized.
        ("GET", "/tenants/{id}/policies")
        | ("GET", "/tenants/{id}/policies/effective")
        | ("GET", "/tenants/{id}/policies/overrides") => (Tenant(R), empty, false),
        ("GET", "/tenants/{id}/policies/new") => (Tenant(F), empty, false),
        ("POST", "/tenants/{id}/policies") | ("POST", "/tenants/{id}/policies/new") => {
            (Tenant(F), "name=", false)
        }
        ("GET", "/tenants/{id}/policies/{pid}") => (TenantItem(R), empty, false),
        ("GET", "/tenants/{id}/policies/{pid}/override")
        | ("POST", "/tenants/{id}/policies/{pid}")
        | ("POST", "/tenants/{id}/policies/{pid}/delete")
        | ("POST", "/tenants/{id}/policies/{pid}/override")
        | ("POST", "/tenants/{id}/policies/{pid}/reset") => (TenantItem(F), "name=", false),
        // Branding (#16): Settings read to read, full to change (levels are uniform
        // in the fixture); a bad value, an unknown field to reset or a form that is no
        // upload is a field error after authorization. The theme and logos are public.
        ("GET", "/tenants/{id}/branding") => (Tenant(R), empty, false),
        ("POST", "/tenants/{id}/branding") => (Tenant(F), "primary_color=red", false),
        ("POST", "/tenants/{id}/branding/reset") => (Tenant(F), "field=bogus", false),
        ("POST", "/tenants/{id}/branding/logo") => (Tenant(F), empty, false),
        ("GET", "/branding/theme/{rrggbb}.css") => (Public, empty, false),
        ("GET", "/branding/logo/{etag}") => (NoLogo, empty, false),
        ("GET", "/migrations") => (LoggedIn, empty, false),
        ("GET", "/migrations/{mid}")
        | ("GET", "/migrations/{mid}/progress")
        | ("POST", "/migrations/{mid}/rollback")
        | ("POST", "/migrations/{mid}/retry") => (ForeignToken, "confirm=yes", false),
        _ => return None,
    })
}

/// The id of an application, domain, rule or version that does not exist.
pub(crate) const MADE_UP: &str = "999999";

// ---------------------------------------------------------------- building the fixture

pub(crate) struct World {
    /// Keeps the fixture's connection pool alive for the world's lifetime.
    pub(crate) _app: TestApp,
    pub(crate) tenants: HashMap<&'static str, Tenant>,
    /// A user of each tenant holding a Viewer grant on it (for {user_id}, {grant_id}).
    holders: HashMap<&'static str, (User, i64)>,
    roles: HashMap<&'static str, i64>,
    /// A pending invitation into each tenant offering a Viewer grant (for {invitation_id}).
    invitations: HashMap<&'static str, i64>,
    spare_tenant_role: i64,
    /// A plan no tenant is on (for `/plans/{id}`).
    pub(crate) spare_plan: i64,
    browsers: HashMap<&'static str, TestApp>,
}

async fn role(app: &TestApp, tenant: &Tenant, name: &str, level: Level) -> i64 {
    let mut conn = app.conn().await;
    UserRole::insert(&mut conn, tenant.id, name, &Permissions::all(level), false)
        .await
        .unwrap()
        .id
}

async fn with_role(app: &TestApp, tenant: &Tenant, name: &str, level: Option<Level>) -> User {
    let user = app.user(tenant, name).await;
    if let Some(level) = level {
        let id = role(app, tenant, &format!("{name} role"), level).await;
        let mut conn = app.conn().await;
        UserRole::assign(&mut conn, user.id, id).await.unwrap();
    }
    user
}

pub(crate) async fn world() -> World {
    let app = spawn_app().await;
    let mut t: HashMap<&'static str, Tenant> = HashMap::new();
    t.insert("root", app.root.clone());
    for (name, parent, subs) in [
        ("p1", "root", true),
        ("c1", "p1", true),
        ("g1", "c1", false),
        ("c2", "p1", false),
        ("p2", "root", true),
        ("c3", "p2", false),
    ] {
        let p = t[parent].clone();
        t.insert(name, app.tenant(&p, name, subs).await);
    }
    let spare_plan = {
        let mut conn = app.conn().await;
        let row = tenantry::db::models::plan::PlanRow::new(
            "Spare",
            Default::default(),
            Default::default(),
            chrono::Utc::now(),
        );
        tenantry::db::models::plan::Plan::insert(&mut conn, &row, chrono::Utc::now())
            .await
            .unwrap()
            .id
    };
    let (readers, spare) = {
        let mut conn = app.conn().await;
        let readers = TenantRole::insert(&mut conn, "Readers", &Permissions::all(Level::Read))
            .await
            .unwrap();
        let spare = TenantRole::insert(&mut conn, "Spare", &Permissions::all(Level::Read))
            .await
            .unwrap();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "UPDATE tenants SET tenant_role_id = {} WHERE id = {}",
                readers.id, t["c2"].id
            )),
            &mut conn,
        )
        .await
        .unwrap();
        (readers, spare)
    };
    let _ = readers;

    let rv = with_role(&app, &t["root"], "rv", None).await;
    app.grant(&rv, &t["root"], GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let p1owner = with_role(&app, &t["p1"], "p1owner", Some(Level::Full)).await;
    app.grant(&p1owner, &t["p1"], GrantRole::Owner, Scope::Subtree, true)
        .await;
    let p1admin = with_role(&app, &t["p1"], "p1admin", None).await;
    app.grant(
        &p1admin,
        &t["p1"],
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let p1viewer = with_role(&app, &t["p1"], "p1viewer", None).await;
    app.grant(&p1viewer, &t["p1"], GrantRole::Viewer, Scope::Tenant, false)
        .await;
    with_role(&app, &t["p1"], "p1plain", Some(Level::Read)).await;
    let c1admin = with_role(&app, &t["c1"], "c1admin", None).await;
    app.grant(
        &c1admin,
        &t["c1"],
        GrantRole::Administrator,
        Scope::Tenant,
        false,
    )
    .await;
    with_role(&app, &t["c3"], "c3user", Some(Level::Full)).await;

    let mut holders = HashMap::new();
    let mut roles = HashMap::new();
    let mut invitations = HashMap::new();
    for name in TENANTS {
        let tenant = t[name].clone();
        let holder = app.user(&tenant, &format!("holder{name}")).await;
        app.grant(&holder, &tenant, GrantRole::Viewer, Scope::Tenant, false)
            .await;
        let mut conn = app.conn().await;
        let grant_id = tenantry::db::models::Grant::existing(&mut conn, holder.id, tenant.id)
            .await
            .unwrap()
            .unwrap()
            .id;
        holders.insert(name, (holder, grant_id));
        roles.insert(name, role(&app, &tenant, "Fixture role", Level::Read).await);
        let email = format!("invitee-{name}@example.com");
        invitations.insert(name, app.invitation(&tenant, &app.admin, &email).await);
    }

    let mut browsers = HashMap::new();
    for user in USERS {
        let b = app.new_browser();
        let login = match user {
            "anonymous" => None,
            "admin" => Some(ADMIN_USER.to_string()),
            "rv" => Some("rv".to_string()),
            other => Some(format!("{}\\{other}", home(other))),
        };
        match login {
            Some(login) => {
                let password = if user == "admin" {
                    ADMIN_PASSWORD
                } else {
                    PASSWORD
                };
                let r = b.login(&login, password).await;
                assert_eq!(r.status().as_u16(), 303, "{user} logs in");
                assert_eq!(r.headers()["location"], "/dashboard", "{user} logs in");
            }
            None => {
                b.csrf().await;
            }
        }
        browsers.insert(user, b);
    }
    World {
        _app: app,
        tenants: t,
        holders,
        roles,
        invitations,
        spare_tenant_role: spare.id,
        spare_plan,
        browsers,
    }
}

impl World {
    fn url(&self, path: &str, tenant: &str) -> String {
        path.replace(
            "{id}",
            &if path.starts_with("/tenant-roles/") {
                self.spare_tenant_role.to_string()
            } else if path.starts_with("/plans/") {
                self.spare_plan.to_string()
            } else {
                self.tenants[tenant].id.to_string()
            },
        )
        .replace("{role_id}", &self.roles[tenant].to_string())
        .replace("{user_id}", &self.holders[tenant].0.id.to_string())
        .replace("{grant_id}", &self.holders[tenant].1.to_string())
        .replace("{invitation_id}", &self.invitations[tenant].to_string())
        .replace("{aid}", MADE_UP)
        .replace("{did}", MADE_UP)
        .replace("{rid}", MADE_UP)
        .replace("{sid}", MADE_UP)
        .replace("{pid}", MADE_UP)
        .replace("{version}", MADE_UP)
        .replace("{mid}", MADE_UP)
        .replace("{tenant_id}", &self.tenants[tenant].id.to_string())
        .replace("{rrggbb}", "0f766e")
        .replace("{etag}", "0123456789abcdef01234567")
    }

    async fn outcome(
        &self,
        user: &str,
        method: &str,
        path: &str,
        tenant: &str,
        rule: Rule,
        body: &str,
    ) -> Outcome {
        let browser = &self.browsers[user];
        let mut url = self.url(path, tenant);
        let target = self.tenants[tenant].id.to_string();
        // Routes that take the tenant from the query string or the form.
        let mut form: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap();
        match rule {
            Rule::NewTenantForm => url = format!("{url}?parent_id={target}"),
            Rule::CreateUnder | Rule::Switch => {
                let field = if matches!(rule, Rule::Switch) {
                    "tenant_id"
                } else {
                    "parent_id"
                };
                form.push((field.into(), target));
            }
            _ => {}
        }
        let response = if method == "GET" {
            browser.get(&url).await
        } else {
            let refs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.post_form(&url, &refs).await
        };
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.unwrap_or_default();
        assert!(status < 500, "{user} {method} {url}: {status}\n{body}");
        let outcome = classify(status, location.as_deref());
        if matches!(rule, Rule::CreateUnder) && outcome == Outcome::Allowed && !sees(user, tenant) {
            assert!(
                body.contains("parent_id-error"),
                "{user} creating under invisible {tenant} must be a parent field error"
            );
        }
        outcome
    }
}

fn uses_tenant(path: &str, rule: Rule) -> bool {
    path.contains("{id}") && !path.starts_with("/tenant-roles/") && !path.starts_with("/plans/")
        || matches!(rule, Rule::CreateUnder | Rule::NewTenantForm | Rule::Switch)
}

#[tokio::test]
async fn every_route_for_every_user_and_tenant() {
    // The API's routes have their own matrix (bearer tokens): tests/app/api.rs.
    let routes: Vec<(String, &'static str)> = tenantry::web::routes()
        .iter()
        .filter(|r| !r.path.starts_with("/api/"))
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    let missing: Vec<String> = routes
        .iter()
        .filter(|(m, p)| rule_for(m, p).is_none())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without an entry in the authorization matrix: {missing:?}"
    );

    let shared = world().await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, path) in &routes {
        let (rule, body, destructive) = rule_for(method, path).unwrap();
        let targets: Vec<&str> = if uses_tenant(path, rule) {
            TENANTS.to_vec()
        } else {
            vec!["root"]
        };
        for user in USERS {
            let any_allowed = targets
                .iter()
                .any(|t| expected(rule, user, t) == Outcome::Allowed);
            // A state-changing route gets a fresh world for each user it lets through,
            // visiting the user's home tenant last (disabling it ends their session).
            let fresh;
            let w = if destructive && any_allowed && user != "anonymous" {
                fresh = world().await;
                &fresh
            } else {
                &shared
            };
            let mut order = targets.clone();
            order.sort_by_key(|t| {
                (
                    *t == home(user),
                    std::cmp::Reverse(TENANTS.iter().position(|x| x == t)),
                )
            });
            for tenant in order {
                let want = expected(rule, user, tenant);
                if destructive && want == Outcome::Allowed && user == "anonymous" {
                    continue;
                }
                let mut got = w.outcome(user, method, path, tenant, rule, body).await;
                // Public routes may answer anyone with the login page (/, /logout).
                if matches!(rule, Rule::Public) && got == Outcome::Login {
                    got = Outcome::Allowed;
                }
                checked += 1;
                if got != want {
                    failures.push(format!(
                        "{method} {path} as {user} on {tenant}: expected {want:?}, got {got:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 1000, "the matrix covered only {checked} cases");
}

/// A malformed or unknown tenant id in the path answers 404, like a tenant one may
/// not see, on every `/tenants/{id}…` route of the console and the API, whatever the
/// method: never a 400 or 422 about the path (other path ids are a plain 1).
#[tokio::test]
async fn a_bad_tenant_id_in_any_path_is_not_found() {
    let app = spawn_app().await;
    app.login_admin().await;
    let token = crate::api::token_for(&app, &app.admin, false).await;
    let api = crate::api::Api::new(&app, Some(&token));
    let routes: Vec<(String, &'static str)> = tenantry::web::routes()
        .iter()
        .filter(|r| {
            r.path.starts_with("/tenants/{id}") || r.path.starts_with("/api/v1/tenants/{id}")
        })
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    assert!(routes.len() > 30, "{routes:?}");
    let mut failures = Vec::new();
    for (method, pattern) in &routes {
        for bad in ["abc", "99999999999999999999", "-1", "0", "1.5", "99999999"] {
            let mut path = pattern.replace("{id}", bad);
            for other in [
                "{grant_id}",
                "{invitation_id}",
                "{report_id}",
                "{user_id}",
                "{token_id}",
            ] {
                path = path.replace(other, "1");
            }
            let code = if pattern.starts_with("/api/") {
                let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let mut r = api.request(m.clone(), &path);
                if m != reqwest::Method::GET && m != reqwest::Method::DELETE {
                    r = r.json(&serde_json::json!({}));
                }
                r.send().await.unwrap().status().as_u16()
            } else if method == "GET" {
                status(&app.get(&path).await)
            } else {
                status(&app.post_form(&path, &[("confirm", "yes")]).await)
            };
            if code != 404 {
                failures.push(format!("{method} {path}: {code}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
