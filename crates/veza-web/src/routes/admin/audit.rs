//! `GET /api/v1/admin/audit`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::routes::audit_params::AuditParams;
use crate::state::AppState;
use crate::wire::AuditPage;

/// The audit log, newest first, filtered by actor, action and time.
#[utoipa::path(
    get, path = "/api/v1/admin/audit", tag = "admin",
    security(("bearer" = []), ("api_key" = ["admin"])),
    params(AuditParams),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit_log(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let page = state.accounts.audit_log(&principal, params.into_query()?).await?;
    Ok(Json(page.into()))
}
