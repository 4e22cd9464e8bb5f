//! `PATCH /api/v1/channels/{channel_id}/messages/{message_id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::{ChannelId, MessageId};

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{EditMessageRequest, MessageResponse};

/// Edit one's own message; the earlier text is kept (`…/edits`).
#[utoipa::path(
    patch, path = "/api/v1/channels/{channel_id}/messages/{message_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("message_id" = MessageId, Path, description = "The message")),
    request_body = EditMessageRequest,
    responses(
        (status = 200, description = "Edited", body = MessageResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or the caller is not its author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it) or message", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a mention of someone outside the community (`unknown_mention`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn edit_message(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, message)): ApiPath<(ChannelId, MessageId)>,
    ApiJson(body): ApiJson<EditMessageRequest>,
) -> ApiResult<Json<MessageResponse>> {
    Ok(Json(state.communities.edit_message(&principal, id, message, &body.content).await?.into()))
}
