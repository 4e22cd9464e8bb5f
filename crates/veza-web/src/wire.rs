//! Request and response bodies of the REST API. These are the contract with clients and are kept
//! apart from domain entities and database rows: a field appears here only on purpose.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use veza_core::accounts::{LoginOutcome, MfaChallenge, TokenPair};
use veza_core::accounts::{OAuthCallback, OAuthStart, PasskeyCeremony, SignInMethods};
use veza_core::api_key::{ApiKey, Scope};
use veza_core::audit::AuditEntry;
use veza_core::chat::attachment::Attachment;
use veza_core::chat::channel::{Channel, ChannelKind, ThreadMember};
use veza_core::chat::channels::ChannelView;
use veza_core::chat::message::{Message, MessageEdit, Pin, ReactionCount, ReadState};
use veza_core::chat::permissions::{Overwrite, OverwriteTarget};
use veza_core::id::{
    ApiKeyId, AttachmentId, AuditId, ChannelId, CommunityId, IdentityId, MessageId, PasskeyId, RoleId, SessionId,
    UserId,
};
use veza_core::identity::{Identity, Provider};
use veza_core::passkey::Passkey;
use veza_core::ports::Jwk;
use veza_core::session::Session;
use veza_core::social::Person;
use veza_core::user::{ProfilePatch, Role};

mod comments;
mod communities;
mod playlists;
mod social;
mod tracks;
mod users;
pub use comments::*;
pub use communities::*;
pub use playlists::*;
pub use social::*;
pub use tracks::*;
pub use users::*;

/// `POST /api/v1/auth/register`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 characters of `A-Z`, `a-z`, `0-9`, `_`, `.`; case-insensitive (stored lowercase).
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.]{3,32}$", example = "nova")]
    pub username: String,
    #[schema(value_type = EmailAddress)]
    pub email: String,
    /// 8–128 characters of any kind; common passwords are refused.
    #[schema(min_length = 8, max_length = 128, example = "violet-kettle-drum")]
    pub password: String,
}

/// `POST /api/v1/auth/login`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// A username or an email address.
    #[schema(max_length = 254, example = "nova")]
    pub login: String,
    #[schema(max_length = 128)]
    pub password: String,
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(max_length = 128)]
    pub refresh_token: String,
}

/// Tokens for a new or refreshed session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// An Ed25519-signed JWT (`typ: at+jwt`); send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: exchanging it at `/auth/refresh` returns a new one and retires this one.
    pub refresh_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub refresh_expires_at: OffsetDateTime,
    pub session_id: SessionId,
}

impl TokenResponse {
    pub fn new(t: TokenPair, now: OffsetDateTime) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: (t.access_expires_at - now).whole_seconds().max(0),
            refresh_token: t.refresh_token,
            refresh_expires_at: t.refresh_expires_at,
            session_id: t.session_id,
        }
    }
}

/// A new account and its first session.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub user: MeResponse,
    pub tokens: TokenResponse,
}

/// A successful login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: MeResponse,
    pub tokens: TokenResponse,
}

/// The answer to a right password: logged in, or (with 2FA on) a second step to take.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResult {
    LoggedIn(Box<LoginResponse>),
    MfaRequired(MfaRequiredResponse),
}

/// The password was right and the account has two-factor authentication: send a code with
/// this token to `POST /api/v1/auth/login/mfa`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequiredResponse {
    /// Always `true`.
    pub mfa_required: bool,
    /// Single use, valid for 5 minutes.
    pub mfa_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub mfa_token_expires_at: OffsetDateTime,
    /// What the code may be: `totp` (6 digits from the authenticator app) or `recovery_code`.
    pub methods: Vec<String>,
}

impl LoginResult {
    /// The answer to a sign-in; the account comes with its counts from `social`.
    pub async fn from_outcome(
        outcome: LoginOutcome,
        social: &veza_core::social::Social,
        now: OffsetDateTime,
    ) -> Result<Self, veza_core::CoreError> {
        Ok(match outcome {
            LoginOutcome::LoggedIn(user, tokens) => Self::LoggedIn(Box::new(LoginResponse {
                user: MeResponse::from(social.with_counts(*user).await?),
                tokens: TokenResponse::new(tokens, now),
            })),
            LoginOutcome::MfaRequired(challenge) => Self::MfaRequired(challenge.into()),
        })
    }
}

impl From<MfaChallenge> for MfaRequiredResponse {
    fn from(c: MfaChallenge) -> Self {
        Self {
            mfa_required: true,
            mfa_token: c.mfa_token,
            mfa_token_expires_at: c.expires_at,
            methods: c.methods.iter().map(|m| m.as_str().to_string()).collect(),
        }
    }
}

/// `POST /api/v1/auth/login/mfa`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginMfaRequest {
    #[schema(max_length = 256)]
    pub mfa_token: String,
    /// A 6-digit code from the authenticator app, or a recovery code.
    #[schema(max_length = 64, example = "123456")]
    pub code: String,
}

