//! `GET /api/v1/me/sessions`

use axum::extract::State;
use axum::Json;
use veza_core::accounts::Credential;

use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::SessionResponse;

/// The caller's live sessions, newest first; `current` marks the one making this request.
#[utoipa::path(
    get, path = "/api/v1/me/sessions", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sessions", body = Vec<SessionResponse>),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<SessionResponse>>> {
    let current = match principal.credential {
        Credential::Session(id) => Some(id),
        Credential::ApiKey { .. } => None,
    };
    let sessions = state.accounts.list_sessions(&principal).await?;
    Ok(Json(sessions.into_iter().map(|s| SessionResponse::new(s, current)).collect()))
}
