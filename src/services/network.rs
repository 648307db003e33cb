//! A tenant's DNS configuration: its resolvers, the devices that use them and the
//! subnets they serve. Each change is one transaction with Resources full on the
//! tenant (403) and one audit event; reads need Resources read ([`read`]). The
//! caller has checked visibility (404).
//!
//! What the database holds as well (migration `resolvers_devices_subnets`): a
//! device or subnet uses a resolver of its own tenant (composite key), and a
//! tenant's subnets never overlap (exclusion constraint). The checks here come
//! first to answer with field errors; when two changes race past them, the
//! constraint's refusal becomes the same field error, never a 500.

use super::draft::Draft;
use super::policies::check_choice;
use crate::auth::{authz, Principal};
use crate::db::models::network::{
    Device, DeviceFields, Resolver, ResolverFields, ResolverUse, Subnet, SubnetFields,
};
use crate::db::models::Tenant;
use crate::db::transaction::in_transaction;
use crate::domain::activity::Action;
use crate::domain::network::{parse_address, parse_identifier, parse_network};
use crate::domain::{Feature, Level, TenantName};
use crate::error::{AppError, FieldErrors};
use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel_async::AsyncPgConnection;
use ipnet::IpNet;

/// A resolver, device or subnet id that names none of the tenant's resolvers
/// (missing, or another tenant's: the same answer).
pub const UNKNOWN_RESOLVER: &str = "Unknown resolver: choose one of this tenant's resolvers.";
pub use super::policies::UNKNOWN_POLICY;
const RESOLVER_TAKEN: &str = "This tenant has a resolver of this name.";
/// How many devices or subnets a refusal names.
const SAMPLE: i64 = 5;

use super::change::Audit;
pub use super::change::Change;

/// Resources read on `tenant` (403): the prologue of every read.
pub fn read(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Read)
}

/// Resources full on `tenant` (403): what every change and its confirmation ask.
pub fn may_change(p: &Principal, tenant: &Tenant) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Full)
}

/// Errors of the data checks, if any.
fn refuse(errors: FieldErrors) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The tenant's resolver `id`, held against deletion until the transaction ends;
/// else the field error on `resolver_id`.
async fn check_resolver(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    id: i64,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if Resolver::find_key_share(conn, tenant_id, id)
        .await?
        .is_none()
    {
        errors.insert("resolver_id", UNKNOWN_RESOLVER.into());
    }
    Ok(())
}

/// A write refused by a key: a resolver that went meanwhile (foreign key) is the
/// unknown-resolver field error; anything else as usual.
fn resolver_gone(e: DbError) -> AppError {
    match e {
        DbError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, ref info)
            if info
                .constraint_name()
                .is_some_and(|c| c.ends_with("_resolver_id_fkey")) =>
        {
            AppError::field("resolver_id", UNKNOWN_RESOLVER)
        }
        e => e.into(),
    }
}

/// The policy a resolver's or subnet's input gives it: the one it has (a form
/// without the picker, a PATCH without `policy_id`; a new one: none), or the one
/// named (`None`: none, its tenant's effective policy applies). Naming another than
/// it has is choosing one: Policies read on the tenant (403,
/// `authz::require_policy_choice`), then `policies::check_choice`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyPick {
    Keep,
    Set(Option<i64>),
}

impl PolicyPick {
    /// The policy id the item ends with, `kept` being the one it has.
    fn resolve(self, kept: Option<i64>) -> Option<i64> {
        match self {
            PolicyPick::Keep => kept,
            PolicyPick::Set(id) => id,
        }
    }
}

/// The item's policy as `pick` leaves it (`kept`: what it has), once the user may
/// choose it: a change needs Policies read on the tenant (403 before anything else
/// is checked). Which policy it may be is `policies::check_choice`'s (field errors).
fn picked(
    p: &Principal,
    tenant: &Tenant,
    pick: PolicyPick,
    kept: Option<i64>,
) -> Result<Option<i64>, AppError> {
    let chosen = pick.resolve(kept);
    if chosen != kept {
        authz::require_policy_choice(p, tenant)?;
    }
    Ok(chosen)
}

// ---------------------------------------------------------------- resolvers

/// A resolver's fields: a name (`TenantName`'s rules), an IP address, the policy
/// it applies ([`PolicyPick`]).
#[derive(Clone, Debug)]
pub struct ResolverInput {
    pub name: TenantName,
    pub address: std::net::IpAddr,
    pub policy: PolicyPick,
}

