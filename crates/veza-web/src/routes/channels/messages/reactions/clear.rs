//! `DELETE /api/v1/channels/{channel_id}/messages/{message_id}/reactions`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{ChannelId, MessageId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Remove every reaction from a message (`manage_messages`).
#[utoipa::path(
    delete, path = "/api/v1/channels/{channel_id}/messages/{message_id}/reactions", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("message_id" = MessageId, Path, description = "The message")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it) or message", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn clear_reactions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, message)): ApiPath<(ChannelId, MessageId)>,
) -> ApiResult<StatusCode> {
    state.communities.clear_reactions(&principal, id, message, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
