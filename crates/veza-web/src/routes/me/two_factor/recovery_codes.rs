//! `POST /api/v1/me/2fa/recovery-codes`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{CodeRequest, RecoveryCodesResponse};

/// Replace the recovery codes, given a code (TOTP or recovery). The old codes stop working.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/recovery-codes", tag = "me",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "The new codes, shown once", body = RecoveryCodesResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor authentication is not on", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a wrong code (`code`: `incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong attempts: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<Json<RecoveryCodesResponse>> {
    let recovery_codes = state.accounts.regenerate_recovery_codes(&principal, &body.code, &meta).await?;
    Ok(Json(RecoveryCodesResponse { recovery_codes }))
}
