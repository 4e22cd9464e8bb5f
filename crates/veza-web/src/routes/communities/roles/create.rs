//! `POST /api/v1/communities/{id}/roles`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use veza_core::chat::communities::RolePatch;
use veza_core::id::CommunityId;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{permissions_of, RoleRequest, RoleResponse};

/// Create a role (`manage_roles`): positioned below the caller's highest role, granting only
/// permissions the caller has.
#[utoipa::path(
    post, path = "/api/v1/communities/{id}/roles", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community")),
    request_body = RoleRequest,
    responses(
        (status = 201, description = "Created", body = RoleResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The community has its 250 roles already", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<CommunityId>,
    ApiJson(body): ApiJson<RoleRequest>,
) -> ApiResult<impl IntoResponse> {
    let role = state.communities.create_role(&principal, id, role_patch(body), &meta).await?;
    let location = format!("/api/v1/communities/{id}/roles/{}", role.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(RoleResponse::from(role))))
}

/// The use cases' form of a role request.
pub fn role_patch(body: RoleRequest) -> RolePatch {
    RolePatch {
        name: body.name,
        permissions: body.permissions.as_deref().map(permissions_of),
        position: body.position.map(|w| w.0),
    }
}
