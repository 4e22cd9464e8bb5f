//! `POST /api/v1/tracks`: the upload. The body streams through a multipart parser straight into
//! a file in the node's upload folder — never whole in memory — under the configured size limit,
//! and a client that stops sending is dropped. Whatever ends the request early (a refusal, a cut
//! connection, the catalog saying no) removes the received file.

use std::io::ErrorKind;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use veza_core::api_key::Scope;
use veza_core::catalog::track::{TrackForm, Visibility};
use veza_core::catalog::tracks::StagedFile;
use veza_core::{CoreError, FieldError};

use crate::extract::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::{AppState, MediaHttp};
use crate::wire::{TrackResponse, UploadTrackForm};

/// The form's fields; any other is refused by name.
const FIELDS: [&str; 7] = ["file", "title", "description", "genre", "tags", "visibility", "downloadable"];
/// All text fields together: the longest description and title fit many times over.
const TEXT_MAX: u64 = 64 * 1024;
/// Received bytes are written to disk in blocks of this size.
const WRITE_BUFFER: usize = 256 * 1024;
/// What is read of a refused upload's remaining body, and for how long, before giving up on it.
const DRAIN_MAX: u64 = 8 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Upload a track (`multipart/form-data`). The response comes once the file is stored and
/// probed; the track is then `processing` and becomes `ready` (or `failed`, with a reason)
/// within seconds to minutes, announced by a `TRACK_UPDATE` gateway event.
#[utoipa::path(
    post, path = "/api/v1/tracks", tag = "tracks",
    security(("bearer" = []), ("api_key" = ["tracks:write"])),
    request_body(content = UploadTrackForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored; processing", body = TrackResponse,
            headers(("Location" = String, description = "The track's URL"))),
        (status = 400, description = "A malformed or cut-off form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The client stopped sending", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file or the form is larger than this server accepts", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data, or the file is not audio Veza accepts (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, no file, an empty or undecodable file", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database or storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload_track(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, [(header::HeaderName, String); 1], Json<TrackResponse>)> {
    let limits = &state.media;
    let mut body = Box::pin(idle_timeout(body, limits.upload_idle_timeout).fuse());
    // Refuse before reading: an upload is the one body worth hundreds of megabytes. A client
    // that asked `Expect: 100-continue` gets the refusal without sending it at all.
    let checked = auth.and_then(|Auth(principal)| {
        principal.require(Scope::TracksWrite)?;
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limits.upload_max_bytes + TEXT_MAX) {
            return Err(too_large(limits));
        }
        Ok((principal, boundary(&headers)?))
    });
    let (principal, boundary) = match checked {
        Ok(checked) => checked,
        Err(refusal) => {
            let expects_continue = headers
                .get(header::EXPECT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
            if !expects_continue {
                drain(&mut body).await;
            }
            return Err(refusal);
        }
    };
    let received = match receive(&mut body, boundary, limits).await {
        Ok(received) => received,
        Err(refusal) => {
            drain(&mut body).await;
            return Err(refusal);
        }
    };
    let staged = StagedFile { path: &received.file.path, size: received.size, file_name: &received.file_name };
    let track = state.catalog.upload(&principal, received.form, staged).await?;
    drop(received.file); // the catalog has stored its own copy
    let location = format!("/api/v1/tracks/{}", track.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(TrackResponse::for_viewer(track, Some(principal.user_id))),
    ))
}

/// Reads and discards what is left of a refused upload, up to [`DRAIN_MAX`] bytes for at most
/// [`DRAIN_TIME`], so that a client still sending reads the refusal instead of a reset
/// connection (closing a socket with unread data resets it). Past that the connection closes.
async fn drain(body: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Unpin)) {
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

/// The multipart boundary, or 415 naming the content type this route takes.
fn boundary(headers: &HeaderMap) -> Result<String, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the upload as `multipart/form-data` with the audio in a `file` field",
        )
    })
}

