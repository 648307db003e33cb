//! Rule generations (issue #13's benchmark design, migration `rule_generations`):
//! a migration fills a new generation of the target's rules and its swap only moves
//! the target's pointer — the old rows stay exactly as they were, every version
//! (before, after, restored, rolled back) reads back what it was — and the set-based
//! checks that replaced the three foreign keys of `rules` keep their integrity: a
//! rule naming another tenant's application, a missing domain or tenant is refused,
//! deleting an application or domain unbinds its rules in every generation,
//! deleting a tenant deletes them, a delete racing an insert ends consistent, and
//! the parents' triggers refuse isolation levels they cannot work under.

use crate::api::{token_for, Api};
use crate::helpers::*;
use crate::rule_migrations::{app, contents, runner, setup, start, COPIED};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tenantry::db::models::rule_migration::{Claimed, RuleMigration};
use tenantry::db::models::rules::{head_version, RuleRow};
use tenantry::db::models::Tenant;
use tenantry::domain::rules::RuleInput;
use tenantry::services::rule_migrations::{self as service, Ran};
use tenantry::services::rules::{versions, Change};
use tenantry::services::Actor;
use tokio_postgres::error::SqlState;

/// Every row of the tenant's rules, all generations, as text in row order.
async fn all_rows(app: &TestApp, tenant: &Tenant) -> Vec<String> {
    db(app)
        .await
        .query(
            "SELECT concat_ws('|', row_id, rule_id, generation, kind, application_id, domain_id, \
             path, value, action, enabled, valid_from, valid_to) FROM rules \
             WHERE tenant_id = $1 ORDER BY row_id",
            &[&tenant.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The tenant's rule set at `version`, by rule id.
async fn at(app: &TestApp, tenant: &Tenant, version: i64) -> BTreeMap<i64, RuleInput> {
    RuleRow::at_version(&mut *app.conn().await, tenant.id, version)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.rule_id, r.content()))
        .collect()
}

async fn head(app: &TestApp, tenant: &Tenant) -> i64 {
    head_version(&mut *app.conn().await, tenant.id)
        .await
        .unwrap()
}

/// Restores `version` of the tenant as the root's admin; the new head.
async fn restore(app: &TestApp, tenant: &Tenant, version: i64) -> i64 {
    let p = app.principal(&app.admin).await;
    let actor = Actor::system("test");
    let c = Change::new(&p, &actor, tenant, app.clock.now());
    versions::restore(&mut *app.conn().await, &c, version)
        .await
        .unwrap()
}

/// Runs the queued migration to its end in this process.
async fn run(app: &TestApp) -> Ran {
    runner(4).tick(&app.pool, || app.clock.now()).await.unwrap()
}

/// Claims the queued migration, copies one batch of 4 and fails it, as a run that
/// hit an error would.
async fn fail_after_one_batch(app: &TestApp, id: i64) -> RuleMigration {
    let mut conn = app.conn().await;
    let now = app.clock.now();
    let lease = now + chrono::Duration::seconds(30);
    let Some(Claimed::Run(m)) = RuleMigration::claim(&mut conn, "test", lease, now)
        .await
        .unwrap()
    else {
        panic!("nothing to claim");
    };
    assert_eq!(m.id, id);
    let copied = RuleMigration::copy_batch(&mut conn, id, "test", 4, now)
        .await
        .unwrap();
    assert_eq!(copied, 4);
    service::fail(&mut conn, &m, "boom", now).await.unwrap();
    RuleMigration::find(&mut conn, id).await.unwrap()
}

#[tokio::test]
async fn a_swap_moves_the_pointer_and_every_version_reads_back_what_it_was() {
    let app = app().await;
    let s = setup(&app, 10).await;
    let t = &s.target;
    let rows_before = all_rows(&app, t).await;
    let v_before = head(&app, t).await;
    let set_before = at(&app, t, v_before).await;
    assert_eq!(set_before.len(), 2);

    // A migration: the copy goes into a generation of its own, the swap leaves
    // every row the target had exactly as it was.
    let m = start(&app, &s).await.unwrap();
    assert_eq!(run(&app).await, Ran::Done(m.id));
    let v_migrated = head(&app, t).await;
    assert_eq!(v_migrated, v_before + 1);
    assert_eq!(contents(&app, t).await, s.expected);
    let rows_after = all_rows(&app, t).await;
    assert_eq!(rows_after[..rows_before.len()], rows_before[..]);
    assert_eq!(rows_after.len(), rows_before.len() + 10);
    let copied = db(&app)
        .await
        .query_one(COPIED, &[&m.id])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(copied, 10);
    let set_migrated = at(&app, t, v_migrated).await;
    assert_eq!(at(&app, t, v_before).await, set_before);

    // The diff between the two names the old rules removed and the copies added.
    let p = app.principal(&app.admin).await;
    let d = versions::diff(&mut *app.conn().await, &p, t, v_before, v_migrated)
        .await
        .unwrap();
    assert_eq!(
        (d.removed.len(), d.added.len(), d.changed.len()),
        (2, 10, 0)
    );

    // An edit in the new generation, then a restore of the version before the
    // migration: the old rules come back under their rule ids.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let base = format!("/api/v1/tenants/{}/rules", t.id);
    let (status, r) = api
        .post(
            &base,
            json!({"kind": "block_ip", "value": "9.9.9.9", "action": "block"}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let v_edited = head(&app, t).await;
    let set_edited = at(&app, t, v_edited).await;
    assert_eq!(set_edited.len(), 11);
    let v_restored = restore(&app, t, v_before).await;
    assert_eq!(v_restored, v_edited + 1);
    assert_eq!(at(&app, t, v_restored).await, set_before);
    let (_, list) = api.get(&format!("{base}?limit=500")).await;
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, set_before.keys().copied().collect::<Vec<_>>());
    // And forward again to the migrated set.
    let v_again = restore(&app, t, v_migrated).await;
    assert_eq!(at(&app, t, v_again).await, set_migrated);

    // A second migration that fails after one batch and is rolled back: the
    // pointer stays, the rollback's version equals the one before, the abandoned
    // copy is deleted; every earlier version still reads the same.
    let m2 = start(&app, &s).await.unwrap();
    let failed = fail_after_one_batch(&app, m2.id).await;
    assert_eq!(failed.state, "failed");
    let (_, rolled) = api
        .post(&format!("/api/v1/migrations/{}/rollback", m2.id), json!({}))
        .await;
    assert_eq!(rolled["state"], "rolled_back", "{rolled}");
    let v_rolled = head(&app, t).await;
    assert_eq!(at(&app, t, v_rolled).await, set_migrated);
    let left = db(&app)
        .await
        .query_one(COPIED, &[&m2.id])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(left, 0, "the abandoned copy is deleted");
    for (v, want) in [
        (v_before, &set_before),
        (v_migrated, &set_migrated),
        (v_edited, &set_edited),
        (v_restored, &set_before),
        (v_again, &set_migrated),
    ] {
        assert_eq!(&at(&app, t, v).await, want, "version {v}");
    }
    // A third one that succeeds: the target holds the mapped copy again.
    let m3 = start(&app, &s).await.unwrap();
    assert_eq!(run(&app).await, Ran::Done(m3.id));
    assert_eq!(contents(&app, t).await, s.expected);
    assert_eq!(&at(&app, t, v_before).await, &set_before);
}

/// A retry after the source changed starts the copy afresh in the same
/// generation: the rows of the first attempt are deleted, none is left twice.
#[tokio::test]
async fn a_retry_after_the_source_changed_copies_afresh_without_leftovers() {
    let app = app().await;
    let s = setup(&app, 10).await;
    let m = start(&app, &s).await.unwrap();
    fail_after_one_batch(&app, m.id).await;
    // The source is unlocked by the failure: change it.
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (status, v) = api
        .post(
            &format!("/api/v1/tenants/{}/rules", s.source.id),
            json!({"kind": "allow_ip", "value": "3.3.3.3", "action": "allow"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = api
        .post(&format!("/api/v1/migrations/{}/retry", m.id), json!({}))
        .await;
    assert_eq!((status, v["copied"].as_i64()), (200, Some(0)), "{v}");
    assert_eq!(run(&app).await, Ran::Done(m.id));
    let mut expected = s.expected.clone();
    expected.push("allow_ip|3.3.3.3|allow|t".into());
    expected.sort();
    assert_eq!(contents(&app, &s.target).await, expected);
    let copied = db(&app)
        .await
        .query_one(COPIED, &[&m.id])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(copied, 11);
}

/// What the foreign keys refused, the set-based checks refuse: a rule naming
/// another tenant's application, a missing domain or a missing tenant, by INSERT
/// (also one bad row among many) or by UPDATE; the API answers such a rule 422.
#[tokio::test]
async fn a_rule_naming_another_tenants_application_or_a_missing_domain_is_refused() {
    let app = app().await;
    let s = setup(&app, 3).await;
    let (src, dst) = (s.source.id, s.target.id);
    let theirs = *s.mappings.applications.values().flatten().next().unwrap();
    let ours = *s.mappings.applications.keys().next().unwrap();
    let client = db(&app).await;
    let refused = |r: Result<u64, tokio_postgres::Error>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(
            e.code(),
            Some(&SqlState::FOREIGN_KEY_VIOLATION),
            "{what}: {e}"
        );
        // Named as the foreign key it replaces.
        e.as_db_error()
            .and_then(|d| d.constraint())
            .unwrap_or_default()
            .to_string()
    };
    let insert = "INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id, \
                  value, action, enabled, valid_from) \
                  SELECT $1, 0, 'block_ip', $2, $3, '1.1.1.1', 'block', true, 1";
    let c = refused(
        client
            .execute(insert, &[&src, &Some(theirs), &None::<i64>])
            .await,
        "another tenant's application",
    );
    assert_eq!(c, "rules_application_id_tenant_id_fkey");
    let c = refused(
        client
            .execute(insert, &[&src, &None::<i64>, &Some(424_242_i64)])
            .await,
        "a missing domain",
    );
    assert_eq!(c, "rules_domain_id_tenant_id_fkey");
    let c = refused(
        client
            .execute(insert, &[&424_242_i64, &None::<i64>, &None::<i64>])
            .await,
        "a missing tenant",
    );
    assert_eq!(c, "rules_tenant_id_fkey");
    refused(
        client
            .execute(
                "INSERT INTO rules (tenant_id, generation, kind, application_id, value, action, \
                 enabled, valid_from) SELECT $1, 0, 'block_ip', \
                 CASE WHEN i = 500 THEN $3::bigint ELSE $2::bigint END, '1.1.1.1', 'block', true, 1 \
                 FROM generate_series(1, 1000) i",
                &[&src, &ours, &theirs],
            )
            .await,
        "one bad row among 1,000",
    );
    refused(
        client
            .execute(
                "UPDATE rules SET domain_id = 424242 WHERE row_id = \
                 (SELECT min(row_id) FROM rules WHERE tenant_id = $1)",
                &[&dst],
            )
            .await,
        "re-pointed by UPDATE",
    );
    // Its own application: accepted (and rolled back: the test's rules stay as set up).
    client.execute("BEGIN", &[]).await.unwrap();
    client
        .execute(insert, &[&src, &Some(ours), &None::<i64>])
        .await
        .unwrap();
    client.execute("ROLLBACK", &[]).await.unwrap();

    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let (status, v) = api
        .post(
            &format!("/api/v1/tenants/{src}/rules"),
            json!({"kind": "block_ip", "value": "1.1.1.1", "action": "block",
                   "application_id": theirs, "domain_id": 424_242}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(v["errors"]["application_id"].is_string(), "{v}");
    assert!(v["errors"]["domain_id"].is_string(), "{v}");
}

/// ON DELETE as the keys had it: deleting an application (or domain) unbinds the
/// rules naming it in every generation and version; deleting a tenant deletes all
/// its rules. The service still refuses to delete one the current rules use.
#[tokio::test]
async fn deleting_an_application_unbinds_its_rules_and_a_tenant_takes_its_rules() {
    let app = app().await;
    let s = setup(&app, 3).await;
    let t = &s.target;
    // The target's old generation names Store through its first rule after this
    // edit; the migration then binds the copies to Store too.
    let store = *s.mappings.applications.values().flatten().next().unwrap();
    let api = Api::new(&app, Some(&token_for(&app, &app.admin, false).await));
    let base = format!("/api/v1/tenants/{}", t.id);
    let (_, list) = api.get(&format!("{base}/rules")).await;
    let first = list["items"][0]["id"].as_i64().unwrap();
    let (status, v) = api
        .patch(
            &format!("{base}/rules/{first}"),
            json!({"application_id": store}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let m = start(&app, &s).await.unwrap();
    assert_eq!(run(&app).await, Ran::Done(m.id));
    let client = db(&app).await;
    let naming = "SELECT count(*) FROM rules WHERE tenant_id = $1 AND application_id = $2";
    let count = |n: tokio_postgres::Row| n.get::<_, i64>(0);
    let old_and_new = count(client.query_one(naming, &[&t.id, &store]).await.unwrap());
    assert!(old_and_new > 1, "{old_and_new}");
    // In use by current rules: refused.
    let (status, v) = api.delete(&format!("{base}/applications/{store}")).await;
    assert_eq!(status, 409, "{v}");
    // Back to the version before the migration (where one current rule names it),
    // unbind that rule, and the application may go: every row naming it is unbound.
    let rows = all_rows(&app, t).await.len();
    let (status, v) = api
        .patch(
            &format!("{base}/rules/{first}"),
            json!({"application_id": null}),
        )
        .await;
    assert_eq!(status, 404, "the rule is not in the migrated set: {v}");
    restore(&app, t, m.target_version_before).await;
    let (status, v) = api
        .patch(
            &format!("{base}/rules/{first}"),
            json!({"application_id": null}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api.delete(&format!("{base}/applications/{store}")).await;
    assert_eq!(status, 204, "{v}");
    assert_eq!(
        count(client.query_one(naming, &[&t.id, &store]).await.unwrap()),
        0
    );
    assert!(all_rows(&app, t).await.len() > rows, "nothing deleted");
    // Every version still reads (the deleted application's rules come back unbound).
    for v in 0..=head(&app, t).await {
        at(&app, t, v).await;
    }
    // A domain the same way, directly in the database (the service refuses while
    // current rules name it).
    let dom = *s.mappings.domains.values().flatten().next().unwrap();
    client
        .execute("DELETE FROM domains WHERE id = $1", &[&dom])
        .await
        .unwrap();
    let named = client
        .query_one(
            "SELECT count(*) FROM rules WHERE tenant_id = $1 AND domain_id = $2",
            &[&t.id, &dom],
        )
        .await
        .unwrap();
    assert_eq!(count(named), 0);

    // A tenant's delete takes all its rules, every generation.
    let g1 = app.tenant(t, "g1rules", false).await;
    let c = api
        .post(
            &format!("/api/v1/tenants/{}/rules", g1.id),
            json!({"kind": "block_ip", "value": "2.2.2.2", "action": "block"}),
        )
        .await;
    assert_eq!(c.0, 201, "{}", c.1);
    client
        .execute("DELETE FROM tenants WHERE id = $1", &[&g1.id])
        .await
        .unwrap();
    let left = client
        .query_one("SELECT count(*) FROM rules WHERE tenant_id = $1", &[&g1.id])
        .await
        .unwrap();
    assert_eq!(count(left), 0);
}

/// Waits until another session waits on a lock (up to a deadline: never a timed
/// assertion, only an order of events).
async fn until_a_session_waits(client: &tokio_postgres::Client) {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = lock_waiters(client).await;
        if n > 0 {
            return;
        }
        assert!(Instant::now() < end, "no session waits on a lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Races under READ COMMITTED, both orders: an insert first holds the application
/// (FOR KEY SHARE), the delete waits for its commit and then unbinds the new rule
/// too; a delete first makes the insert wait, then refuses it.
#[tokio::test]
async fn an_insert_and_an_application_delete_racing_end_consistent() {
    let app = app().await;
    let s = setup(&app, 3).await;
    let src = s.source.id;
    let apps: Vec<i64> = s.mappings.applications.keys().copied().collect();
    let (first, second) = (apps[0], apps[1]);
    let insert = "INSERT INTO rules (tenant_id, generation, kind, application_id, value, action, \
                  enabled, valid_from) VALUES ($1, 0, 'block_ip', $2, $3, 'block', true, 1)";
    let (a, b, watch) = (db(&app).await, db(&app).await, db(&app).await);

    // Insert first.
    a.execute("BEGIN", &[]).await.unwrap();
    a.execute(insert, &[&src, &first, &"7.7.7.7"])
        .await
        .unwrap();
    let delete = tokio::spawn(async move {
        b.execute("DELETE FROM applications WHERE id = $1", &[&first])
            .await
            .map(|_| b)
    });
    until_a_session_waits(&watch).await;
    a.execute("COMMIT", &[]).await.unwrap();
    let b = delete.await.unwrap().unwrap();
    let row = watch
        .query_one(
            "SELECT application_id FROM rules WHERE value = '7.7.7.7'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i64>>(0), None, "unbound by the delete");

    // Delete first.
    b.execute("BEGIN", &[]).await.unwrap();
    b.execute("DELETE FROM applications WHERE id = $1", &[&second])
        .await
        .unwrap();
    let insert = tokio::spawn(async move { a.execute(insert, &[&src, &second, &"6.6.6.6"]).await });
    until_a_session_waits(&watch).await;
    b.execute("COMMIT", &[]).await.unwrap();
    let e = insert.await.unwrap().expect_err("refused");
    assert_eq!(e.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION), "{e}");
}

/// The parents' triggers need READ COMMITTED (they must see rules committed after
/// their statement began): under another isolation level they refuse, as does a
/// TRUNCATE of a parent (which would skip them).
#[tokio::test]
async fn parents_refuse_deletes_under_other_isolation_levels_and_truncate() {
    let app = app().await;
    let s = setup(&app, 3).await;
    let theirs = *s.mappings.applications.values().flatten().next().unwrap();
    let client = db(&app).await;
    for level in ["REPEATABLE READ", "SERIALIZABLE"] {
        client
            .execute(&format!("BEGIN ISOLATION LEVEL {level}"), &[])
            .await
            .unwrap();
        let e = client
            .execute("DELETE FROM applications WHERE id = $1", &[&theirs])
            .await
            .expect_err(level);
        assert_eq!(e.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED), "{e}");
        client.execute("ROLLBACK", &[]).await.unwrap();
    }
    for table in ["tenants", "applications", "domains"] {
        let e = client
            .execute(&format!("TRUNCATE {table} CASCADE"), &[])
            .await
            .expect_err(table);
        assert_eq!(
            e.code(),
            Some(&SqlState::FEATURE_NOT_SUPPORTED),
            "{table}: {e}"
        );
    }
    // Nothing was deleted.
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM applications WHERE id = $1",
            &[&theirs],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}