impl ResolverInput {
    /// The fields, with a stand-in and its error for each that cannot be read
    /// (`services::draft`).
    pub fn parse(name: &str, address: &str, policy: PolicyPick) -> Draft<Self> {
        let mut errors = FieldErrors::new();
        let name = TenantName::parse(name).unwrap_or_else(|e| {
            errors.insert("name", e);
            TenantName::stand_in()
        });
        let address = parse_address(address).unwrap_or_else(|e| {
            errors.insert("address", e);
            std::net::Ipv4Addr::UNSPECIFIED.into()
        });
        let input = ResolverInput {
            name,
            address,
            policy,
        };
        Draft::new(input, errors)
    }

    /// The fields to write, `kept` being the resolver's policy now (none for a new one).
    fn fields(&self, kept: Option<i64>) -> ResolverFields {
        ResolverFields {
            name: self.name.as_str().to_string(),
            address: IpNet::from(self.address),
            policy_id: self.policy.resolve(kept),
        }
    }
}

fn resolver_json(r: &Resolver) -> serde_json::Value {
    serde_json::json!({
        "resolver_id": r.id, "name": r.name, "address": r.address.addr().to_string(),
        "policy_id": r.policy_id,
    })
}

async fn check_resolver_input(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: &ResolverInput,
    except: Option<i64>,
    kept_policy: Option<i64>,
) -> Result<(), AppError> {
    let policy = picked(c.p, c.tenant, input.policy, kept_policy)?;
    let mut errors = FieldErrors::new();
    if Resolver::name_taken(conn, c.tenant.id, input.name.as_str(), except).await? {
        errors.insert("name", RESOLVER_TAKEN.into());
    }
    check_choice(conn, c.tenant, policy, kept_policy, &mut errors).await?;
    refuse(errors)
}

/// A unique violation of the resolver's name (two creates at once).
fn resolver_name_taken(e: DbError) -> AppError {
    match e {
        DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AppError::field("name", RESOLVER_TAKEN)
        }
        e => e.into(),
    }
}

pub async fn create_resolver(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: impl Into<Draft<ResolverInput>>,
) -> Result<Resolver, AppError> {
    c.audited(
        Feature::Resources,
        conn,
        Action::ResolverCreate,
        async |conn| {
            let (input, unread) = input.into().open()?;
            unread.merged(check_resolver_input(conn, c, &input, None, None).await)?;
            let r = Resolver::insert(conn, c.tenant.id, &input.fields(None), c.now)
                .await
                .map_err(resolver_name_taken)?;
            let after = resolver_json(&r);
            Ok((r, after))
        },
    )
    .await
}

/// Changes a resolver. Fields equal to its own (an empty PATCH, a form saved as it
/// was) write nothing: `updated_at` kept, no audit event.
pub async fn update_resolver(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
    input: impl Into<Draft<ResolverInput>>,
) -> Result<Resolver, AppError> {
    c.audited_as(
        Feature::Resources,
        conn,
        Action::ResolverUpdate,
        async |conn| {
            let old = Resolver::lock(conn, c.tenant.id, id).await?;
            let (input, unread) = input.into().open()?;
            let checked = check_resolver_input(conn, c, &input, Some(id), old.policy_id).await;
            unread.merged(checked)?;
            let fields = input.fields(old.policy_id);
            if fields == ResolverFields::from(&old) {
                return Ok((old, None));
            }
            let r = Resolver::update(conn, c.tenant.id, id, &fields, c.now)
                .await
                .map_err(resolver_name_taken)?;
            let audit = Audit::changed(&resolver_json(&old), &resolver_json(&r), &["resolver_id"]);
            Ok((r, audit))
        },
    )
    .await
}

/// Why a resolver cannot go: what still uses it, named.
pub fn in_use_message(name: &str, used: &ResolverUse) -> String {
    let mut parts = Vec::new();
    if used.devices > 0 {
        parts.push(listed(
            used.devices,
            "device",
            used.device_names.iter().cloned(),
        ));
    }
    if used.subnets > 0 {
        parts.push(listed(
            used.subnets,
            "subnet",
            used.subnet_cidrs.iter().map(|c| c.to_string()),
        ));
    }
    format!(
        "The resolver {name} cannot be deleted: {} use{} it. Move them to another resolver or delete them first.",
        parts.join(" and "),
        if used.devices + used.subnets == 1 { "s" } else { "" }
    )
}

/// "3 devices (a, b and 1 more)".
fn listed(count: i64, what: &str, names: impl Iterator<Item = String>) -> String {
    let names: Vec<String> = names.collect();
    let more = count - names.len() as i64;
    let mut shown = names.join(", ");
    if more > 0 {
        shown.push_str(&format!(" and {more} more"));
    }
    format!(
        "{count} {what}{} ({shown})",
        if count == 1 { "" } else { "s" }
    )
}

