//! `POST /api/v1/me/channels`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use crate::extract::{ApiJson, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{DirectChannelResponse, OpenDirectRequest};

/// Open a DM with one person (the same one each time: 200 when it exists) or start a group
/// with 2–9 others (201). You can write only to people you share a community with. Its
/// messages, reactions, pins, typing and read states are the channel routes on its id.
#[utoipa::path(
    post, path = "/api/v1/me/channels", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    request_body = OpenDirectRequest,
    responses(
        (status = 200, description = "The DM you already have with them", body = DirectChannelResponse),
        (status = 201, description = "Started", body = DirectChannelResponse,
            headers(("Location" = String, description = "The conversation, as a channel"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Someone named shares no community with you (or does not exist)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You are in 1000 conversations already (`too_many`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No one else, more than nine others (`out_of_range`), or a name for a two-person DM (`not_a_group`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn open_direct(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<OpenDirectRequest>,
) -> ApiResult<impl IntoResponse> {
    let (channel, created) = state.communities.open_direct(&principal, &body.recipients, body.name.as_deref()).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let location = format!("/api/v1/channels/{}", channel.id);
    Ok((status, [(header::LOCATION, location)], Json(DirectChannelResponse::from(channel))))
}
