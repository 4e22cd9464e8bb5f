//! RFC 9457 problem details: the one shape of every error response, with a stable `code` that
//! clients switch on and, for invalid input, every failing field.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use veza_core::error::TokenProblem;
use veza_core::{CoreError, FieldError};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying when a dependency is down.
const RETRY_AFTER_UNAVAILABLE: &str = "5";

/// An error response (RFC 9457, `application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; `urn:veza:problem:{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary that does not change between occurrences.
    pub title: String,
    pub status: u16,
    /// What went wrong this time, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code, e.g. `validation_failed`, `invalid_token`.
    pub code: String,
    /// The failing fields of invalid input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    /// Extra response headers, e.g. `WWW-Authenticate`.
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: Some(detail.into()), errors: Vec::new(), headers: Vec::new() }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => one.message.clone(),
            many => format!("{} fields are invalid", many.len()),
        };
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            detail: Some(detail),
            errors,
            headers: Vec::new(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            type_: format!("urn:veza:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            errors: self.errors.clone(),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        match e {
            CoreError::Validation(errors) => Self::validation(errors),
            CoreError::InvalidCredentials => Self::new(S::UNAUTHORIZED, "invalid_credentials", e.to_string()),
            CoreError::AccountDisabled => Self::new(S::FORBIDDEN, "account_disabled", e.to_string()),
            CoreError::TooManyAttempts(wait) => {
                let mut error = Self::new(S::TOO_MANY_REQUESTS, "too_many_attempts", e.to_string());
                error.headers.push((header::RETRY_AFTER, HeaderValue::from(retry_after_secs(wait))));
                error
            }
            CoreError::InvalidToken(problem) => {
                Self::new(S::UNAUTHORIZED, "invalid_token", format!("token refused: {problem}"))
                    .with_header(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)
            }
            CoreError::InvalidAccountToken { problem, .. } => {
                let code = match problem {
                    TokenProblem::Expired => "token_expired",
                    TokenProblem::Reused => "token_used",
                    TokenProblem::Malformed | TokenProblem::Revoked => "token_invalid",
                    TokenProblem::Foreign => "token_foreign",
                };
                Self::new(S::BAD_REQUEST, code, e.to_string())
            }
            CoreError::InvalidCode => Self::new(S::UNAUTHORIZED, "invalid_code", e.to_string()),
            CoreError::Unauthenticated => Self::new(S::UNAUTHORIZED, "unauthenticated", e.to_string())
                .with_header(header::WWW_AUTHENTICATE, "Bearer"),
            CoreError::Forbidden(why) => Self::new(S::FORBIDDEN, "forbidden", why),
            CoreError::MissingScope(_) => Self::new(S::FORBIDDEN, "insufficient_scope", e.to_string()),
            CoreError::NotFound(what) => Self::not_found(what),
            CoreError::Slowmode(wait) => {
                let mut error = Self::new(S::TOO_MANY_REQUESTS, "slowmode", e.to_string());
                error.headers.push((header::RETRY_AFTER, HeaderValue::from(retry_after_secs(wait))));
                error
            }
            CoreError::MissingPermission(_) => Self::new(S::FORBIDDEN, "missing_permission", e.to_string()),
            CoreError::UnsupportedMedia(why) => Self::new(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", why),
            CoreError::NotReady(why) => Self::new(S::CONFLICT, "not_ready", why),
            CoreError::RangeNotSatisfiable { size } => {
                let mut error = Self::new(S::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", e.to_string());
                let range = HeaderValue::try_from(format!("bytes */{size}")).expect("digits are a valid header");
                error.headers.push((header::CONTENT_RANGE, range));
                error
            }
            CoreError::Conflict(field) => Self {
                status: S::CONFLICT,
                code: "conflict",
                detail: Some(field.message.clone()),
                errors: vec![field],
                headers: Vec::new(),
            },
            CoreError::Provider { provider, problem } => {
                use veza_core::identity::ProviderProblem as P;
                let (status, code) = match &problem {
                    P::Refused(_) => (S::BAD_REQUEST, "provider_refused"),
                    P::Unavailable(_) => (S::BAD_GATEWAY, "provider_unavailable"),
                    P::Invalid(_) => (S::BAD_GATEWAY, "provider_invalid"),
                };
                tracing::warn!(provider, %problem, "sign-in provider gave no profile");
                let detail = match problem {
                    P::Refused(_) => format!("{provider}: {problem}"),
                    _ => format!("{provider} sign-in failed on {provider}'s side; try again later"),
                };
                Self::new(status, code, detail)
            }
            CoreError::MediaUnavailable(why) => {
                Self::new(S::SERVICE_UNAVAILABLE, "media_unavailable", format!("uploads are off on this server: {why}"))
            }
            CoreError::Unavailable(why) => {
                tracing::warn!(reason = %why, "dependency unavailable");
                Self::new(S::SERVICE_UNAVAILABLE, "service_unavailable", "a dependency is unavailable; retry shortly")
                    .with_header(header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE)
            }
            CoreError::Internal(why) => {
                tracing::error!(reason = %why, "internal error");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "an unexpected error occurred; it has been logged",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut res =
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))], body).into_response();
        for (name, value) in self.headers {
            res.headers_mut().insert(name, value);
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `Retry-After` in whole seconds: rounded up, and at least one.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
