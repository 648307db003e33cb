//! Sharing and limits attacked from weaker or indirect paths (#14): the SQL sharing
//! rule against a plain model over random trees and changes; instances whose cloud
//! the tenant stops seeing (moved away, narrowed, unassigned, the tenant role's
//! `public_clouds` off); a sharer losing its sub-tenants; receivers moved away; and
//! another tenant's ids, read-only clouds, limits through resizes and Viewers
//! posting, on the pages, htmx and the API.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::resources::{count, create_clouds};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use tenantry::auth::authz::CloudAccess;
use tenantry::db::models::cloud::{Cloud, CloudFields};
use tenantry::db::models::Tenant;
use tenantry::domain::resources::{CloudProvider, CloudVisibility};
use tenantry::domain::{GrantRole, Scope};
use tenantry::error::AppError;
use tenantry::services::instances::{CLOUD_GONE, UNKNOWN_CLOUD, UNKNOWN_OWNER};
use tenantry::services::tenants::tree as tree_service;
use tenantry::services::Actor;

// ---------------------------------------------------------------- the rule as a model

/// The tree, the tenant roles' `public_clouds`, and the clouds, as plain maps.
#[derive(Default)]
struct Model {
    parent: BTreeMap<i64, Option<i64>>,
    /// `can_have_subtenants` per tenant.
    sharer: BTreeMap<i64, bool>,
    role: BTreeMap<i64, i64>,
    public_clouds: BTreeMap<i64, bool>,
    /// Cloud id → (owner, visibility, assigned tenants).
    clouds: BTreeMap<i64, (i64, CloudVisibility, BTreeSet<i64>)>,
}

impl Model {
    fn path(&self, id: i64) -> Vec<i64> {
        let mut path = vec![id];
        let mut at = id;
        while let Some(Some(p)) = self.parent.get(&at) {
            path.push(*p);
            at = *p;
        }
        path.reverse();
        path
    }

    /// The rule, walking up from the viewer one parent at a time.
    fn access(&self, viewer: i64, cloud: i64) -> CloudAccess {
        let (owner, visibility, assigned) = &self.clouds[&cloud];
        if *owner == viewer {
            return CloudAccess::Own;
        }
        let mut up = self.parent[&viewer];
        while let Some(a) = up {
            if a == *owner {
                let is_root = self.parent[&a].is_none();
                let shares = is_root || self.sharer[&a];
                let shown = match visibility {
                    CloudVisibility::Private => false,
                    CloudVisibility::Public => !is_root || self.public_clouds[&self.role[&viewer]],
                    CloudVisibility::Assigned => assigned.contains(&viewer),
                };
                return if shares && shown {
                    CloudAccess::Shared
                } else {
                    CloudAccess::Hidden
                };
            }
            up = self.parent[&a];
        }
        CloudAccess::Hidden
    }

    fn is_within(&self, id: i64, top: i64) -> bool {
        self.path(id).contains(&top)
    }
}

fn visibility(rng: &mut StdRng) -> CloudVisibility {
    *[
        CloudVisibility::Private,
        CloudVisibility::Public,
        CloudVisibility::Assigned,
    ]
    .choose(rng)
    .unwrap()
}

/// How `tenant` stands to `cloud` as the services decide it: the row on its path
/// (`Cloud::on_path`) judged by `authz::cloud_access` (`services::clouds::find`).
pub async fn access(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: &Tenant,
    cloud: i64,
) -> CloudAccess {
    match tenantry::services::clouds::find(conn, tenant, cloud).await {
        Ok((_, access)) => access,
        Err(AppError::NotFound) => CloudAccess::Hidden,
        Err(e) => panic!("{e:?}"),
    }
}

/// Every tenant's `Cloud::visible` (and `visible_among`) against the model, and
/// `authz::cloud_access` on the loaded rows against the model, for every cloud.
async fn check_rule(app: &TestApp, m: &Model, step: &str) {
    let mut conn = app.conn().await;
    let all: Vec<i64> = m.clouds.keys().copied().collect();
    // The assignments as stored (a move drops those no longer below the owner).
    let stored: BTreeSet<(i64, i64)> = db(app)
        .await
        .query("SELECT cloud_id, tenant_id FROM cloud_assignments", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let modelled: BTreeSet<(i64, i64)> = m
        .clouds
        .iter()
        .flat_map(|(c, (_, _, a))| a.iter().map(move |t| (*c, *t)))
        .collect();
    assert_eq!(stored, modelled, "{step}: assignments");
    for &viewer in m.parent.keys() {
        let tenant = Tenant::find(&mut conn, viewer).await.unwrap();
        assert_eq!(tenant.path, m.path(viewer), "{step}");
        let seen: BTreeMap<i64, i64> = Cloud::visible(&mut conn, &tenant, None, 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.cloud.id, s.cloud.tenant_id))
            .collect();
        let want: BTreeMap<i64, i64> = all
            .iter()
            .filter(|c| m.access(viewer, **c) != CloudAccess::Hidden)
            .map(|c| (*c, m.clouds[c].0))
            .collect();
        assert_eq!(seen, want, "{step}: tenant {viewer}");
        let among: BTreeSet<i64> = Cloud::visible_among(&mut conn, &tenant, &all)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(
            among,
            want.keys().copied().collect(),
            "{step}: tenant {viewer}"
        );
        for &cloud in &all {
            let access = access(&mut conn, &tenant, cloud).await;
            assert_eq!(
                access,
                m.access(viewer, cloud),
                "{step}: tenant {viewer}, cloud {cloud}"
            );
        }
    }
}

/// The shapes the random trees take.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// Each tenant under the previous one.
    Chain,
    /// Every tenant under one reseller.
    Star,
    /// Each tenant under any earlier one.
    Random,
    /// Each tenant under one of the last three (bushy and deep).
    Bushy,
}

