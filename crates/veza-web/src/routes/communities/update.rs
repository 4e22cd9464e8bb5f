//! `PATCH /api/v1/communities/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::CommunityId;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{CommunityResponse, UpdateCommunityRequest};

/// Rename a community or change its description (`manage_community`).
#[utoipa::path(
    patch, path = "/api/v1/communities/{id}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community")),
    request_body = UpdateCommunityRequest,
    responses(
        (status = 200, description = "Updated", body = CommunityResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_community(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<CommunityId>,
    ApiJson(body): ApiJson<UpdateCommunityRequest>,
) -> ApiResult<Json<CommunityResponse>> {
    let description = body.description.as_ref().map(|d| d.as_deref());
    let community = state.communities.update(&principal, id, body.name.as_deref(), description, &meta).await?;
    Ok(Json(community.into()))
}
