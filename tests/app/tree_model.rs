//! The tree against a reference model. Random creates (one by one and in sets),
//! moves (also into the moved subtree or under a tenant that may not have
//! sub-tenants, which must be refused), safe deletes and force deletes run through
//! the service layer and, side by side, on a plain parent map. After every step the
//! stored parent links and paths must equal the model's; every few steps the
//! subtree counts, the Tenants list (below a tenant, and filtered by a user's
//! visibility), the API's subtree filter and the move-destination search must list
//! exactly what the model says.

use crate::helpers::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use tenantry::db::models::tenant::{ApiListQuery, ListQuery, SortKey, TenantFields};
use tenantry::db::models::{Tenant, Visibility};
use tenantry::error::AppError;
use tenantry::services::tenants::tree::{self as service, NewTenant};
use tenantry::services::Actor;

type Conn = diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection>;

/// The tree as parent links, and which tenants may have sub-tenants.
struct Model {
    root: i64,
    parent: BTreeMap<i64, Option<i64>>,
    may_have_children: BTreeMap<i64, bool>,
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

    /// `id` and every tenant below it.
    fn subtree(&self, id: i64) -> BTreeSet<i64> {
        self.parent
            .keys()
            .copied()
            .filter(|t| self.path(*t).contains(&id))
            .collect()
    }

    fn ids(&self) -> Vec<i64> {
        self.parent.keys().copied().collect()
    }

    fn non_root(&self) -> Vec<i64> {
        self.parent
            .keys()
            .copied()
            .filter(|t| *t != self.root)
            .collect()
    }
}

fn fields(subdomain: String, may_have_children: bool) -> TenantFields {
    TenantFields {
        name: format!("T {subdomain}"),
        subdomain,
        description: String::new(),
        custom_domain: None,
        can_have_subtenants: may_have_children,
        enabled: true,
        tenant_role_id: None,
        labels: None,
        monthly_query_quota: None,
        limits: Default::default(),
        max_users: None,
        plan_id: None,
    }
}

fn is_field_error(e: &AppError, field: &str) -> bool {
    matches!(e, AppError::Validation(errors) if errors.contains_key(field))
}

/// Parent links and paths as stored, for every tenant.
async fn stored(app: &TestApp) -> BTreeMap<i64, (Option<i64>, Vec<i64>)> {
    db(app)
        .await
        .query(
            "SELECT t.id, t.parent_id, p.path FROM tenants t \
             LEFT JOIN tenant_paths p ON p.tenant_id = t.id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let path: Option<Vec<i64>> = r.get(2);
            (r.get(0), (r.get(1), path.unwrap_or_default()))
        })
        .collect()
}

async fn assert_matches_model(app: &TestApp, m: &Model, step: &str) {
    let expected: BTreeMap<i64, (Option<i64>, Vec<i64>)> = m
        .ids()
        .into_iter()
        .map(|id| (id, (m.parent[&id], m.path(id))))
        .collect();
    assert_eq!(stored(app).await, expected, "after {step}");
}

/// Ids on the Tenants page below `within`, filtered by `visibility` (all pages).
async fn listed(conn: &mut Conn, within: &Tenant, visibility: Visibility) -> BTreeSet<i64> {
    let query = ListQuery {
        within: within.clone(),
        visibility,
        filter: Default::default(),
        sort: SortKey::Name,
        descending: false,
        page: 1,
        per_page: 10_000,
    };
    let (rows, total) = Tenant::list(conn, &query).await.unwrap();
    assert_eq!(rows.len() as i64, total, "the count agrees with the rows");
    rows.into_iter().map(|r| r.id).collect()
}

