//! `GET /api/v1/channels/{channel_id}/messages/{message_id}/reactions`

use axum::extract::State;
use axum::Json;
use veza_core::id::{ChannelId, MessageId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ReactionCountResponse;

/// Each reaction on a message with its count, first reacted first, and whether the caller reacted so.
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}/messages/{message_id}/reactions", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("message_id" = MessageId, Path, description = "The message")),
    responses(
        (status = 200, description = "The reactions", body = Vec<ReactionCountResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it) or message", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reaction_counts(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, message)): ApiPath<(ChannelId, MessageId)>,
) -> ApiResult<Json<Vec<ReactionCountResponse>>> {
    Ok(Json(state.communities.reactions(&principal, id, message).await?.into_iter().map(Into::into).collect()))
}
