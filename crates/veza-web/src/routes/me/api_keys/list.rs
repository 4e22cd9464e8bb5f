//! `GET /api/v1/me/api-keys`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ApiKeyResponse;

/// The caller's live API keys, newest first (never their secrets).
#[utoipa::path(
    get, path = "/api/v1/me/api-keys", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The keys", body = Vec<ApiKeyResponse>),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<ApiKeyResponse>>> {
    let keys = state.accounts.list_api_keys(&principal).await?;
    Ok(Json(keys.into_iter().map(ApiKeyResponse::from).collect()))
}