async fn check_queries(conn: &mut Conn, m: &Model, rng: &mut StdRng, step: &str) {
    let ids = m.ids();
    let x = *ids.choose(rng).unwrap();
    let tenant = Tenant::find(conn, x).await.unwrap();
    let subtree = m.subtree(x);

    let counts = Tenant::subtree_counts(conn, x).await.unwrap();
    assert_eq!(
        counts.tenants as usize,
        subtree.len(),
        "{step}: count of {x}"
    );

    let below: BTreeSet<i64> = subtree.iter().copied().filter(|t| *t != x).collect();
    assert_eq!(
        listed(conn, &tenant, Visibility::All).await,
        below,
        "{step}: list below {x}"
    );

    // A user who sees the subtrees of up to two tenants and one single tenant.
    let roots: Vec<i64> = m.non_root().choose_multiple(rng, 2).copied().collect();
    let single = *ids.choose(rng).unwrap();
    let mut visible: BTreeSet<i64> = roots.iter().flat_map(|r| m.subtree(*r)).collect();
    visible.insert(single);
    let root = Tenant::find(conn, m.root).await.unwrap();
    let visibility = Visibility::Within {
        subtree_roots: roots.clone(),
        tenants: vec![single],
    };
    let expected: BTreeSet<i64> = visible.iter().copied().filter(|t| *t != m.root).collect();
    assert_eq!(
        listed(conn, &root, visibility.clone()).await,
        expected,
        "{step}: list for subtrees {roots:?} + {single}"
    );

    // Below x for the same user, and for one who sees the subtree of an ancestor of x
    // (or of x itself): the list may skip the visibility test only in that second case.
    let below_visible: BTreeSet<i64> = below.intersection(&visible).copied().collect();
    assert_eq!(
        listed(conn, &tenant, visibility.clone()).await,
        below_visible,
        "{step}: list below {x} for {roots:?} + {single}"
    );
    for (v, expected) in [
        (Visibility::All, below.len()),
        (visibility.below(&tenant), below_visible.len()),
    ] {
        let totals = Tenant::totals(conn, &tenant, &v).await.unwrap();
        assert_eq!(
            totals.subtenants as usize, expected,
            "{step}: dashboard below {x}"
        );
    }
    let ancestor = *m.path(x).choose(rng).unwrap();
    let covering = Visibility::Within {
        subtree_roots: vec![ancestor],
        tenants: vec![single],
    };
    assert_eq!(
        listed(conn, &tenant, covering).await,
        below,
        "{step}: list below {x} for the subtree of {ancestor}"
    );

    let api: BTreeSet<i64> = Tenant::api_page(
        conn,
        &ApiListQuery {
            visibility,
            filter: Default::default(),
            subtree: Some(x),
            within: None,
            after: None,
            limit: 10_000,
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|t| t.id)
    .collect();
    let both: BTreeSet<i64> = subtree.intersection(&visible).copied().collect();
    assert_eq!(
        api, both,
        "{step}: API subtree {x} for {roots:?} + {single}"
    );

    if x != m.root {
        let found: BTreeSet<i64> =
            Tenant::search_destinations(conn, &Visibility::All, "", Some(x), 10_000)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect();
        let expected: BTreeSet<i64> = ids
            .iter()
            .copied()
            .filter(|t| m.may_have_children[t] && !subtree.contains(t))
            .collect();
        assert_eq!(found, expected, "{step}: destinations for moving {x}");
    }
}

async fn run_seed(app: &TestApp, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut conn = app.conn().await;
    let actor = Actor::system("model");
    let allow = |_: &Tenant| Ok(());
    let allow_move = |_: &Tenant, _: &Tenant, _: &Tenant| Ok(());
    let allow_delete = |_: &Tenant, _: &Tenant| Ok(());
    let root = app.root.id;
    // Earlier seeds leave their tenants: the model starts from what is stored.
    let mut m = Model {
        root,
        parent: BTreeMap::new(),
        may_have_children: BTreeMap::new(),
    };
    for (id, (parent, _)) in stored(app).await {
        let t = Tenant::find(&mut conn, id).await.unwrap();
        m.parent.insert(id, parent);
        m.may_have_children.insert(id, t.can_have_subtenants);
    }
    let mut n = 0;
    let mut name = || {
        n += 1;
        format!("s{seed}-{n}")
    };
    for step in 0..steps {
        let ids = m.ids();
        let label;
        match rng.gen_range(0..100) {
            0..=34 => {
                let parent_id = *ids.choose(&mut rng).unwrap();
                let kids = rng.gen_bool(0.8);
                let parent = Tenant::find(&mut conn, parent_id).await.unwrap();
                let r =
                    service::create(&mut conn, &actor, &parent, fields(name(), kids), &allow).await;
                label = format!("step {step}: create under {parent_id}");
                if m.may_have_children[&parent_id] {
                    let t = r.unwrap_or_else(|e| panic!("{label}: {e:?}"));
                    m.parent.insert(t.id, Some(parent_id));
                    m.may_have_children.insert(t.id, kids);
                } else {
                    assert!(is_field_error(&r.unwrap_err(), "parent_id"), "{label}");
                }
            }
            35..=39 => {
                let items: Vec<NewTenant> = (0..3)
                    .map(|_| NewTenant {
                        parent_id: *ids.choose(&mut rng).unwrap(),
                        fields: fields(name(), true),
                        unread: Default::default(),
                    })
                    .collect();
                label = format!(
                    "step {step}: create a set under {:?}",
                    items.iter().map(|i| i.parent_id).collect::<Vec<_>>()
                );
                let results = service::create_many(&mut conn, &actor, items.clone(), &allow)
                    .await
                    .unwrap_or_else(|e| panic!("{label}: {e:?}"));
                for (item, r) in items.iter().zip(results) {
                    if m.may_have_children[&item.parent_id] {
                        let t = r.unwrap_or_else(|e| panic!("{label}: {e:?}"));
                        m.parent.insert(t.id, Some(item.parent_id));
                        m.may_have_children.insert(t.id, true);
                    } else {
                        assert!(is_field_error(&r.unwrap_err(), "parent_id"), "{label}");
                    }
                }
            }
            40..=74 => {
                let Some(&id) = m.non_root().choose(&mut rng) else {
                    continue;
                };
                // Now and then aim inside the moved subtree, which must be refused.
                let to: i64 = if rng.gen_bool(0.3) {
                    let inside: Vec<i64> = m.subtree(id).into_iter().collect();
                    *inside.choose(&mut rng).unwrap()
                } else {
                    *ids.choose(&mut rng).unwrap()
                };
                label = format!("step {step}: move {id} under {to}");
                let r = service::move_tenant(
                    &mut conn,
                    &actor,
                    id,
                    to,
                    &allow_move,
                    &|_, _| Ok(()),
                    &|_| true,
                    chrono::Utc::now(),
                )
                .await;
                if m.subtree(id).contains(&to) || !m.may_have_children[&to] {
                    let e = r.expect_err(&label);
                    assert!(is_field_error(&e, "parent_id"), "{label}: {e:?}");
                } else {
                    r.unwrap_or_else(|e| panic!("{label}: {e:?}"));
                    m.parent.insert(id, Some(to));
                }
            }
            75..=89 => {
                let Some(&id) = m.non_root().choose(&mut rng) else {
                    continue;
                };
                label = format!("step {step}: safe delete {id}");
                let r = service::delete(
                    &mut conn,
                    &actor,
                    id,
                    false,
                    &tenantry::services::tenants::DeleteScope::new(
                        chrono::Utc::now(),
                        tenantry::db::models::Visibility::All,
                    ),
                    &allow_delete,
                    &|_, _| Ok(()),
                )
                .await;
                if m.subtree(id).len() > 1 {
                    assert!(
                        matches!(r, Err(AppError::DeleteBlocked(_))),
                        "{label}: {r:?}"
                    );
                } else {
                    assert_eq!(r.unwrap_or_else(|e| panic!("{label}: {e:?}")), 1, "{label}");
                    m.parent.remove(&id);
                }
            }
            _ => {
                let Some(&id) = m.non_root().choose(&mut rng) else {
                    continue;
                };
                label = format!("step {step}: force delete {id}");
                let gone = m.subtree(id);
                let r = service::delete(
                    &mut conn,
                    &actor,
                    id,
                    true,
                    &tenantry::services::tenants::DeleteScope::new(
                        chrono::Utc::now(),
                        tenantry::db::models::Visibility::All,
                    ),
                    &allow_delete,
                    &|_, _| Ok(()),
                )
                .await;
                assert_eq!(
                    r.unwrap_or_else(|e| panic!("{label}: {e:?}")),
                    gone.len(),
                    "{label}"
                );
                for t in gone {
                    m.parent.remove(&t);
                }
            }
        }
        assert_matches_model(app, &m, &label).await;
        if step % 5 == 0 {
            check_queries(&mut conn, &m, &mut rng, &label).await;
        }
    }
}

#[tokio::test]
async fn random_tree_operations_agree_with_a_reference_model() {
    let app = spawn_app().await;
    for seed in 1..=4 {
        run_seed(&app, seed, 150).await;
    }
    crate::tree_ops::assert_tree_valid(&app).await;
}
