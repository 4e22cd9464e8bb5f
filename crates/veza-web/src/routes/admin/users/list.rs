//! `GET /api/v1/admin/users`

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use veza_core::page::PageRequest;
use veza_core::user::{AccountState, Role, UserQuery};

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{AdminUserPage, AdminUserResponse};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersParams {
    /// A case-insensitive part of the username or email.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub q: Option<String>,
    pub role: Option<Role>,
    pub state: Option<AccountState>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque).
    #[param(
        pattern = "^([0-9]{1,18}|[0-8][0-9]{18}|9[0-1][0-9]{17}|92[0-1][0-9]{16}|922[0-2][0-9]{15}|9223[0-2][0-9]{14}|92233[0-6][0-9]{13}|922337[0-1][0-9]{12}|92233720[0-2][0-9]{10}|922337203[0-5][0-9]{9}|9223372036[0-7][0-9]{8}|92233720368[0-4][0-9]{7}|922337203685[0-3][0-9]{6}|9223372036854[0-6][0-9]{5}|92233720368547[0-6][0-9]{4}|922337203685477[0-4][0-9]{3}|9223372036854775[0-7][0-9]{2}|922337203685477580[0-6]|9223372036854775807)$"
    )]
    pub before: Option<String>,
}

/// Accounts, newest first: search, filter by role and state.
#[utoipa::path(
    get, path = "/api/v1/admin/users", tag = "admin",
    security(("bearer" = []), ("api_key" = ["admin"])),
    params(ListUsersParams),
    responses(
        (status = 200, description = "A page of accounts", body = AdminUserPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ListUsersParams>,
) -> ApiResult<Json<AdminUserPage>> {
    let page = PageRequest::parse(params.limit, params.before.as_deref())?;
    let query = UserQuery { search: params.q, role: params.role, state: params.state, page };
    let users = state.accounts.list_users(&principal, query).await?;
    let people = state.social.counted(users.items).await?;
    Ok(Json(AdminUserPage {
        items: people.into_iter().map(AdminUserResponse::from).collect(),
        next_cursor: users.next_cursor,
    }))
}
