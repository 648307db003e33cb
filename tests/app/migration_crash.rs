//! Crash safety of rule-set migrations (issue #13, "Tests that must exist"): for
//! every failpoint (src/failpoints.rs; the list in docs/ARCHITECTURE.md) a real
//! process is SIGKILLed exactly there — the failpoint `pause` blocks it and says
//! so on stderr, then the test kills it — and a restarted `tenantry serve` (no
//! failpoints, a lease of 1 s) must find the state the point 4 promises:
//!
//! - killed in `start` before its transaction committed: nothing happened;
//! - killed after `start` committed: the job is queued, the restarted server
//!   carries it out;
//! - killed in the runner before the swap committed (after the claim, after a copy
//!   batch, in the swap's transaction before, after swapping the rows, before
//!   unlocking): failed once the lease ran out, the source unlocked, the target
//!   locked; rollback gives the target's rows back byte for byte (checksum), retry
//!   converges to the mapped copy with no duplicates;
//! - killed after the swap committed: done, both unlocked; a restart changes nothing.
//!
//! `start` runs in the page's and the API's process; with no route of its own
//! here, the test binary runs it in a child process of its own (`start_child`).
//! Also the heartbeat: a job whose work outlasts its lease is not taken over by a
//! second server, and a runner whose lease was taken stops. Only with the cargo
//! feature `failpoints` (as `make test` builds).

use crate::helpers::*;
use crate::rule_migrations::{app, checksum, contents, locked, setup, start, Setup, COPIED};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tenantry::db::models::rule_migration::RuleMigration;
use tenantry::services::rule_migrations as service;
use tenantry::services::Actor;

/// Every wait for another process ends here at the latest: a test fails rather
/// than hangs, and never depends on one timing being met.
const DEADLINE: Duration = Duration::from_secs(60);
/// Rules copied per batch by the servers here: the 10 rules of `setup` take 3.
const BATCH: &str = "4";
const RULES: usize = 10;

