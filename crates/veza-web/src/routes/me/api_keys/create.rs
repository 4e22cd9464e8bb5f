//! `POST /api/v1/me/api-keys`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{ApiKeyResponse, CreateApiKeyRequest, CreatedApiKeyResponse};

/// Create an API key. Its secret is in this response only: store it now.
#[utoipa::path(
    post, path = "/api/v1/me/api-keys", tag = "me",
    security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The key, with its secret", body = CreatedApiKeyResponse,
            headers(("Location" = String, description = "The key's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too many keys", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<impl IntoResponse> {
    let expires_at =
        body.expires_in_days.map(|d| state.accounts.deps().clock.now() + time::Duration::days(i64::from(d.0)));
    let created = state.accounts.create_api_key(&principal, &body.name, body.scopes, expires_at, &meta).await?;
    let location = format!("/api/v1/me/api-keys/{}", created.key.id);
    let body = CreatedApiKeyResponse { key: ApiKeyResponse::from(created.key), secret: created.secret };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)))
}
