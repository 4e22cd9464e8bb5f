//! `GET /readyz`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::wire::StatusResponse;

/// Readiness: the database answers and its schema is up to date. Load balancers should send
/// traffic only while this is 200.
#[utoipa::path(
    get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = StatusResponse),
        (status = 503, description = "Not ready, with the reason", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<StatusResponse>> {
    state.deps.readiness().await.map_err(|reason| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", reason)
            .with_header(axum::http::header::RETRY_AFTER, "5")
    })?;
    Ok(Json(StatusResponse { status: "ready" }))
}
