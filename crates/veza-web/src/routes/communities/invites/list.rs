//! `GET /api/v1/communities/{id}/invites`

use axum::extract::State;
use axum::Json;
use veza_core::id::CommunityId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::InviteResponse;

/// The community's invites, with their uses (`manage_community`).
#[utoipa::path(
    get, path = "/api/v1/communities/{id}/invites", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("id" = CommunityId, Path, description = "The community")),
    responses(
        (status = 200, description = "The invites", body = Vec<InviteResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_invites(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<CommunityId>,
) -> ApiResult<Json<Vec<InviteResponse>>> {
    Ok(Json(state.communities.invites(&principal, id).await?.into_iter().map(Into::into).collect()))
}