async fn run_rule_seed(app: &TestApp, m: &mut Model, seed: u64, shape: Shape) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut conn = app.conn().await;
    let client = db(app).await;
    let roles: Vec<i64> = m.public_clouds.keys().copied().collect();
    let root = app.root.id;
    // The seed's tenants: a reseller under the root, then the shape below it.
    let mut mine: Vec<i64> = Vec::new();
    let top = app.tenant(&app.root, &format!("r{seed}"), true).await;
    mine.push(top.id);
    for i in 0..rng.gen_range(6..14) {
        let parent_id = match shape {
            Shape::Chain => *mine.last().unwrap(),
            Shape::Star => top.id,
            Shape::Random => *mine.choose(&mut rng).unwrap(),
            Shape::Bushy => *mine[mine.len().saturating_sub(3)..]
                .choose(&mut rng)
                .unwrap(),
        };
        // Mostly resellers; now and then a tenant that may not share, with
        // sub-tenants all the same (written directly, as older rows might be).
        let sharer = rng.gen_bool(0.75);
        let parent = Tenant::find(&mut conn, parent_id).await.unwrap();
        let t = app.tenant(&parent, &format!("s{seed}-{i}"), sharer).await;
        mine.push(t.id);
    }
    for &id in &mine {
        let role = *roles.choose(&mut rng).unwrap();
        client
            .execute(
                "UPDATE tenants SET tenant_role_id = $1 WHERE id = $2",
                &[&role, &id],
            )
            .await
            .unwrap();
        let t = Tenant::find(&mut conn, id).await.unwrap();
        m.parent.insert(id, t.parent_id);
        m.sharer.insert(id, t.can_have_subtenants);
        m.role.insert(id, role);
    }
    // Clouds of the root and of the seed's tenants, each assigned to a few tenants
    // anywhere (below the owner or not: only those below may see it).
    let everyone: Vec<i64> = m.parent.keys().copied().collect();
    let owners: Vec<i64> = std::iter::once(root).chain(mine.iter().copied()).collect();
    for n in 0..rng.gen_range(8..16) {
        let owner = *owners.choose(&mut rng).unwrap();
        let v = visibility(&mut rng);
        let cloud = Cloud::insert(
            &mut conn,
            owner,
            &CloudFields {
                name: &format!("c{seed}-{n}"),
                provider: CloudProvider::Aws,
                visibility: v,
            },
        )
        .await
        .unwrap();
        let assigned: BTreeSet<i64> = (0..rng.gen_range(0..4))
            .map(|_| *everyone.choose(&mut rng).unwrap())
            .collect();
        let ids: Vec<i64> = assigned.iter().copied().collect();
        Cloud::set_assignments(&mut conn, cloud.id, &ids)
            .await
            .unwrap();
        m.clouds.insert(cloud.id, (owner, v, assigned));
    }
    check_rule(app, m, &format!("seed {seed} ({shape:?}) built")).await;

    // Changes: moves (through the service), roles' public clouds, visibilities,
    // assignments removed; the rule checked after each.
    let actor = Actor::system("rule-model");
    for step in 0..6 {
        let label = format!("seed {seed} step {step}");
        match rng.gen_range(0..4) {
            0 => {
                let id = *mine.choose(&mut rng).unwrap();
                let destinations: Vec<i64> = m
                    .parent
                    .keys()
                    .copied()
                    .filter(|d| m.sharer[d] && !m.is_within(*d, id))
                    .collect();
                let Some(&to) = destinations.choose(&mut rng) else {
                    continue;
                };
                let r = tree_service::move_tenant(
                    &mut conn,
                    &actor,
                    id,
                    to,
                    &|_, _, _| Ok(()),
                    &|_, _| Ok(()),
                    &|_| true,
                    chrono::Utc::now(),
                )
                .await;
                r.unwrap_or_else(|e| panic!("{label}: move {id} under {to}: {e:?}"));
                m.parent.insert(id, Some(to));
                // What the move drops: assignments of the moved subtree's tenants
                // whose cloud's owner is no longer above them.
                let paths: BTreeMap<i64, Vec<i64>> =
                    m.parent.keys().map(|t| (*t, m.path(*t))).collect();
                for (owner, _, assigned) in m.clouds.values_mut() {
                    assigned.retain(|t| !paths[t].contains(&id) || paths[t].contains(owner));
                }
            }
            1 => {
                let role = *roles.choose(&mut rng).unwrap();
                let on = !m.public_clouds[&role];
                client
                    .execute(
                        "UPDATE tenant_roles SET public_clouds = $1 WHERE id = $2",
                        &[&on, &role],
                    )
                    .await
                    .unwrap();
                m.public_clouds.insert(role, on);
            }
            2 => {
                let cloud = *m
                    .clouds
                    .keys()
                    .collect::<Vec<_>>()
                    .choose(&mut rng)
                    .unwrap();
                let cloud = *cloud;
                let v = visibility(&mut rng);
                client
                    .execute(
                        "UPDATE clouds SET visibility = $1 WHERE id = $2",
                        &[&v.as_str(), &cloud],
                    )
                    .await
                    .unwrap();
                m.clouds.get_mut(&cloud).unwrap().1 = v;
            }
            _ => {
                let cloud = *m
                    .clouds
                    .keys()
                    .collect::<Vec<_>>()
                    .choose(&mut rng)
                    .unwrap();
                let cloud = *cloud;
                let assigned = &mut m.clouds.get_mut(&cloud).unwrap().2;
                if let Some(&t) = assigned.iter().next() {
                    client
                        .execute(
                            "DELETE FROM cloud_assignments WHERE cloud_id = $1 AND tenant_id = $2",
                            &[&cloud, &t],
                        )
                        .await
                        .unwrap();
                    assigned.remove(&t);
                }
            }
        }
        check_rule(app, m, &label).await;
    }
}