/// A single-use token from a mailed link: `POST /api/v1/auth/email/verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkTokenRequest {
    #[schema(max_length = 256)]
    pub token: String,
}

/// `POST /api/v1/auth/password/forgot`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    #[schema(value_type = EmailAddress)]
    pub email: String,
}

/// `POST /api/v1/auth/magic-link`: a nonce to keep until the link is opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct MagicLinkResponse {
    /// Present it with the link's token; without it the link signs nobody in.
    pub nonce: String,
}

/// `POST /api/v1/auth/magic-link/verify`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkVerifyRequest {
    /// The token from the mailed link.
    #[schema(max_length = 256)]
    pub token: String,
    /// The nonce `POST /api/v1/auth/magic-link` returned to this client.
    #[schema(max_length = 256)]
    pub nonce: String,
}

/// `POST /api/v1/auth/password/reset`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The token from the reset link.
    #[schema(max_length = 256)]
    pub token: String,
    /// 8–128 characters of any kind; common passwords are refused.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `POST /api/v1/me/password`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(max_length = 128)]
    pub current_password: String,
    /// 8–128 characters of any kind; common passwords are refused.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
    /// Required when two-factor authentication is on: a TOTP code or a recovery code.
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

/// `POST /api/v1/me/email`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    /// The new address; it replaces the current one once the link mailed to it is opened.
    #[schema(value_type = EmailAddress)]
    pub email: String,
    #[schema(max_length = 128)]
    pub current_password: String,
    /// Required when two-factor authentication is on: a TOTP code or a recovery code.
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

/// `GET /api/v1/me/2fa`
#[derive(Debug, Serialize, ToSchema)]
pub struct SecondFactorStatusResponse {
    pub totp_enabled: bool,
    pub recovery_codes_left: u32,
}

/// `POST /api/v1/me/2fa/totp/setup`: shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupResponse {
    /// The secret in base32, to type into an app by hand.
    pub secret: String,
    /// The `otpauth://totp/…` URI apps import.
    pub otpauth_uri: String,
    /// The URI as a QR code: a PNG image, base64-encoded.
    pub qr_png_base64: String,
}

/// A TOTP code (6 digits) or, where accepted, a recovery code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[schema(max_length = 64, example = "123456")]
    pub code: String,
}

/// `POST /api/v1/me/2fa/totp/enable`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableTotpRequest {
    #[schema(max_length = 128)]
    pub current_password: String,
    /// A 6-digit code from the app just set up.
    #[schema(max_length = 64, example = "123456")]
    pub code: String,
}

/// `POST /api/v1/me/2fa/totp/disable`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTotpRequest {
    #[schema(max_length = 128)]
    pub current_password: String,
    /// A TOTP code or a recovery code.
    #[schema(max_length = 64)]
    pub code: String,
}

/// New recovery codes: shown once; each works once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    pub recovery_codes: Vec<String>,
}

/// `POST /api/v1/auth/logout-all` and `POST /api/v1/me/sessions/revoke-others`
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutAllResponse {
    /// How many sessions were ended.
    pub revoked_sessions: u64,
}

/// A login session: one device or browser where the account is logged in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: SessionId,
    /// This is the session making the request.
    pub current: bool,
    pub user_agent: Option<String>,
    /// The address it logged in from.
    pub ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its refresh token was last used.
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    /// When it ends unless refreshed (7 days idle, 30 days at most).
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

impl SessionResponse {
    pub fn new(s: Session, current: Option<SessionId>) -> Self {
        Self {
            current: current == Some(s.id),
            ends_at: s.ends_at(),
            id: s.id,
            user_agent: s.user_agent,
            ip: s.ip,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// `PATCH /api/v1/me`: fields left out stay as they are; `null` clears one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 64, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub bio: Option<Option<String>>,
    /// An http(s) URL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^https?://[^\\s/?#@\\u0000-\\u001f\\u007f-\\u009f]+([/?#][^\\s\\u0000-\\u001f\\u007f-\\u009f]*)?$")]
    pub avatar_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub location: Option<Option<String>>,
    /// Up to 5 http(s) URLs; `null` or `[]` removes them all.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<HttpUrl>>, max_items = 5)]
    pub links: Option<Option<Vec<String>>>,
}

/// The URL rule of `veza_core::user`, as a pattern: http(s), a host without `@`, no spaces and
/// no control characters. `avatar_url` above repeats it (attributes take only literals); a test
/// keeps the two equal.
pub const HTTP_URL_PATTERN: &str =
    "^https?://[^\\s/?#@\\u0000-\\u001f\\u007f-\\u009f]+([/?#][^\\s\\u0000-\\u001f\\u007f-\\u009f]*)?$";

/// The email rule of `veza_core::user::Email`, as a pattern — all but its 64-character limit on
/// the local part, which a pattern a fuzzer can generate from cannot state (the schemathesis
/// hooks accept that one refusal, `local_part_too_long`).
pub const EMAIL_PATTERN: &str = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";

/// An email address (schema only). Domains are ASCII (internationalised ones in their `xn--`
/// form).
#[derive(Debug)]
pub struct EmailAddress;

impl utoipa::PartialSchema for EmailAddress {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some("An email address; domains are ASCII (internationalised ones in their `xn--` form)."))
            .max_length(Some(veza_core::user::Email::MAX))
            .pattern(Some(EMAIL_PATTERN))
            .examples(["nova@example.com"])
            .into()
    }
}

