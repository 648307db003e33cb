//! Streamed CSV downloads (the activity export, the usage statistics export): RFC
//! 4180 lines (CRLF, quoted where needed), UTF-8, every cell spreadsheet-safe, read
//! and sent one chunk at a time, so the first bytes leave before the last rows are
//! read and memory does not grow with the rows.

use crate::domain::csv_text;
use crate::error::AppError;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use std::future::Future;
use std::rc::Rc;

/// Rows read by one statement, and where the next read starts (`None`: the last).
pub struct Chunk<T, C> {
    pub rows: Vec<T>,
    pub next: Option<C>,
}

/// `rows` as CSV lines (`domain::csv_text`), as a body chunk.
fn lines<T>(
    rows: &[T],
    header: Option<&[&str]>,
    cells: fn(&T) -> Vec<String>,
) -> Result<web::Bytes, AppError> {
    Ok(web::Bytes::from(
        csv_text::lines(rows, header, cells).map_err(AppError::Unexpected)?,
    ))
}

/// What the body sends next: a chunk already read, or the read of one under way.
enum Next<T, C> {
    Read(Chunk<T, C>, bool),
    Reading(ReadAhead<Chunk<T, C>>),
}

/// A chunk's read running as its own task while the chunk before it is formatted and
/// sent, so that the database and the response overlap (the export is then about as
/// slow as the slower of the two, not their sum). Dropped with the body when the client
/// goes away: the read is aborted rather than left to finish for nobody.
struct ReadAhead<T>(actix_web::rt::task::JoinHandle<Result<T, AppError>>);

impl<T> Drop for ReadAhead<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> ReadAhead<T> {
    async fn result(mut self) -> Result<T, AppError> {
        match (&mut self.0).await {
            Ok(read) => read,
            Err(e) => Err(AppError::Unexpected(anyhow::anyhow!(
                "a CSV chunk's read failed: {e}"
            ))),
        }
    }
}

/// The download `filename`: `header`, then the rows of `first` and of every chunk
/// `read_next` reads after it, each read started as the chunk before it is sent. A
/// failed read ends the body early (a broken download rather than a short file that
/// looks whole).
pub fn download<T, C, F, Fut>(
    filename: &str,
    header: &'static [&'static str],
    first: Chunk<T, C>,
    cells: fn(&T) -> Vec<String>,
    read_next: F,
) -> HttpResponse
where
    T: 'static,
    C: 'static,
    F: Fn(C) -> Fut + 'static,
    Fut: Future<Output = Result<Chunk<T, C>, AppError>> + 'static,
{
    let read_next = Rc::new(read_next);
    let chunks = futures_util::stream::unfold(Some(Next::Read(first, true)), move |state| {
        let read_next = read_next.clone();
        async move {
            let (chunk, is_first) = match state? {
                Next::Read(chunk, is_first) => (chunk, is_first),
                Next::Reading(read) => match read.result().await {
                    Ok(chunk) => (chunk, false),
                    Err(e) => return Some((Err(e), None)),
                },
            };
            let next = chunk.next.map(|cursor| {
                let read_next = read_next.clone();
                Next::Reading(ReadAhead(actix_web::rt::spawn(async move {
                    read_next(cursor).await
                })))
            });
            match lines(&chunk.rows, is_first.then_some(header), cells) {
                Ok(body) => Some((Ok(body), next)),
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    attachment(filename).streaming(chunks)
}

/// The download `filename`: `header` at once, then the rows of every batch `batches`
/// yields, as they arrive (from one statement read by another task, which stops when
/// this body is dropped and the channel closes). A failed read ends the body early.
pub fn download_batches<T: 'static>(
    filename: &str,
    header: &'static [&'static str],
    cells: fn(&T) -> Vec<String>,
    batches: tokio::sync::mpsc::Receiver<Result<Vec<T>, AppError>>,
) -> HttpResponse {
    let head = futures_util::stream::once(async move { lines::<T>(&[], Some(header), cells) });
    let rows = futures_util::stream::unfold(Some(batches), move |state| async move {
        let mut batches = state?;
        match batches.recv().await? {
            Ok(rows) => Some((lines(&rows, None, cells), Some(batches))),
            Err(e) => Some((Err(e), None)),
        }
    });
    attachment(filename).streaming(futures_util::StreamExt::chain(head, rows))
}

/// A CSV attachment's response head.
fn attachment(filename: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    response
}
