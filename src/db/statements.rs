//! Counts the SQL statements a request sends, so tests and benchmarks can hold a
//! page to what it may cost. Every pool connection reports to the request it
//! serves through a task-local counter; outside a counted request nothing is kept.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use diesel::connection::InstrumentationEvent;
use std::cell::Cell;

/// The response header that carries the count (development mode only: it tells a
/// client how the page is made).
pub const HEADER: &str = "x-db-statements";

tokio::task_local! {
    static STATEMENTS: Cell<u32>;
}

/// The connection hook: one statement per query started (transaction control included).
pub fn record(event: InstrumentationEvent<'_>) {
    if let InstrumentationEvent::StartQuery { .. } = event {
        let _ = STATEMENTS.try_with(|n| n.set(n.get() + 1));
    }
}

/// Runs `f` counting the statements it sends; returns its output and the count.
pub async fn counted<F: std::future::Future>(f: F) -> (F::Output, u32) {
    STATEMENTS
        .scope(Cell::new(0), async {
            let out = f.await;
            (out, STATEMENTS.with(Cell::get))
        })
        .await
}

/// Middleware: answers with the number of statements the request sent in `X-Db-Statements`.
pub async fn header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let (res, n) = counted(next.call(req)).await;
    let mut res = res?;
    res.headers_mut()
        .insert(HeaderName::from_static(HEADER), HeaderValue::from(n));
    Ok(res)
}