impl utoipa::ToSchema for EmailAddress {}

/// An http(s) URL (schema only: the items of `links`).
#[derive(Debug)]
pub struct HttpUrl;

impl utoipa::PartialSchema for HttpUrl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .max_length(Some(veza_core::user::URL_MAX))
            .pattern(Some(HTTP_URL_PATTERN))
            .into()
    }
}

impl utoipa::ToSchema for HttpUrl {}

/// Tells "field absent" (outer `None`, via `default`) from "field is null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// [`present`] for an RFC 3339 time.
fn present_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<OffsetDateTime>>, D::Error> {
    time::serde::rfc3339::option::deserialize(d).map(Some)
}

impl From<UpdateProfileRequest> for ProfilePatch {
    fn from(r: UpdateProfileRequest) -> Self {
        Self {
            display_name: r.display_name,
            bio: r.bio,
            avatar_url: r.avatar_url,
            location: r.location,
            links: r.links.map(Option::unwrap_or_default),
        }
    }
}

/// An account as administrators see it: private fields and its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserResponse {
    #[serde(flatten)]
    pub account: MeResponse,
    pub disabled: bool,
    /// Why it was disabled, when it is.
    pub disabled_reason: Option<String>,
}

impl From<Person> for AdminUserResponse {
    fn from(p: Person) -> Self {
        Self {
            disabled: p.user.disabled,
            disabled_reason: p.user.disabled_reason.clone(),
            account: MeResponse::from(p),
        }
    }
}

/// A page of accounts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserPage {
    pub items: Vec<AdminUserResponse>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `PATCH /api/v1/admin/users/{id}`: fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUpdateUserRequest {
    pub role: Option<Role>,
    /// A reason disables the account and ends its sessions; `null` enables it again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub disabled_reason: Option<Option<String>>,
}

/// `POST /api/v1/me/api-keys`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// What the key is for, to recognise it later.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "nightly backup"
    )]
    pub name: String,
    /// At least one; `admin` only for administrators.
    #[schema(min_items = 1)]
    pub scopes: Vec<Scope>,
    /// Days until the key stops working; never when absent.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<ExpiryDays>,
}

/// 1–3650 whole days, checked while parsing. Read as a number rather than `u32`: JSON Schema
/// counts `30.0` as the integer 30, so the API must too.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(try_from = "f64")]
#[schema(value_type = u32, minimum = 1, maximum = 3650)]
pub struct ExpiryDays(pub u32);

impl TryFrom<f64> for ExpiryDays {
    type Error = String;

    fn try_from(days: f64) -> Result<Self, String> {
        if days.fract() == 0.0 && (1.0..=3650.0).contains(&days) {
            Ok(Self(days as u32))
        } else {
            Err(format!("expires_in_days must be a whole number from 1 to 3650, not {days}"))
        }
    }
}

/// A whole number from 0 to 2³²−1, read as a number: JSON Schema counts `3.0` as an integer.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(try_from = "f64")]
#[schema(value_type = u32)]
pub struct Whole(pub u32);

impl TryFrom<f64> for Whole {
    type Error = String;

    fn try_from(n: f64) -> Result<Self, String> {
        if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
            Ok(Self(n as u32))
        } else {
            Err(format!("expected a whole number from 0 to {}, not {n}", u32::MAX))
        }
    }
}

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: ApiKeyId,
    pub name: String,
    pub scopes: Vec<Scope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_ip: Option<String>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            scopes: k.scopes,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            last_used_ip: k.last_used_ip,
        }
    }
}

/// A new key and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    pub key: ApiKeyResponse,
    /// `vz_<id>_<secret>`: send as `Authorization: Bearer …` or `X-API-Key: …`.
    pub secret: String,
}

/// One audit-log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: AuditId,
    /// e.g. `auth.login.failed`, `auth.token.reuse_detected`.
    pub action: &'static str,
    pub actor_id: Option<UserId>,
    pub target_id: Option<UserId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Non-secret specifics, such as `reason` or `session_id`.
    #[schema(value_type = Object)]
    pub detail: BTreeMap<String, serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<AuditEntry> for AuditEventResponse {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            action: e.action.as_str(),
            actor_id: e.actor,
            target_id: e.target,
            ip: e.ip,
            user_agent: e.user_agent,
            request_id: e.request_id,
            detail: e.detail.into_iter().collect(),
            created_at: e.created_at,
        }
    }
}

