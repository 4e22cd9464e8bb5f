//! `POST /api/v1/auth/passkeys/login`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{LoginResult, PasskeyLoginRequest};

/// Finish signing in with a passkey. User verification (PIN or biometrics) is required, so this
/// is a complete login: the answer always carries tokens.
#[utoipa::path(
    post, path = "/api/v1/auth/passkeys/login", tag = "auth",
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResult),
        (status = 400, description = "Malformed JSON, or the ceremony is unknown, spent (`token_invalid`) or expired (`token_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown passkey, or its answer was refused (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-in attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn passkey_login(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<PasskeyLoginRequest>,
) -> ApiResult<Json<LoginResult>> {
    let outcome = state.accounts.finish_passkey_login(&body.ceremony_id, &body.credential, &meta).await?;
    Ok(Json(LoginResult::from_outcome(outcome, &state.social, state.accounts.deps().clock.now()).await?))
}