/// A child process (a `tenantry serve`, or this binary running `start`) whose
/// output lines arrive on a channel; SIGKILLed when dropped.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let (tx, lines) = mpsc::channel();
        // Both pipes drained to the end, so the child never blocks on a full pipe.
        for out in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Proc {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to the deadline) for an output line containing `text`.
    async fn wait_for(&mut self, text: &str) {
        let end = Instant::now() + DEADLINE;
        loop {
            while let Ok(line) = self.lines.try_recv() {
                let hit = line.contains(text);
                self.seen.push(line);
                if hit {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Lines written just before the exit may still be in the pipe.
                tokio::time::sleep(Duration::from_millis(100)).await;
                while let Ok(line) = self.lines.try_recv() {
                    if line.contains(text) {
                        return;
                    }
                    self.seen.push(line);
                }
                panic!(
                    "the process ended ({status}) before printing {text:?}:\n{}",
                    self.seen.join("\n")
                );
            }
            assert!(
                Instant::now() < end,
                "no {text:?} within {DEADLINE:?}:\n{}",
                self.seen.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, as an operator's `kill -9` or the OOM killer: nothing runs after.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "{status}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tenantry serve` (the binary built with the test, feature `failpoints` on) on
/// the test's database and a port of its own, polling every 20 ms with a lease of
/// `lease_secs`; `failpoints` as `FAILPOINTS`.
fn serve(app: &TestApp, failpoints: Option<&str>, lease_secs: u64) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenantry"));
    let mail_dir = std::env::temp_dir().join(format!(
        "tenantry-test-mail-{}",
        uuid::Uuid::new_v4().simple()
    ));
    cmd.arg("serve")
        .env_clear()
        .env("DATABASE_URL", &app.db_url)
        .env("TENANTRY_LISTEN", "127.0.0.1:0")
        .env("TENANTRY_SECRET_KEY", "t".repeat(64))
        .env("TENANTRY_BASE_DOMAIN", BASE_DOMAIN)
        .env("TENANTRY_MAIL_DIR", mail_dir)
        .env("TENANTRY_DB_POOL_SIZE", "4")
        .env("TENANTRY_REPORT_POLL_SECS", "0")
        .env("TENANTRY_USAGE_FOLD_INTERVAL_MS", "3600000")
        .env("TENANTRY_MIGRATION_POLL_MS", "20")
        .env("TENANTRY_MIGRATION_LEASE_SECS", lease_secs.to_string())
        .env("TENANTRY_MIGRATION_BATCH", BATCH)
        .env("RUST_LOG", "warn");
    if let Some(f) = failpoints {
        cmd.env("FAILPOINTS", f);
    }
    Proc::spawn(cmd)
}

/// Starts `name=pause`'s server and SIGKILLs it where it paused.
async fn kill_at(app: &TestApp, name: &str) {
    let mut server = serve(app, Some(&format!("{name}=pause")), 1);
    server.wait_for(&format!("failpoint {name}: paused")).await;
    server.kill();
}

async fn migration(app: &TestApp, id: i64) -> RuleMigration {
    RuleMigration::find(&mut *app.conn().await, id)
        .await
        .unwrap()
}

/// Polls the job until it is in `state` (up to the deadline).
async fn wait_state(app: &TestApp, id: i64, state: &str) -> RuleMigration {
    let end = Instant::now() + DEADLINE;
    loop {
        let m = migration(app, id).await;
        if m.state == state {
            return m;
        }
        // An end state other than the one awaited will not change: fail at once.
        assert!(
            !["done", "failed", "rolled_back"].contains(&m.state.as_str()),
            "migration #{id} is {} ({:?}), not {state}",
            m.state,
            m.error
        );
        assert!(
            Instant::now() < end,
            "migration #{id} is still {} ({:?}), not {state}",
            m.state,
            m.error
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    db(app).await.query_one(sql, &[&id]).await.unwrap().get(0)
}

/// The target holds exactly the mapped copy: the expected contents, one row per
/// source rule, every source rule copied once.
async fn assert_converged(app: &TestApp, s: &Setup, id: i64) {
    assert_eq!(contents(app, &s.target).await, s.expected);
    let current = "SELECT count(*) FROM rules WHERE tenant_id = $1 AND valid_to IS NULL \
             AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = $1)";
    assert_eq!(count(app, current, s.target.id).await, RULES as i64);
    assert_eq!(count(app, COPIED, id).await, RULES as i64);
    assert!(!locked(app, &s.source).await && !locked(app, &s.target).await);
}

async fn admin_actor(app: &TestApp) -> (tenantry::auth::Principal, Actor) {
    let p = app.principal(&app.admin).await;
    let actor = Actor::user(&p, p.home.id, None);
    (p, actor)
}

/// A server killed at `name`, before the swap committed: the restarted server
/// finds the job failed; rollback restores the target exactly. Then the same
/// crash again, and a retry converges to the mapped copy.
async fn killed_before_the_swap_committed(name: &str) {
    let app = app().await;
    let s = setup(&app, RULES).await;
    let before = checksum(&app, &s.target).await;
    let source_before = checksum(&app, &s.source).await;

    let m = start(&app, &s).await.unwrap();
    kill_at(&app, name).await;
    let restarted = serve(&app, None, 1);
    let failed = wait_state(&app, m.id, "failed").await;
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("stopped"),
        "{:?}",
        failed.error
    );
    assert!(!locked(&app, &s.source).await, "the source is unlocked");
    assert!(locked(&app, &s.target).await, "the target stays locked");
    assert_eq!(checksum(&app, &s.source).await, source_before);
    let (p, actor) = admin_actor(&app).await;
    let rolled = service::rollback(&mut *app.conn().await, &p, &actor, m.id, app.clock.now())
        .await
        .unwrap();
    assert_eq!(rolled.state, "rolled_back");
    assert_eq!(checksum(&app, &s.target).await, before, "byte for byte");
    assert!(!locked(&app, &s.target).await);
    // No server runs the next job until it has died at the failpoint too.
    restarted.kill();

    let m = start(&app, &s).await.unwrap();
    kill_at(&app, name).await;
    let _restarted = serve(&app, None, 1);
    wait_state(&app, m.id, "failed").await;
    let queued = service::retry(&mut *app.conn().await, &p, &actor, m.id, app.clock.now())
        .await
        .unwrap();
    assert_eq!(queued.attempts, 2);
    let done = wait_state(&app, m.id, "done").await;
    assert_eq!(done.copied, RULES as i64);
    assert_converged(&app, &s, m.id).await;
}

#[tokio::test]
async fn killed_after_the_claim() {
    killed_before_the_swap_committed("migration-after-claim").await;
}

#[tokio::test]
async fn killed_after_a_copy_batch() {
    killed_before_the_swap_committed("migration-after-batch").await;
}

#[tokio::test]
async fn killed_before_the_swap() {
    killed_before_the_swap_committed("migration-before-swap").await;
}

#[tokio::test]
async fn killed_after_the_swap_before_it_committed() {
    killed_before_the_swap_committed("migration-after-swap").await;
}

#[tokio::test]
async fn killed_before_unlocking() {
    killed_before_the_swap_committed("migration-before-unlock").await;
}

#[tokio::test]
async fn killed_after_the_swap_committed() {
    let app = app().await;
    let s = setup(&app, RULES).await;
    // The starter needs an address for the notice mail (none is queued without one).
    app.admin_with_email().await;
    let m = start(&app, &s).await.unwrap();
    kill_at(&app, "migration-after-commit").await;
    let done = migration(&app, m.id).await;
    assert_eq!((done.state.as_str(), done.lease_owner), ("done", None));
    assert_converged(&app, &s, m.id).await;
    // A restarted server, past a whole lease, finds nothing to recover.
    let _restarted = serve(&app, None, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(migration(&app, m.id).await.state, "done");
    let failures = "SELECT count(*) FROM audit_events WHERE action = 'rule_migration.fail' \
                    AND (after ->> 'migration')::bigint = $1";
    assert_eq!(count(&app, failures, m.id).await, 0);
    let notices = "SELECT count(*) FROM outbox WHERE subject = 'Migration #' || $1::bigint || ' of the rules is done'";
    assert_eq!(count(&app, notices, m.id).await, 1);
}

/// This binary again, running only `start_child`, which calls
/// `service::start` with `FAILPOINTS=<name>=pause`: killed there.
async fn kill_start_at(app: &TestApp, s: &Setup, name: &str) {
    let spec = serde_json::json!({
        "db_url": app.db_url,
        "user": app.admin.id,
        "source": s.source.id,
        "target": s.target.id,
        "mappings": s.mappings,
    });
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "migration_crash::start_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("TENANTRY_CRASH_CHILD", spec.to_string())
    .env("FAILPOINTS", format!("{name}=pause"));
    let mut child = Proc::spawn(cmd);
    child.wait_for(&format!("failpoint {name}: paused")).await;
    child.kill();
}

/// Not a test of its own: the child process of `kill_start_at` (does nothing
/// unless `TENANTRY_CRASH_CHILD` says what to start).
#[tokio::test]
async fn start_child() {
    let Ok(spec) = std::env::var("TENANTRY_CRASH_CHILD") else {
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let pool = tenantry::db::pool(spec["db_url"].as_str().unwrap(), 2).unwrap();
    let mut conn = pool.get().await.unwrap();
    let p = tenantry::auth::Principal::load(&mut conn, spec["user"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    let actor = Actor::user(&p, p.home.id, None);
    let tenant = |key: &str| spec[key].as_i64().unwrap();
    let source = tenantry::db::models::Tenant::find(&mut conn, tenant("source"))
        .await
        .unwrap();
    let target = tenantry::db::models::Tenant::find(&mut conn, tenant("target"))
        .await
        .unwrap();
    let mappings = serde_json::from_value(spec["mappings"].clone()).unwrap();
    let r = service::start(
        &mut conn,
        &p,
        &actor,
        &source,
        &target,
        &mappings,
        chrono::Utc::now(),
    )
    .await;
    panic!("start went past its failpoint: {r:?}");
}

#[tokio::test]
async fn killed_in_start_before_locking() {
    let app = app().await;
    let s = setup(&app, RULES).await;
    let before = checksum(&app, &s.target).await;
    kill_start_at(&app, &s, "migration-before-lock").await;
    // Its transaction died with it: no job, no lock, nothing changed.
    let jobs = "SELECT count(*) FROM rule_migrations WHERE source_tenant_id = $1";
    assert_eq!(count(&app, jobs, s.source.id).await, 0);
    assert!(!locked(&app, &s.source).await && !locked(&app, &s.target).await);
    assert_eq!(checksum(&app, &s.target).await, before);
    // And it can be started again at once.
    let _server = serve(&app, None, 1);
    let m = start(&app, &s).await.unwrap();
    wait_state(&app, m.id, "done").await;
    assert_converged(&app, &s, m.id).await;
}

#[tokio::test]
async fn killed_in_start_after_locking() {
    let app = app().await;
    let s = setup(&app, RULES).await;
    kill_start_at(&app, &s, "migration-after-lock").await;
    // Committed before the kill: queued, both locked …
    let m: i64 = count(
        &app,
        "SELECT max(id) FROM rule_migrations WHERE source_tenant_id = $1",
        s.source.id,
    )
    .await;
    assert_eq!(migration(&app, m).await.state, "queued");
    assert!(locked(&app, &s.source).await && locked(&app, &s.target).await);
    // … and any server carries it out.
    let _server = serve(&app, None, 1);
    wait_state(&app, m, "done").await;
    assert_converged(&app, &s, m).await;
}

/// The heartbeat renews the lease while each of 3 batches takes 1.5 lease lengths:
/// a second server polling all along never takes the job over, and it completes.
#[tokio::test]
async fn a_job_outlasting_its_lease_is_not_taken_over() {
    let app = app().await;
    let s = setup(&app, RULES).await;
    let m = start(&app, &s).await.unwrap();
    let mut slow = serve(&app, Some("migration-after-batch=sleep(1500)"), 1);
    slow.wait_for("failpoint migration-after-batch: sleeping")
        .await;
    let _other = serve(&app, None, 1);
    let done = wait_state(&app, m.id, "done").await;
    assert_eq!((done.attempts, done.error), (1, None));
    let failures = "SELECT count(*) FROM audit_events WHERE action = 'rule_migration.fail' \
                    AND (after ->> 'migration')::bigint = $1";
    assert_eq!(count(&app, failures, m.id).await, 0);
    assert_converged(&app, &s, m.id).await;
}

/// A runner whose lease another process took stops: it neither copies on nor
/// swaps, and says so.
#[tokio::test]
async fn a_runner_that_lost_its_lease_stops() {
    let app = app().await;
    let s = setup(&app, RULES).await;
    let before = checksum(&app, &s.target).await;
    let m = start(&app, &s).await.unwrap();
    let mut runner = serve(&app, Some("migration-after-claim=sleep(2000)"), 1);
    runner
        .wait_for("failpoint migration-after-claim: sleeping")
        .await;
    // Another process's claim, as it looks in the row.
    db(&app)
        .await
        .execute(
            "UPDATE rule_migrations SET lease_owner = 'another-process', \
             lease_until = now() + interval '1 hour' WHERE id = $1",
            &[&m.id],
        )
        .await
        .unwrap();
    runner.wait_for("lease lost, stopped").await;
    let after = migration(&app, m.id).await;
    assert_eq!(
        (
            after.state.as_str(),
            after.lease_owner.as_deref(),
            after.copied
        ),
        ("copying", Some("another-process"), 0)
    );
    assert_eq!(count(&app, COPIED, m.id).await, 0);
    assert_eq!(checksum(&app, &s.target).await, before);
}
