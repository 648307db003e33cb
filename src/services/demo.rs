//! Demo data for `make run`: about 50 tenants over 4 levels, with users, grants, clouds
//! (a public one of the root, an assigned one per partner) and instances on them.

use super::Actor;
use crate::db::models::cloud::{Cloud, CloudFields};
use crate::db::models::instance::{Instance, InstanceFields};
use crate::db::models::role::UserRole;
use crate::db::models::tenant::TenantFields;
use crate::db::models::{user::NewUser, Grant, Tenant};
use crate::domain::activity::Action;
use crate::domain::resources::{CloudProvider, CloudVisibility, InstanceStatus};
use crate::domain::{GrantRole, Scope};
use diesel_async::{AsyncConnection, AsyncPgConnection};

pub const DEMO_PASSWORD: &str = "demo-password-123";

const PARTNERS: [(&str, &str); 4] = [
    ("Acme Managed Services", "acme"),
    ("Northwind Networks", "northwind"),
    ("Blue Harbor IT", "blueharbor"),
    ("Summit Security", "summit"),
];
const CUSTOMERS: [&str; 5] = [
    "Dental Group",
    "Law Partners",
    "Logistics",
    "Retail",
    "Manufacturing",
];
const SITES: [&str; 3] = ["Head Office", "Warehouse", "Branch"];
const PEOPLE: [(&str, &str, &str); 3] = [
    ("alice", "Alice", "Martin"),
    ("bob", "Bob", "Keller"),
    ("carol", "Carol", "Nguyen"),
];

