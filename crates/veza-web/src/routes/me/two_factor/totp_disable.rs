//! `POST /api/v1/me/2fa/totp/disable`

use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::DisableTotpRequest;

/// Turn two-factor authentication off, given the password and a code (TOTP or recovery). The
/// recovery codes are deleted; every other session ends.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/totp/disable", tag = "me",
    security(("bearer" = [])),
    request_body = DisableTotpRequest,
    responses(
        (status = 204, description = "Off"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor authentication is not on", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a wrong current password (`current_password`: `incorrect`), or a wrong code (`code`: `incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn totp_disable(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<DisableTotpRequest>,
) -> ApiResult<StatusCode> {
    state.accounts.disable_totp(&principal, &body.current_password, &body.code, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
