//! Tree operations: moving a subtree (picker, preview, rights, refusals), safe and
//! force delete with their preview, and the tree staying valid under concurrent
//! opposite moves, deletes and creates.

use crate::helpers::*;
use std::sync::Arc;
use tenantry::db::models::tenant::TenantFields;
use tenantry::db::models::{AuditEvent, Tenant, User};
use tenantry::domain::{GrantRole, Scope};
use tenantry::error::AppError;
use tenantry::services::tenants::tree as service;
use tenantry::services::Actor;

// ---------------------------------------------------------------- helpers

async fn find(app: &TestApp, id: i64) -> Tenant {
    Tenant::find(&mut *app.conn().await, id)
        .await
        .expect("tenant exists")
}

/// The text of the element with this id (up to its closing tag).
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).map_or(0, |i| i + marker.len());
    let end = html[start..].find("</").map_or(html.len(), |i| i + start);
    html[start..end].trim().to_string()
}

/// Every row's path is its parent's path plus its own id, every path starts at the
/// root and holds no id twice (no cycle), and every parent exists (no orphan).
pub async fn assert_tree_valid(app: &TestApp) {
    let client = db(app).await;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count(
            "SELECT count(*) FROM tenants t WHERE NOT EXISTS \
             (SELECT 1 FROM tenant_paths p WHERE p.tenant_id = t.id)"
        )
        .await,
        0,
        "tenants without a path"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM tenants c \
             JOIN tenant_paths cp ON cp.tenant_id = c.id \
             LEFT JOIN tenant_paths pp ON pp.tenant_id = c.parent_id \
             WHERE cp.path IS DISTINCT FROM \
                   CASE WHEN c.parent_id IS NULL THEN ARRAY[c.id] ELSE pp.path || c.id END"
        )
        .await,
        0,
        "tenants whose path is not their parent's path + own id"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM tenants c WHERE c.parent_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM tenants p WHERE p.id = c.parent_id)"
        )
        .await,
        0,
        "orphans"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM tenant_paths t WHERE \
             cardinality(t.path) <> (SELECT count(DISTINCT x) FROM unnest(t.path) x) \
             OR t.path[1] <> (SELECT id FROM tenants WHERE parent_id IS NULL)"
        )
        .await,
        0,
        "paths with a cycle or not starting at the root"
    );
    // Walking parent links up from every tenant reaches the root (no cycle in the links).
    assert_eq!(
        count(
            "WITH RECURSIVE up(id, parent_id, depth) AS ( \
               SELECT id, parent_id, 1 FROM tenants \
               UNION ALL SELECT up.id, p.parent_id, up.depth + 1 FROM up JOIN tenants p ON p.id = up.parent_id \
               WHERE up.depth < 10000) \
             SELECT count(*) FROM up WHERE depth >= 10000"
        )
        .await,
        0,
        "parent links that loop"
    );
}

/// A move as the system, every right granted: these tests are about the tree.
async fn move_unchecked(
    conn: &mut diesel_async::AsyncPgConnection,
    id: i64,
    dest: i64,
) -> Result<Tenant, AppError> {
    service::move_tenant(
        conn,
        &Actor::system("test"),
        id,
        dest,
        &|_, _, _| Ok(()),
        &|_, _| Ok(()),
        &|_| true,
        chrono::Utc::now(),
    )
    .await
    .map(|moved| moved.value)
}

