//! `DELETE /api/v1/channels/{channel_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::ChannelId;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a channel (`manage_channels` in it) and its threads, or a thread (`manage_threads`); a
/// category's channels stay, outside any category.
#[utoipa::path(
    delete, path = "/api/v1/channels/{channel_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel, or you cannot view it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_channel(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<StatusCode> {
    state.communities.delete_channel(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
