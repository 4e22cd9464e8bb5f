//! `POST /api/v1/auth/register`

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use veza_core::accounts::RegisterInput;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{MeResponse, RegisterRequest, RegisterResponse, TokenResponse};

/// Create an account and log it in.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; the user is logged in", body = RegisterResponse,
            headers(("Location" = String, description = "The new user's URL")),
            links(
                ("GetUser" = (operation_id = "get_user", parameters(("id" = "$response.body#/user/id")))),
                ("GetUserByUsername" = (operation_id = "get_user_by_username", parameters(("name" = "$response.body#/user/username")))),
                ("Refresh" = (operation_id = "refresh", request_body = json!({"refresh_token": "{$response.body#/tokens/refresh_token}"}))),
                ("Logout" = (operation_id = "logout", request_body = json!({"refresh_token": "{$response.body#/tokens/refresh_token}"}))),
            )),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    let input = RegisterInput { username: body.username, email: body.email, password: body.password };
    let account = state.accounts.register(input, &meta).await?;
    let tokens = account
        .tokens
        .ok_or_else(|| ApiError::from(veza_core::CoreError::Internal("registration issued no tokens".into())))?;
    let now = state.accounts.deps().clock.now();
    let location = format!("/api/v1/users/{}", account.user.id);
    let body = RegisterResponse {
        user: MeResponse::from(state.social.with_counts(account.user).await?),
        tokens: TokenResponse::new(tokens, now),
    };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)))
}
