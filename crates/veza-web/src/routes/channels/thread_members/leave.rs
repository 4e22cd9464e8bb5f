//! `DELETE /api/v1/channels/{channel_id}/thread-members/@me`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::ChannelId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Leave a thread.
#[utoipa::path(
    delete, path = "/api/v1/channels/{channel_id}/thread-members/@me", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The thread")),
    responses(
        (status = 204, description = "You left it"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such thread (or you cannot view it), or you are not in it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn leave_thread(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<StatusCode> {
    let me = principal.user_id;
    state.communities.leave_thread(&principal, id, me).await?;
    Ok(StatusCode::NO_CONTENT)
}
