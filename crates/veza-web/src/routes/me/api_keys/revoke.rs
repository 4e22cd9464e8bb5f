//! `DELETE /api/v1/me/api-keys/{id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::ApiKeyId;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Revoke one of the caller's API keys, at once.
#[utoipa::path(
    delete, path = "/api/v1/me/api-keys/{id}", tag = "me",
    security(("bearer" = [])),
    params(("id" = ApiKeyId, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such live key of yours", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> ApiResult<StatusCode> {
    state.accounts.revoke_api_key(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
