//! `POST /api/v1/auth/login`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{LoginRequest, LoginResponse, MeResponse, TokenResponse};

/// Log in with a username or email and a password.
///
/// An unknown account and a wrong password get the same answer after the same work.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse,
            links(
                ("GetUser" = (operation_id = "get_user", parameters(("id" = "$response.body#/user/id")))),
                ("GetUserByUsername" = (operation_id = "get_user_by_username", parameters(("name" = "$response.body#/user/username")))),
                ("Refresh" = (operation_id = "refresh", request_body = json!({"refresh_token": "{$response.body#/tokens/refresh_token}"}))),
                ("Logout" = (operation_id = "logout", request_body = json!({"refresh_token": "{$response.body#/tokens/refresh_token}"}))),
            )),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong login or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let (user, tokens) = state.accounts.login(&body.login, &body.password, &meta).await?;
    let now = state.accounts.deps().clock.now();
    Ok(Json(LoginResponse { user: MeResponse::from(user), tokens: TokenResponse::new(tokens, now) }))
}