/// Loads the demo tree under the root. Returns false when it is already there.
pub async fn seed(
    conn: &mut AsyncPgConnection,
    password_hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let root = Tenant::root(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no root tenant: run `tenantry bootstrap` first"))?;
    if Tenant::by_subdomain(conn, PARTNERS[0].1).await?.is_some() {
        return Ok(false);
    }
    let actor = Actor::system("seed-demo");
    conn.transaction(async |conn| -> anyhow::Result<()> {
        let mut counter = 0usize;
        // Who goes on which plan (`plans`, below): partners, reselling customers, the rest.
        let (mut partners, mut resellers, mut customers) = (Vec::new(), Vec::new(), Vec::new());
        // The provider's cloud, seen by every tenant whose tenant role allows it.
        let public = cloud(
            conn,
            &root,
            "Provider cloud",
            CloudProvider::Openstack,
            CloudVisibility::Public,
        )
        .await?;
        for (pi, (partner_name, partner_sub)) in PARTNERS.iter().enumerate() {
            let partner = child(conn, &root, partner_name, partner_sub, true, true).await?;
            partners.push(partner.id);
            people(conn, &partner, if pi == 0 { 3 } else { 2 }, password_hash).await?;
            // Each partner's own cloud, assigned to its first customer below.
            let assigned = cloud(
                conn,
                &partner,
                &format!("{partner_name} private cloud"),
                CloudProvider::Vmware,
                CloudVisibility::Assigned,
            )
            .await?;
            for (ci, customer) in CUSTOMERS.iter().enumerate() {
                counter += 1;
                let reseller = ci % 2 == 0;
                let sub = format!(
                    "{partner_sub}-{}",
                    customer.to_lowercase().replace(' ', "-")
                );
                let enabled = !(pi == 3 && ci == 3);
                let c = child(
                    conn,
                    &partner,
                    &format!("{customer} ({partner_name})"),
                    &sub,
                    reseller,
                    enabled,
                )
                .await?;
                people(conn, &c, 1 + counter % 2, password_hash).await?;
                if reseller {
                    resellers.push(c.id);
                } else {
                    customers.push(c.id);
                }
                let on = if ci == 0 {
                    Cloud::set_assignments(conn, assigned.id, &[c.id]).await?;
                    assigned.id
                } else {
                    public.id
                };
                instances_for(conn, &c, on, 1 + (counter % 4) as i32).await?;
                network_for(conn, &c, counter, now).await?;
                if reseller {
                    for (si, site) in SITES
                        .iter()
                        .enumerate()
                        .take(if pi % 2 == 0 { 3 } else { 2 })
                    {
                        let s = child(
                            conn,
                            &c,
                            &format!("{site} – {customer}"),
                            &format!("{sub}-{}", site.to_lowercase().replace(' ', "-")),
                            false,
                            true,
                        )
                        .await?;
                        people(conn, &s, 1, password_hash).await?;
                        instances_for(conn, &s, public.id, (si as i32) + 1).await?;
                    }
                }
            }
        }
        plans(conn, &partners, &resellers, &customers, now).await?;
        let mut event = actor.event(Action::TenantSeedDemo, Some(root.id));
        event.after = Some(serde_json::json!({"partners": PARTNERS.len()}));
        event.record(conn).await?;
        Ok(())
    })
    .await?;
    Ok(true)
}

/// Three plans: Enterprise (every option, no limits) for the partners, Business
/// (sub-tenants, a custom domain, the API; 100 users, 2 million queries) for the
/// customers that resell, Basic (no options; 25 users, 500,000 queries, 10
/// instances, 500 GB, 64 GB) for the rest.
async fn plans(
    conn: &mut AsyncPgConnection,
    partners: &[i64],
    resellers: &[i64],
    customers: &[i64],
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use crate::db::models::plan::{Plan, PlanRow};
    use crate::domain::plan::{PlanLimits, PlanOptions};
    let all = PlanOptions {
        custom_branding: true,
        custom_domain: true,
        sub_tenants: true,
        api_access: true,
    };
    let business = PlanOptions {
        custom_branding: false,
        ..all
    };
    for (name, limits, options, on) in [
        ("Enterprise", PlanLimits::default(), all, partners),
        (
            "Business",
            PlanLimits {
                monthly_query_quota: Some(2_000_000),
                max_users: Some(100),
                ..PlanLimits::default()
            },
            business,
            resellers,
        ),
        (
            "Basic",
            PlanLimits {
                monthly_query_quota: Some(500_000),
                max_users: Some(25),
                max_instances: Some(10),
                storage_limit_gb: Some(500),
                memory_limit_gb: Some(64),
            },
            PlanOptions::default(),
            customers,
        ),
    ] {
        let plan = Plan::insert(conn, &PlanRow::new(name, limits, options, now), now).await?;
        Plan::assign(conn, plan.id, on).await?;
    }
    Ok(())
}

async fn child(
    conn: &mut AsyncPgConnection,
    parent: &Tenant,
    name: &str,
    subdomain: &str,
    can_have_subtenants: bool,
    enabled: bool,
) -> anyhow::Result<Tenant> {
    let fields = TenantFields {
        name: name.into(),
        subdomain: subdomain.into(),
        description: format!("Demo tenant under {}", parent.name),
        custom_domain: None,
        tenant_role_id: None,
        labels: None,
        monthly_query_quota: None,
        limits: Default::default(),
        max_users: None,
        plan_id: None,
        can_have_subtenants,
        enabled,
    };
    let allow = |_: &Tenant| Ok(());
    super::tenants::tree::create(conn, &Actor::system("demo"), parent, fields, &allow)
        .await
        .map_err(|e| anyhow::anyhow!("creating demo tenant {subdomain}: {e}"))
}

/// Users of a tenant: the first is Owner of its subtree (may manage sub-tenants) with
/// the "Tenant administrator" role, the second a Viewer with "Read only", the rest
/// plain users with "Read only".
async fn people(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    n: usize,
    hash: &str,
) -> anyhow::Result<()> {
    for (i, (username, first, last)) in PEOPLE.iter().enumerate().take(n) {
        let email = format!("{username}@{}.example", tenant.subdomain);
        let user = NewUser {
            tenant_id: tenant.id,
            username,
            email: &email,
            first_name: first,
            last_name: last,
            password_hash: hash,
        }
        .insert(conn)
        .await?;
        let roles = UserRole::for_tenant(conn, tenant.id).await?;
        let wanted = if i == 0 {
            "Tenant administrator"
        } else {
            "Read only"
        };
        if let Some(role) = roles.iter().find(|r| r.name == wanted) {
            UserRole::assign(conn, user.id, role.id).await?;
        }
        match i {
            0 => {
                Grant::insert(
                    conn,
                    user.id,
                    tenant.id,
                    GrantRole::Owner,
                    Scope::Subtree,
                    tenant.can_have_subtenants,
                )
                .await?
            }
            1 => {
                Grant::insert(
                    conn,
                    user.id,
                    tenant.id,
                    GrantRole::Viewer,
                    Scope::Tenant,
                    false,
                )
                .await?
            }
            _ => 0,
        };
    }
    Ok(())
}

async fn cloud(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    name: &str,
    provider: CloudProvider,
    visibility: CloudVisibility,
) -> anyhow::Result<Cloud> {
    let fields = CloudFields {
        name,
        provider,
        visibility,
    };
    Ok(Cloud::insert(conn, tenant.id, &fields).await?)
}

/// Two resolvers, a device on each and a subnet per resolver for a customer (the
/// `n`th: its own private ranges, so the demo shows distinct networks).
async fn network_for(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    n: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use crate::db::models::network::{
        Device, DeviceFields, Resolver, ResolverFields, Subnet, SubnetFields,
    };
    let octet = (n % 250) as u8;
    for (i, role) in ["primary", "secondary"].iter().enumerate() {
        let address = std::net::IpAddr::from([10, octet, i as u8, 53]);
        let r = Resolver::insert(
            conn,
            tenant.id,
            &ResolverFields {
                name: format!("{}-dns-{role}", tenant.subdomain),
                address: ipnet::IpNet::from(address),
                policy_id: None,
            },
            now,
        )
        .await?;
        Device::insert(
            conn,
            tenant.id,
            &DeviceFields {
                name: format!("Router {}", i + 1),
                identifier: format!("02:00:0a:{octet:02x}:{i:02x}:01"),
                resolver_id: r.id,
            },
            now,
        )
        .await?;
        Subnet::insert(
            conn,
            tenant.id,
            &SubnetFields {
                cidr: ipnet::IpNet::new(std::net::IpAddr::from([10, octet, i as u8, 0]), 24)?,
                resolver_id: r.id,
                policy_id: None,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

async fn instances_for(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    cloud_id: i64,
    n: i32,
) -> anyhow::Result<()> {
    for i in 0..n {
        let name = format!("{}-vm{}", tenant.subdomain, i + 1);
        let fields = InstanceFields {
            name: &name,
            cloud_id,
            owner_id: None,
            storage_gb: 20 * (i + 1),
            memory_gb: 4 * (i + 1),
            status: if i % 3 == 2 {
                InstanceStatus::Stopped
            } else {
                InstanceStatus::Running
            },
        };
        Instance::insert(conn, tenant.id, &fields).await?;
    }
    Ok(())
}
