//! Access tokens: JWTs signed with Ed25519 (`alg: EdDSA`, `typ: at+jwt` per RFC 9068), carrying
//! `iss`, `aud`, `sub`, `exp`, `iat`, `jti`, the session id and the role. The key id is the
//! key's RFC 7638 thumbprint, so it changes whenever the key does.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use veza_core::error::{CoreError, TokenProblem};
use veza_core::ports::{AccessClaims, Jwk, TokenSigner};
use veza_core::user::Role;

/// RFC 9068's media type for JWT access tokens.
const TOKEN_TYPE: &str = "at+jwt";
/// Clock skew tolerated between nodes when checking `exp` and `iat`.
const LEEWAY_SECS: u64 = 30;
/// Our tokens are about 400 bytes; refuse to parse anything absurdly larger.
const TOKEN_MAX: usize = 4096;

#[derive(Debug, thiserror::Error)]
#[error("invalid Ed25519 key: {0}")]
pub struct KeyError(pub String);

/// Who tokens are issued by and for: checked on every verification.
#[derive(Debug, Clone)]
pub struct TokenAudience {
    pub issuer: String,
    pub audience: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    jti: String,
    sid: String,
    role: Role,
}

pub struct JwtSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
    validation: Validation,
    audience: TokenAudience,
}

impl std::fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSigner")
            .field("kid", &self.jwk.kid)
            .field("issuer", &self.audience.issuer)
            .finish_non_exhaustive()
    }
}

/// A new Ed25519 private key as PKCS#8 DER.
pub fn generate_ed25519_pkcs8() -> Result<Vec<u8>, KeyError> {
    let rng = ring::rand::SystemRandom::new();
    Ed25519KeyPair::generate_pkcs8(&rng).map(|d| d.as_ref().to_vec()).map_err(|e| KeyError(e.to_string()))
}

impl JwtSigner {
    pub fn from_pkcs8(pkcs8_der: &[u8], audience: TokenAudience) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8_der).map_err(|e| KeyError(e.to_string()))?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        // RFC 7638: the thumbprint hashes the required members in lexicographic order, no spaces.
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let decoding = DecodingKey::from_ed_components(&x).map_err(|e| KeyError(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[&audience.audience]);
        validation.set_issuer(&[&audience.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        validation.leeway = LEEWAY_SECS;
        let jwk = Jwk { kty: "OKP".into(), crv: "Ed25519".into(), x, kid, alg: "EdDSA".into(), use_: "sig".into() };
        Ok(Self { encoding: EncodingKey::from_ed_der(pkcs8_der), decoding, jwk, validation, audience })
    }
}

impl TokenSigner for JwtSigner {
    fn issue(&self, c: &AccessClaims) -> Result<String, CoreError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.into());
        header.kid = Some(self.jwk.kid.clone());
        let claims = Claims {
            iss: self.audience.issuer.clone(),
            aud: self.audience.audience.clone(),
            sub: c.user_id.to_string(),
            exp: c.expires_at.unix_timestamp(),
            iat: c.issued_at.unix_timestamp(),
            jti: c.token_id.clone(),
            sid: c.session_id.to_string(),
            role: c.role,
        };
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| CoreError::Internal(format!("signing failed: {e}")))
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenProblem> {
        if token.len() > TOKEN_MAX {
            return Err(TokenProblem::Malformed);
        }
        // decode_header refuses unknown algorithms, `none` included.
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenProblem::Malformed)?;
        if header.typ.as_deref() != Some(TOKEN_TYPE) || header.kid.as_deref() != Some(self.jwk.kid.as_str()) {
            return Err(TokenProblem::Malformed);
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenProblem::Expired,
                _ => TokenProblem::Malformed,
            })?;
        let c = data.claims;
        let time = |t: i64| OffsetDateTime::from_unix_timestamp(t).map_err(|_| TokenProblem::Malformed);
        let issued_at = time(c.iat)?;
        if issued_at > OffsetDateTime::now_utc() + time::Duration::seconds(LEEWAY_SECS as i64) {
            return Err(TokenProblem::Malformed); // issued in the future: not by us
        }
        Ok(AccessClaims {
            user_id: c.sub.parse().map_err(|_| TokenProblem::Malformed)?,
            session_id: c.sid.parse().map_err(|_| TokenProblem::Malformed)?,
            role: c.role,
            issued_at,
            expires_at: time(c.exp)?,
            token_id: c.jti,
        })
    }

    fn public_keys(&self) -> Vec<Jwk> {
        vec![self.jwk.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use veza_core::id::{SessionId, UserId};

    fn signer() -> JwtSigner {
        let aud = TokenAudience { issuer: "http://veza.test".into(), audience: "veza".into() };
        JwtSigner::from_pkcs8(&generate_ed25519_pkcs8().expect("key"), aud).expect("signer")
    }

    fn claims(exp_in: i64) -> AccessClaims {
        let now = OffsetDateTime::now_utc();
        AccessClaims {
            user_id: UserId(42),
            session_id: SessionId(7),
            role: Role::Moderator,
            issued_at: now,
            expires_at: now + time::Duration::seconds(exp_in),
            token_id: "j1".into(),
        }
    }

    #[test]
    fn round_trip() {
        let s = signer();
        let token = s.issue(&claims(900)).expect("issue");
        let back = s.verify(&token).expect("verify");
        assert_eq!((back.user_id, back.session_id, back.role), (UserId(42), SessionId(7), Role::Moderator));
    }

    #[test]
    fn refuses_expired_foreign_and_tampered_tokens() {
        let s = signer();
        assert_eq!(s.verify(&s.issue(&claims(-3600)).expect("issue")), Err(TokenProblem::Expired));
        let other = signer();
        assert_eq!(other.verify(&s.issue(&claims(900)).expect("issue")), Err(TokenProblem::Malformed));
        let token = s.issue(&claims(900)).expect("issue");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
        parts[0] = &forged;
        assert_eq!(s.verify(&format!("{}.{}.", parts[0], parts[1])), Err(TokenProblem::Malformed));
        assert_eq!(s.verify("not a token"), Err(TokenProblem::Malformed));
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes())),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
