//! `POST /api/v1/me/passkeys/options`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{PasskeyOptionsResponse, PresenceRequest};

/// Start adding a passkey: the options for `navigator.credentials.create` (a discoverable
/// credential with user verification), and the ceremony to finish with `POST /api/v1/me/passkeys`.
#[utoipa::path(
    post, path = "/api/v1/me/passkeys/options", tag = "me",
    security(("bearer" = [])),
    request_body = PresenceRequest,
    responses(
        (status = 200, description = "The creation options", body = PasskeyOptionsResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, called with an API key, passkeys are off on this server (its web client URL is not https or localhost), or an account without a password did not sign in within the last 10 minutes", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current password is missing or wrong (`current_password`: `required`, `incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn passkey_options(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<PresenceRequest>,
) -> ApiResult<Json<PasskeyOptionsResponse>> {
    let password = body.current_password.as_deref();
    Ok(Json(state.accounts.start_passkey_registration(&principal, password, &meta).await?.into()))
}
