//! `POST /api/v1/me/passkeys`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{AddPasskeyRequest, PasskeyResponse};

/// Finish adding a passkey with what the authenticator created. The owner is told by mail.
#[utoipa::path(
    post, path = "/api/v1/me/passkeys", tag = "me",
    security(("bearer" = [])),
    request_body = AddPasskeyRequest,
    responses(
        (status = 201, description = "Added", body = PasskeyResponse,
            headers(("Location" = String, description = "The passkey's URL"))),
        (status = 400, description = "Malformed JSON, or the ceremony is unknown, spent (`token_invalid`) or expired (`token_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The passkey is registered already (`already_registered`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name, or the authenticator's answer was refused (`credential`: `rejected`, with why)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_passkey(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<AddPasskeyRequest>,
) -> ApiResult<impl IntoResponse> {
    let passkey = state
        .accounts
        .finish_passkey_registration(&principal, &body.ceremony_id, body.name.as_deref(), &body.credential, &meta)
        .await?;
    let location = format!("/api/v1/me/passkeys/{}", passkey.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(PasskeyResponse::from(passkey))))
}
