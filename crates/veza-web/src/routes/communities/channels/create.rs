//! `POST /api/v1/communities/{id}/channels`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use veza_core::chat::channels::ChannelPatch;
use veza_core::id::CommunityId;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{ChannelResponse, CreateChannelRequest};

/// Create a channel or category (`manage_channels`).
#[utoipa::path(
    post, path = "/api/v1/communities/{id}/channels", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community")),
    request_body = CreateChannelRequest,
    responses(
        (status = 201, description = "Created", body = ChannelResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community (or you are not a member), or no such category", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The parent is not a category, a category was given a parent (`not_a_category`), or the community has its 500 channels already", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_channel(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<CommunityId>,
    ApiJson(body): ApiJson<CreateChannelRequest>,
) -> ApiResult<impl IntoResponse> {
    let patch = ChannelPatch {
        name: None,
        topic: Some(body.topic),
        parent_id: Some(body.parent_id),
        position: body.position.map(|w| w.0),
        slowmode_secs: body.slowmode_secs.map(|w| w.0),
        archived: None,
        locked: None,
        auto_archive_minutes: None,
    };
    let channel = state.communities.create_channel(&principal, id, body.kind.into(), &body.name, patch, &meta).await?;
    let location = format!("/api/v1/channels/{}", channel.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ChannelResponse::from(channel))))
}
