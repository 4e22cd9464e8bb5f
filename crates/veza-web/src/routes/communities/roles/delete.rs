//! `DELETE /api/v1/communities/{id}/roles/{role_id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::{CommunityId, RoleId};

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a role below the caller's highest (`manage_roles`); never `@everyone`.
#[utoipa::path(
    delete, path = "/api/v1/communities/{id}/roles/{role_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community"), ("role_id" = RoleId, Path, description = "The role")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a permission or the role hierarchy forbids it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or role", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, role)): ApiPath<(CommunityId, RoleId)>,
) -> ApiResult<StatusCode> {
    state.communities.delete_role(&principal, id, role, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
