//! `POST /api/v1/auth/logout-all`

use axum::extract::State;
use axum::Json;

use crate::extract::{Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::LogoutAllResponse;

/// End every session of the caller, this one included.
#[utoipa::path(
    post, path = "/api/v1/auth/logout-all", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sessions ended", body = LogoutAllResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout_all(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
) -> ApiResult<Json<LogoutAllResponse>> {
    let revoked_sessions = state.accounts.logout_all(&principal, &meta).await?;
    Ok(Json(LogoutAllResponse { revoked_sessions }))
}
