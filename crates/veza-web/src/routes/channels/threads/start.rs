//! `POST /api/v1/channels/{channel_id}/threads`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use veza_core::id::ChannelId;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{ChannelResponse, StartThreadRequest};

/// Start a thread in a text or announcement channel (`create_threads` there): from one of its
/// messages (`read_message_history` too; one thread per message) or on its own. The starter
/// joins it; it is seen through the channel's overwrites, and posting in it takes
/// `send_in_threads`.
#[utoipa::path(
    post, path = "/api/v1/channels/{channel_id}/threads", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel to start it in")),
    request_body = StartThreadRequest,
    responses(
        (status = 201, description = "Started", body = ChannelResponse,
            headers(("Location" = String, description = "The thread, as a channel"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it), or no such message in it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a text or announcement channel (`no_threads`), the message has a thread already (`has_thread`), or the community has 1000 open threads (`too_many`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_thread(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<ChannelId>,
    ApiJson(body): ApiJson<StartThreadRequest>,
) -> ApiResult<impl IntoResponse> {
    let thread = state
        .communities
        .start_thread(&principal, id, &body.name, body.message_id, body.auto_archive_minutes.map(|m| m.0), &meta)
        .await?;
    let location = format!("/api/v1/channels/{}", thread.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ChannelResponse::from(thread))))
}
