//! `DELETE /api/v1/me/passkeys/{id}`

use axum::extract::State;
use axum::http::StatusCode;
use veza_core::id::PasskeyId;

use crate::extract::{ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// Remove one of the caller's passkeys. Refused when it is the account's last way to sign in.
#[utoipa::path(
    delete, path = "/api/v1/me/passkeys/{id}", tag = "me",
    security(("bearer" = [])),
    params(("id" = PasskeyId, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passkey of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account's last way to sign in (`last_sign_in_method`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_passkey(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<PasskeyId>,
) -> ApiResult<StatusCode> {
    state.accounts.delete_passkey(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
