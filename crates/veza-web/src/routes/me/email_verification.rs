//! `POST /api/v1/me/email/verification`

use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Send the caller's address a new verification link (at most one a minute). Earlier links
/// stop working.
#[utoipa::path(
    post, path = "/api/v1/me/email/verification", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is already verified", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "A link was sent less than a minute ago: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend_verification(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
) -> ApiResult<StatusCode> {
    state.accounts.resend_verification(&principal, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}
