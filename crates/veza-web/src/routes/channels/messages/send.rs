//! `POST /api/v1/channels/{channel_id}/messages`: a message as JSON, or as a multipart form
//! carrying files, which stream into the node's upload folder (see `upload.rs`) under the
//! configured limit before the same use case stores them.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use futures_util::StreamExt;
use veza_core::chat::attachment::{StagedAttachment, ATTACHMENTS_MAX, SNIFF_BYTES};
use veza_core::id::ChannelId;
use veza_core::{CoreError, FieldError};

use crate::extract::{json_object, ApiJson, ApiPath, Auth};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::{AppState, MediaHttp};
use crate::upload::{self, Received};
use crate::wire::{MessageFormPayload, MessageResponse, SendMessageForm, SendMessageRequest};

/// The form's fields.
const FIELDS: [&str; 2] = ["payload_json", "files"];
/// The JSON part, at most: the longest message fits many times over.
const PAYLOAD_MAX: u64 = 64 * 1024;
const TAKES: &str = "the message as JSON, or as `multipart/form-data` with `payload_json` and `files`";

/// Send a message (`send_messages`; in an announcement channel, `manage_messages` too). With a
/// `nonce`, a retried send answers 200 with the message the first one posted. Files come as a
/// `multipart/form-data` form (`attach_files`): the message as JSON in `payload_json`, and up
/// to 10 `files` fields, together within the server's limit (25 MiB by default); a message with
/// files may have no text. Each file's type is decided by its bytes: images (PNG, JPEG, GIF,
/// WebP, AVIF), audio, video (MP4, WebM, QuickTime, Matroska), PDF, ZIP, gzip or UTF-8 text.
#[utoipa::path(
    post, path = "/api/v1/channels/{channel_id}/messages", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    request_body(content(
        (SendMessageRequest = "application/json"),
        (SendMessageForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Sent", body = MessageResponse),
        (status = 200, description = "Sent before with this nonce", body = MessageResponse),
        (status = 400, description = "Malformed JSON, or a malformed or cut-off form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it), or no such message to reply to", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The client stopped sending its files", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A category holds no messages (`category`), or the thread is archived (`thread_archived`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body, or the files together, are larger than this server accepts", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor a multipart form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a mention of someone outside the community (`unknown_mention`), too many files (`too_many_files`), an empty file (`empty`) or one of a type Veza does not take (`unsupported_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Slowmode (`slowmode`) or a rate limit: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database or storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_message(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
    request: Request,
) -> ApiResult<(StatusCode, Json<MessageResponse>)> {
    let chat = &state.communities;
    let (message, new) = if upload::is_multipart(request.headers()) {
        let (parts, body) = request.into_parts();
        let form = receive_form(&parts.headers, body, &state.media).await?;
        let p = form.payload;
        let files: Vec<StagedAttachment<'_>> = form
            .files
            .iter()
            .map(|f| StagedAttachment { path: &f.path, size: f.size, file_name: &f.file_name, head: &f.head })
            .collect();
        let content = p.content.as_deref().unwrap_or_default();
        // The received files are removed when `form` goes: the use case stores its own copies.
        chat.send_message(&principal, id, content, p.nonce.as_deref(), p.reply_to, &files).await?
    } else {
        let ApiJson(body) = ApiJson::<SendMessageRequest>::from_request(request, &state).await?;
        chat.send_message(&principal, id, &body.content, body.nonce.as_deref(), body.reply_to, &[]).await?
    };
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(message.into())))
}

/// The form, read.
struct Form {
    payload: MessageFormPayload,
    files: Vec<Received>,
}

/// Reads the form; on a refusal, reads a little more of what the client is still sending so it
/// hears the answer (see [`upload::drain`]).
async fn receive_form(headers: &HeaderMap, body: axum::body::Body, limits: &MediaHttp) -> Result<Form, ApiError> {
    let mut body = Box::pin(upload::idle_timeout(body, limits.upload_idle_timeout).fuse());
    let read = match upload::boundary(headers, TAKES) {
        Ok(boundary) => receive(&mut body, boundary, limits).await,
        Err(refusal) => Err(refusal),
    };
    if read.is_err() {
        upload::drain(&mut body).await;
    }
    read
}

async fn receive(
    body: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin),
    boundary: String,
    limits: &MediaHttp,
) -> Result<Form, ApiError> {
    let max = limits.attachment_max_bytes;
    let constraints = multer::Constraints::new().allowed_fields(FIELDS.to_vec()).size_limit(
        multer::SizeLimit::new()
            .whole_stream(max + PAYLOAD_MAX + 64 * 1024)
            .per_field(PAYLOAD_MAX)
            .for_field("files", max),
    );
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let form_error = |e| upload::form_error(e, &FIELDS, "files", || too_large(max));
    let mut payload: Option<MessageFormPayload> = None;
    let mut files: Vec<Received> = Vec::new();
    let mut total = 0u64;
    while let Some(mut field) = multipart.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "files" => {
                if files.len() == ATTACHMENTS_MAX {
                    return Err(invalid(
                        "files",
                        "too_many_files",
                        format!("a message carries at most {ATTACHMENTS_MAX} files"),
                    ));
                }
                let admit = |chunk: u64| {
                    total += chunk;
                    if total > max {
                        return Err(too_large(max));
                    }
                    Ok(())
                };
                files.push(upload::receive_file(&mut field, &limits.upload_dir, SNIFF_BYTES, admit, form_error).await?);
            }
            "payload_json" => {
                let text = field.bytes().await.map_err(form_error)?;
                if payload.replace(json_object(&text)?).is_some() {
                    return Err(invalid("payload_json", "duplicate", "send `payload_json` once".into()));
                }
            }
            // multer admits only the allowed fields; should that ever change, still refuse.
            other => return Err(upload::unknown_field(other, &FIELDS)),
        }
    }
    Ok(Form { payload: payload.unwrap_or_default(), files })
}

fn invalid(field: &str, code: &'static str, message: String) -> ApiError {
    CoreError::invalid(FieldError::new(field, code, message)).into()
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("a message's files hold at most {max} bytes together on this server"),
    )
}
