//! `POST /api/v1/auth/email/verify`

use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::LinkTokenRequest;

/// Confirm an email address with the token of a mailed verification link.
///
/// For an address change, the new address replaces the old one now, and every session but the
/// one that asked for the change ends.
#[utoipa::path(
    post, path = "/api/v1/auth/email/verify", tag = "auth",
    request_body = LinkTokenRequest,
    responses(
        (status = 204, description = "Address verified"),
        (status = 400, description = "Malformed JSON, or the token is unknown, expired or already used (codes `token_invalid`, `token_expired`, `token_used`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new address was taken meanwhile by another account", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<LinkTokenRequest>,
) -> ApiResult<StatusCode> {
    state.accounts.verify_email(&body.token, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
