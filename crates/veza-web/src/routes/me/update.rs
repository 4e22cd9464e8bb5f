//! `PATCH /api/v1/me`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{MeResponse, UpdateProfileRequest};

/// Edit the caller's public profile.
#[utoipa::path(
    patch, path = "/api/v1/me", tag = "me",
    security(("bearer" = []), ("api_key" = ["profile:write"])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, description = "The updated account", body = MeResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<UpdateProfileRequest>,
) -> ApiResult<Json<MeResponse>> {
    let me = state.accounts.update_profile(&principal, body.into(), &meta).await?;
    Ok(Json(state.social.with_counts(me).await?.into()))
}
