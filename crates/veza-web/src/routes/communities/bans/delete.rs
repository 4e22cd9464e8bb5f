//! `DELETE /api/v1/communities/{id}/bans/{user_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{CommunityId, UserId};

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Lift a ban (`ban_members`).
#[utoipa::path(
    delete, path = "/api/v1/communities/{id}/bans/{user_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community"), ("user_id" = UserId, Path, description = "The member")),
    responses(
        (status = 204, description = "Lifted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or ban", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unban_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, user)): ApiPath<(CommunityId, UserId)>,
) -> ApiResult<StatusCode> {
    state.communities.unban(&principal, id, user, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
