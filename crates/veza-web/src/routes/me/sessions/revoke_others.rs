//! `POST /api/v1/me/sessions/revoke-others`

use axum::extract::State;
use axum::Json;

use crate::extract::{Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::LogoutAllResponse;

/// End every session of the caller except the current one.
#[utoipa::path(
    post, path = "/api/v1/me/sessions/revoke-others", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many sessions ended", body = LogoutAllResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
) -> ApiResult<Json<LogoutAllResponse>> {
    let revoked_sessions = state.accounts.revoke_other_sessions(&principal, &meta).await?;
    Ok(Json(LogoutAllResponse { revoked_sessions }))
}
