//! `DELETE /api/v1/channels/{channel_id}/messages/{message_id}/reactions/{emoji}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{ChannelId, MessageId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Remove every reaction with one emoji from a message (`manage_messages`).
#[utoipa::path(
    delete, path = "/api/v1/channels/{channel_id}/messages/{message_id}/reactions/{emoji}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("message_id" = MessageId, Path, description = "The message"), ("emoji" = String, Path, description = "One Unicode emoji, percent-encoded")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it) or message", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a single Unicode emoji (`not_an_emoji`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn clear_emoji(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, message, emoji)): ApiPath<(ChannelId, MessageId, String)>,
) -> ApiResult<StatusCode> {
    state.communities.clear_reactions(&principal, id, message, Some(&emoji)).await?;
    Ok(StatusCode::NO_CONTENT)
}
