//! `POST /api/v1/invites/{code}`

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::MemberResponse;

/// Join the community an invite leads to: 201 with the new membership, or 200 with the existing
/// one (the invite is not used up then).
#[utoipa::path(
    post, path = "/api/v1/invites/{code}", tag = "communities",
    security(("bearer" = []), ("api_key" = ["chat:write"])),
    params(("code" = String, Path, description = "The invite code")),
    responses(
        (status = 201, description = "Joined", body = MemberResponse),
        (status = 200, description = "Already a member", body = MemberResponse),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, the API key lacks the scope, or the caller is banned from the community", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such usable invite", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn accept_invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<MemberResponse>)> {
    let (member, joined) = state.communities.join(&principal, &code, &meta).await?;
    let status = if joined { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(member.into())))
}
