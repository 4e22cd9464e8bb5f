//! `GET /api/v1/me/communities`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::CommunityResponse;

/// The communities the caller is a member of, oldest membership first.
#[utoipa::path(
    get, path = "/api/v1/me/communities", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:read"])),
    responses(
        (status = 200, description = "The communities", body = Vec<CommunityResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or it was called without the scope", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_communities(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<CommunityResponse>>> {
    Ok(Json(state.communities.mine(&principal).await?.into_iter().map(Into::into).collect()))
}
