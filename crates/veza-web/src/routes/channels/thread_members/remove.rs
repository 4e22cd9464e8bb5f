//! `DELETE /api/v1/channels/{channel_id}/thread-members/{user_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{ChannelId, UserId};

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Take someone out of a thread (`manage_threads`; anyone may take themselves out).
#[utoipa::path(
    delete, path = "/api/v1/channels/{channel_id}/thread-members/{user_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The thread"), ("user_id" = UserId, Path, description = "Who")),
    responses(
        (status = 204, description = "They are out of it"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such thread (or you cannot view it), or they are not in it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_thread_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, user)): ApiPath<(ChannelId, UserId)>,
) -> ApiResult<StatusCode> {
    state.communities.leave_thread(&principal, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}
