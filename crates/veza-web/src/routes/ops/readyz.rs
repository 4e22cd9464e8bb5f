//! `GET /readyz`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{DegradedPart, ReadyResponse};

/// Readiness: the database answers and its schema is up to date. Load balancers should send
/// traffic only while this is 200. A part this node cannot run (uploads without ffmpeg) does
/// not make it unready — accounts, chat and playback work — and is listed in `degraded`.
#[utoipa::path(
    get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready (with the parts that run degraded, if any)", body = ReadyResponse),
        (status = 503, description = "Not ready, with the reason", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<ReadyResponse>> {
    state.deps.readiness().await.map_err(|reason| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", reason)
            .with_header(axum::http::header::RETRY_AFTER, "5")
    })?;
    let degraded = match state.catalog.uploads_open() {
        Ok(()) => vec![],
        Err(e) => vec![DegradedPart { part: "media", reason: e.to_string() }],
    };
    Ok(Json(ReadyResponse { status: "ready", degraded }))
}
