//! `GET /api/v1/communities/{id}/read-states`

use axum::extract::State;
use axum::Json;
use veza_core::id::CommunityId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ReadStateResponse;

/// The caller's read state in each channel of the community they may read: unread messages and
/// mentions since their last acknowledgement.
#[utoipa::path(
    get, path = "/api/v1/communities/{id}/read-states", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("id" = CommunityId, Path, description = "The community")),
    responses(
        (status = 200, description = "The read states", body = Vec<ReadStateResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or it was called without the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn read_states(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<CommunityId>,
) -> ApiResult<Json<Vec<ReadStateResponse>>> {
    Ok(Json(state.communities.read_states(&principal, id).await?.into_iter().map(Into::into).collect()))
}
