//! Extractors that turn every way a request can be malformed into a precise problem+json answer,
//! and that identify the caller.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use veza_core::accounts::{KeyUse, Principal};
use veza_core::audit::RequestMeta;
use veza_core::CoreError;

use crate::middleware::client_ip::ClientIp;
use crate::middleware::request_id::RequestId;
use crate::problem::ApiError;
use crate::state::AppState;

/// A JSON object body. Wrong content type → 415, unparseable JSON → 400, JSON of the wrong shape
/// (not an object; unknown, missing or mistyped fields) → 422, too large → 413; each says what to
/// fix. Objects only: serde would otherwise also accept a struct written as an array.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !sends_json(&req) {
            return Err(not_json());
        }
        json_object(&read_body(req, state).await?).map(Self)
    }
}

fn sends_json(req: &Request) -> bool {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json_content_type)
}

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the body as JSON with `Content-Type: application/json`",
    )
}

/// The whole body, under the route's limit (413 past it).
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, ApiError> {
    axum::body::Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than this route accepts",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
        }
    })
}

/// A JSON object read from `bytes`: unparseable JSON → 400, JSON of the wrong shape (not an
/// object; unknown, missing or mistyped fields) → 422, each saying what to fix.
pub(crate) fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, over the whole document (trailing data included): 400. Then the shape: 422.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        ));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "the body must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("the JSON body does not fit: {inner}"),
            )
        } else {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", format!("{path}: {inner}"))
        }
    })
}

/// `application/json` or any `application/*+json`, with or without parameters.
fn is_json_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON object body that may be left out: no body at all, an empty one, or `null`, reads as
/// the type's default; any other body is held to everything [`ApiJson`] checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = sends_json(&req);
        let bytes = read_body(req, state).await?;
        // `null` is no body too (the OpenAPI document calls it optional, which JSON spells so).
        if bytes.trim_ascii().is_empty() || bytes.trim_ascii() == b"null" {
            return Ok(Self(T::default()));
        }
        if !is_json {
            return Err(not_json());
        }
        json_object(&bytes).map(Self)
    }
}

/// Query parameters; a malformed one is a 400 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|r: QueryRejection| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))
    }
}

/// Path parameters; one that does not parse (an ID that is not a number) is a 404, since no
/// resource can live at that address.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|r: PathRejection| ApiError::new(StatusCode::NOT_FOUND, "not_found", r.body_text()))
    }
}

/// The authenticated caller: `Authorization: Bearer <access token>` for a person, or an API key
/// as `Authorization: Bearer vz_…` or `X-API-Key: vz_…` for a script.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        caller(parts, state).await.unwrap_or_else(|| Err(CoreError::Unauthenticated.into())).map(Self)
    }
}

/// The caller when the request carries a credential, `None` when it carries none. A credential
/// that does not check out is still a 401: a broken token must not quietly turn into anonymous.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        caller(parts, state).await.transpose().map(Self)
    }
}

/// The result of checking the request's credential, left in the request's extensions by the
/// rate limiter, which checks it first (it limits per user and per key), for the handler.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Result<Principal, ApiError>);

/// The request's caller, as the rate limiter found it, or (rate limits off) checked and admitted
/// here. `None` when the request carries no credential.
async fn caller(parts: &mut Parts, state: &AppState) -> Option<Result<Principal, ApiError>> {
    if let Some(Authenticated(outcome)) = parts.extensions.remove::<Authenticated>() {
        return Some(outcome);
    }
    let verified = authenticate(parts, state).await?;
    Some(match verified {
        Ok(verified) => verified.admit(state).await.map_err(ApiError::from),
        Err(e) => Err(e),
    })
}

/// A credential that checked out, before the request is admitted.
#[derive(Debug)]
pub struct Verified {
    pub principal: Principal,
    /// An API key's use, written down only once the request is admitted, so that refused
    /// requests do not grow the audit log.
    key_use: Option<KeyUse>,
}

impl Verified {
    /// The request goes ahead: records the key's use, if any, and gives the caller.
    pub async fn admit(self, state: &AppState) -> Result<Principal, CoreError> {
        if let Some(key_use) = self.key_use {
            state.accounts.record_key_use(key_use).await?;
        }
        Ok(self.principal)
    }
}

/// Checks the request's credential: `None` when it carries none, else who it is or why not.
pub async fn authenticate(parts: &mut Parts, state: &AppState) -> Option<Result<Verified, ApiError>> {
    let malformed = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "the Authorization header must be `Bearer <access token or API key>`",
        )
        .with_header(header::WWW_AUTHENTICATE, "Bearer")
    };
    let credential = match (parts.headers.get(header::AUTHORIZATION), parts.headers.get("x-api-key")) {
        (Some(value), _) => value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(malformed),
        (None, Some(key)) => key.to_str().map(str::trim).map_err(|_| malformed()),
        (None, None) => return None,
    };
    let credential = match credential {
        Ok(c) => c.to_string(),
        Err(e) => return Some(Err(e)),
    };
    Some(verify_credential(state, &credential, || client_meta(parts)).await.map_err(ApiError::from))
}

/// Who an access token or an API key (`vz_…`) belongs to, however it arrived (a header, or the
/// gateway's IDENTIFY). `meta` is asked for only by API keys, whose use is recorded on admission.
pub async fn verify_credential(
    state: &AppState,
    credential: &str,
    meta: impl FnOnce() -> RequestMeta,
) -> Result<Verified, CoreError> {
    if credential.starts_with(veza_core::api_key::PREFIX) {
        let (principal, key_use) = state.accounts.authenticate_api_key(credential, &meta()).await?;
        return Ok(Verified { principal, key_use });
    }
    Ok(Verified { principal: state.accounts.authenticate(credential)?, key_use: None })
}

/// Where the request came from, for the audit log: peer address, user agent, request id.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_meta(parts)))
    }
}

/// Where a request came from: peer address, user agent, request id.
fn client_meta(parts: &Parts) -> RequestMeta {
    let ip = parts.extensions.get::<ClientIp>().map(|c| c.0.to_string());
    let ua = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    RequestMeta::new(ip, ua, request_id)
}
