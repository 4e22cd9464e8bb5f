//! `POST /api/v1/tracks`: the upload. The body streams through a multipart parser straight into
//! a file in the node's upload folder (see `upload.rs`) under the configured size limit.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use futures_util::StreamExt;
use veza_core::api_key::Scope;
use veza_core::catalog::track::{TrackForm, Visibility};
use veza_core::catalog::tracks::StagedFile;
use veza_core::{CoreError, FieldError};

use crate::extract::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::{AppState, MediaHttp};
use crate::upload::{self, Received};
use crate::wire::{TrackResponse, UploadTrackForm};

/// The form's fields; any other is refused by name.
const FIELDS: [&str; 7] = ["file", "title", "description", "genre", "tags", "visibility", "downloadable"];
/// All text fields together: the longest description and title fit many times over.
const TEXT_MAX: u64 = 64 * 1024;
/// What the route takes, for the 415 answer.
const TAKES: &str = "the upload as `multipart/form-data` with the audio in a `file` field";

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
        (status = 503, description = "Database or storage unavailable, or uploads are off on this server for want of ffmpeg (`media_unavailable`, saying what to install)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload_track(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, [(header::HeaderName, String); 1], Json<TrackResponse>)> {
    let limits = &state.media;
    let mut body = Box::pin(upload::idle_timeout(body, limits.upload_idle_timeout).fuse());
    // Refuse before reading: an upload is the one body worth hundreds of megabytes. A client
    // that asked `Expect: 100-continue` gets the refusal without sending it at all.
    let checked = auth.and_then(|Auth(principal)| {
        principal.require(Scope::TracksWrite)?;
        state.catalog.uploads_open()?;
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limits.upload_max_bytes + TEXT_MAX) {
            return Err(too_large(limits));
        }
        Ok((principal, upload::boundary(&headers, TAKES)?))
    });
    let (principal, boundary) = match checked {
        Ok(checked) => checked,
        Err(refusal) => {
            if !upload::expects_continue(&headers) {
                upload::drain(&mut body).await;
            }
            return Err(refusal);
        }
    };
    let received = match receive(&mut body, boundary, limits).await {
        Ok(received) => received,
        Err(refusal) => {
            upload::drain(&mut body).await;
            return Err(refusal);
        }
    };
    let file = &received.file;
    let staged = StagedFile { path: &file.path, size: file.size, file_name: &file.file_name };
    let track = state.catalog.upload(&principal, received.form, staged).await?;
    drop(received.file); // the catalog has stored its own copy
    let location = format!("/api/v1/tracks/{}", track.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(TrackResponse::for_viewer(track, Some(principal.user_id))),
    ))
}

/// The whole form, read.
struct Upload {
    form: TrackForm,
    file: Received,
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
    let mut file: Option<Received> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| form_error(e, limits))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file.is_some() {
                return Err(invalid("file", "duplicate", "send one file per upload"));
            }
            let received =
                upload::receive_file(&mut field, &limits.upload_dir, 0, |_| Ok(()), |e| form_error(e, limits)).await?;
            file = Some(received);
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
            other => return Err(upload::unknown_field(other, &FIELDS)),
        }
    }
    form.tags = tags;
    let file = file.ok_or_else(|| invalid("file", "missing", "the form has no `file` field with the audio"))?;
    Ok(Upload { form, file })
}

/// Fills a field of the form, which may be sent once.
fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), ApiError> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(invalid(name, "duplicate", &format!("send `{name}` once"))),
    }
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

fn form_error(e: multer::Error, limits: &MediaHttp) -> ApiError {
    upload::form_error(e, &FIELDS, "file", || too_large(limits))
}
