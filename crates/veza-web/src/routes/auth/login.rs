//! `POST /api/v1/auth/login`

use axum::extract::State;
use axum::Json;

use crate::extract::{ApiJson, ClientMeta};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::wire::{LoginRequest, LoginResult};

/// Log in with a username or email and a password.
///
/// An unknown account and a wrong password get the same answer after the same work. For an
/// account with two-factor authentication the answer is a second step to take
/// (`mfa_required`), not tokens.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in, or (`mfa_required`) a code is needed next; the links apply to the logged-in answer", body = LoginResult,
            links(
                ("GetUser" = (operation_id = "get_user", parameters(("id" = "$response.body#/user/id")))),
                ("GetUserByUsername" = (operation_id = "get_user_by_username", parameters(("name" = "$response.body#/user/username")))),
                ("Refresh" = (operation_id = "refresh", request_body = json!({"refresh_token": "{$response.body#/tokens/refresh_token}"}))),
                ("Logout" = (operation_id = "logout", request_body = json!({"refresh_token": "{$response.body#/tokens/refresh_token}"}))),
            )),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong login or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account or from this address: wait for Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
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
) -> ApiResult<Json<LoginResult>> {
    let outcome = state.accounts.login(&body.login, &body.password, &meta).await?;
    Ok(Json(LoginResult::from_outcome(outcome, &state.social, state.accounts.deps().clock.now()).await?))
}
