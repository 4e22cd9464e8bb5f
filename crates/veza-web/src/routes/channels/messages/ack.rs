//! `POST /api/v1/channels/{channel_id}/messages/{message_id}/ack`

use axum::extract::State;
use axum::Json;
use veza_core::id::{ChannelId, MessageId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ReadStateResponse;

/// Mark the channel read up to this message (never backwards); answers the read state.
#[utoipa::path(
    post, path = "/api/v1/channels/{channel_id}/messages/{message_id}/ack", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("message_id" = MessageId, Path, description = "The message")),
    responses(
        (status = 200, description = "The read state", body = ReadStateResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it) or message", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ack_message(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, message)): ApiPath<(ChannelId, MessageId)>,
) -> ApiResult<Json<ReadStateResponse>> {
    Ok(Json(state.communities.ack(&principal, id, message).await?.into()))
}
