//! `GET /api/v1/channels/{channel_id}/messages/{message_id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::{ChannelId, MessageId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::MessageResponse;

/// One message (`read_message_history`).
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}/messages/{message_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("message_id" = MessageId, Path, description = "The message")),
    responses(
        (status = 200, description = "The message", body = MessageResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it) or message", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_message(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, message)): ApiPath<(ChannelId, MessageId)>,
) -> ApiResult<Json<MessageResponse>> {
    Ok(Json(state.communities.get_message(&principal, id, message).await?.into()))
}
