//! `POST /api/v1/auth/password/reset`

use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ResetPasswordRequest;

/// Set a new password with the token of a reset link. Every session of the account ends.
#[utoipa::path(
    post, path = "/api/v1/auth/password/reset", tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password set; log in with it"),
        (status = 400, description = "Malformed JSON, or the token is unknown, expired or already used (codes `token_invalid`, `token_expired`, `token_used`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    state.accounts.reset_password(&body.token, &body.new_password, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
