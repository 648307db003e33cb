//! Streamed CSV downloads (the activity export, the usage statistics export): RFC
//! 4180 lines (CRLF, quoted where needed), UTF-8, every cell spreadsheet-safe, read
//! and sent one chunk at a time, so the first bytes leave before the last rows are
//! read and memory does not grow with the rows.

use crate::domain::activity::spreadsheet_safe;
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

/// `rows` as CSV lines, each cell through `spreadsheet_safe`; `header` first when given.
fn lines<T>(
    rows: &[T],
    header: Option<&[&str]>,
    cells: fn(&T) -> Vec<String>,
) -> Result<web::Bytes, AppError> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 128));
    let failed = |e: csv::Error| AppError::Unexpected(e.into());
    if let Some(header) = header {
        out.write_record(header).map_err(failed)?;
    }
    for row in rows {
        out.write_record(cells(row).iter().map(|c| spreadsheet_safe(c).into_owned()))
            .map_err(failed)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("{e}")))?;
    Ok(web::Bytes::from(bytes))
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
