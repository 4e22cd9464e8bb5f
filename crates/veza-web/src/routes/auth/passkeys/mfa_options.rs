//! `POST /api/v1/auth/login/mfa/passkey/options`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{MfaTokenRequest, PasskeyOptionsResponse};

/// Start the second step of a login with one of the account's passkeys (offered when the first
/// step's `methods` include `passkey`).
#[utoipa::path(
    post, path = "/api/v1/auth/login/mfa/passkey/options", tag = "auth",
    request_body = MfaTokenRequest,
    responses(
        (status = 200, description = "The request options", body = PasskeyOptionsResponse),
        (status = 400, description = "Malformed JSON, or the login token is unknown, used or expired (`token_invalid`, `token_used`, `token_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has no passkey (`no_passkeys`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-in attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 403, description = "Passkeys are off on this server (its web client URL is not https or localhost)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mfa_passkey_options(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<MfaTokenRequest>,
) -> ApiResult<Json<PasskeyOptionsResponse>> {
    Ok(Json(state.accounts.start_passkey_second_factor(&body.mfa_token, &meta).await?.into()))
}
