//! `GET /api/v1/channels/{channel_id}/thread-members`

use axum::extract::State;
use axum::Json;
use veza_core::id::ChannelId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ThreadMemberResponse;

/// Who is in the thread (at most 1000, earliest first).
#[utoipa::path(
    get, path = "/api/v1/channels/{channel_id}/thread-members", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("channel_id" = ChannelId, Path, description = "The thread")),
    responses(
        (status = 200, description = "Its members", body = Vec<ThreadMemberResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such thread (or you cannot view it)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn thread_members(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<Json<Vec<ThreadMemberResponse>>> {
    let members = state.communities.thread_members(&principal, id).await?;
    Ok(Json(members.into_iter().map(Into::into).collect()))
}
