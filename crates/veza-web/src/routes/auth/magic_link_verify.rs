//! `POST /api/v1/auth/magic-link/verify`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{LoginResult, MagicLinkVerifyRequest};

/// Sign in with a mailed link's token and the nonce its request returned. With two-factor
/// authentication on, the answer is the second step (`mfa_required`), as for a password.
#[utoipa::path(
    post, path = "/api/v1/auth/magic-link/verify", tag = "auth",
    request_body = MagicLinkVerifyRequest,
    responses(
        (status = 200, description = "Logged in, or (`mfa_required`) a code is needed next", body = LoginResult),
        (status = 400, description = "Malformed JSON, or the token is unknown, expired, already used or asked for by another client (codes `token_invalid`, `token_expired`, `token_used`, `token_foreign`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong nonces for this account or from this address: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn magic_link_verify(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<MagicLinkVerifyRequest>,
) -> ApiResult<Json<LoginResult>> {
    let outcome = state.accounts.login_magic_link(&body.token, &body.nonce, &meta).await?;
    Ok(Json(LoginResult::from_outcome(outcome, &state.social, state.accounts.deps().clock.now()).await?))
}
