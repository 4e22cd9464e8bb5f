//! `DELETE /api/v1/channels/{channel_id}/permissions/{target_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::ChannelId;
use veza_core::CoreError;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Remove a role's or member's overwrite from a channel (`manage_roles` in it).
#[utoipa::path(
    delete, path = "/api/v1/channels/{channel_id}/permissions/{target_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("channel_id" = ChannelId, Path, description = "The channel"), ("target_id" = String, Path, description = "The role's or member's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a permission or the role hierarchy forbids it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such channel (or you cannot view it), or no such overwrite", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A thread takes its parent's overwrites (`thread`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_overwrite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, target)): ApiPath<(ChannelId, String)>,
) -> ApiResult<StatusCode> {
    let raw: i64 = target.parse().map_err(|_| CoreError::NotFound("overwrite"))?;
    state.communities.remove_overwrite_of(&principal, id, raw, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
