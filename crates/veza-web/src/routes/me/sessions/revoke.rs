//! `DELETE /api/v1/me/sessions/{id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::SessionId;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// End one of the caller's sessions: its refresh token stops working at once (its access token
/// lapses within 15 minutes).
#[utoipa::path(
    delete, path = "/api/v1/me/sessions/{id}", tag = "me",
    security(("bearer" = [])),
    params(("id" = SessionId, Path, description = "The session's id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such live session of yours", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<StatusCode> {
    state.accounts.revoke_session(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