#[tokio::test]
async fn the_sql_sharing_rule_equals_a_plain_model_over_random_trees() {
    let app = spawn_app().await;
    let client = db(&app).await;
    let mut m = Model::default();
    // Two tenant roles besides the existing ones: root public clouds shown, hidden.
    for (name, on) in [
        ("Sees provider clouds", true),
        ("No provider clouds", false),
    ] {
        client
            .execute(
                "INSERT INTO tenant_roles (name, permissions, public_clouds) \
                 SELECT $1, permissions, $2 FROM tenant_roles ORDER BY id LIMIT 1",
                &[&name, &on],
            )
            .await
            .unwrap();
    }
    for r in client
        .query("SELECT id, public_clouds FROM tenant_roles", &[])
        .await
        .unwrap()
    {
        m.public_clouds.insert(r.get(0), r.get(1));
    }
    for r in client
        .query(
            "SELECT id, parent_id, can_have_subtenants, tenant_role_id FROM tenants",
            &[],
        )
        .await
        .unwrap()
    {
        let id: i64 = r.get(0);
        m.parent.insert(id, r.get(1));
        m.sharer.insert(id, r.get(2));
        m.role.insert(id, r.get(3));
    }
    let shapes = [Shape::Chain, Shape::Star, Shape::Random, Shape::Bushy];
    for seed in 0..8u64 {
        run_rule_seed(&app, &mut m, seed, shapes[seed as usize % shapes.len()]).await;
    }
}

// ---------------------------------------------------------------- fixtures

/// The partner tree with clouds:
/// - root: `root-public` (public)
/// - acme: `acme-public`, `acme-wide` (public), `acme-a1` (assigned to a1),
///   `acme-both` (assigned to a1 and a2)
/// - a1: `a1-private`; g1: `g1-private`
struct Fixture {
    tree: PartnerTree,
    ids: BTreeMap<&'static str, i64>,
    api: Api,
    admin: TestApp,
}

async fn fixture(app: &TestApp) -> Fixture {
    let tree = partner_tree(app).await;
    let api = Api::new(app, Some(&token_for(app, &app.admin, false).await));
    let ids = create_clouds(
        &api,
        &[
            (&app.root, "root-public", "public", vec![]),
            (&tree.acme, "acme-public", "public", vec![]),
            (&tree.acme, "acme-wide", "public", vec![]),
            (&tree.acme, "acme-a1", "assigned", vec![tree.a1.id]),
            (
                &tree.acme,
                "acme-both",
                "assigned",
                vec![tree.a1.id, tree.a2.id],
            ),
            (&tree.a1, "a1-private", "private", vec![]),
            (&tree.g1, "g1-private", "private", vec![]),
        ],
    )
    .await;
    let admin = app.new_browser();
    admin.login_admin().await;
    Fixture {
        tree,
        ids,
        api,
        admin,
    }
}

fn instances(t: &Tenant) -> String {
    format!("/api/v1/tenants/{}/instances", t.id)
}

async fn vm(api: &Api, t: &Tenant, name: &str, cloud: i64, storage: i64, memory: i64) -> i64 {
    let (s, body) = api
        .post(
            &instances(t),
            json!({"name": name, "cloud_id": cloud, "storage_gb": storage, "memory_gb": memory}),
        )
        .await;
    assert_eq!(s, 201, "{name}: {body}");
    body["id"].as_i64().unwrap()
}

/// The `<option>` of `value` in the select `name` of `html`, if any.
fn option<'a>(html: &'a str, name: &str, value: &str) -> Option<&'a str> {
    let select = between(html, &format!("name=\"{name}\""), "</select>");
    let start = select.find(&format!("value=\"{value}\""))?;
    let rest = &select[start..];
    Some(&rest[..rest.find("</option>").unwrap_or(rest.len())])
}

// ---------------------------------------------------------------- a cloud no longer seen

