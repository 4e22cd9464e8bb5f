//! `PATCH /api/v1/me/passkeys/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::PasskeyId;

use crate::extract::{ApiJson, ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{PasskeyResponse, RenamePasskeyRequest};

/// Rename one of the caller's passkeys.
#[utoipa::path(
    patch, path = "/api/v1/me/passkeys/{id}", tag = "me",
    security(("bearer" = [])),
    params(("id" = PasskeyId, Path, description = "The passkey's id")),
    request_body = RenamePasskeyRequest,
    responses(
        (status = 200, description = "Renamed", body = PasskeyResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passkey of yours", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rename_passkey(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<PasskeyId>,
    ApiJson(body): ApiJson<RenamePasskeyRequest>,
) -> ApiResult<Json<PasskeyResponse>> {
    Ok(Json(state.accounts.rename_passkey(&principal, id, &body.name).await?.into()))
}
