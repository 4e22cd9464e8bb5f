//! `POST /api/v1/auth/login/mfa/passkey`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{LoginResponse, MeResponse, MfaPasskeyRequest, TokenResponse};

/// Finish a login's second step with a passkey; the login token is spent.
#[utoipa::path(
    post, path = "/api/v1/auth/login/mfa/passkey", tag = "auth",
    request_body = MfaPasskeyRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed JSON, or the login token or ceremony is unknown, used or expired (`token_invalid`, `token_used`, `token_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The passkey is not the account's, or its answer was refused (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-in attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mfa_passkey(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<MfaPasskeyRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let (user, tokens) =
        state.accounts.login_mfa_passkey(&body.mfa_token, &body.ceremony_id, &body.credential, &meta).await?;
    let now = state.accounts.deps().clock.now();
    Ok(Json(LoginResponse {
        user: MeResponse::from(state.social.with_counts(user).await?),
        tokens: TokenResponse::new(tokens, now),
    }))
}
