//! `PATCH /api/v1/communities/{id}/roles/{role_id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::{CommunityId, RoleId};

use super::create::role_patch;
use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{RoleRequest, RoleResponse};

/// Edit a role below the caller's highest (`manage_roles`); `@everyone` changes only its
/// permissions.
#[utoipa::path(
    patch, path = "/api/v1/communities/{id}/roles/{role_id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community"), ("role_id" = RoleId, Path, description = "The role")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "Updated", body = RoleResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a permission or the role hierarchy forbids it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or role", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath((id, role)): ApiPath<(CommunityId, RoleId)>,
    ApiJson(body): ApiJson<RoleRequest>,
) -> ApiResult<Json<RoleResponse>> {
    Ok(Json(state.communities.update_role(&principal, id, role, role_patch(body), &meta).await?.into()))
}
