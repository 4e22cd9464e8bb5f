//! `DELETE /api/v1/invites/{code}`

use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Delete an invite: its creator, or a member with `manage_community`.
#[utoipa::path(
    delete, path = "/api/v1/invites/{code}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("code" = String, Path, description = "The invite code")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invite", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.communities.delete_invite(&principal, &code, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
