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

/// The download `filename`: `header`, then the rows of `first` and of every chunk
/// `read_next` reads after it, as they are read. A failed read ends the body early
/// (a broken download rather than a short file that looks whole).
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
    // The state: the chunk to send next, or the read that failed after the last sent.
    let chunks = futures_util::stream::unfold(Some(Ok((first, true))), move |state| {
        let read_next = read_next.clone();
        async move {
            let (chunk, is_first) = match state? {
                Ok(state) => state,
                Err(e) => return Some((Err(e), None)),
            };
            let body = match lines(&chunk.rows, is_first.then_some(header), cells) {
                Ok(body) => body,
                Err(e) => return Some((Err(e), None)),
            };
            let next = match chunk.next {
                None => None,
                Some(cursor) => Some(read_next(cursor).await.map(|chunk| (chunk, false))),
            };
            Some((Ok(body), next))
        }
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(chunks)
}
