//! Database outages: pages answer a plain 503 quickly, /readyz says so, and the
//! app recovers by itself. The app reaches PostgreSQL through a TCP proxy the
//! test can cut and restore.

use crate::helpers::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards to PostgreSQL while up; when cut, drops every open connection and
/// refuses new ones, as a crashed or unreachable server would.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let (up2, gen2) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut = gen2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            up,
            generation,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// host:port of the test PostgreSQL server.
fn pg_target() -> String {
    let url = admin_url();
    let after_at = url.rsplit_once('@').map_or(url.as_str(), |(_, h)| h);
    let host_port = after_at.split('/').next().unwrap();
    if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    }
}

fn via_proxy(db_url: &str, port: u16) -> String {
    let target = pg_target();
    db_url.replacen(&target, &format!("127.0.0.1:{port}"), 1)
}

#[tokio::test]
async fn database_outage_answers_503_quickly_and_recovers_without_restart() {
    let db_url = test_database().await;
    let proxy = Proxy::start(pg_target()).await;
    let proxied = via_proxy(&db_url, proxy.port);
    assert_ne!(
        proxied, db_url,
        "the app must reach the database through the proxy"
    );
    let app = spawn_app_with(settings(&proxied)).await;
    app.login_admin().await;
    assert_eq!(app.get("/tenants").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.cut();
    for path in ["/tenants", "/dashboard", "/login", "/readyz"] {
        let started = Instant::now();
        let response = app.get(path).await;
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 503, "{path} while the database is down: {body}");
        assert!(elapsed < Duration::from_secs(5), "{path} took {elapsed:?}");
        assert!(
            !body.contains("panicked") && !body.contains("diesel") && !body.contains("tokio"),
            "{body}"
        );
    }
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "liveness does not depend on the database"
    );

    proxy.restore();
    // The pool replaces broken connections on its own; allow a few seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = app.get("/tenants").await.status().as_u16();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery after the database came back: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn unreachable_database_at_start_gives_503_not_a_crash() {
    // Nothing listens on this port: bind and drop to find a free one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = settings(&format!("postgres://postgres@127.0.0.1:{port}/nothing"));
    let app = tenantry::startup::Application::build(settings).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = client();
    let started = Instant::now();
    let r = client.get(format!("{address}/login")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        client
            .get(format!("{address}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        503
    );
    assert_eq!(
        client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}