/// What uses the resolver (for the delete's confirmation), 404 if not the tenant's.
pub async fn resolver_use(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    id: i64,
) -> Result<ResolverUse, AppError> {
    Ok(Resolver::users(conn, tenant_id, id, SAMPLE).await?)
}

/// Deletes a resolver no device or subnet uses (else 409 naming them).
pub async fn delete_resolver(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
) -> Result<Resolver, AppError> {
    c.audited_as(
        Feature::Resources,
        conn,
        Action::ResolverDelete,
        async |conn| {
            // FOR UPDATE: a device or subnet about to use it (FOR KEY SHARE) waits, then
            // finds it gone; one that got there first is counted below.
            let r = Resolver::lock(conn, c.tenant.id, id).await?;
            let used = Resolver::users(conn, c.tenant.id, id, SAMPLE).await?;
            if used.devices + used.subnets > 0 {
                return Err(AppError::Conflict(in_use_message(&r.name, &used)));
            }
            Resolver::delete(conn, c.tenant.id, id).await?;
            let before = resolver_json(&r);
            Ok((r, Some(Audit::removed(before))))
        },
    )
    .await
}

// ---------------------------------------------------------------- devices

/// A device's fields: a name, its identifier, the tenant's resolver it uses.
#[derive(Clone, Debug)]
pub struct DeviceInput {
    pub name: TenantName,
    pub identifier: String,
    pub resolver_id: i64,
}

const CHOOSE_RESOLVER: &str = "Choose one of this tenant's resolvers.";

impl DeviceInput {
    /// `resolver_id` None: none chosen (a field error).
    pub fn parse(name: &str, identifier: &str, resolver_id: Option<i64>) -> Draft<Self> {
        let mut errors = FieldErrors::new();
        let name = TenantName::parse(name).unwrap_or_else(|e| {
            errors.insert("name", e);
            TenantName::stand_in()
        });
        let identifier = parse_identifier(identifier).unwrap_or_else(|e| {
            errors.insert("identifier", e);
            String::new()
        });
        let resolver_id = resolver_id.unwrap_or_else(|| {
            errors.insert("resolver_id", CHOOSE_RESOLVER.into());
            0
        });
        let input = DeviceInput {
            name,
            identifier,
            resolver_id,
        };
        Draft::new(input, errors)
    }

    fn fields(&self) -> DeviceFields {
        DeviceFields {
            name: self.name.as_str().to_string(),
            identifier: self.identifier.clone(),
            resolver_id: self.resolver_id,
        }
    }
}

fn device_json(d: &Device) -> serde_json::Value {
    serde_json::json!({
        "device_id": d.id, "name": d.name, "identifier": d.identifier,
        "resolver_id": d.resolver_id,
    })
}

fn identifier_taken(other: &str) -> String {
    format!("The device {other} has this identifier already.")
}

async fn check_device_input(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    input: &DeviceInput,
    except: Option<i64>,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    check_resolver(conn, tenant_id, input.resolver_id, &mut errors).await?;
    if let Some(other) = Device::with_identifier(conn, tenant_id, &input.identifier, except).await?
    {
        errors.insert("identifier", identifier_taken(&other.name));
    }
    refuse(errors)
}

/// A device's write refused by a key: its resolver gone, or its identifier taken
/// meanwhile.
async fn device_refused(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    input: &DeviceInput,
    except: Option<i64>,
    e: DbError,
) -> AppError {
    match e {
        DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            let other = Device::with_identifier(conn, tenant_id, &input.identifier, except)
                .await
                .ok()
                .flatten()
                .map_or_else(|| "another device".to_string(), |d| d.name);
            AppError::field("identifier", identifier_taken(&other))
        }
        e => resolver_gone(e),
    }
}

pub async fn create_device(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: impl Into<Draft<DeviceInput>>,
) -> Result<Device, AppError> {
    c.audited(
        Feature::Resources,
        conn,
        Action::DeviceCreate,
        async |conn| {
            let (input, unread) = input.into().open()?;
            unread.merged(check_device_input(conn, c.tenant.id, &input, None).await)?;
            let fields = input.fields();
            let inserted = in_transaction(conn, async |conn| {
                Device::insert(conn, c.tenant.id, &fields, c.now).await
            })
            .await;
            let d = match inserted {
                Ok(d) => d,
                Err(e) => return Err(device_refused(conn, c.tenant.id, &input, None, e).await),
            };
            let after = device_json(&d);
            Ok((d, after))
        },
    )
    .await
}

