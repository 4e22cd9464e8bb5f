//! The sign-in providers behind the core's `IdentityProviders` port: Google through OpenID
//! Connect (the ID token's signature is checked against Google's published keys, then its
//! issuer, audience, expiry and nonce), GitHub through OAuth2 and its user and emails API,
//! Discord through OAuth2 and `/users/@me`. The code exchange is the `oauth2` crate's, with
//! PKCE S256; ID tokens are checked with `jsonwebtoken`.
//!
//! Every endpoint can be overridden, so that the tests run against a real provider on
//! localhost. Calls never follow redirects, time out after ten seconds, and read at most
//! 1 MiB of answer.

mod google;
mod http;
mod profiles;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use veza_core::identity::{AuthorizationRequest, CodeGrant, Provider, ProviderProblem, ProviderProfile};
use veza_core::ports::IdentityProviders;

pub use google::GOOGLE_ISSUERS;

/// How long one call to a provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One provider's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: String,
    /// Where the provider sends the person back: a page of the web client, which posts the
    /// code and state to the API.
    pub redirect_url: String,
    pub auth_url: String,
    pub token_url: String,
    /// GitHub and Discord: the base URL of the API the profile is read from. Google: the URL
    /// of the keys that sign ID tokens (JWKS).
    pub api_url: String,
    /// Google: the `iss` values an ID token may carry.
    pub issuers: Vec<String>,
}

impl ProviderConfig {
    /// The provider's real endpoints, with no client configured.
    pub fn defaults(provider: Provider) -> Self {
        let (auth, token, api) = match provider {
            Provider::Google => (
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://www.googleapis.com/oauth2/v3/certs",
            ),
            Provider::GitHub => (
                "https://github.com/login/oauth/authorize",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com",
            ),
            Provider::Discord => (
                "https://discord.com/oauth2/authorize",
                "https://discord.com/api/oauth2/token",
                "https://discord.com/api",
            ),
        };
        let issuers = match provider {
            Provider::Google => GOOGLE_ISSUERS.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        };
        Self {
            provider,
            client_id: String::new(),
            client_secret: String::new(),
            redirect_url: String::new(),
            auth_url: auth.into(),
            token_url: token.into(),
            api_url: api.into(),
            issuers,
        }
    }

    /// The scopes asked for: who the person is and their verified address, nothing more.
    fn scopes(&self) -> &'static [&'static str] {
        match self.provider {
            Provider::Google => &["openid", "email", "profile"],
            Provider::GitHub => &["read:user", "user:email"],
            Provider::Discord => &["identify", "email"],
        }
    }
}

/// The token endpoint's answer, with the ID token OpenID Connect adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl oauth2::ExtraTokenFields for IdTokenField {}

type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;

type Client = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Debug)]
struct Configured {
    config: ProviderConfig,
    client: Client,
}

/// The configured providers.
#[derive(Debug)]
pub struct Providers {
    configured: HashMap<Provider, Configured>,
    http: reqwest::Client,
    google_keys: google::KeyCache,
}

impl Providers {
    /// Checks every URL and builds the clients; the error names the provider and the setting.
    pub fn new(configs: Vec<ProviderConfig>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("Veza/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for sign-in providers: {e}"))?;
        let mut configured = HashMap::new();
        for config in configs {
            let name = config.provider.as_str();
            let bad = |what: &str, e: &dyn std::fmt::Display| format!("{name} sign-in: {what} is not a valid URL: {e}");
            let client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
                .set_client_secret(ClientSecret::new(config.client_secret.clone()))
                .set_auth_uri(AuthUrl::new(config.auth_url.clone()).map_err(|e| bad("auth_url", &e))?)
                .set_token_uri(TokenUrl::new(config.token_url.clone()).map_err(|e| bad("token_url", &e))?)
                .set_redirect_uri(RedirectUrl::new(config.redirect_url.clone()).map_err(|e| bad("redirect_url", &e))?);
            reqwest::Url::parse(&config.api_url).map_err(|e| bad("api_url", &e))?;
            configured.insert(config.provider, Configured { config, client });
        }
        Ok(Self { configured, http, google_keys: google::KeyCache::default() })
    }

    async fn exchange(&self, entry: &Configured, grant: &CodeGrant) -> Result<TokenAnswer, ProviderProblem> {
        let answer = entry
            .client
            .exchange_code(AuthorizationCode::new(grant.code.clone()))
            .set_pkce_verifier(PkceCodeVerifier::new(grant.pkce_verifier.clone()))
            .request_async(&self.http)
            .await;
        answer.map_err(|e| match e {
            RequestTokenError::ServerResponse(refusal) => ProviderProblem::Refused(refusal.error().to_string()),
            RequestTokenError::Request(e) => ProviderProblem::Unavailable(e.to_string()),
            // GitHub answers refusals with 200 and an `error` field, which does not parse as a
            // token.
            RequestTokenError::Parse(_, body) => match serde_json::from_slice::<http::ErrorBody>(&body) {
                Ok(refusal) => ProviderProblem::Refused(refusal.error),
                Err(_) => ProviderProblem::Invalid("the token endpoint's answer is not a token".into()),
            },
            RequestTokenError::Other(e) => ProviderProblem::Invalid(e),
        })
    }
}

#[async_trait]
impl IdentityProviders for Providers {
    fn enabled(&self) -> Vec<Provider> {
        Provider::ALL.into_iter().filter(|p| self.configured.contains_key(p)).collect()
    }

    fn authorization_url(&self, provider: Provider, request: &AuthorizationRequest) -> Option<String> {
        let entry = self.configured.get(&provider)?;
        let mut url = entry
            .client
            .authorize_url(|| CsrfToken::new(request.state.clone()))
            .add_scopes(entry.config.scopes().iter().map(|s| oauth2::Scope::new(s.to_string())))
            .add_extra_param("code_challenge", request.pkce_challenge.clone())
            .add_extra_param("code_challenge_method", "S256");
        if provider == Provider::Google {
            url = url.add_extra_param("nonce", request.nonce.clone());
        }
        Some(url.url().0.to_string())
    }

    async fn profile(&self, provider: Provider, grant: &CodeGrant) -> Result<ProviderProfile, ProviderProblem> {
        let entry = self
            .configured
            .get(&provider)
            .ok_or_else(|| ProviderProblem::Invalid(format!("{} sign-in is not configured", provider.as_str())))?;
        let answer = self.exchange(entry, grant).await?;
        let access_token = answer.access_token().secret();
        match provider {
            Provider::Google => {
                let id_token = answer
                    .extra_fields()
                    .id_token
                    .as_deref()
                    .ok_or_else(|| ProviderProblem::Invalid("Google's answer has no ID token".into()))?;
                google::profile(&self.http, &self.google_keys, &entry.config, id_token, &grant.nonce).await
            }
            Provider::GitHub => profiles::github(&self.http, &entry.config.api_url, access_token).await,
            Provider::Discord => profiles::discord(&self.http, &entry.config.api_url, access_token).await,
        }
    }
}
