//! `POST /api/v1/channels/{channel_id}/typing`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::ChannelId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Tell the channel you are typing: its viewers get `TYPING_START` on the gateway, shown for 10
/// seconds unless renewed or a message comes (`send_messages`).
#[utoipa::path(
    post, path = "/api/v1/channels/{channel_id}/typing", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    responses(
        (status = 204, description = "Announced"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A category holds no messages (`category`), or the thread is archived (`thread_archived`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_typing(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<StatusCode> {
    state.communities.typing(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
