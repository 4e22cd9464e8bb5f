//! `DELETE /api/v1/communities/{id}/members/{user_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{CommunityId, UserId};

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Leave (one's own id; the owner cannot) or kick a member (`kick_members`, and a higher role).
#[utoipa::path(
    delete, path = "/api/v1/communities/{id}/members/{user_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community"), ("user_id" = UserId, Path, description = "The member")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a permission or the role hierarchy forbids it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner cannot leave (`owner_cannot_leave`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, user)): ApiPath<(CommunityId, UserId)>,
) -> ApiResult<StatusCode> {
    state.communities.remove_member(&principal, id, user, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
