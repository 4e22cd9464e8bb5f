//! `DELETE /api/v1/me/identities/{id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::IdentityId;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Stop signing in with a provider account. Refused when it is the account's last way to sign
/// in (no password and no other provider): set a password first.
#[utoipa::path(
    delete, path = "/api/v1/me/identities/{id}", tag = "me",
    security(("bearer" = [])),
    params(("id" = IdentityId, Path, description = "The identity's id")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such identity of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account's last way to sign in (`last_sign_in_method`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlink_identity(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<IdentityId>,
) -> ApiResult<StatusCode> {
    state.accounts.unlink_identity(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