/// A page of audit entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventResponse>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `/healthz` and a ready `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// A ready `/readyz`: ready, and which parts, if any, run degraded on this node.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyResponse {
    /// `ready`.
    pub status: &'static str,
    /// Parts that do not work on this node, each with why; empty when all do.
    pub degraded: Vec<DegradedPart>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DegradedPart {
    /// `media`: uploads and processing (ffmpeg is missing).
    pub part: &'static str,
    /// What is wrong and what to install.
    pub reason: String,
}

/// `/.well-known/jwks.json`: the keys that verify access tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwksResponse {
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    #[test]
    fn permission_names_on_the_wire_are_the_core_s() {
        let every: Vec<super::PermissionName> =
            serde_json::from_value(serde_json::json!(veza_core::chat::permissions::Permissions::ALL.names()))
                .expect("every core name parses");
        assert_eq!(super::permissions_of(&every), veza_core::chat::permissions::Permissions::ALL);
        for name in every {
            let set: veza_core::chat::permissions::Permissions = name.into();
            assert_eq!(serde_json::json!(set.names()), serde_json::json!([name]), "{name:?}");
        }
    }

    #[test]
    fn avatar_url_and_links_share_one_url_pattern() {
        let schema = serde_json::to_value(super::UpdateProfileRequest::schema()).expect("schema");
        assert_eq!(schema["properties"]["avatar_url"]["pattern"], super::HTTP_URL_PATTERN, "{schema}");
    }
}

/// A sign-in provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    Google,
    Github,
    Discord,
}

impl From<ProviderName> for Provider {
    fn from(p: ProviderName) -> Self {
        match p {
            ProviderName::Google => Provider::Google,
            ProviderName::Github => Provider::GitHub,
            ProviderName::Discord => Provider::Discord,
        }
    }
}

impl From<Provider> for ProviderName {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Google => ProviderName::Google,
            Provider::GitHub => ProviderName::Github,
            Provider::Discord => ProviderName::Discord,
        }
    }
}

/// `GET /api/v1/auth/oauth/providers`
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvidersResponse {
    /// The providers this server signs in with, for the client to offer.
    pub providers: Vec<ProviderName>,
}

/// A started sign-in with a provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthStartResponse {
    /// Send the person here (a full-page navigation). The provider sends them back to the web
    /// client's `/oauth/{provider}/callback` page with `code` and `state` in the query.
    pub authorization_url: String,
    /// Comes back in the provider's redirect; compare it with this one before posting.
    pub state: String,
    /// Keep this in the client (session storage, never a URL) and post it with the callback:
    /// without it the state is worth nothing, so a code planted in another browser signs
    /// nobody in.
    pub binding: String,
    /// The flow must finish before this (10 minutes).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl From<OAuthStart> for OAuthStartResponse {
    fn from(s: OAuthStart) -> Self {
        Self { authorization_url: s.authorization_url, state: s.state, binding: s.binding, expires_at: s.expires_at }
    }
}

/// `POST /api/v1/auth/oauth/{provider}/callback` and `POST /api/v1/me/identities/{provider}/callback`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthCallbackRequest {
    /// The `code` of the provider's redirect.
    #[schema(min_length = 1, max_length = 2048)]
    pub code: String,
    /// The `state` of the provider's redirect.
    #[schema(min_length = 1, max_length = 256)]
    pub state: String,
    /// The binding the start returned to this client.
    #[schema(min_length = 1, max_length = 256)]
    pub binding: String,
}

impl From<OAuthCallbackRequest> for OAuthCallback {
    fn from(r: OAuthCallbackRequest) -> Self {
        Self { code: r.code, state: r.state, binding: r.binding }
    }
}

/// An account at a provider, linked to the caller's.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityResponse {
    pub id: IdentityId,
    pub provider: ProviderName,
    /// The address the provider reported when it was linked.
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<Identity> for IdentityResponse {
    fn from(i: Identity) -> Self {
        Self {
            id: i.id,
            provider: i.provider.into(),
            email: i.email,
            created_at: i.created_at,
            last_used_at: i.last_used_at,
        }
    }
}

/// `GET /api/v1/me/identities`
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitiesResponse {
    /// Whether the account has a password (accounts made by a provider have none until one is
    /// set through `POST /api/v1/auth/password/forgot`).
    pub has_password: bool,
    /// Linked provider accounts, oldest first.
    pub identities: Vec<IdentityResponse>,
}

impl From<SignInMethods> for IdentitiesResponse {
    fn from(m: SignInMethods) -> Self {
        Self { has_password: m.has_password, identities: m.identities.into_iter().map(Into::into).collect() }
    }
}

