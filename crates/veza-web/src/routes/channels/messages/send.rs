//! `POST /api/v1/channels/{channel_id}/messages`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use veza_core::id::ChannelId;

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{MessageResponse, SendMessageRequest};

/// Send a message (`send_messages`; in an announcement channel, `manage_messages` too). With a
/// `nonce`, a retried send answers 200 with the message the first one posted.
#[utoipa::path(
    post, path = "/api/v1/channels/{channel_id}/messages", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Sent", body = MessageResponse),
        (status = 200, description = "Sent before with this nonce", body = MessageResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it), or no such message to reply to", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A category holds no messages (`category`), or the thread is archived (`thread_archived`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a mention of someone outside the community (`unknown_mention`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Slowmode (`slowmode`) or a rate limit: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_message(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<(StatusCode, Json<MessageResponse>)> {
    let (message, new) =
        state.communities.send_message(&principal, id, &body.content, body.nonce.as_deref(), body.reply_to).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(message.into())))
}
