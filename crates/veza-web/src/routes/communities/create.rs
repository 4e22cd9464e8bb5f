//! `POST /api/v1/communities`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{CommunityResponse, CreateCommunityRequest};

/// Create a community: the caller owns it and is its first member; its `@everyone` role gets the
/// default permissions.
#[utoipa::path(
    post, path = "/api/v1/communities", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    request_body = CreateCommunityRequest,
    responses(
        (status = 201, description = "Created", body = CommunityResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or it was called without the scope", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_community(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<CreateCommunityRequest>,
) -> ApiResult<impl IntoResponse> {
    let community = state.communities.create(&principal, &body.name, body.description.as_deref(), &meta).await?;
    let location = format!("/api/v1/communities/{}", community.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(CommunityResponse::from(community))))
}