/// Changes a device; fields equal to its own write nothing (as a resolver's).
pub async fn update_device(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
    input: impl Into<Draft<DeviceInput>>,
) -> Result<Device, AppError> {
    c.audited_as(
        Feature::Resources,
        conn,
        Action::DeviceUpdate,
        async |conn| {
            let old = Device::find(conn, c.tenant.id, id).await?;
            let (input, unread) = input.into().open()?;
            unread.merged(check_device_input(conn, c.tenant.id, &input, Some(id)).await)?;
            let fields = input.fields();
            if fields == DeviceFields::from(&old) {
                return Ok((old, None));
            }
            let updated = in_transaction(conn, async |conn| {
                Device::update(conn, c.tenant.id, id, &fields, c.now).await
            })
            .await;
            let d = match updated {
                Ok(d) => d,
                Err(e) => return Err(device_refused(conn, c.tenant.id, &input, Some(id), e).await),
            };
            let audit = Audit::changed(&device_json(&old), &device_json(&d), &["device_id"]);
            Ok((d, audit))
        },
    )
    .await
}

pub async fn delete_device(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
) -> Result<Device, AppError> {
    c.audited_as(
        Feature::Resources,
        conn,
        Action::DeviceDelete,
        async |conn| {
            let d = Device::find(conn, c.tenant.id, id).await?;
            Device::delete(conn, c.tenant.id, id).await?;
            let before = device_json(&d);
            Ok((d, Some(Audit::removed(before))))
        },
    )
    .await
}

// ---------------------------------------------------------------- subnets

/// A subnet's fields: its network (canonical CIDR), the tenant's resolver that
/// serves it, the policy it applies (as a resolver's).
#[derive(Clone, Debug)]
pub struct SubnetInput {
    pub cidr: IpNet,
    pub resolver_id: i64,
    pub policy: PolicyPick,
}

impl SubnetInput {
    /// `resolver_id` None: none chosen (a field error).
    pub fn parse(cidr: &str, resolver_id: Option<i64>, policy: PolicyPick) -> Draft<Self> {
        let mut errors = FieldErrors::new();
        let cidr = parse_network(cidr).unwrap_or_else(|e| {
            errors.insert("cidr", e);
            IpNet::from(std::net::IpAddr::from(std::net::Ipv4Addr::UNSPECIFIED))
        });
        let resolver_id = resolver_id.unwrap_or_else(|| {
            errors.insert("resolver_id", CHOOSE_RESOLVER.into());
            0
        });
        let input = SubnetInput {
            cidr,
            resolver_id,
            policy,
        };
        Draft::new(input, errors)
    }

    /// The fields to write, `kept` being the subnet's policy now (none for a new one).
    fn fields(&self, kept: Option<i64>) -> SubnetFields {
        SubnetFields {
            cidr: self.cidr,
            resolver_id: self.resolver_id,
            policy_id: self.policy.resolve(kept),
        }
    }
}

fn subnet_json(s: &Subnet) -> serde_json::Value {
    serde_json::json!({
        "subnet_id": s.id, "cidr": s.cidr.to_string(), "resolver_id": s.resolver_id,
        "policy_id": s.policy_id,
    })
}

fn overlaps(cidr: &IpNet, other: &Subnet) -> String {
    if *cidr == other.cidr {
        format!("This tenant has the subnet {} already.", other.cidr)
    } else {
        format!("{cidr} overlaps the subnet {} of this tenant.", other.cidr)
    }
}

async fn check_subnet_input(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: &SubnetInput,
    except: Option<i64>,
    kept_policy: Option<i64>,
) -> Result<(), AppError> {
    let tenant = c.tenant;
    let policy = picked(c.p, tenant, input.policy, kept_policy)?;
    let mut errors = FieldErrors::new();
    check_resolver(conn, tenant.id, input.resolver_id, &mut errors).await?;
    check_choice(conn, tenant, policy, kept_policy, &mut errors).await?;
    if let Some(other) = Subnet::overlapping(conn, tenant.id, input.cidr, except).await? {
        errors.insert("cidr", overlaps(&input.cidr, &other));
    }
    refuse(errors)
}