/// A started WebAuthn ceremony.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyOptionsResponse {
    /// Finish the ceremony with this id (single use, 5 minutes).
    pub ceremony_id: String,
    /// `{"publicKey": {...}}`: pass `publicKey` to `PublicKeyCredential.parseCreationOptionsFromJSON`
    /// (adding a passkey) or `parseRequestOptionsFromJSON` (signing in), then to
    /// `navigator.credentials.create` or `.get`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl From<PasskeyCeremony> for PasskeyOptionsResponse {
    fn from(c: PasskeyCeremony) -> Self {
        Self { ceremony_id: c.ceremony_id, options: c.options, expires_at: c.expires_at }
    }
}

/// `POST /api/v1/me/passkeys`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPasskeyRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub ceremony_id: String,
    /// What to call it (1–64 characters, not blank; default "Passkey").
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Phone"
    )]
    pub name: Option<String>,
    /// The created credential, as `credential.toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `POST /api/v1/auth/passkeys/login`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLoginRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub ceremony_id: String,
    /// The assertion, as `credential.toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `POST /api/v1/auth/login/mfa/passkey/options`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaTokenRequest {
    /// The token the first login step returned.
    #[schema(min_length = 1, max_length = 256)]
    pub mfa_token: String,
}

/// `POST /api/v1/auth/login/mfa/passkey`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaPasskeyRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub mfa_token: String,
    #[schema(min_length = 1, max_length = 256)]
    pub ceremony_id: String,
    /// The assertion, as `credential.toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `PATCH /api/v1/me/passkeys/{id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenamePasskeyRequest {
    /// 1–64 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Laptop"
    )]
    pub name: String,
}

/// A passkey of the caller's.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyResponse {
    pub id: PasskeyId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<Passkey> for PasskeyResponse {
    fn from(p: Passkey) -> Self {
        Self { id: p.id, name: p.name, created_at: p.created_at, last_used_at: p.last_used_at }
    }
}

/// Proof that the owner is at the keyboard, before adding a way to sign in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// Required when the account has a password. An account without one (made by signing in
    /// with a provider) must have signed in within the last 10 minutes instead.
    #[schema(max_length = 128)]
    pub current_password: Option<String>,
}

/// What a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKindName {
    Text,
    /// Only members with `manage_messages` post; everyone reads.
    Announcement,
    /// Groups channels; holds no messages.
    Category,
    /// A conversation inside a text or announcement channel (its `parent_id`), seen through
    /// that channel's overwrites.
    Thread,
}

impl From<ChannelKind> for ChannelKindName {
    fn from(k: ChannelKind) -> Self {
        match k {
            ChannelKind::Text => ChannelKindName::Text,
            ChannelKind::Announcement => ChannelKindName::Announcement,
            ChannelKind::Category => ChannelKindName::Category,
            ChannelKind::Thread => ChannelKindName::Thread,
        }
    }
}

/// The kinds of channel a community creates (threads are started in a channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewChannelKind {
    Text,
    /// Only members with `manage_messages` post; everyone reads.
    Announcement,
    /// Groups channels; holds no messages.
    Category,
}

impl From<NewChannelKind> for ChannelKind {
    fn from(k: NewChannelKind) -> Self {
        match k {
            NewChannelKind::Text => ChannelKind::Text,
            NewChannelKind::Announcement => ChannelKind::Announcement,
            NewChannelKind::Category => ChannelKind::Category,
        }
    }
}

/// `POST /api/v1/communities/{id}/channels`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    /// Lowercased, spaces made dashes.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "lo-fi-beats"
    )]
    pub name: String,
    pub kind: NewChannelKind,
    #[schema(max_length = 1024, pattern = "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub topic: Option<String>,
    /// A category of the same community (not for categories).
    pub parent_id: Option<ChannelId>,
    #[schema(value_type = Option<u32>, maximum = 10000)]
    pub position: Option<Whole>,
    /// Seconds between two messages of a member, at most 6 hours.
    #[schema(value_type = Option<u32>, maximum = 21600)]
    pub slowmode_secs: Option<Whole>,
}

/// `PATCH /api/v1/channels/{channel_id}`: fields left out stay; `null` clears topic or category.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1024, pattern = "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub topic: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ChannelId>)]
    pub parent_id: Option<Option<ChannelId>>,
    #[schema(value_type = Option<u32>, maximum = 10000)]
    pub position: Option<Whole>,
    #[schema(value_type = Option<u32>, maximum = 21600)]
    pub slowmode_secs: Option<Whole>,
    /// Threads only: archive (its owner, or `manage_threads`) or unarchive (whoever may post in
    /// it; `manage_threads` when it is locked).
    pub archived: Option<bool>,
    /// Threads only (`manage_threads`): a locked thread is unarchived by moderators only.
    pub locked: Option<bool>,
    /// Threads only (its owner, or `manage_threads`): minutes without a message after which it
    /// archives itself.
    pub auto_archive_minutes: Option<AutoArchiveMinutes>,
}

