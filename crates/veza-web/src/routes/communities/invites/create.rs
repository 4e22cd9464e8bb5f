//! `POST /api/v1/communities/{id}/invites`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use veza_core::id::CommunityId;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{CreateInviteRequest, InviteResponse};

/// Create an invite (`create_invites`).
#[utoipa::path(
    post, path = "/api/v1/communities/{id}/invites", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("id" = CommunityId, Path, description = "The community")),
    request_body = CreateInviteRequest,
    responses(
        (status = 201, description = "Created", body = InviteResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or a community permission is missing (`missing_permission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, or you are not a member", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<CommunityId>,
    ApiJson(body): ApiJson<CreateInviteRequest>,
) -> ApiResult<impl IntoResponse> {
    let invite = state
        .communities
        .create_invite(&principal, id, body.max_age_secs.map(|w| w.0), body.max_uses.map(|w| w.0), &meta)
        .await?;
    let location = format!("/api/v1/invites/{}", invite.code);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(InviteResponse::from(invite))))
}