/// A subnet's write refused by a constraint: another subnet overlapping it was
/// committed meanwhile (the exclusion constraint waited for it, then refused; its
/// row is now to be seen and named), or its resolver went.
async fn subnet_refused(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    input: &SubnetInput,
    except: Option<i64>,
    e: DbError,
) -> AppError {
    match e {
        DbError::DatabaseError(DatabaseErrorKind::ExclusionViolation, _) => {
            match Subnet::overlapping(conn, tenant_id, input.cidr, except).await {
                Ok(Some(other)) => AppError::field("cidr", overlaps(&input.cidr, &other)),
                // Gone again already: nothing changed, the caller may try again.
                Ok(None) => AppError::Busy,
                Err(e) => e.into(),
            }
        }
        e => resolver_gone(e),
    }
}

pub async fn create_subnet(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: impl Into<Draft<SubnetInput>>,
) -> Result<Subnet, AppError> {
    c.audited(
        Feature::Resources,
        conn,
        Action::SubnetCreate,
        async |conn| {
            let (input, unread) = input.into().open()?;
            unread.merged(check_subnet_input(conn, c, &input, None, None).await)?;
            let fields = input.fields(None);
            // In a savepoint: after a refusal the transaction goes on to name the subnet.
            let inserted = in_transaction(conn, async |conn| {
                Subnet::insert(conn, c.tenant.id, &fields, c.now).await
            })
            .await;
            let s = match inserted {
                Ok(s) => s,
                Err(e) => return Err(subnet_refused(conn, c.tenant.id, &input, None, e).await),
            };
            let after = subnet_json(&s);
            Ok((s, after))
        },
    )
    .await
}

/// Changes a subnet; fields equal to its own write nothing (as a resolver's).
pub async fn update_subnet(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
    input: impl Into<Draft<SubnetInput>>,
) -> Result<Subnet, AppError> {
    c.audited_as(
        Feature::Resources,
        conn,
        Action::SubnetUpdate,
        async |conn| {
            let old = Subnet::find(conn, c.tenant.id, id).await?;
            let (input, unread) = input.into().open()?;
            let checked = check_subnet_input(conn, c, &input, Some(id), old.policy_id).await;
            unread.merged(checked)?;
            let fields = input.fields(old.policy_id);
            if fields == SubnetFields::from(&old) {
                return Ok((old, None));
            }
            let updated = in_transaction(conn, async |conn| {
                Subnet::update(conn, c.tenant.id, id, &fields, c.now).await
            })
            .await;
            let s = match updated {
                Ok(s) => s,
                Err(e) => return Err(subnet_refused(conn, c.tenant.id, &input, Some(id), e).await),
            };
            let audit = Audit::changed(&subnet_json(&old), &subnet_json(&s), &["subnet_id"]);
            Ok((s, audit))
        },
    )
    .await
}

pub async fn delete_subnet(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
) -> Result<Subnet, AppError> {
    c.audited_as(
        Feature::Resources,
        conn,
        Action::SubnetDelete,
        async |conn| {
            let s = Subnet::find(conn, c.tenant.id, id).await?;
            Subnet::delete(conn, c.tenant.id, id).await?;
            let before = subnet_json(&s);
            Ok((s, Some(Audit::removed(before))))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_used_resolver_names_what_uses_it() {
        let used = ResolverUse {
            devices: 7,
            device_names: ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
            subnets: 1,
            subnet_cidrs: vec!["10.0.0.0/24".parse().unwrap()],
        };
        assert_eq!(
            in_use_message("dns-1", &used),
            "The resolver dns-1 cannot be deleted: 7 devices (a, b, c, d, e and 2 more) and \
             1 subnet (10.0.0.0/24) use it. Move them to another resolver or delete them first."
        );
        let one = ResolverUse {
            devices: 1,
            device_names: vec!["a".into()],
            ..ResolverUse::default()
        };
        assert!(in_use_message("r", &one).contains("1 device (a) uses it."));
    }

    #[test]
    fn inputs_report_every_field_error_at_once() {
        let e = SubnetInput::parse("10.0.0.5/24", None, PolicyPick::Keep)
            .into_result()
            .unwrap_err();
        assert_eq!(
            e.get("cidr").map(String::as_str),
            Some("10.0.0.5/24 has host bits set; did you mean 10.0.0.0/24?")
        );
        assert!(e.contains_key("resolver_id"));
        let e = DeviceInput::parse("", "a b", Some(1))
            .into_result()
            .unwrap_err();
        assert!(e.contains_key("name") && e.contains_key("identifier"));
        let e = ResolverInput::parse("dns", "10.0.0.0/8", PolicyPick::Keep)
            .into_result()
            .unwrap_err();
        assert!(e.contains_key("address"));
        assert!(ResolverInput::parse("dns", "192.0.2.53", PolicyPick::Keep)
            .into_result()
            .is_ok());
    }
}