/// A received file, removed when dropped.
#[derive(Debug)]
struct Received {
    path: PathBuf,
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

/// The whole form, read.
struct Upload {
    form: TrackForm,
    file: Received,
    size: u64,
    file_name: String,
}

async fn receive(
    body: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin),
    boundary: String,
    limits: &MediaHttp,
) -> Result<Upload, ApiError> {
    let constraints = multer::Constraints::new().allowed_fields(FIELDS.to_vec()).size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.upload_max_bytes + TEXT_MAX)
            .per_field(TEXT_MAX)
            .for_field("file", limits.upload_max_bytes),
    );
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let mut form = TrackForm::default();
    let mut tags: Option<Vec<String>> = None;
    let mut text_bytes = 0u64;
    let mut file: Option<(Received, u64, String)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| form_error(e, limits))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file.is_some() {
                return Err(invalid("file", "duplicate", "send one file per upload"));
            }
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let received = Received { path: limits.upload_dir.join(format!("{}.part", uuid::Uuid::new_v4())) };
            let out = tokio::fs::File::create(&received.path).await.map_err(storage_error)?;
            let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, out);
            let mut size = 0u64;
            while let Some(chunk) = field.chunk().await.map_err(|e| form_error(e, limits))? {
                size += chunk.len() as u64;
                out.write_all(&chunk).await.map_err(storage_error)?;
            }
            out.flush().await.map_err(storage_error)?;
            file = Some((received, size, file_name));
            continue;
        }
        let text = field.text().await.map_err(|e| form_error(e, limits))?;
        text_bytes += text.len() as u64;
        if text_bytes > TEXT_MAX {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the form's text fields exceed {TEXT_MAX} bytes together"),
            ));
        }
        if text.trim().is_empty() {
            continue; // left empty: the file's tags fill it in
        }
        match name.as_str() {
            "title" => set_once(&mut form.title, text, &name)?,
            "description" => set_once(&mut form.description, text, &name)?,
            "genre" => set_once(&mut form.genre, text, &name)?,
            "tags" => tags
                .get_or_insert_with(Vec::new)
                .extend(text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)),
            "visibility" => {
                let v = Visibility::parse(text.trim()).ok_or_else(|| {
                    invalid("visibility", "invalid", "visibility must be public, unlisted or private")
                })?;
                set_once(&mut form.visibility, v, &name)?;
            }
            "downloadable" => {
                let v = match text.trim() {
                    "true" | "1" | "on" => true,
                    "false" | "0" | "off" => false,
                    _ => return Err(invalid("downloadable", "invalid", "downloadable must be true or false")),
                };
                set_once(&mut form.downloadable, v, &name)?;
            }
            // multer admits only the allowed fields; should that ever change, still refuse.
            other => return Err(unknown_field(other)),
        }
    }
    form.tags = tags;
    let (file, size, file_name) =
        file.ok_or_else(|| invalid("file", "missing", "the form has no `file` field with the audio"))?;
    Ok(Upload { form, file, size, file_name })
}

/// Fills a field of the form, which may be sent once.
fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), ApiError> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(invalid(name, "duplicate", &format!("send `{name}` once"))),
    }
}

fn unknown_field(name: &str) -> ApiError {
    let field = if name.is_empty() { "form" } else { name };
    invalid(field, "unknown_field", &format!("unknown field `{name}`; the form takes {}", FIELDS.join(", ")))
}

fn invalid(field: &str, code: &'static str, message: &str) -> ApiError {
    CoreError::invalid(FieldError::new(field, code, message.to_owned())).into()
}

fn too_large(limits: &MediaHttp) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the file is larger than the {} bytes this server accepts", limits.upload_max_bytes),
    )
}

fn storage_error(e: std::io::Error) -> ApiError {
    tracing::error!(error = %e, "cannot write a received upload");
    CoreError::Unavailable(format!("cannot store the upload: {e}")).into()
}

/// Why the form could not be read, as what the client should fix.
fn form_error(e: multer::Error, limits: &MediaHttp) -> ApiError {
    use multer::Error as E;
    match e {
        E::FieldSizeExceeded { field_name, .. } if field_name.as_deref() == Some("file") => too_large(limits),
        E::FieldSizeExceeded { field_name, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the field `{}` is longer than {limit} bytes", field_name.unwrap_or_default()),
        ),
        E::StreamSizeExceeded { .. } => too_large(limits),
        E::UnknownField { field_name } => unknown_field(field_name.as_deref().unwrap_or_default()),
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

/// The body's bytes, failing with `TimedOut` when none arrive for `idle`.
fn idle_timeout(
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
