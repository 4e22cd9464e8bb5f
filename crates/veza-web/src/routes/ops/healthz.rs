//! `GET /healthz`

use axum::Json;

use crate::wire::StatusResponse;

/// Liveness: the process is up and answering. Checks no dependency.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "Alive", body = StatusResponse)))]
pub async fn healthz() -> Json<StatusResponse> {
    Json(StatusResponse { status: "ok" })
}
