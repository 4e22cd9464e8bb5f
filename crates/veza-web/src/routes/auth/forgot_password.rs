//! `POST /api/v1/auth/password/forgot`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::user::Email;
use veza_core::CoreError;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::ForgotPasswordRequest;

/// Ask for a password-reset link.
///
/// Always 202 for a well-formed address: whether it belongs to an account is never told, not
/// even by the answer's timing (the lookup runs after the answer). An account's address gets at
/// most one link a minute; each link works once, for 30 minutes.
#[utoipa::path(
    post, path = "/api/v1/auth/password/forgot", tag = "auth",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "If the address is an account's, a link is on its way"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<ForgotPasswordRequest>,
) -> ApiResult<StatusCode> {
    let email = Email::parse(&body.email).map_err(CoreError::invalid)?;
    let accounts = state.accounts.clone();
    tokio::spawn(async move {
        if let Err(e) = accounts.forgot_password(&email, &meta).await {
            tracing::warn!(error = %e, "could not handle a password-reset request");
        }
    });
    Ok(StatusCode::ACCEPTED)
}
