//! Google's OpenID Connect ID tokens: RS256 signatures checked against Google's published keys
//! (fetched when a token names a key not seen yet, and at least hourly), then the issuer, the
//! audience (our client id), the expiry and the nonce of the flow.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;
use veza_core::identity::{Provider, ProviderProblem, ProviderProfile};

use crate::http::get_json;
use crate::ProviderConfig;

/// Google documents both spellings of its issuer.
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// Keys are fetched again after this long, whatever happens.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// A token naming an unknown key fetches the keys again, but not more often than this.
const REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(30);
/// Clock difference tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

#[derive(Debug, Default)]
pub(crate) struct KeyCache(Mutex<Option<(Instant, JwkSet)>>);

impl KeyCache {
    /// The key `kid`, from the cache or, when missing or stale, from `url`.
    async fn key(&self, http: &reqwest::Client, url: &str, kid: &str) -> Result<DecodingKey, ProviderProblem> {
        let mut cached = self.0.lock().await;
        let fresh = |at: &Instant, since: Duration| at.elapsed() < since;
        let usable = cached.as_ref().filter(|(at, _)| fresh(at, KEYS_MAX_AGE));
        let known = usable.and_then(|(_, set)| set.find(kid)).is_some();
        let recently = cached.as_ref().is_some_and(|(at, _)| fresh(at, REFETCH_MIN_INTERVAL));
        if usable.is_none() || (!known && !recently) {
            let set: JwkSet = get_json(http, url, None).await?;
            *cached = Some((Instant::now(), set));
        }
        let jwk = cached
            .as_ref()
            .and_then(|(_, set)| set.find(kid))
            .ok_or_else(|| ProviderProblem::Invalid(format!("the ID token is signed with unknown key `{kid}`")))?;
        DecodingKey::from_jwk(jwk).map_err(|e| ProviderProblem::Invalid(format!("unusable signing key `{kid}`: {e}")))
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    /// A boolean, though some tokens have carried it as a string.
    email_verified: Option<serde_json::Value>,
    name: Option<String>,
}

pub(crate) async fn profile(
    http: &reqwest::Client,
    keys: &KeyCache,
    config: &ProviderConfig,
    id_token: &str,
    nonce: &str,
) -> Result<ProviderProfile, ProviderProblem> {
    let invalid = |what: String| ProviderProblem::Invalid(format!("ID token refused: {what}"));
    let header = jsonwebtoken::decode_header(id_token).map_err(|e| invalid(e.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(invalid(format!("signed with {:?}, not RS256", header.alg)));
    }
    let kid = header.kid.ok_or_else(|| invalid("no key id".into()))?;
    let key = keys.key(http, &config.api_url, &kid).await?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&config.client_id]);
    validation.set_issuer(&config.issuers);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECS;
    let claims =
        jsonwebtoken::decode::<Claims>(id_token, &key, &validation).map_err(|e| invalid(e.to_string()))?.claims;
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(invalid("its nonce is not this sign-in's".into()));
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(invalid("no usable subject".into()));
    }
    let verified = match claims.email_verified {
        Some(serde_json::Value::Bool(b)) => b,
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(ProviderProfile {
        provider: Provider::Google,
        subject: claims.sub,
        email_verified: claims.email.is_some() && verified,
        email: claims.email,
        name_hint: claims.name,
    })
}
