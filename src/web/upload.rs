//! Uploads: a request body read whole up to a bound, and the parts of a
//! `multipart/form-data` body (the branding page's logo form). The CSRF guard reads
//! a multipart form's `csrf_token` part through [`parts`] too.

use crate::error::{AppError, ProblemKind};
use actix_web::http::header::HeaderMap;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

/// The largest upload body read (a logo's form or the API's raw body): past it
/// 413. Logos themselves have a lower bound (`domain::logo::MAX_BYTES`), refused
/// with its message, which a body this size still reaches.
pub const MAX_UPLOAD_BYTES: usize = 1024 * 1024;

/// The whole body, at most `limit` bytes (else 413).
pub async fn read_body(
    mut payload: actix_web::dev::Payload,
    limit: usize,
) -> Result<Bytes, AppError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("The upload was cut off.".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

pub fn too_large() -> AppError {
    AppError::problem(
        ProblemKind::PayloadTooLarge,
        format!("An upload has at most {} KiB.", MAX_UPLOAD_BYTES / 1024),
    )
}

/// Is this a `multipart/form-data` body?
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("multipart/form-data"))
    })
}

/// The parts of a `multipart/form-data` body, by name, in order; `None` when the
/// body is not one that can be read.
pub async fn parts(headers: &HeaderMap, body: Bytes) -> Option<Vec<(String, Bytes)>> {
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut multipart = actix_multipart::Multipart::new(headers, stream);
    let mut out = Vec::new();
    while let Some(field) = multipart.next().await {
        let mut field = field.ok()?;
        let name = field.name().unwrap_or_default().to_string();
        let mut data = BytesMut::new();
        while let Some(chunk) = field.next().await {
            data.extend_from_slice(&chunk.ok()?);
        }
        out.push((name, data.freeze()));
    }
    Some(out)
}
