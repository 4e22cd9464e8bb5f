//! `GET /api/v1/tracks/{id}/comments`

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use veza_core::id::TrackId;
use veza_core::social::comments::{CommentCursor, CommentOrder};

use crate::extract::{ApiPath, ApiQuery, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::routes::tracks::LinkParams;
use crate::state::AppState;
use crate::wire::CommentPageResponse;

/// The order of a track's comments.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Along the track: by position, then as posted (replies sit at their comment's position).
    #[default]
    Timeline,
    /// The latest first.
    Newest,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsParams {
    /// `timeline` (default) or `newest`.
    #[param(inline)]
    pub order: Option<Order>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page, in the same order.
    #[param(pattern = "^[0-9]{1,19}\\.[0-9]{1,19}$")]
    pub before: Option<String>,
}

/// A track's timed comments, along the track or the latest first.
#[utoipa::path(
    get, path = "/api/v1/tracks/{id}/comments", tag = "social",
    security((), ("bearer" = []), ("api_key" = ["social:read"])),
    params(("id" = TrackId, Path, description = "The track"), CommentsParams, LinkParams),
    responses(
        (status = 200, description = "A page of comments", body = CommentPageResponse),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or the API key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or you may not see it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range, or a cursor this server did not issue", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_comments(
    State(state): State<AppState>,
    MaybeAuth(viewer): MaybeAuth,
    ApiPath(id): ApiPath<TrackId>,
    ApiQuery(params): ApiQuery<CommentsParams>,
    ApiQuery(link): ApiQuery<LinkParams>,
) -> ApiResult<Json<CommentPageResponse>> {
    let order = match params.order.unwrap_or_default() {
        Order::Timeline => CommentOrder::Timeline,
        Order::Newest => CommentOrder::Newest,
    };
    let cursor = CommentCursor::parse(order, params.before.as_deref())?;
    let page = state.social.comments(viewer.as_ref(), id, link.secret()?, cursor, params.limit).await?;
    Ok(Json(page.into()))
}
