//! `GET /api/v1/communities/{id}/presences`

use axum::extract::State;
use axum::Json;
use veza_core::id::CommunityId;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::PresenceResponse;

/// The members not shown offline (at most 1000), with their status and what they are listening
/// to: what READY gives, for a client re-syncing over REST. Everyone else is offline.
#[utoipa::path(
    get, path = "/api/v1/communities/{id}/presences", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    params(("id" = CommunityId, Path, description = "The community")),
    responses(
        (status = 200, description = "The presences", body = Vec<PresenceResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn presences(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<CommunityId>,
) -> ApiResult<Json<Vec<PresenceResponse>>> {
    let presences = state.communities.community_presences(&principal, id).await?;
    Ok(Json(presences.into_iter().map(Into::into).collect()))
}
