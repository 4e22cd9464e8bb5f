//! `DELETE /api/v1/communities/{id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::CommunityId;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a community and everything in it: its owner only.
#[utoipa::path(
    delete, path = "/api/v1/communities/{id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or the caller is not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_community(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<CommunityId>,
) -> ApiResult<StatusCode> {
    state.communities.delete(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