/// `instance` of `tenant` runs on `cloud`, which `tenant` no longer sees (and which
/// was renamed `secret` since): every path tells and allows what the module
/// comment of `services::instances` says, and nothing more. `other` is a cloud the
/// tenant sees; `hidden` one it never saw.
async fn assert_kept_but_unavailable(
    f: &Fixture,
    tenant: &Tenant,
    instance: i64,
    cloud: i64,
    secret: &str,
    other: i64,
    hidden: i64,
) {
    let api = &f.api;
    let case = format!("{} / cloud {cloud}", tenant.subdomain);
    // The list: the instance is there, its cloud unnamed.
    let html = f
        .admin
        .get_html(&format!("/tenants/{}/instances", tenant.id))
        .await;
    let row = between(&html, &format!("data-instance-id=\"{instance}\""), "</tr>");
    assert!(
        row.contains("no longer available to this tenant"),
        "{case}: {row}"
    );
    assert!(!html.contains(secret), "{case}: {html}");
    // The edit form: the current cloud on offer under that label, selected.
    let html = f
        .admin
        .get_html(&format!("/tenants/{}/instances/{instance}", tenant.id))
        .await;
    let current =
        option(&html, "cloud_id", &cloud.to_string()).unwrap_or_else(|| panic!("{case}: {html}"));
    assert!(
        current.contains("selected") && current.contains("no longer available to this tenant"),
        "{case}: {current}"
    );
    assert!(!html.contains(secret), "{case}: {html}");
    assert!(option(&html, "cloud_id", &hidden.to_string()).is_none());
    // The API: the instance keeps its cloud's id; the cloud itself is not there.
    let (s, body) = api.get(&format!("{}/{instance}", instances(tenant))).await;
    assert_eq!((s, body["cloud_id"].as_i64()), (200, Some(cloud)), "{case}");
    let (s, _) = api
        .get(&format!("/api/v1/tenants/{}/clouds/{cloud}", tenant.id))
        .await;
    assert_eq!(s, 404, "{case}");
    // Growing it there: refused on each field that grows, nothing changed.
    let before: (i64, i64) = {
        let (_, b) = api.get(&format!("{}/{instance}", instances(tenant))).await;
        (
            b["storage_gb"].as_i64().unwrap(),
            b["memory_gb"].as_i64().unwrap(),
        )
    };
    let (s, body) = api
        .patch(
            &format!("{}/{instance}", instances(tenant)),
            json!({"storage_gb": before.0 + 1, "memory_gb": before.1 + 1}),
        )
        .await;
    assert_eq!(s, 422, "{case}: {body}");
    assert_eq!(body["errors"]["storage_gb"], CLOUD_GONE, "{case}");
    assert_eq!(body["errors"]["memory_gb"], CLOUD_GONE, "{case}");
    let r = f
        .admin
        .post_form(
            &format!("/tenants/{}/instances/{instance}", tenant.id),
            &[
                ("name", "kept"),
                ("cloud_id", &cloud.to_string()),
                ("storage_gb", &(before.0 + 5).to_string()),
                ("memory_gb", &before.1.to_string()),
                ("status", "running"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422, "{case}");
    let html = r.text().await.unwrap();
    assert_eq!(
        field_error(&html, "storage_gb").as_deref(),
        Some(CLOUD_GONE)
    );
    assert!(!html.contains(secret), "{case}");
    // Kept as it is, renamed, stopped, shrunk: goes (page and API).
    let r = f
        .admin
        .post_form(
            &format!("/tenants/{}/instances/{instance}", tenant.id),
            &[
                ("name", "kept"),
                ("cloud_id", &cloud.to_string()),
                ("storage_gb", &before.0.to_string()),
                ("memory_gb", &before.1.to_string()),
                ("status", "stopped"),
            ],
        )
        .await;
    assert_eq!(status(&r), 303, "{case}: {}", r.text().await.unwrap());
    let (s, body) = api
        .patch(
            &format!("{}/{instance}", instances(tenant)),
            json!({"storage_gb": 0, "status": "running"}),
        )
        .await;
    assert_eq!(s, 200, "{case}: {body}");
    assert_eq!(body["cloud_id"].as_i64(), Some(cloud));
    // Another cloud it never saw: unknown, like a missing one.
    for bad in [hidden, 999_999] {
        let (s, body) = api
            .patch(
                &format!("{}/{instance}", instances(tenant)),
                json!({"cloud_id": bad}),
            )
            .await;
        assert_eq!(s, 422, "{case}: {body}");
        assert_eq!(body["errors"]["cloud_id"], UNKNOWN_CLOUD, "{case}");
    }
    // No new instance on it, on the page or through the API; the new form lacks it.
    let (s, body) = api
        .post(
            &instances(tenant),
            json!({"name": "new", "cloud_id": cloud, "storage_gb": 0, "memory_gb": 0}),
        )
        .await;
    assert_eq!(s, 422, "{case}: {body}");
    assert_eq!(body["errors"]["cloud_id"], UNKNOWN_CLOUD, "{case}");
    let r = f
        .admin
        .post_form(
            &format!("/tenants/{}/instances/new", tenant.id),
            &[
                ("name", "new"),
                ("cloud_id", &cloud.to_string()),
                ("storage_gb", "0"),
                ("memory_gb", "0"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422, "{case}");
    let html = r.text().await.unwrap();
    assert_eq!(
        field_error(&html, "cloud_id").as_deref(),
        Some(UNKNOWN_CLOUD)
    );
    assert!(!html.contains(secret));
    let html = f
        .admin
        .get_html(&format!("/tenants/{}/instances/new", tenant.id))
        .await;
    assert!(
        option(&html, "cloud_id", &cloud.to_string()).is_none(),
        "{case}"
    );
    // Moved to a cloud it sees: goes; back again: unknown.
    let path = format!("{}/{instance}", instances(tenant));
    let (s, body) = api.patch(&path, json!({"cloud_id": other})).await;
    assert_eq!(s, 200, "{case}: {body}");
    let (s, body) = api.patch(&path, json!({"cloud_id": cloud})).await;
    assert_eq!(s, 422, "{case}: {body}");
    assert_eq!(body["errors"]["cloud_id"], UNKNOWN_CLOUD);
}

/// Changes `cloud` as its owner, `owner`, does (renaming it, narrowing it …).
async fn change_cloud(f: &Fixture, owner: &Tenant, cloud: i64, change: serde_json::Value) {
    let (s, body) = f
        .api
        .patch(
            &format!("/api/v1/tenants/{}/clouds/{cloud}", owner.id),
            change,
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn an_instance_whose_cloud_is_no_longer_seen_stays_but_cannot_grow_there() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let t = &f.tree;
    let hidden = f.ids["g1-private"];

    // 1. The tenant moved under another reseller, its instance left on acme's public
    // cloud (a move refuses that now: data from before, made in the database).
    let moved = vm(&f.api, &t.a2, "moved", f.ids["root-public"], 10, 2).await;
    let (s, body) = f.api.move_tenant(t.a2.id, t.globex.id).await;
    assert_eq!(s, 200, "{body}");
    db(&app)
        .await
        .execute(
            "UPDATE instances SET cloud_id = $1 WHERE id = $2",
            &[&f.ids["acme-public"], &moved],
        )
        .await
        .unwrap();
    let a2 = app.reload(&t.a2).await.unwrap();
    change_cloud(
        &f,
        &t.acme,
        f.ids["acme-public"],
        json!({"name": "secret-moved"}),
    )
    .await;
    assert_kept_but_unavailable(
        &f,
        &a2,
        moved,
        f.ids["acme-public"],
        "secret-moved",
        f.ids["root-public"],
        hidden,
    )
    .await;

    // 2. The cloud narrowed from public to private.
    let narrowed = vm(&f.api, &t.a1x, "narrowed", f.ids["acme-wide"], 10, 2).await;
    let wide = f.ids["acme-wide"];
    change_cloud(
        &f,
        &t.acme,
        wide,
        json!({"visibility": "private", "name": "secret-narrowed"}),
    )
    .await;
    assert_kept_but_unavailable(
        &f,
        &t.a1x,
        narrowed,
        f.ids["acme-wide"],
        "secret-narrowed",
        f.ids["root-public"],
        hidden,
    )
    .await;

    // 3. The assignment taken from a1 (given to a1x: an assigned cloud is assigned
    // to some tenant, review #14 L2).
    let unassigned = vm(&f.api, &t.a1, "unassigned", f.ids["acme-a1"], 10, 2).await;
    let a1_only = f.ids["acme-a1"];
    change_cloud(
        &f,
        &t.acme,
        a1_only,
        json!({"assigned_tenant_ids": [t.a1x.id], "name": "secret-unassigned"}),
    )
    .await;
    assert_kept_but_unavailable(
        &f,
        &t.a1,
        unassigned,
        f.ids["acme-a1"],
        "secret-unassigned",
        f.ids["a1-private"],
        hidden,
    )
    .await;

    // 4. The tenant role's public_clouds switched off: the root's cloud is gone.
    let provider = vm(&f.api, &t.g1, "provider", f.ids["root-public"], 10, 2).await;
    let cap = capped(
        &app,
        &t.g1,
        "No provider clouds",
        &tenantry::domain::Permissions::all(tenantry::domain::Level::Full),
    )
    .await;
    db(&app)
        .await
        .execute(
            "UPDATE tenant_roles SET public_clouds = false WHERE id = $1",
            &[&cap.id],
        )
        .await
        .unwrap();
    let g1 = app.reload(&t.g1).await.unwrap();
    change_cloud(
        &f,
        &app.root,
        f.ids["root-public"],
        json!({"name": "secret-provider"}),
    )
    .await;
    assert_kept_but_unavailable(
        &f,
        &g1,
        provider,
        f.ids["root-public"],
        "secret-provider",
        f.ids["g1-private"],
        f.ids["a1-private"],
    )
    .await;
}

// ---------------------------------------------------------------- who shares

#[tokio::test]
async fn a_tenant_keeps_its_sub_tenants_while_it_shares_clouds() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let solo = app.tenant(&app.root, "solo", true).await;
    let path = format!("/api/v1/tenants/{}", solo.id);
    let (s, body) = f
        .api
        .post(
            &format!("{path}/clouds"),
            json!({"name": "solo-public", "provider": "gcp", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let cloud = body["id"].as_i64().unwrap();
    // Switching sub-tenants off while it shares: refused, naming the cloud (API, page).
    let (s, body) = f
        .api
        .patch(&path, json!({"can_have_subtenants": false}))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["can_have_subtenants"],
        "This tenant shares a cloud (solo-public): make it private before turning this off."
    );
    let r = f
        .admin
        .post_form(
            &format!("/tenants/{}/edit", solo.id),
            &[
                ("name", "Tenant solo"),
                ("subdomain", "solo"),
                ("description", ""),
                ("custom_domain", ""),
                ("enabled", "true"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "can_have_subtenants")
        .unwrap()
        .contains("solo-public"));
    assert!(app.reload(&solo).await.unwrap().can_have_subtenants);
    // Private first, then off; sharing again is refused.
    let (s, body) = f
        .api
        .patch(
            &format!("{path}/clouds/{cloud}"),
            json!({"visibility": "private"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = f
        .api
        .patch(&path, json!({"can_have_subtenants": false}))
        .await;
    assert_eq!(s, 200, "{body}");
    for visibility in ["public", "assigned"] {
        let (s, body) = f
            .api
            .patch(
                &format!("{path}/clouds/{cloud}"),
                json!({"visibility": visibility}),
            )
            .await;
        assert_eq!(s, 422, "{body}");
        assert!(body["errors"]["visibility"].is_string(), "{body}");
    }
    // A tenant that may not share shares nothing, whatever a row says (older data):
    // its sub-tenant (written directly) does not see its public cloud.
    let below = app
        .tenant(&app.reload(&solo).await.unwrap(), "below", false)
        .await;
    db(&app)
        .await
        .execute(
            "UPDATE clouds SET visibility = 'public' WHERE id = $1",
            &[&cloud],
        )
        .await
        .unwrap();
    let (s, body) = f
        .api
        .get(&format!("/api/v1/tenants/{}/clouds", below.id))
        .await;
    assert_eq!(s, 200);
    assert!(!body.to_string().contains("solo-public"), "{body}");
    let (s, _) = f
        .api
        .get(&format!("/api/v1/tenants/{}/clouds/{cloud}", below.id))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_receiver_moved_away_loses_its_assignment_for_good() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let t = &f.tree;
    let both = f.ids["acme-both"];
    let owner_path = format!("/api/v1/tenants/{}/clouds/{both}", t.acme.id);
    let (s, body) = f.api.move_tenant(t.a2.id, t.globex.id).await;
    assert_eq!(s, 200, "{body}");
    // a2 does not see it; the assignment went with the move (audited).
    let (s, _) = f
        .api
        .get(&format!("/api/v1/tenants/{}/clouds/{both}", t.a2.id))
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM cloud_assignments WHERE cloud_id = {both}")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_events WHERE action = 'tenant.move' \
             AND after->>'cloud_assignments_dropped' = '1'"
        )
        .await,
        1
    );
    // Its owner sees only a1 listed, and changes the cloud without naming a2.
    let (s, body) = f.api.get(&owner_path).await;
    assert_eq!(s, 200);
    assert_eq!(body["assigned_tenant_ids"], json!([t.a1.id]), "{body}");
    let (s, body) = f.api.patch(&owner_path, json!({"name": "renamed"})).await;
    assert_eq!(s, 200, "{body}");
    // Moved back: not shared again unasked.
    let (s, body) = f.api.move_tenant(t.a2.id, t.acme.id).await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = f
        .api
        .get(&format!("/api/v1/tenants/{}/clouds/{both}", t.a2.id))
        .await;
    assert_eq!(s, 404);
    // A stale row from before (a cousin listed): unseen, unlisted, and no obstacle
    // to the owner's next save through the form.
    db(&app)
        .await
        .execute(
            "INSERT INTO cloud_assignments (cloud_id, tenant_id) VALUES ($1, $2)",
            &[&both, &t.g1.id],
        )
        .await
        .unwrap();
    let (s, _) = f
        .api
        .get(&format!("/api/v1/tenants/{}/clouds/{both}", t.g1.id))
        .await;
    assert_eq!(s, 404);
    let html = f
        .admin
        .get_html(&format!("/tenants/{}/clouds/{both}", t.acme.id))
        .await;
    let listed = between(&html, "name=\"assigned_tenant_ids\"", ">");
    assert!(!listed.contains(&t.g1.id.to_string()), "{listed}");
    let fields = [
        ("name", "renamed again"),
        ("provider", "aws"),
        ("visibility", "assigned"),
        ("assigned_tenant_ids", &t.a1.id.to_string()),
    ];
    let r = f
        .admin
        .post_form(&format!("/tenants/{}/clouds/{both}", t.acme.id), &fields)
        .await;
    assert_eq!(status(&r), 303, "{}", r.text().await.unwrap());
}

// ---------------------------------------------------------------- weaker accounts

/// `html` with every run of digits replaced: two refusals naming different ids
/// compare equal when they say the same.
fn without_ids(s: &str) -> String {
    let mut out = String::new();
    let mut digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !digits {
                out.push('#');
            }
            digits = true;
        } else {
            out.push(c);
            digits = false;
        }
    }
    out
}

#[tokio::test]
async fn another_tenants_ids_are_refused_like_missing_ones() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let t = &f.tree;
    // a1's administrator of a1 alone (not its sub-tenants): a1x is below a1, but
    // not theirs to see; naming it is the same field error as naming nothing.
    let own = app.user(&t.a1, "a1own").await;
    app.grant(&own, &t.a1, GrantRole::Administrator, Scope::Tenant, false)
        .await;
    let api = Api::new(&app, Some(&token_for(&app, &own, false).await));
    let clouds = format!("/api/v1/tenants/{}/clouds", t.a1.id);
    let mut answers = BTreeSet::new();
    for bad in [t.a1x.id, 999_999, t.a2.id, t.g1.id, t.acme.id, t.a1.id] {
        let (s, body) = api
            .post(
                &clouds,
                json!({"name": "x", "provider": "aws", "visibility": "assigned",
                       "assigned_tenant_ids": [bad]}),
            )
            .await;
        assert_eq!(s, 422, "{bad}: {body}");
        answers.insert(without_ids(&body["errors"].to_string()));
    }
    assert_eq!(answers.len(), 1, "{answers:?}");
    // The same through a change of a1's own cloud.
    let (s, body) = api
        .patch(
            &format!("{clouds}/{}", f.ids["a1-private"]),
            json!({"visibility": "assigned", "assigned_tenant_ids": [t.a1x.id]}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        without_ids(&body["errors"].to_string()),
        *answers.iter().next().unwrap()
    );

    // Instances: a cousin's private cloud, another tenant's user, a missing one.
    let id = vm(&f.api, &t.a2, "web", f.ids["acme-public"], 1, 1).await;
    let path = format!("{}/{id}", instances(&t.a2));
    let stranger = app.user(&t.a1, "stranger").await;
    for (field, patch, message) in [
        (
            "cloud_id",
            json!({"cloud_id": f.ids["g1-private"]}),
            UNKNOWN_CLOUD,
        ),
        (
            "cloud_id",
            json!({"cloud_id": f.ids["a1-private"]}),
            UNKNOWN_CLOUD,
        ),
        (
            "cloud_id",
            json!({"cloud_id": f.ids["acme-a1"]}),
            UNKNOWN_CLOUD,
        ),
        ("cloud_id", json!({"cloud_id": 999_999}), UNKNOWN_CLOUD),
        ("owner_id", json!({"owner_id": stranger.id}), UNKNOWN_OWNER),
        ("owner_id", json!({"owner_id": app.admin.id}), UNKNOWN_OWNER),
        ("owner_id", json!({"owner_id": 999_999}), UNKNOWN_OWNER),
    ] {
        let (s, body) = f.api.patch(&path, patch.clone()).await;
        assert_eq!(s, 422, "{patch}: {body}");
        assert_eq!(body["errors"][field], message, "{patch}");
    }
    let (_, body) = f.api.get(&path).await;
    assert_eq!(body["cloud_id"], f.ids["acme-public"]);
    assert!(body["owner_id"].is_null());
    // Another tenant's instance by id: not there, to read, change or delete.
    let theirs = vm(&f.api, &t.g1, "theirs", f.ids["g1-private"], 1, 1).await;
    let other = format!("{}/{theirs}", instances(&t.a2));
    assert_eq!(f.api.get(&other).await.0, 404);
    assert_eq!(f.api.patch(&other, json!({"name": "mine"})).await.0, 404);
    assert_eq!(f.api.delete(&other).await.0, 404);
    let r = f
        .admin
        .post_form(
            &format!("/tenants/{}/instances/{theirs}/delete", t.a2.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status(&r), 404);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM instances WHERE id = {theirs} AND name = 'theirs'")
        )
        .await,
        1
    );

    // Devices and subnets: another tenant's resolver is the missing one's error,
    // on a change as on a create; another tenant's device or subnet is not there.
    let resolver = |t: &Tenant, name: &str| {
        let api = &f.api;
        let path = format!("/api/v1/tenants/{}/resolvers", t.id);
        let name = name.to_string();
        async move {
            let (s, r) = api
                .post(&path, json!({"name": name, "address": "192.0.2.53"}))
                .await;
            assert_eq!(s, 201, "{r}");
            r["id"].as_i64().unwrap()
        }
    };
    let ours = resolver(&t.a2, "ours").await;
    let cousins = resolver(&t.g1, "cousins").await;
    let base = format!("/api/v1/tenants/{}", t.a2.id);
    let (s, device) = f
        .api
        .post(
            &format!("{base}/devices"),
            json!({"name": "d", "identifier": "d-1", "resolver_id": ours}),
        )
        .await;
    assert_eq!(s, 201, "{device}");
    let (s, subnet) = f
        .api
        .post(
            &format!("{base}/subnets"),
            json!({"cidr": "10.1.0.0/16", "resolver_id": ours}),
        )
        .await;
    assert_eq!(s, 201, "{subnet}");
    for item in [
        format!("{base}/devices/{}", device["id"]),
        format!("{base}/subnets/{}", subnet["id"]),
    ] {
        let mut answers = BTreeSet::new();
        for bad in [cousins, 999_999] {
            let (s, body) = f.api.patch(&item, json!({"resolver_id": bad})).await;
            assert_eq!(s, 422, "{item}: {body}");
            answers.insert(body["errors"]["resolver_id"].to_string());
        }
        assert_eq!(answers.len(), 1, "{item}: {answers:?}");
        let (_, body) = f.api.get(&item).await;
        assert_eq!(body["resolver_id"], ours, "{item}");
    }
    let (s, theirs) = f
        .api
        .post(
            &format!("/api/v1/tenants/{}/devices", t.g1.id),
            json!({"name": "d", "identifier": "d-1", "resolver_id": cousins}),
        )
        .await;
    assert_eq!(s, 201, "{theirs}");
    let other = format!("{base}/devices/{}", theirs["id"]);
    assert_eq!(f.api.patch(&other, json!({"name": "mine"})).await.0, 404);
    assert_eq!(f.api.delete(&other).await.0, 404);
}

#[tokio::test]
async fn a_receiver_changes_no_shared_cloud_through_htmx_either() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let t = &f.tree;
    // a1's subtree administrator, acting in a1x, on the public cloud of acme.
    let admin = subtree_admin(&app, &t.a1, "a1admin").await;
    let shared = f.ids["acme-public"];
    for tenant in [&t.a1, &t.a1x] {
        let base = format!("/tenants/{}/clouds/{shared}", tenant.id);
        let form = [
            ("name", "mine"),
            ("provider", "aws"),
            ("visibility", "private"),
        ];
        for (path, fields) in [
            (base.clone(), &form[..]),
            (format!("{base}/delete"), &[][..]),
            (format!("{base}/delete"), &[("confirm", "yes")][..]),
        ] {
            let r = admin.post_hx(&path, fields).await;
            assert_eq!(status(&r), 403, "{path}");
            assert!(
                r.text().await.unwrap().contains("shared by Tenant acme"),
                "{path}"
            );
        }
    }
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM clouds WHERE id = {shared} AND name = 'acme-public'")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn resizes_hold_the_owners_and_every_ancestors_limit() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let t = &f.tree;
    let cloud = f.ids["acme-public"];
    let dev = app.user(&t.a1x, "dev").await;
    let client = db(&app).await;
    client
        .execute(
            "UPDATE users SET storage_limit_gb = 50, memory_limit_gb = 8 WHERE id = $1",
            &[&dev.id],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE tenants SET storage_limit_gb = 100 WHERE id = $1",
            &[&t.acme.id],
        )
        .await
        .unwrap();
    let base = instances(&t.a1x);
    let (s, body) = f
        .api
        .post(
            &base,
            json!({"name": "owned", "cloud_id": cloud, "owner_id": dev.id,
                   "storage_gb": 30, "memory_gb": 4}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let owned = format!("{base}/{}", body["id"]);
    // The owner's limit: 50 GB storage; the resize to exactly 50 goes, 51 does not.
    let (s, body) = f.api.patch(&owned, json!({"storage_gb": 51})).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_gb"],
        "Storage 30 of 50 GB used by dev (the owner's limit); this instance needs 21 GB more."
    );
    let (s, body) = f.api.patch(&owned, json!({"memory_gb": 9})).await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["memory_gb"]
        .as_str()
        .unwrap()
        .contains("dev"));
    assert_eq!(f.api.patch(&owned, json!({"storage_gb": 50})).await.0, 200);
    // Handing it to the owner along with a resize: the whole instance counts.
    let (s, body) = f
        .api
        .post(
            &base,
            json!({"name": "free", "cloud_id": cloud, "storage_gb": 1, "memory_gb": 0}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let free = format!("{base}/{}", body["id"]);
    let (s, body) = f.api.patch(&free, json!({"owner_id": dev.id})).await;
    assert_eq!(s, 422, "{body}");
    assert!(body["errors"]["storage_gb"]
        .as_str()
        .unwrap()
        .contains("50 of 50"));
    // acme's 100 GB cover a1x two levels down: 50 used; another instance of 49 and
    // a resize of one GB more fill it; one more is refused, on the page too.
    let (s, body) = f
        .api
        .post(
            &instances(&t.a2),
            json!({"name": "fill", "cloud_id": cloud, "storage_gb": 48, "memory_gb": 0}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(f.api.patch(&free, json!({"storage_gb": 2})).await.0, 200);
    let (s, body) = f.api.patch(&free, json!({"storage_gb": 3})).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["errors"]["storage_gb"],
        "Storage 100 of 100 GB used (the limit of Tenant acme, above this tenant); this instance needs 1 GB more."
    );
    let id = free.rsplit('/').next().unwrap().to_string();
    let r = f
        .admin
        .post_form(
            &format!("/tenants/{}/instances/{id}", t.a1x.id),
            &[
                ("name", "free"),
                ("cloud_id", &cloud.to_string()),
                ("storage_gb", "3"),
                ("memory_gb", "0"),
                ("status", "running"),
            ],
        )
        .await;
    assert_eq!(status(&r), 422);
    assert!(field_error(&r.text().await.unwrap(), "storage_gb")
        .unwrap()
        .contains("100 of 100 GB used"));
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT storage_gb FROM tenant_subtree_totals WHERE tenant_id = {}",
                t.acme.id
            )
        )
        .await,
        100
    );
}

#[tokio::test]
async fn a_viewer_posts_nothing_into_resources() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let t = &f.tree;
    let id = vm(&f.api, &t.a1, "web", f.ids["a1-private"], 1, 1).await;
    let resolver = {
        let (s, r) = f
            .api
            .post(
                &format!("/api/v1/tenants/{}/resolvers", t.a1.id),
                json!({"name": "dns", "address": "192.0.2.53"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        r["id"].as_i64().unwrap()
    };
    let viewer = app.user(&t.acme, "viewer").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    let browser = browser_as(&app, "acme\\viewer").await;
    let snapshot = || {
        let app = &app;
        async move {
            db(app)
                .await
                .query_one(
                    "SELECT (SELECT count(*) FROM clouds) + (SELECT count(*) FROM instances) \
                     + (SELECT count(*) FROM resolvers) + (SELECT count(*) FROM devices) \
                     + (SELECT count(*) FROM subnets) + (SELECT count(*) FROM audit_events)",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    let api = Api::new(&app, Some(&token_for(&app, &viewer, false).await));
    let before = snapshot().await;
    let a1 = t.a1.id;
    let cloud = f.ids["a1-private"];
    let cloud_form = [
        ("name", "x"),
        ("provider", "aws"),
        ("visibility", "private"),
    ];
    let instance_form = [
        ("name", "x"),
        ("cloud_id", "0"),
        ("storage_gb", "1"),
        ("memory_gb", "1"),
    ];
    let resolver_id = resolver.to_string();
    let device_form = [
        ("name", "x"),
        ("identifier", "x-1"),
        ("resolver_id", resolver_id.as_str()),
    ];
    let subnet_form = [
        ("cidr", "10.0.0.0/24"),
        ("resolver_id", resolver_id.as_str()),
    ];
    let posts: Vec<(String, &[(&str, &str)])> = vec![
        (format!("/tenants/{a1}/clouds/new"), &cloud_form[..]),
        (format!("/tenants/{a1}/clouds/{cloud}"), &cloud_form[..]),
        (
            format!("/tenants/{a1}/clouds/{cloud}/delete"),
            &[("confirm", "yes")][..],
        ),
        (format!("/tenants/{a1}/instances/new"), &instance_form[..]),
        (format!("/tenants/{a1}/instances/{id}"), &instance_form[..]),
        (
            format!("/tenants/{a1}/instances/{id}/delete"),
            &[("confirm", "yes")][..],
        ),
        (
            format!("/tenants/{a1}/resolvers/new"),
            &[("name", "x"), ("address", "192.0.2.1")][..],
        ),
        (
            format!("/tenants/{a1}/resolvers/{resolver}/delete"),
            &[("confirm", "yes")][..],
        ),
        (format!("/tenants/{a1}/devices/new"), &device_form[..]),
        (format!("/tenants/{a1}/subnets/new"), &subnet_form[..]),
    ];
    for (path, fields) in &posts {
        let r = browser.post_form(path, fields).await;
        assert_eq!(status(&r), 403, "{path}");
        let r = browser.post_hx(path, fields).await;
        assert_eq!(status(&r), 403, "htmx {path}");
    }
    // Reading is theirs: the pages open.
    for page in ["clouds", "instances", "resolvers"] {
        let r = browser.get(&format!("/tenants/{a1}/{page}")).await;
        assert_eq!(status(&r), 200, "{page}");
    }
    // The API with the viewer's token.
    let b = format!("/api/v1/tenants/{a1}");
    for (path, body) in [
        (
            format!("{b}/clouds"),
            json!({"name": "x", "provider": "aws"}),
        ),
        (
            format!("{b}/instances"),
            json!({"name": "x", "cloud_id": cloud, "storage_gb": 1, "memory_gb": 1}),
        ),
        (
            format!("{b}/resolvers"),
            json!({"name": "x", "address": "192.0.2.1"}),
        ),
    ] {
        assert_eq!(api.post(&path, body).await.0, 403, "{path}");
    }
    assert_eq!(
        api.patch(&format!("{b}/clouds/{cloud}"), json!({"name": "y"}))
            .await
            .0,
        403
    );
    assert_eq!(
        api.patch(&format!("{b}/instances/{id}"), json!({"storage_gb": 2}))
            .await
            .0,
        403
    );
    assert_eq!(api.delete(&format!("{b}/instances/{id}")).await.0, 403);
    assert_eq!(api.delete(&format!("{b}/clouds/{cloud}")).await.0, 403);
    assert_eq!(
        snapshot().await,
        before,
        "a viewer's posts changed something"
    );
}

// ---------------------------------------------------------------- deleting a sharer

/// A sub-tenant moved out with its instance left on the old reseller's shared cloud
/// (data from before moves refused that, made here in the database): the
/// reseller's delete is refused, safe or forced, on every path (409, naming the
/// cloud, the other tenant only to whoever sees it), nothing is deleted; once the
/// instance is gone it goes through.
#[tokio::test]
async fn a_tenant_whose_cloud_runs_other_tenants_instances_is_not_deleted() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let t = &f.tree;
    let vm_id = vm(&f.api, &t.a2, "kept", f.ids["root-public"], 10, 2).await;
    let (s, body) = f.api.move_tenant(t.a2.id, t.globex.id).await;
    assert_eq!(s, 200, "{body}");
    db(&app)
        .await
        .execute(
            "UPDATE instances SET cloud_id = $1 WHERE id = $2",
            &[&f.ids["acme-public"], &vm_id],
        )
        .await
        .unwrap();
    let path = format!("/api/v1/tenants/{}", t.acme.id);

    for force in ["false", "true"] {
        let (s, body) = f.api.delete(&format!("{path}?force={force}")).await;
        assert_eq!(s, 409, "force={force}: {body}");
        let blockers = body["blockers"].as_array().unwrap();
        let shared: Vec<_> = blockers
            .iter()
            .filter(|b| b["kind"] == "shared_clouds")
            .collect();
        assert_eq!(shared.len(), 1, "{body}");
        assert_eq!(shared[0]["count"], 1);
        let message = shared[0]["message"].as_str().unwrap();
        assert!(message.contains("acme-public"), "{message}");
        // The root's administrator sees a2: told where to go.
        assert!(
            message.contains(&format!("delete it in {} first", t.a2.name)),
            "{message}"
        );
        if force == "true" {
            assert_eq!(blockers.len(), 1, "only what stops a force delete: {body}");
            assert!(
                !body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("or force the delete"),
                "{body}"
            );
        }
    }
    for atomic in [false, true] {
        let (s, body) = f
            .api
            .post(
                "/api/v1/tenants/batch",
                json!({"atomic": atomic, "operations": [
                    {"op": "delete", "id": t.acme.id, "force": true},
                ]}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["results"][0]["status"], 409, "{body}");
    }
    // The page: the blocker, no force form; a forced post anyway is refused.
    let html = f
        .admin
        .get_html(&format!("/tenants/{}/delete", t.acme.id))
        .await;
    assert!(html.contains("data-kind=\"shared_clouds\""), "{html}");
    assert!(!html.contains("id=\"force-delete\""), "{html}");
    let r = f
        .admin
        .post_form(
            &format!("/tenants/{}/delete", t.acme.id),
            &[("force", "true"), ("confirm", &t.acme.subdomain)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(app.reload(&t.acme).await.is_some());

    // The other tenant deletes its instance: the force delete goes through.
    let (s, body) = f.api.delete(&format!("{}/{vm_id}", instances(&t.a2))).await;
    assert!(s == 204 || s == 200, "{s}: {body}");
    let (s, body) = f.api.delete(&format!("{path}?force=true")).await;
    assert!(s == 204 || s == 200, "{s}: {body}");
    assert!(app.reload(&t.acme).await.is_none());
}
