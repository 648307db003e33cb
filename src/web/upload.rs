//! Uploads: a request body read up to a bound, its start kept, and the parts of a
//! `multipart/form-data` body (the branding page's logo form). The CSRF guard reads
//! a multipart form's `csrf_token` part through [`leading_parts`].

use crate::error::{AppError, ProblemKind};
use actix_web::http::header::HeaderMap;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

/// The largest upload body taken in (a logo's form or the API's raw body): past it
/// 413. Generous, so that any file a user might pick is answered with the logo's own
/// limit (`domain::logo::MAX_BYTES`, "A logo has at most 256 KiB.") rather than a
/// bare error page.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// Of an upload body, the bytes kept in memory: a logo and its form's other fields
/// fit well within. The rest of a larger body is read and dropped ([`read_upload`]):
/// memory stays bounded whatever is sent.
pub const MAX_KEPT_BYTES: usize = 1024 * 1024;

/// An upload body as read by [`read_upload`].
#[derive(Clone, Debug)]
pub struct Upload {
    /// Its first [`MAX_KEPT_BYTES`] bytes (all of it unless `cut`).
    pub body: Bytes,
    /// It was longer than [`MAX_KEPT_BYTES`]: what it carries is too large for a logo.
    pub cut: bool,
}

/// Marks a request whose multipart body the CSRF guard read and cut
/// ([`Upload::cut`]); the body it put back for the handler is the part kept.
#[derive(Clone, Copy, Debug)]
pub struct UploadCut;

/// An upload body: at most [`MAX_UPLOAD_BYTES`] read (else 413, [`too_large`]), of
/// which the first [`MAX_KEPT_BYTES`] are kept.
pub async fn read_upload(mut payload: actix_web::dev::Payload) -> Result<Upload, AppError> {
    let mut body = BytesMut::new();
    let mut total = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("The upload was cut off.".into()))?;
        total += chunk.len();
        if total > MAX_UPLOAD_BYTES {
            return Err(too_large());
        }
        let room = MAX_KEPT_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(Upload {
        body: body.freeze(),
        cut: total > MAX_KEPT_BYTES,
    })
}

/// An upload past [`MAX_UPLOAD_BYTES`]: 413 saying the logo's limit (uploads are logos).
pub fn too_large() -> AppError {
    AppError::problem(
        ProblemKind::PayloadTooLarge,
        crate::domain::logo::too_large(),
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
    let (parts, whole) = read_parts(headers, body).await;
    whole.then_some(parts)
}

/// The parts of a `multipart/form-data` body read whole before it ends or cannot be
/// read further: the CSRF guard finds the form's token, its first field, in a body
/// cut after [`MAX_KEPT_BYTES`].
pub async fn leading_parts(headers: &HeaderMap, body: Bytes) -> Vec<(String, Bytes)> {
    read_parts(headers, body).await.0
}

/// The parts read whole, and whether the body was read to its end.
async fn read_parts(headers: &HeaderMap, body: Bytes) -> (Vec<(String, Bytes)>, bool) {
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut multipart = actix_multipart::Multipart::new(headers, stream);
    let mut out = Vec::new();
    while let Some(field) = multipart.next().await {
        let Ok(mut field) = field else {
            return (out, false);
        };
        let name = field.name().unwrap_or_default().to_string();
        let mut data = BytesMut::new();
        while let Some(chunk) = field.next().await {
            match chunk {
                Ok(chunk) => data.extend_from_slice(&chunk),
                Err(_) => return (out, false),
            }
        }
        out.push((name, data.freeze()));
    }
    (out, true)
}