/// A pooled connection, waiting as long as it takes (hundreds of tasks share the pool).
async fn checkout(
    pool: &tenantry::db::DbPool,
) -> diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection> {
    loop {
        match pool.get().await {
            Ok(conn) => return conn,
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

fn fields(subdomain: &str, subtenants: bool) -> TenantFields {
    TenantFields {
        name: format!("Tenant {subdomain}"),
        subdomain: subdomain.into(),
        description: String::new(),
        custom_domain: None,
        can_have_subtenants: subtenants,
        enabled: true,
        tenant_role_id: None,
        labels: None,
        monthly_query_quota: None,
        limits: Default::default(),
        max_users: None,
        plan_id: None,
    }
}

// ---------------------------------------------------------------- move (console)

#[tokio::test]
async fn moving_a_subtree_with_picker_preview_and_confirm() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let user = app.user(&t.a1x, "xavier").await;
    // A grant on acme (sub-tenant scope) reaches a1 now, and will not after the move.
    let viewer = app.user(&app.root, "vicky").await;
    app.grant(&viewer, &t.acme, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    app.login_admin().await;

    let show = app.get_html(&format!("/tenants/{}", t.a1.id)).await;
    assert!(
        show.contains(&format!("/tenants/{}/move", t.a1.id)),
        "{show}"
    );

    // The picker: the switcher's search, narrowed to possible destinations.
    let page = app.get_html(&format!("/tenants/{}/move", t.a1.id)).await;
    assert!(page.contains("hx-get=\"/tenants/"), "{page}");
    let fragment = app
        .get_hx(&format!("/tenants/{}/move?q=Tenant", t.a1.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(!fragment.contains("<html"), "a fragment: {fragment}");
    assert!(fragment.contains(&format!("value=\"{}\"", t.globex.id)));
    for excluded in [&t.a1, &t.a1x, &t.a2, &t.g1, &t.acme] {
        // Itself, below itself, no sub-tenants allowed, or the current parent.
        assert!(
            !fragment.contains(&format!("value=\"{}\"", excluded.id)),
            "{} offered: {fragment}",
            excluded.subdomain
        );
    }
    // Without JavaScript: the same search as a full page.
    let page = app
        .get_html(&format!("/tenants/{}/move?q=globex", t.a1.id))
        .await;
    assert!(page.contains(&format!("value=\"{}\"", t.globex.id)));

    // The preview: what moves and what changes.
    let preview = app
        .get_html(&format!(
            "/tenants/{}/move?parent_id={}",
            t.a1.id, t.globex.id
        ))
        .await;
    assert_eq!(text_of(&preview, "impact-tenants"), "2", "{preview}");
    assert_eq!(text_of(&preview, "impact-users"), "1");
    assert!(text_of(&preview, "impact-grants-lost").starts_with('1'));
    assert!(text_of(&preview, "impact-grants-gained").starts_with('0'));
    assert!(preview.contains("The moved tenants inherit the same policies as before."));
    assert!(preview.contains("name=\"parent_id\""));
    // Nothing moved yet.
    assert_eq!(find(&app, t.a1.id).await.parent_id, Some(t.acme.id));

    let globex = t.globex.id.to_string();
    let r = app
        .post_form(
            &format!("/tenants/{}/move", t.a1.id),
            &[("parent_id", &globex)],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", t.a1.id));
    let a1 = find(&app, t.a1.id).await;
    assert_eq!(a1.parent_id, Some(t.globex.id));
    assert_eq!(a1.path, vec![app.root.id, t.globex.id, t.a1.id]);
    assert_eq!(
        find(&app, t.a1x.id).await.path,
        vec![app.root.id, t.globex.id, t.a1.id, t.a1x.id]
    );
    assert_eq!(find(&app, t.a2.id).await.path, t.a2.path, "others stay");
    assert!(
        User::find_with_tenant(&mut *app.conn().await, user.id)
            .await
            .unwrap()
            .is_some(),
        "users move with their tenant"
    );
    let actions = AuditEvent::actions_for_tenant(&mut *app.conn().await, t.a1.id)
        .await
        .unwrap();
    assert_eq!(actions[0], "tenant.move");
    assert_tree_valid(&app).await;

    // The acme viewer no longer reaches a1.
    let vicky = browser_as(&app, "vicky").await;
    assert_eq!(
        status(&vicky.get(&format!("/tenants/{}", t.a1.id)).await),
        404
    );
}

#[tokio::test]
async fn moves_under_itself_a_descendant_or_a_leaf_are_refused() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    app.login_admin().await;
    for (dest, why) in [
        (&t.a1, "itself"),
        (&t.a1x, "sub-tenants"),
        (&t.g1, "may not have sub-tenants"),
    ] {
        let id = dest.id.to_string();
        let r = app
            .post_form(&format!("/tenants/{}/move", t.a1.id), &[("parent_id", &id)])
            .await;
        assert_eq!(status(&r), 422, "under {}", dest.subdomain);
        let html = r.text().await.unwrap();
        let e = field_error(&html, "parent_id").unwrap_or_default();
        assert!(e.contains(why), "{e}");
        // The preview refuses the same way.
        let r = app
            .get(&format!("/tenants/{}/move?parent_id={id}", t.a1.id))
            .await;
        assert_eq!(status(&r), 422);
    }
    for bad in ["", "nope", "999999"] {
        let r = app
            .post_form(&format!("/tenants/{}/move", t.a1.id), &[("parent_id", bad)])
            .await;
        assert_eq!(status(&r), 422, "parent_id={bad}");
    }
    // The root never moves.
    let acme = t.acme.id.to_string();
    let r = app
        .post_form(
            &format!("/tenants/{}/move", app.root.id),
            &[("parent_id", &acme)],
        )
        .await;
    assert_eq!(status(&r), 403);
    assert_eq!(
        status(&app.get(&format!("/tenants/{}/move", app.root.id)).await),
        403
    );
    assert_eq!(find(&app, t.a1.id).await.path, t.a1.path);
    assert!(find(&app, app.root.id).await.parent_id.is_none());
    assert_tree_valid(&app).await;
}

#[tokio::test]
async fn moving_needs_owner_over_the_parent_and_managing_the_destination() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    // Olga: Owner of acme's subtree (manages) and Viewer of globex's subtree.
    let olga = app.user(&t.acme, "olga").await;
    app.grant(&olga, &t.acme, GrantRole::Owner, Scope::Subtree, true)
        .await;
    app.grant(&olga, &t.globex, GrantRole::Viewer, Scope::Subtree, false)
        .await;
    // Adam: Administrator of acme's subtree (manages, but does not own).
    let adam = app.user(&t.acme, "adam").await;
    app.grant(
        &adam,
        &t.acme,
        GrantRole::Administrator,
        Scope::Subtree,
        true,
    )
    .await;
    let olga = browser_as(&app, "acme\\olga").await;
    let adam = browser_as(&app, "acme\\adam").await;

    // Olga may move a2 under a1 (both hers)...
    let a1 = t.a1.id.to_string();
    let r = olga
        .post_form(&format!("/tenants/{}/move", t.a2.id), &[("parent_id", &a1)])
        .await;
    assert_eq!(status(&r), 303);
    assert_eq!(find(&app, t.a2.id).await.parent_id, Some(t.a1.id));
    // ...but not under globex, which she only views.
    let globex = t.globex.id.to_string();
    let r = olga
        .post_form(
            &format!("/tenants/{}/move", t.a1.id),
            &[("parent_id", &globex)],
        )
        .await;
    assert_eq!(status(&r), 403);
    // Nor acme itself: she does not own the root.
    let r = olga
        .post_form(
            &format!("/tenants/{}/move", t.acme.id),
            &[("parent_id", &globex)],
        )
        .await;
    assert_eq!(status(&r), 403);
    // An Administrator may not move at all; an invisible tenant is 404.
    let acme = t.acme.id.to_string();
    assert_eq!(
        status(&adam.get(&format!("/tenants/{}/move", t.a1x.id)).await),
        403
    );
    let r = adam
        .post_form(
            &format!("/tenants/{}/move", t.a1x.id),
            &[("parent_id", &acme)],
        )
        .await;
    assert_eq!(status(&r), 403);
    assert_eq!(
        status(&adam.get(&format!("/tenants/{}/move", t.g1.id)).await),
        404
    );
    assert_eq!(find(&app, t.a1x.id).await.parent_id, Some(t.a1.id));
    assert_tree_valid(&app).await;
}

// ---------------------------------------------------------------- delete (console)

#[tokio::test]
async fn safe_delete_is_refused_with_blockers_and_force_delete_removes_the_subtree() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let u1 = app.user(&t.a1, "u1").await;
    let u2 = app.user(&t.a1x, "u2").await;
    let outsider = app.user(&t.globex, "outsider").await;
    app.grant(&outsider, &t.a1x, GrantRole::Viewer, Scope::Tenant, false)
        .await;
    app.login_admin().await;

    let page = app.get_html(&format!("/tenants/{}/delete", t.a1.id)).await;
    assert!(text_of(&page, "impact-tenants").starts_with('2'), "{page}");
    assert_eq!(text_of(&page, "impact-users"), "2");
    assert_eq!(text_of(&page, "impact-grants"), "1");
    assert!(page.contains("data-kind=\"subtenants\""), "{page}");
    assert!(page.contains("data-kind=\"users\""));
    assert!(page.contains("name=\"confirm\""));

    // Safe delete: refused, with what blocks it; nothing changes.
    let r = app
        .post_form(&format!("/tenants/{}/delete", t.a1.id), &[])
        .await;
    assert_eq!(status(&r), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("1 sub-tenant below it."), "{html}");
    assert!(
        html.contains("2 users in it and its sub-tenants."),
        "{html}"
    );
    assert!(app.reload(&t.a1).await.is_some());

    // Force without the right confirmation: 422, nothing changes.
    for wrong in ["", "A1", "acme", "a1 x"] {
        let r = app
            .post_form(
                &format!("/tenants/{}/delete", t.a1.id),
                &[("force", "true"), ("confirm", wrong)],
            )
            .await;
        assert_eq!(status(&r), 422, "confirm={wrong:?}");
        let html = r.text().await.unwrap();
        assert!(field_error(&html, "confirm").is_some(), "{html}");
    }
    assert!(app.reload(&t.a1x).await.is_some());

    let r = app
        .post_form(
            &format!("/tenants/{}/delete", t.a1.id),
            &[("force", "true"), ("confirm", "a1")],
        )
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", t.acme.id));
    assert!(app.reload(&t.a1).await.is_none());
    assert!(app.reload(&t.a1x).await.is_none());
    assert!(app.reload(&t.a2).await.is_some());
    let mut conn = app.conn().await;
    for u in [&u1, &u2] {
        assert!(User::find_with_tenant(&mut conn, u.id)
            .await
            .unwrap()
            .is_none());
    }
    assert!(User::find_with_tenant(&mut conn, outsider.id)
        .await
        .unwrap()
        .is_some());
    for id in [t.a1.id, t.a1x.id] {
        let actions = AuditEvent::actions_for_tenant(&mut conn, id).await.unwrap();
        assert_eq!(actions[0], "tenant.delete", "tenant {id}");
    }
    drop(conn);
    assert_tree_valid(&app).await;
}

#[tokio::test]
async fn an_empty_leaf_is_deleted_safely_and_only_owners_force() {
    let app = spawn_app().await;
    let t = partner_tree(&app).await;
    let adam = subtree_admin(&app, &t.acme, "adam").await;
    let r = adam
        .post_form(
            &format!("/tenants/{}/delete", t.a1.id),
            &[("force", "true"), ("confirm", "a1")],
        )
        .await;
    assert_eq!(status(&r), 403);
    assert!(app.reload(&t.a1).await.is_some());

    app.login_admin().await;
    let page = app.get_html(&format!("/tenants/{}/delete", t.a2.id)).await;
    assert!(
        !page.contains("name=\"confirm\""),
        "no confirmation needed: {page}"
    );
    let r = app
        .post_form(&format!("/tenants/{}/delete", t.a2.id), &[])
        .await;
    assert_redirect_to(&r, &format!("/tenants/{}", t.acme.id));
    assert!(app.reload(&t.a2).await.is_none());
}

// ---------------------------------------------------------------- concurrency

/// Hundreds of opposite moves (x under y while y under x) over shared subtrees, with
/// force deletes and creates inside them, through the service layer on separate
/// pooled connections. Every operation either applies or is refused cleanly, and the
/// tree stays valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opposite_moves_deletes_and_creates_keep_the_tree_valid() {
    const PAIRS: usize = 4;
    const MOVES_PER_PAIR: usize = 60;
    let app = spawn_app().await;
    let pool = tenantry::db::pool(&app.db_url, 24).unwrap();
    let shared = app.tenant(&app.root, "shared", true).await;
    let mut pairs = Vec::new();
    let mut victims = Vec::new();
    for p in 0..PAIRS {
        let x = app.tenant(&shared, &format!("x{p}"), true).await;
        let y = app.tenant(&shared, &format!("y{p}"), true).await;
        // Something below each, to be deleted or moved along.
        for side in [&x, &y] {
            let mid = app
                .tenant(side, &format!("{}-m", side.subdomain), true)
                .await;
            app.user(&mid, "someone").await;
            victims.push(
                app.tenant(&mid, &format!("{}-leaf", side.subdomain), true)
                    .await,
            );
            victims.push(mid);
        }
        pairs.push((x, y));
    }

    let start = Arc::new(tokio::sync::Barrier::new(
        PAIRS * MOVES_PER_PAIR + victims.len() + PAIRS * 10,
    ));
    let mut moves = Vec::new();
    for (p, (x, y)) in pairs.iter().enumerate() {
        for i in 0..MOVES_PER_PAIR {
            let (a, b) = if i % 2 == 0 {
                (x.id, y.id)
            } else {
                (y.id, x.id)
            };
            // Every fourth goes back under the shared parent, so the pair keeps flipping.
            let dest = if i % 4 == 3 { shared.id } else { b };
            let (pool, start) = (pool.clone(), start.clone());
            moves.push(tokio::spawn(async move {
                start.wait().await;
                let mut conn = checkout(&pool).await;
                let r = move_unchecked(&mut conn, a, dest).await;
                (p, r)
            }));
        }
    }
    let mut deletes = Vec::new();
    for victim in &victims {
        let (pool, start, id) = (pool.clone(), start.clone(), victim.id);
        deletes.push(tokio::spawn(async move {
            start.wait().await;
            let mut conn = checkout(&pool).await;
            service::delete(
                &mut conn,
                &Actor::system("test"),
                id,
                true,
                &tenantry::services::tenants::DeleteScope::new(
                    chrono::Utc::now(),
                    tenantry::db::models::Visibility::All,
                ),
                &|_, _| Ok(()),
                &|_, _| Ok(()),
            )
            .await
        }));
    }
    let mut creates = Vec::new();
    for (p, (x, y)) in pairs.iter().enumerate() {
        for i in 0..10 {
            let parent = if i % 2 == 0 { x.clone() } else { y.clone() };
            let (pool, start) = (pool.clone(), start.clone());
            creates.push(tokio::spawn(async move {
                start.wait().await;
                let mut conn = checkout(&pool).await;
                service::create(
                    &mut conn,
                    &Actor::system("test"),
                    &parent,
                    fields(&format!("new{p}-{i}"), false),
                    &|_: &tenantry::db::models::Tenant| Ok(()),
                )
                .await
            }));
        }
    }

    let (mut moved, mut cycles, mut busy) = (0, 0, 0);
    for handle in moves {
        match handle.await.unwrap() {
            (_, Ok(_)) => moved += 1,
            (_, Err(AppError::Validation(e))) if e.contains_key("parent_id") => cycles += 1,
            (_, Err(AppError::Busy)) => busy += 1,
            // Into a subtree whose delete is under way (its guard refuses at once).
            (_, Err(AppError::Conflict(m))) if m == service::BEING_DELETED => busy += 1,
            (p, Err(e)) => panic!("pair {p}: move failed with {e:?}"),
        }
    }
    let (mut deleted, mut delete_gone) = (0, 0);
    for handle in deletes {
        match handle.await.unwrap() {
            Ok(_) => deleted += 1,
            // Deleted with its parent first.
            Err(AppError::NotFound) => delete_gone += 1,
            // Its parent's delete is under way: it goes with it.
            Err(AppError::Conflict(m)) if m == service::BEING_DELETED => delete_gone += 1,
            Err(AppError::Busy) => busy += 1,
            Err(e) => panic!("delete failed with {e:?}"),
        }
    }
    let mut created = Vec::new();
    for handle in creates {
        match handle.await.unwrap() {
            Ok(t) => created.push(t.id),
            Err(AppError::Busy) => busy += 1,
            Err(AppError::Conflict(m)) if m == service::BEING_DELETED => busy += 1,
            Err(e) => panic!("create failed with {e:?}"),
        }
    }
    eprintln!(
        "moves: {moved} applied, {cycles} refused as cycles; deletes: {deleted} applied, \
         {delete_gone} already gone; creates: {}; busy (try again): {busy}",
        created.len()
    );
    assert!(
        moved > 0 && cycles > 0,
        "both outcomes of the race happened"
    );
    assert!(deleted > 0 && !created.is_empty());
    assert_tree_valid(&app).await;
    // Nothing was lost: every pair tenant and every created one is still below `shared`.
    let mut kept: Vec<i64> = pairs.iter().flat_map(|(x, y)| [x.id, y.id]).collect();
    kept.extend(created);
    let client = db(&app).await;
    let found: i64 = client
        .query_one(
            "SELECT count(*) FROM tenant_paths WHERE tenant_id = ANY($1) AND path[1:2] = ARRAY[$2::bigint, $3::bigint]",
            &[&kept, &app.root.id, &shared.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(found, kept.len() as i64);
}

/// Moves into a subtree that is itself being moved, and creates deep inside it: the
/// single path-rewriting statement must see every row, or paths go stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moves_into_and_creates_below_a_moving_subtree_keep_paths_consistent() {
    let app = spawn_app().await;
    let pool = tenantry::db::pool(&app.db_url, 24).unwrap();
    let left = app.tenant(&app.root, "left", true).await;
    let right = app.tenant(&app.root, "right", true).await;
    let top = app.tenant(&left, "top", true).await;
    let mut chain = vec![top.clone()];
    for d in 0..4 {
        let last = chain[chain.len() - 1].clone();
        chain.push(app.tenant(&last, &format!("deep{d}"), true).await);
    }
    let mut loose = Vec::new();
    for i in 0..12 {
        loose.push(app.tenant(&app.root, &format!("loose{i}"), true).await);
    }
    let start = Arc::new(tokio::sync::Barrier::new(40 + loose.len() + 20));
    let mut handles = Vec::new();
    for i in 0..40 {
        let dest = if i % 2 == 0 { right.id } else { left.id };
        let (pool, start, id) = (pool.clone(), start.clone(), top.id);
        handles.push(tokio::spawn(async move {
            start.wait().await;
            let mut conn = checkout(&pool).await;
            move_unchecked(&mut conn, id, dest).await.map(|_| ())
        }));
    }
    for (i, l) in loose.iter().enumerate() {
        let dest = chain[1 + i % (chain.len() - 1)].id;
        let (pool, start, id) = (pool.clone(), start.clone(), l.id);
        handles.push(tokio::spawn(async move {
            start.wait().await;
            let mut conn = checkout(&pool).await;
            move_unchecked(&mut conn, id, dest).await.map(|_| ())
        }));
    }
    for i in 0..20 {
        let parent = chain[i % chain.len()].clone();
        let (pool, start) = (pool.clone(), start.clone());
        handles.push(tokio::spawn(async move {
            start.wait().await;
            let mut conn = checkout(&pool).await;
            service::create(
                &mut conn,
                &Actor::system("t"),
                &parent,
                fields(&format!("born{i}"), false),
                &|_: &tenantry::db::models::Tenant| Ok(()),
            )
            .await
            .map(|_| ())
        }));
    }
    for h in handles {
        match h.await.unwrap() {
            Ok(()) | Err(AppError::Busy) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_tree_valid(&app).await;
}
