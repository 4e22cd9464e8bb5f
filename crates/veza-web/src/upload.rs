//! Receiving `multipart/form-data` uploads (tracks, and files sent with chat messages): each file
//! streams straight into the node's upload folder — never whole in memory — under the route's
//! size limits, a client that stops sending is dropped, and whatever ends a request early (a
//! refusal, a cut connection, the use case saying no) removes the files received so far.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use veza_core::CoreError;

use crate::problem::ApiError;

/// Received bytes are written to disk in blocks of this size.
const WRITE_BUFFER: usize = 256 * 1024;
/// What is read of a refused upload's remaining body, and for how long, before giving up on it.
const DRAIN_MAX: u64 = 8 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// A received file, removed when dropped.
#[derive(Debug)]
pub(crate) struct Received {
    pub path: PathBuf,
    pub size: u64,
    /// The name the client gave it.
    pub file_name: String,
    /// Its first bytes, up to what the caller asked for.
    pub head: Vec<u8>,
}

impl Drop for Received {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != ErrorKind::NotFound {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a received upload");
            }
        }
    }
}

/// Writes a form field's bytes into a new file in `dir`, keeping the first `head_max` bytes
/// aside too. `admit` sees each chunk's size before it is written and may refuse to go on.
pub(crate) async fn receive_file(
    field: &mut multer::Field<'_>,
    dir: &Path,
    head_max: usize,
    mut admit: impl FnMut(u64) -> Result<(), ApiError>,
    form_error: impl Fn(multer::Error) -> ApiError,
) -> Result<Received, ApiError> {
    let file_name = field.file_name().unwrap_or_default().to_owned();
    let path = dir.join(format!("{}.part", uuid::Uuid::new_v4()));
    let out = tokio::fs::File::create(&path).await.map_err(storage_error)?;
    let mut received = Received { path, size: 0, file_name, head: Vec::new() };
    let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, out);
    while let Some(chunk) = field.chunk().await.map_err(&form_error)? {
        admit(chunk.len() as u64)?;
        received.size += chunk.len() as u64;
        let wanted = head_max.saturating_sub(received.head.len()).min(chunk.len());
        received.head.extend_from_slice(&chunk[..wanted]);
        out.write_all(&chunk).await.map_err(storage_error)?;
    }
    out.flush().await.map_err(storage_error)?;
    Ok(received)
}

/// The multipart boundary, or 415 saying what the route takes.
pub(crate) fn boundary(headers: &HeaderMap, takes: &str) -> Result<String, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", format!("send {takes}"))
    })
}

/// Whether the request declares a multipart form.
pub(crate) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Whether the client asked to hear a refusal before sending its body.
pub(crate) fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(header::EXPECT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Reads and discards what is left of a refused upload, up to [`DRAIN_MAX`] bytes for at most
/// [`DRAIN_TIME`], so that a client still sending reads the refusal instead of a reset
/// connection (closing a socket with unread data resets it). Past that the connection closes.
pub(crate) async fn drain(body: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Unpin)) {
    let mut left = DRAIN_MAX;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = body.next().await {
            left = left.saturating_sub(chunk.len() as u64);
            if left == 0 {
                break;
            }
        }
    })
    .await;
}

pub(crate) fn storage_error(e: std::io::Error) -> ApiError {
    tracing::error!(error = %e, "cannot write a received upload");
    CoreError::Unavailable(format!("cannot store the upload: {e}")).into()
}

/// Why the form could not be read, as what the client should fix; `too_large` answers for a
/// file field (`file_field`) or the whole form past its limit. `fields` are the ones it takes.
pub(crate) fn form_error(
    e: multer::Error,
    fields: &[&str],
    file_field: &str,
    too_large: impl Fn() -> ApiError,
) -> ApiError {
    use multer::Error as E;
    match e {
        E::FieldSizeExceeded { field_name, .. } if field_name.as_deref() == Some(file_field) => too_large(),
        E::FieldSizeExceeded { field_name, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the field `{}` is longer than {limit} bytes", field_name.unwrap_or_default()),
        ),
        E::StreamSizeExceeded { .. } => too_large(),
        E::UnknownField { field_name } => unknown_field(field_name.as_deref().unwrap_or_default(), fields),
        E::StreamReadFailed(inner) => match inner.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == ErrorKind::TimedOut => {
                ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", io.to_string())
            }
            _ => {
                ApiError::new(StatusCode::BAD_REQUEST, "upload_interrupted", "the upload could not be read to its end")
            }
        },
        E::IncompleteStream | E::IncompleteFieldData { .. } | E::IncompleteHeaders => ApiError::new(
            StatusCode::BAD_REQUEST,
            "upload_interrupted",
            "the form ended before its closing boundary: the upload was cut off",
        ),
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_form",
            format!("the multipart form is malformed: {other}"),
        ),
    }
}

/// 422 for a field the form does not take, naming the ones it does.
pub(crate) fn unknown_field(name: &str, fields: &[&str]) -> ApiError {
    let field = if name.is_empty() { "form" } else { name };
    let message = format!("unknown field `{name}`; the form takes {}", fields.join(", "));
    CoreError::invalid(veza_core::FieldError::new(field, "unknown_field", message)).into()
}

/// The body's bytes, failing with `TimedOut` when none arrive for `idle`.
pub(crate) fn idle_timeout(
    body: Body,
    idle: std::time::Duration,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(Some(body.into_data_stream()), move |stream| async move {
        let mut stream = stream?;
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(stream))),
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    ErrorKind::TimedOut,
                    format!("the upload sent nothing for {} seconds", idle.as_secs()),
                )),
                None,
            )),
        }
    })
}
