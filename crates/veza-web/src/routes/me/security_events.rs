//! `GET /api/v1/me/security-events`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::routes::audit_params::AuditParams;
use crate::state::AppState;
use crate::wire::AuditPage;

/// Security events of the caller's account (logins, failures, refreshes, profile changes…),
/// newest first.
#[utoipa::path(
    get, path = "/api/v1/me/security-events", tag = "me",
    security(("bearer" = []), ("api_key" = ["profile:read"])),
    params(AuditParams),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn security_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let page = state.accounts.security_events(&principal, params.into_query()?).await?;
    Ok(Json(page.into()))
}