/// 60, 1440, 4320 or 10080: an hour, a day, three days, a week. Read as a number (JSON Schema
/// counts `60.0` as an integer).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "f64")]
pub struct AutoArchiveMinutes(pub u32);

impl TryFrom<f64> for AutoArchiveMinutes {
    type Error = String;

    fn try_from(n: f64) -> Result<Self, String> {
        let bad = || "auto_archive_minutes is 60, 1440, 4320 or 10080 (an hour, a day, three days, a week)".to_string();
        let minutes = Whole::try_from(n).map_err(|_| bad())?.0;
        veza_core::chat::channel::auto_archive(minutes).map(Self).map_err(|_| bad())
    }
}

impl utoipa::PartialSchema for AutoArchiveMinutes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .description(Some("Minutes without a message after which a thread archives itself."))
            .enum_values(Some(veza_core::chat::channel::AUTO_ARCHIVE_MINUTES))
            .into()
    }
}

impl utoipa::ToSchema for AutoArchiveMinutes {}

/// `POST /api/v1/channels/{channel_id}/threads`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartThreadRequest {
    /// 1–100 characters, kept as written.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Mix feedback"
    )]
    pub name: String,
    /// A message of the channel to start it from (one thread per message); none: a thread on
    /// its own.
    pub message_id: Option<MessageId>,
    /// Minutes without a message after which it archives itself (default 1440, a day).
    pub auto_archive_minutes: Option<AutoArchiveMinutes>,
}

/// What a thread has beyond a channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadResponse {
    /// Who started it.
    pub owner_id: UserId,
    /// The message it was started from.
    pub starter_message_id: Option<MessageId>,
    pub archived: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
    pub locked: bool,
    /// Minutes without a message after which it archives itself: 60, 1440, 4320 or 10080.
    pub auto_archive_minutes: u32,
}

/// Someone following a thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadMemberResponse {
    pub thread_id: ChannelId,
    pub user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

impl From<ThreadMember> for ThreadMemberResponse {
    fn from(m: ThreadMember) -> Self {
        Self { thread_id: m.thread_id, user_id: m.user_id, joined_at: m.joined_at }
    }
}

/// Whom an overwrite is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverwriteKind {
    Role,
    Member,
}

/// A channel's exception to the community-wide permissions of one role or member.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverwriteResponse {
    pub kind: OverwriteKind,
    /// The role's or the member's id.
    pub id: String,
    #[schema(value_type = Vec<PermissionName>)]
    pub allow: Vec<String>,
    #[schema(value_type = Vec<PermissionName>)]
    pub deny: Vec<String>,
}

impl From<Overwrite> for OverwriteResponse {
    fn from(o: Overwrite) -> Self {
        let (kind, id) = match o.target {
            OverwriteTarget::Role(r) => (OverwriteKind::Role, r.to_string()),
            OverwriteTarget::Member(u) => (OverwriteKind::Member, u.to_string()),
        };
        let names = |p: veza_core::chat::permissions::Permissions| p.names().into_iter().map(str::to_string).collect();
        Self { kind, id, allow: names(o.allow), deny: names(o.deny) }
    }
}

/// `PUT /api/v1/channels/{channel_id}/permissions/{target_id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverwriteRequest {
    pub kind: OverwriteKind,
    #[schema(max_items = 23)]
    pub allow: Vec<PermissionName>,
    #[schema(max_items = 23)]
    pub deny: Vec<PermissionName>,
}

/// A channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelResponse {
    pub id: ChannelId,
    pub community_id: CommunityId,
    pub kind: ChannelKindName,
    pub name: String,
    pub topic: Option<String>,
    pub parent_id: Option<ChannelId>,
    pub position: u32,
    pub slowmode_secs: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A thread's are its parent's: it has none of its own.
    pub overwrites: Vec<OverwriteResponse>,
    /// Threads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadResponse>,
    /// What the caller may do in it (when listed or read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<PermissionName>>)]
    pub my_permissions: Option<Vec<String>>,
}

impl From<Channel> for ChannelResponse {
    fn from(c: Channel) -> Self {
        Self {
            id: c.id,
            community_id: c.community_id,
            kind: c.kind.into(),
            name: c.name,
            topic: c.topic,
            parent_id: c.parent_id,
            position: c.position,
            slowmode_secs: c.slowmode_secs,
            created_at: c.created_at,
            overwrites: c.overwrites.into_iter().map(Into::into).collect(),
            thread: c.thread.map(|t| ThreadResponse {
                owner_id: t.owner_id,
                starter_message_id: t.starter_id,
                archived: t.archived_at.is_some(),
                archived_at: t.archived_at,
                locked: t.locked,
                auto_archive_minutes: t.auto_archive_minutes,
            }),
            my_permissions: None,
        }
    }
}

