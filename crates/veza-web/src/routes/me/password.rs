//! `POST /api/v1/me/password`

use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ChangePasswordRequest;

/// Change the caller's password, given the current one (and a code when 2FA is on). Every
/// other session ends; the owner is told by mail.
#[utoipa::path(
    post, path = "/api/v1/me/password", tag = "me",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a wrong current password (`current_password`: `incorrect`) or with 2FA on a missing or wrong code (`code`: `required`, `incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let code = body.code.as_deref();
    state.accounts.change_password(&principal, &body.current_password, &body.new_password, code, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
