//! `GET /api/v1/me/2fa`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::SecondFactorStatusResponse;

/// Whether the caller has two-factor authentication, and how many recovery codes are left.
#[utoipa::path(
    get, path = "/api/v1/me/2fa", tag = "me",
    security(("bearer" = []), ("api_key" = ["profile:read"])),
    responses(
        (status = 200, description = "The caller's second factors", body = SecondFactorStatusResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or an API key without `profile:read`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<SecondFactorStatusResponse>> {
    let s = state.accounts.second_factor_status(&principal).await?;
    Ok(Json(SecondFactorStatusResponse { totp_enabled: s.totp_enabled, recovery_codes_left: s.recovery_codes_left }))
}
