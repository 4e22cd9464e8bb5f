//! `PUT /api/v1/me/presence`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{PresenceResponse, SetPresenceRequest};

/// Choose your status (`online`, `idle`, `dnd`, or `invisible`: shown as offline) and what you
/// are listening to (a public track), kept across connections. The communities you are in get
/// `PRESENCE_UPDATE`; while none of your gateway connections is open, you are shown offline.
#[utoipa::path(
    put, path = "/api/v1/me/presence", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    request_body = SetPresenceRequest,
    responses(
        (status = 200, description = "What others see of you now", body = PresenceResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track (or you cannot see it)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or your track is not public (`not_public`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_presence(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<SetPresenceRequest>,
) -> ApiResult<Json<PresenceResponse>> {
    let track = body.activity.map(|a| a.track_id);
    Ok(Json(state.communities.set_presence(&principal, body.status.into(), track).await?.into()))
}
