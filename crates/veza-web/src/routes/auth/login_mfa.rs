//! `POST /api/v1/auth/login/mfa`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{LoginMfaRequest, LoginResponse, MeResponse, TokenResponse};

/// Finish a login with two-factor authentication: the token from the first step and a code.
///
/// A wrong code leaves the token usable until it expires (wrong codes are throttled like
/// passwords); a right one consumes it. A TOTP code is accepted once only.
#[utoipa::path(
    post, path = "/api/v1/auth/login/mfa", tag = "auth",
    request_body = LoginMfaRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed JSON, or the login token is unknown, expired or already used (codes `token_invalid`, `token_expired`, `token_used`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong or already used code (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login_mfa(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<LoginMfaRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let (user, tokens) = state.accounts.login_mfa(&body.mfa_token, &body.code, &meta).await?;
    let now = state.accounts.deps().clock.now();
    Ok(Json(LoginResponse {
        user: MeResponse::from(state.social.with_counts(user).await?),
        tokens: TokenResponse::new(tokens, now),
    }))
}
