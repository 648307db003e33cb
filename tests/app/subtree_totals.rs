//! The maintained subtree totals (`tenant_subtree_totals`: tenants, disabled tenants,
//! users and instances of each tenant's whole subtree) against a plain recount over
//! the tree, with each tenant's number of children. Random sequences of operations — tenants created (alone, in sets,
//! disabled), enabled and disabled (alone and with their subtree), moved, safely
//! and forcibly deleted; users created, deleted and moved to another home; instances
//! created, deleted and moved; several of these in one transaction — run through the
//! service layer where there is one and as plain SQL where there is not (instances,
//! a change of home), and after every step the stored totals must equal the recount,
//! as must the per-tenant counters and what the dashboard and the Tenants list show.
//! Then the same while moves, creates, deletes and flips run at once from several
//! connections.

use crate::helpers::*;
use diesel_async::AsyncConnection;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use tenantry::db::models::tenant::{ListQuery, SortKey, TenantFields};
use tenantry::db::models::user::NewUser;
use tenantry::db::models::{Tenant, Visibility};
use tenantry::error::AppError;
use tenantry::services::tenants::tree::{self as service, NewTenant};
use tenantry::services::Actor;

type Conn = diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection>;

/// Tenant id → [tenants, disabled, users, instances] of its subtree, and its children.
type Totals = BTreeMap<i64, [i64; 5]>;

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Totals {
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), [r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)]))
        .collect()
}

/// What is stored.
async fn maintained(client: &tokio_postgres::Client) -> Totals {
    rows(
        client,
        "SELECT tenant_id, tenant_count, disabled_count, user_count, instance_count, \
         child_count FROM tenant_subtree_totals",
    )
    .await
}

/// The plain recount: every tenant, user and instance counted once for each tenant
/// on its tenant's path; children by their parent link.
async fn recounted(client: &tokio_postgres::Client) -> Totals {
    rows(
        client,
        "SELECT a.id, count(*)::int8, (count(*) FILTER (WHERE NOT t.enabled))::int8, \
                coalesce(sum((SELECT count(*) FROM users u WHERE u.tenant_id = t.id)), 0)::int8, \
                coalesce(sum((SELECT count(*) FROM instances i WHERE i.tenant_id = t.id)), 0)::int8, \
                (SELECT count(*) FROM tenants c WHERE c.parent_id = a.id) \
         FROM tenants t JOIN tenant_paths p ON p.tenant_id = t.id, unnest(p.path) AS a(id) \
         GROUP BY a.id",
    )
    .await
}

