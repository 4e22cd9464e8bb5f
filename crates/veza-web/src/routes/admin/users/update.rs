//! `PATCH /api/v1/admin/users/{id}`

use axum::extract::State;
use axum::Json;
use veza_core::id::UserId;
use veza_core::user::AccountChange;

use crate::extract::{ApiJson, ApiPath, Auth, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{AdminUpdateUserRequest, AdminUserResponse};

/// Change an account's role, or disable it (ending its sessions) or enable it.
///
/// The last enabled administrator can be neither demoted nor disabled (409 `conflict`, field
/// error `last_admin`).
#[utoipa::path(
    patch, path = "/api/v1/admin/users/{id}", tag = "admin",
    security(("bearer" = []), ("api_key" = ["admin"])),
    params(("id" = UserId, Path, description = "The account's id")),
    request_body = AdminUpdateUserRequest,
    responses(
        (status = 200, description = "The account after the change", body = AdminUserResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave no enabled administrator", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientMeta(meta): ClientMeta,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(body): ApiJson<AdminUpdateUserRequest>,
) -> ApiResult<Json<AdminUserResponse>> {
    let change = AccountChange { role: body.role, disabled: body.disabled_reason };
    let user = state.accounts.update_user(&principal, id, change, &meta).await?;
    Ok(Json(state.social.with_counts(user).await?.into()))
}