impl From<ChannelView> for ChannelResponse {
    fn from(v: ChannelView) -> Self {
        let names = v.my_permissions.names().into_iter().map(str::to_string).collect();
        Self { my_permissions: Some(names), ..Self::from(v.channel) }
    }
}

/// `POST /api/v1/channels/{channel_id}/messages`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// 1–4000 characters; line breaks allowed. Mentions: `<@user id>`, `<@&role id>`, `@everyone`.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$"
    )]
    pub content: String,
    /// The client's id for this send: a retry with the same nonce posts nothing new.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
    /// A message of the same channel this one answers.
    pub reply_to: Option<MessageId>,
}

/// `POST /api/v1/channels/{channel_id}/messages` with files: a `multipart/form-data` form.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the form; the handler reads it as a stream
pub struct SendMessageForm {
    /// The message as a JSON object: `content` (up to 4000 characters; may be left out when
    /// files come with it), `nonce` and `reply_to`, as in the JSON send.
    #[schema(required = false, value_type = String, content_media_type = "application/json")]
    pub payload_json: String,
    /// Up to 10 files (the field repeated), together within the server's limit.
    #[schema(required = false, value_type = Vec<String>, format = Binary)]
    pub files: Vec<Vec<u8>>,
}

/// The JSON part of a message sent with files (`payload_json`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageFormPayload {
    /// May be left out when files come with it.
    pub content: Option<String>,
    pub nonce: Option<String>,
    pub reply_to: Option<MessageId>,
}

/// `PATCH /api/v1/channels/{channel_id}/messages/{message_id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$"
    )]
    pub content: String,
}

/// Whom a message mentions.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentionsResponse {
    pub users: Vec<UserId>,
    pub roles: Vec<RoleId>,
    /// Whether it notifies everyone (only with `mention_everyone`).
    pub everyone: bool,
}

/// A message; a deleted one has no content and a `deleted_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub author_id: UserId,
    pub content: String,
    pub nonce: Option<String>,
    pub reply_to: Option<MessageId>,
    pub mentions: MentionsResponse,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// Cards of the Veza tracks the message links to (`{web client or public URL}/tracks/{id}`,
    /// with `?secret=` for an unlisted one), at most 3; worked out when read.
    pub embeds: Vec<TrackEmbedResponse>,
    /// Its files, in the order they were sent; none once deleted.
    pub attachments: Vec<AttachmentResponse>,
}

/// A Veza track a message links to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackEmbedResponse {
    /// Always `track`.
    #[serde(rename = "type")]
    #[schema(example = "track")]
    pub kind: &'static str,
    pub track_id: veza_core::id::TrackId,
    pub owner_id: UserId,
    pub title: String,
    pub artist: Option<String>,
    pub duration_ms: u64,
    pub state: veza_core::catalog::track::TrackState,
    pub has_cover: bool,
}

impl From<veza_core::chat::message::TrackEmbed> for TrackEmbedResponse {
    fn from(e: veza_core::chat::message::TrackEmbed) -> Self {
        Self {
            kind: "track",
            track_id: e.track_id,
            owner_id: e.owner_id,
            title: e.title,
            artist: e.artist,
            duration_ms: e.duration_ms,
            state: e.state,
            has_cover: e.has_cover,
        }
    }
}

impl From<Message> for MessageResponse {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            channel_id: m.channel_id,
            author_id: m.author_id,
            content: m.content,
            nonce: m.nonce,
            reply_to: m.reply_to,
            mentions: MentionsResponse {
                users: m.mentions.users,
                roles: m.mentions.roles,
                everyone: m.mentions.everyone,
            },
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
            embeds: m.embeds.into_iter().map(Into::into).collect(),
            attachments: m.attachments.into_iter().map(Into::into).collect(),
        }
    }
}

/// A file attached to a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentResponse {
    pub id: AttachmentId,
    /// As the sender named it (cleaned: no path, no control characters, at most 200 characters).
    pub file_name: String,
    /// Decided from the file's bytes when it was sent.
    #[schema(example = "image/png")]
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    /// Where to fetch it: a signed URL that works for about a day (read the message again for
    /// a fresh one). Images, audio and video are served inline, anything else as a download.
    pub url: String,
}

impl From<Attachment> for AttachmentResponse {
    fn from(a: Attachment) -> Self {
        Self {
            id: a.id,
            file_name: a.file_name,
            content_type: a.content_type,
            size: a.size,
            url: a.url.unwrap_or_default(),
        }
    }
}

/// An earlier version of an edited message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageEditResponse {
    /// The text before the edit.
    pub content: String,
    #[serde(with = "time::serde::rfc3339")]
    pub edited_at: OffsetDateTime,
}

impl From<MessageEdit> for MessageEditResponse {
    fn from(e: MessageEdit) -> Self {
        Self { content: e.content, edited_at: e.edited_at }
    }
}