async fn assert_exact(app: &TestApp, step: &str) {
    let client = db(app).await;
    // One snapshot for both reads: a change committing between them (a creation that
    // waited for a move) would otherwise be in one and not the other.
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let expected = recounted(&client).await;
    let stored = maintained(&client).await;
    if stored != expected {
        let wrong: Vec<_> = expected
            .iter()
            .filter(|(id, v)| stored.get(id) != Some(v))
            .map(|(id, v)| (id, v, stored.get(id)))
            .collect();
        let extra: Vec<_> = stored
            .keys()
            .filter(|id| !expected.contains_key(id))
            .collect();
        panic!("after {step}: totals differ (id, recount, stored): {wrong:?}; rows of no tenant: {extra:?}");
    }
    let own_wrong: i64 = client
        .query_one(
            "SELECT count(*) FROM tenants t WHERE \
               t.user_count <> (SELECT count(*) FROM users u WHERE u.tenant_id = t.id) \
               OR t.instance_count <> (SELECT count(*) FROM instances i WHERE i.tenant_id = t.id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(own_wrong, 0, "after {step}: per-tenant counters differ");
}

/// The dashboard's cards and the Tenants list's subtree columns below `x` show the recount.
async fn assert_pages_agree(app: &TestApp, conn: &mut Conn, x: i64, step: &str) {
    let client = db(app).await;
    let expected = recounted(&client).await;
    let tenant = Tenant::find(conn, x).await.unwrap();
    let [tenants, disabled, users, instances, _] = expected[&x];
    let totals = Tenant::totals(conn, &tenant, &Visibility::All)
        .await
        .unwrap();
    assert_eq!(
        (
            totals.subtenants,
            totals.disabled,
            totals.users,
            totals.instances
        ),
        (
            tenants - 1,
            disabled - i64::from(!tenant.enabled),
            users,
            instances
        ),
        "after {step}: dashboard of {x}"
    );
    let query = ListQuery {
        within: tenant,
        visibility: Visibility::All,
        filter: Default::default(),
        sort: SortKey::Users,
        descending: true,
        page: 1,
        per_page: 10_000,
    };
    let (listed, _) = Tenant::list(conn, &query).await.unwrap();
    for row in listed {
        let [_, _, users, instances, _] = expected[&row.id];
        if row.can_have_subtenants {
            assert_eq!(
                (row.subtree_users, row.subtree_instances),
                (users, instances),
                "after {step}: list row {}",
                row.id
            );
        }
    }
}

fn fields(subdomain: String, resellers: bool, enabled: bool) -> TenantFields {
    TenantFields {
        name: format!("T {subdomain}"),
        subdomain,
        description: String::new(),
        custom_domain: None,
        can_have_subtenants: resellers,
        enabled,
        tenant_role_id: None,
        labels: None,
        monthly_query_quota: None,
        limits: Default::default(),
        max_users: None,
        plan_id: None,
    }
}

/// Ids of what is stored, for picking.
async fn ids(client: &tokio_postgres::Client, sql: &str) -> Vec<i64> {
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn insert_user(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: i64,
    name: &str,
) -> diesel::QueryResult<()> {
    NewUser {
        tenant_id: tenant,
        username: name,
        email: "",
        first_name: "",
        last_name: "",
        password_hash: password_hash(),
    }
    .insert(conn)
    .await
    .map(|_| ())
}

/// One statement with one bigint parameter, on a diesel connection (in its transaction).
async fn sql(
    conn: &mut diesel_async::AsyncPgConnection,
    statement: &str,
    id: i64,
) -> diesel::QueryResult<usize> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(statement)
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(conn)
        .await
}

async fn run_seed(app: &TestApp, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut conn = app.conn().await;
    let client = db(app).await;
    let actor = Actor::system("totals");
    let admin = app.principal(&app.admin).await;
    let allow = |_: &Tenant| Ok(());
    let allow_move = |_: &Tenant, _: &Tenant, _: &Tenant| Ok(());
    let allow_delete = |_: &Tenant, _: &Tenant| Ok(());
    let allow_edit = |_: &Tenant, _: Option<&Tenant>| Ok(());
    let mut n = 0;
    let mut name = || {
        n += 1;
        format!("s{seed}-{n}")
    };
    for step_no in 0..steps {
        let tenants = ids(&client, "SELECT id FROM tenants ORDER BY id").await;
        let resellers = ids(
            &client,
            "SELECT id FROM tenants WHERE can_have_subtenants ORDER BY id",
        )
        .await;
        let non_root: Vec<i64> = tenants
            .iter()
            .copied()
            .filter(|t| *t != app.root.id)
            .collect();
        let users = ids(
            &client,
            &format!(
                "SELECT id FROM users WHERE id <> {} ORDER BY id",
                app.admin.id
            ),
        )
        .await;
        let instances = ids(&client, "SELECT id FROM instances ORDER BY id").await;
        let x = *tenants.choose(&mut rng).unwrap();
        let label = match rng.gen_range(0..100) {
            0..=14 => {
                let parent = Tenant::find(&mut conn, *resellers.choose(&mut rng).unwrap())
                    .await
                    .unwrap();
                let f = fields(name(), rng.gen_bool(0.6), rng.gen_bool(0.8));
                service::create(&mut conn, &actor, &parent, f, &allow)
                    .await
                    .unwrap();
                format!("create under {}", parent.id)
            }
            15..=19 => {
                let items: Vec<NewTenant> = (0..3)
                    .map(|_| NewTenant {
                        parent_id: *resellers.choose(&mut rng).unwrap(),
                        fields: fields(name(), true, rng.gen_bool(0.7)),
                        unread: Default::default(),
                    })
                    .collect();
                for r in service::create_many(&mut conn, &actor, items, &allow)
                    .await
                    .unwrap()
                {
                    r.unwrap();
                }
                "create a set".into()
            }
            20..=34 => {
                insert_user(&mut conn, x, &name()).await.unwrap();
                format!("user created in {x}")
            }
            35..=41 => {
                let Some(&id) = users.choose(&mut rng) else {
                    continue;
                };
                let home: i64 = client
                    .query_one("SELECT tenant_id FROM users WHERE id = $1", &[&id])
                    .await
                    .unwrap()
                    .get(0);
                let tenant = Tenant::find(&mut conn, home).await.unwrap();
                let target = tenantry::db::models::User::find_in_tenant(&mut conn, home, id)
                    .await
                    .unwrap()
                    .unwrap();
                tenantry::services::users::delete(&mut conn, &admin, &actor, &tenant, &target)
                    .await
                    .unwrap();
                format!("user {id} deleted")
            }
            42..=46 => {
                let Some(&id) = users.choose(&mut rng) else {
                    continue;
                };
                client
                    .execute(
                        "UPDATE users SET tenant_id = $1, username = 'moved-' || id WHERE id = $2",
                        &[&x, &id],
                    )
                    .await
                    .unwrap();
                format!("user {id} moved home to {x}")
            }
            47..=56 => {
                client
                    .execute(
                        "INSERT INTO instances (tenant_id, name) VALUES ($1, 'vm')",
                        &[&x],
                    )
                    .await
                    .unwrap();
                format!("instance created in {x}")
            }
            57..=61 => {
                let Some(&id) = instances.choose(&mut rng) else {
                    continue;
                };
                client
                    .execute("DELETE FROM instances WHERE id = $1", &[&id])
                    .await
                    .unwrap();
                format!("instance {id} deleted")
            }
            62..=64 => {
                let Some(&id) = instances.choose(&mut rng) else {
                    continue;
                };
                client
                    .execute(
                        "UPDATE instances SET tenant_id = $1 WHERE id = $2",
                        &[&x, &id],
                    )
                    .await
                    .unwrap();
                format!("instance {id} moved to {x}")
            }
            65..=71 => {
                let Some(&id) = non_root.choose(&mut rng) else {
                    continue;
                };
                let enabled = rng.gen_bool(0.5);
                service::set_enabled(&mut conn, &actor, id, enabled, &|_, _| Ok(()))
                    .await
                    .unwrap();
                format!("{id} enabled: {enabled}")
            }
            72..=74 => {
                let Some(&id) = non_root.choose(&mut rng) else {
                    continue;
                };
                let enabled = rng.gen_bool(0.5);
                service::set_enabled_subtree(
                    &mut conn,
                    &actor,
                    id,
                    enabled,
                    &allow_edit,
                    &|_, _| Ok(()),
                )
                .await
                .unwrap();
                format!("{id} and its subtree enabled: {enabled}")
            }
            75..=84 => {
                let Some(&id) = non_root.choose(&mut rng) else {
                    continue;
                };
                let to = *resellers.choose(&mut rng).unwrap();
                match service::move_tenant(
                    &mut conn,
                    &actor,
                    id,
                    to,
                    &allow_move,
                    &|_, _| Ok(()),
                    &|_| true,
                    chrono::Utc::now(),
                )
                .await
                {
                    // Under itself or below it: refused, nothing changed.
                    Ok(_) | Err(AppError::Validation(_)) => {}
                    Err(e) => panic!("move {id} under {to}: {e:?}"),
                }
                format!("move {id} under {to}")
            }
            85..=89 => {
                let Some(&id) = non_root.choose(&mut rng) else {
                    continue;
                };
                match service::delete(
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
                .await
                {
                    Ok(_) | Err(AppError::DeleteBlocked(_)) => {}
                    Err(e) => panic!("safe delete {id}: {e:?}"),
                }
                format!("safe delete {id}")
            }
            90..=93 => {
                let Some(&id) = non_root.choose(&mut rng) else {
                    continue;
                };
                service::delete(
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
                .await
                .unwrap();
                format!("force delete {id}")
            }
            _ => {
                // One transaction: a user, an instance and a flip in `x`, then its
                // subtree (or an ancestor's) moved or deleted. The counts of the
                // first three are taken at commit, on the paths as they are then.
                let tenant = Tenant::find(&mut conn, x).await.unwrap();
                let Some(&a) = tenant.path[1..].choose(&mut rng) else {
                    continue;
                };
                let delete = rng.gen_bool(0.4);
                let to = *resellers.choose(&mut rng).unwrap();
                let user = name();
                let flip = !tenant.enabled;
                conn.transaction::<_, diesel::result::Error, _>(async |c| {
                    insert_user(c, x, &user).await?;
                    sql(
                        c,
                        "INSERT INTO instances (tenant_id, name) VALUES ($1, 'vm')",
                        x,
                    )
                    .await?;
                    Tenant::set_enabled(c, x, flip).await?;
                    let moving = Tenant::find(c, a).await?;
                    if delete {
                        Tenant::delete_subtree(c, &moving).await?;
                    } else {
                        let parent = Tenant::find(c, to).await?;
                        if !parent.is_within(a) {
                            Tenant::move_subtree(c, &moving, &parent).await?;
                        }
                    }
                    Ok(())
                })
                .await
                .unwrap();
                format!(
                    "in one transaction: user, instance and flip in {x}, then {} {a}",
                    if delete { "delete" } else { "move" }
                )
            }
        };
        let step = format!("seed {seed} step {step_no}: {label}");
        assert_exact(app, &step).await;
        if step_no % 5 == 0 {
            let tenants = ids(&client, "SELECT id FROM tenants ORDER BY id").await;
            let x = *tenants.choose(&mut rng).unwrap();
            assert_pages_agree(app, &mut conn, x, &step).await;
        }
    }
}

#[tokio::test]
async fn maintained_totals_equal_a_recount_after_random_operations() {
    let app = spawn_app().await;
    assert_exact(&app, "bootstrap").await;
    for seed in 1..=3 {
        run_seed(&app, seed, 200).await;
    }
    assert_pages_agree(&app, &mut app.conn().await, app.root.id, "the end").await;
}

/// Whether an error is the "try again" of a lock wait (timeout or deadlock).
fn busy(e: &AppError) -> bool {
    matches!(e, AppError::Busy)
}

#[tokio::test]
async fn maintained_totals_stay_exact_under_concurrent_changes() {
    let app = spawn_app().await;
    let partner = |s: &str| fields(s.into(), true, true);
    let mut conn = app.conn().await;
    let actor = Actor::system("totals");
    let allow = |_: &Tenant| Ok(());
    let a = service::create(&mut conn, &actor, &app.root, partner("a"), &allow)
        .await
        .unwrap();
    let b = service::create(&mut conn, &actor, &a, partner("b"), &allow)
        .await
        .unwrap();
    let c = service::create(&mut conn, &actor, &app.root, partner("c"), &allow)
        .await
        .unwrap();
    let mut leaves = Vec::new();
    for i in 0..4 {
        leaves.push(
            service::create(
                &mut conn,
                &actor,
                &b,
                fields(format!("l{i}"), false, true),
                &allow,
            )
            .await
            .unwrap()
            .id,
        );
    }
    drop(conn);
    let pool = tenantry::db::pool(&app.db_url, 6).unwrap();
    let mut tasks = Vec::new();
    // Moves b (with the leaves) between a and c.
    {
        let pool = pool.clone();
        let (b, a, c) = (b.id, a.id, c.id);
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let actor = Actor::system("mover");
            let allow = |_: &Tenant, _: &Tenant, _: &Tenant| Ok(());
            for round in 0..20 {
                let to = if round % 2 == 0 { c } else { a };
                match service::move_tenant(
                    &mut conn,
                    &actor,
                    b,
                    to,
                    &allow,
                    &|_, _| Ok(()),
                    &|_| true,
                    chrono::Utc::now(),
                )
                .await
                {
                    Ok(_) => {}
                    Err(e) if busy(&e) => {}
                    Err(e) => panic!("move: {e:?}"),
                }
            }
        }));
    }
    // Users and instances created and deleted in the leaves and in b.
    for worker in 0..3 {
        let pool = pool.clone();
        let mut places = leaves.clone();
        places.push(b.id);
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let mut rng = StdRng::seed_from_u64(worker);
            for i in 0..40 {
                let at = *places.choose(&mut rng).unwrap();
                let name = format!("w{worker}-{i}");
                let r = conn
                    .transaction::<_, diesel::result::Error, _>(async |c| {
                        tenantry::db::set_lock_timeout(c).await?;
                        insert_user(c, at, &name).await?;
                        sql(
                            c,
                            "INSERT INTO instances (tenant_id, name) VALUES ($1, 'vm')",
                            at,
                        )
                        .await?;
                        if i % 3 == 0 {
                            sql(
                                c,
                                "DELETE FROM users WHERE id = (SELECT min(id) FROM users \
                                 WHERE username LIKE 'w%' AND tenant_id = $1)",
                                at,
                            )
                            .await?;
                        }
                        Ok(())
                    })
                    .await;
                if let Err(e) = r {
                    assert!(
                        tenantry::db::transaction::is_busy(&e),
                        "worker {worker}: {e:?}"
                    );
                }
            }
        }));
    }
    // Leaves disabled and enabled.
    {
        let pool = pool.clone();
        let leaves = leaves.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let actor = Actor::system("flipper");
            for i in 0..30 {
                let id = leaves[i % leaves.len()];
                match service::set_enabled(&mut conn, &actor, id, i % 2 == 1, &|_, _| Ok(())).await
                {
                    Ok(_) => {}
                    Err(e) if busy(&e) => {}
                    Err(e) => panic!("flip: {e:?}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_exact(&app, "concurrent moves, creates, deletes and flips").await;
}

/// A user created below a subtree while the subtree is being moved waits for the
/// move (the tree protocol's locks, taken by the counting trigger) and is counted on
/// the path it lands on, not on the one its tenant is leaving.
#[tokio::test]
async fn a_user_created_below_a_subtree_being_moved_counts_where_the_subtree_lands() {
    let app = spawn_app().await;
    let a = app.tenant(&app.root, "a", true).await;
    let c = app.tenant(&app.root, "c", true).await;
    let m = app.tenant(&a, "m", true).await;
    let leaf = app.tenant(&m, "leaf", false).await;
    let watcher = db(&app).await;
    let mut mover = app.conn().await;
    let pool = app.pool.clone();
    mover
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            // What the move service holds while it rewrites the paths.
            Tenant::lock(conn, m.id).await?;
            Tenant::move_subtree(conn, &m, &c).await?;
            let creating = tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                insert_user(&mut conn, leaf.id, "late").await.unwrap();
            });
            // Until the creation waits for a lock (or, were it not to wait, is done).
            for _ in 0..100 {
                let waiting: i64 = lock_waiters(&watcher).await;
                if waiting > 0 || creating.is_finished() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert!(
                !creating.is_finished(),
                "the creation must wait for the move"
            );
            Ok(())
        })
        .await
        .unwrap();
    assert_exact(&app, "a user created during a move").await;
    let client = db(&app).await;
    let users_of = |id: i64| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT user_count FROM tenant_subtree_totals WHERE tenant_id = $1",
                    &[&id],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    // The creation finishes once the move has committed.
    for _ in 0..100 {
        if users_of(c.id).await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_exact(&app, "a user created during a move, committed").await;
    assert_eq!((users_of(a.id).await, users_of(c.id).await), (0, 1));
}

/// Tenants enabled and disabled many at once — a subtree with its top (the single
/// form's "this tenant and all its sub-tenants"), the bulk bar's selection with and
/// without their subtrees — count exactly once each in the totals of every tenant
/// above them, and the dashboard and the list show it.
#[tokio::test]
async fn cascade_and_bulk_enable_and_disable_keep_the_totals_exact() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let a1y = app.tenant(&t.a1, "a1y", true).await;
    let a1yz = app.tenant(&a1y, "a1yz", false).await;
    Tenant::set_enabled(&mut *app.conn().await, a1yz.id, false)
        .await
        .unwrap();
    app.user(&a1yz, "zed").await;
    app.user(&t.a2, "ann").await;
    assert_exact(&app, "setup").await;
    app.login_admin().await;
    let client = db(&app).await;
    let disabled_below = |id: i64| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT disabled_count FROM tenant_subtree_totals WHERE tenant_id = $1",
                    &[&id],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    let mut conn = app.conn().await;
    let acme = t.acme.id.to_string();

    // acme and its five sub-tenants (one of them disabled already).
    let r = app
        .post_form(
            &format!("/tenants/{acme}/disable"),
            &[("scope", "subtree"), ("confirm", "yes")],
        )
        .await;
    assert!(status(&r) < 400, "{}", r.text().await.unwrap());
    assert_exact(&app, "acme disabled with its subtree").await;
    assert_eq!(disabled_below(app.root.id).await, 6);
    assert_pages_agree(&app, &mut conn, app.root.id, "acme disabled").await;
    assert_pages_agree(&app, &mut conn, t.acme.id, "acme disabled").await;

    let r = app
        .post_form(
            &format!("/tenants/{acme}/enable"),
            &[("scope", "subtree"), ("confirm", "yes")],
        )
        .await;
    assert!(status(&r) < 400, "{}", r.text().await.unwrap());
    assert_exact(&app, "acme enabled with its subtree").await;
    assert_eq!(disabled_below(app.root.id).await, 0);

    // The bulk bar: a1 with its subtree and g1 and globex (the subtree above g1).
    let (a1, g1, globex) = (
        t.a1.id.to_string(),
        t.g1.id.to_string(),
        t.globex.id.to_string(),
    );
    let r = app
        .post_form(
            "/tenants/bulk",
            &[
                ("ids", a1.as_str()),
                ("ids", g1.as_str()),
                ("ids", globex.as_str()),
                ("action", "disable"),
                ("scope", "subtree"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status(&r), 200, "{}", r.text().await.unwrap());
    assert_exact(&app, "bulk disable with subtrees").await;
    // a1, a1x, a1y, a1yz; globex, g1.
    assert_eq!(disabled_below(app.root.id).await, 6);
    assert_eq!(disabled_below(t.acme.id).await, 4);
    assert_pages_agree(&app, &mut conn, app.root.id, "bulk disable").await;

    let r = app
        .post_form(
            "/tenants/bulk",
            &[
                ("ids", a1.as_str()),
                ("ids", g1.as_str()),
                ("action", "enable"),
                ("scope", "tenant"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status(&r), 200, "{}", r.text().await.unwrap());
    assert_exact(&app, "bulk enable, each tenant only").await;
    assert_eq!(disabled_below(app.root.id).await, 4);
    assert_pages_agree(&app, &mut conn, t.acme.id, "bulk enable").await;
}

/// A subtree's flags change with one count per tenant above: in the transaction that
/// makes the change, every totals row on the changed paths is updated exactly once —
/// not once per tenant changed (a per-row count updates the root's row once per
/// tenant, which at 100,000 tenants is most of a disable's time).
#[tokio::test]
async fn a_subtree_disable_updates_each_totals_row_once() {
    let app = spawn_app().await;
    let top = app.tenant(&app.root, "top", true).await;
    let mut below = Vec::new();
    for i in 0..4 {
        let mid = app.tenant(&top, &format!("mid{i}"), true).await;
        for j in 0..5 {
            below.push(app.tenant(&mid, &format!("leaf{i}x{j}"), false).await);
        }
    }
    let mut conn = app.conn().await;
    let actor = Actor::system("totals");
    let allow_edit = |_: &Tenant, _: Option<&Tenant>| Ok(());
    // (The counter may hold earlier transactions' updates not yet reported: the
    // difference is this change's.)
    let updated = conn
        .transaction::<_, AppError, _>(async |c| {
            let before = pg_stat_xact_updates(c).await?;
            service::set_enabled_subtree(c, &actor, top.id, false, &allow_edit, &|_, _| Ok(()))
                .await?;
            Ok(pg_stat_xact_updates(c).await? - before)
        })
        .await
        .unwrap();
    // The root, top, 4 middle tenants and 20 leaves: one update each, 25 tenants changed.
    assert_eq!(updated, 26);
    assert_exact(&app, "top disabled with its subtree").await;
}

/// Rows of `tenant_subtree_totals` updated so far in this transaction.
async fn pg_stat_xact_updates(
    conn: &mut diesel_async::AsyncPgConnection,
) -> diesel::QueryResult<i64> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Updated {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Updated = diesel::sql_query(
        "SELECT n_tup_upd AS n FROM pg_stat_xact_user_tables WHERE relname = 'tenant_subtree_totals'",
    )
    .get_result(conn)
    .await?;
    Ok(row.n)
}
