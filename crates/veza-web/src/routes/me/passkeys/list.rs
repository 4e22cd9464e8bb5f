//! `GET /api/v1/me/passkeys`

use axum::extract::State;
use axum::Json;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::PasskeyResponse;

/// The caller's passkeys, oldest first.
#[utoipa::path(
    get, path = "/api/v1/me/passkeys", tag = "me",
    security(("bearer" = []), ("api_key" = ["profile:read"])),
    responses(
        (status = 200, description = "The passkeys", body = Vec<PasskeyResponse>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the key lacks `profile:read`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_passkeys(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<PasskeyResponse>>> {
    Ok(Json(state.accounts.list_passkeys(&principal).await?.into_iter().map(Into::into).collect()))
}
