//! `POST /api/v1/me/email`

use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ChangeEmailRequest;

/// Ask to change the caller's address (with the password, and a code when 2FA is on): a link
/// goes to the new address, which replaces the
/// current one once the link is opened (`POST /api/v1/auth/email/verify`). The current address
/// is told.
#[utoipa::path(
    post, path = "/api/v1/me/email", tag = "me",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, description = "A verification link was sent to the new address"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address belongs to another account", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a wrong current password (`current_password`: `incorrect`), or with 2FA on a missing or wrong code (`code`: `required`, `incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords, or a link went to this address less than a minute ago: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_email(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<ChangeEmailRequest>,
) -> ApiResult<StatusCode> {
    state
        .accounts
        .request_email_change(&principal, &body.email, &body.current_password, body.code.as_deref(), &meta)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
