//! `DELETE /api/v1/admin/users/{id}/sessions`

use axum::extract::State;
use axum::Json;
use veza_core::id::UserId;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::LogoutAllResponse;

/// End every session of an account without disabling it: its refresh tokens stop working at
/// once, its access tokens within their 15 minutes.
#[utoipa::path(
    delete, path = "/api/v1/admin/users/{id}/sessions", tag = "admin",
    security(("bearer" = []), ("api_key" = ["admin"])),
    params(("id" = UserId, Path, description = "The account's id")),
    responses(
        (status = 200, description = "How many sessions ended", body = LogoutAllResponse),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an account id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn end_user_sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<LogoutAllResponse>> {
    let revoked_sessions = state.accounts.end_user_sessions(&principal, id, &meta).await?;
    Ok(Json(LogoutAllResponse { revoked_sessions }))
}