/// How many reacted to a message with one emoji, and whether the caller did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionCountResponse {
    pub emoji: String,
    pub count: u64,
    pub me: bool,
}

impl From<ReactionCount> for ReactionCountResponse {
    fn from(c: ReactionCount) -> Self {
        Self { emoji: c.emoji, count: c.count, me: c.me }
    }
}

/// A pinned message.
#[derive(Debug, Serialize, ToSchema)]
pub struct PinResponse {
    pub message: MessageResponse,
    pub pinned_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub pinned_at: OffsetDateTime,
}

impl From<Pin> for PinResponse {
    fn from(p: Pin) -> Self {
        Self { message: p.message.into(), pinned_by: p.pinned_by, pinned_at: p.pinned_at }
    }
}

/// How far the caller has read a channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadStateResponse {
    pub channel_id: ChannelId,
    /// The last message marked read; absent before the first acknowledgement.
    pub last_read: Option<MessageId>,
    /// Others' messages after it.
    pub unread: u64,
    /// Those of them that mention the caller, one of their roles, or everyone.
    pub mentions: u64,
}

impl From<ReadState> for ReadStateResponse {
    fn from(r: ReadState) -> Self {
        Self { channel_id: r.channel_id, last_read: r.last_read, unread: r.unread, mentions: r.mentions }
    }
}

/// A status one chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    Online,
    Idle,
    /// Do not disturb.
    Dnd,
    /// Connected, shown to others as offline.
    Invisible,
}

impl From<StatusName> for veza_core::chat::presence::Status {
    fn from(s: StatusName) -> Self {
        use veza_core::chat::presence::Status;
        match s {
            StatusName::Online => Status::Online,
            StatusName::Idle => Status::Idle,
            StatusName::Dnd => Status::Dnd,
            StatusName::Invisible => Status::Invisible,
        }
    }
}

/// What one is doing: listening to a public Veza track.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityRequest {
    /// Always `listening`.
    #[serde(rename = "type")]
    pub kind: ActivityKind,
    pub track_id: veza_core::id::TrackId,
}

/// The kinds of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Listening,
}

/// `PUT /api/v1/me/presence` and the gateway's `presence.update`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPresenceRequest {
    pub status: StatusName,
    /// `null` or absent: no activity.
    pub activity: Option<ActivityRequest>,
}

/// What others see of someone.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceResponse {
    pub user_id: UserId,
    /// `online`, `idle`, `dnd` or `offline` (also for those who chose `invisible`).
    #[schema(example = "online")]
    pub status: &'static str,
    /// What they are listening to, while the track stays public.
    pub activity: Option<ActivityResponse>,
}

/// An activity as others see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityResponse {
    /// Always `listening`.
    #[serde(rename = "type")]
    #[schema(example = "listening")]
    pub kind: &'static str,
    pub track: TrackEmbedResponse,
    /// When they started listening to it.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

impl From<veza_core::chat::presence::Presence> for PresenceResponse {
    fn from(p: veza_core::chat::presence::Presence) -> Self {
        let since = p.since.unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self {
            user_id: p.user_id,
            status: p.status.as_str(),
            activity: p.listening_to.map(|t| ActivityResponse { kind: "listening", track: t.into(), since }),
        }
    }
}

/// A direct conversation: two people, or a group of up to ten.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectChannelResponse {
    pub id: ChannelId,
    /// `dm` (two people, one conversation per pair) or `group_dm`.
    #[schema(example = "dm")]
    pub kind: &'static str,
    /// Groups: who started it (they remove others).
    pub owner_id: Option<UserId>,
    /// Groups: its name, empty when unnamed.
    pub name: String,
    /// Everyone in it, the caller included.
    pub recipients: Vec<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<veza_core::chat::channel::DirectChannel> for DirectChannelResponse {
    fn from(d: veza_core::chat::channel::DirectChannel) -> Self {
        Self {
            id: d.id,
            kind: if d.group { "group_dm" } else { "dm" },
            owner_id: d.owner_id,
            name: d.name,
            recipients: d.recipients,
            created_at: d.created_at,
        }
    }
}

/// `PATCH /api/v1/me/channels/{channel_id}`: a group's name, or its owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroupRequest {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// Another person in the group, who becomes its owner (the owner only).
    pub owner_id: Option<UserId>,
}

/// `POST /api/v1/me/channels`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDirectRequest {
    /// One person (a DM: opening it again returns the same one), or 2–9 (a new group). Each must
    /// share a community with you.
    #[schema(min_items = 1, max_items = 9)]
    pub recipients: Vec<UserId>,
    /// Groups only.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
}

/// A community's channel or thread, or a direct conversation (told apart by `kind`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AnyChannelResponse {
    Community(ChannelResponse),
    Direct(DirectChannelResponse),
}
