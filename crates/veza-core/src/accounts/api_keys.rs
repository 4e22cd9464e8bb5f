//! API keys: created, listed and revoked by their owner in a logged-in session (never with
//! another key), and turned into a [`Principal`] on each request that presents one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use time::{Duration, OffsetDateTime};

use crate::api_key::{split_key, ApiKey, NewApiKey, Scope, PREFIX};
use crate::audit::{AuditAction, AuditEntry, RequestMeta};
use crate::error::{CoreError, FieldError, TokenProblem, Validator};
use crate::id::ApiKeyId;
use crate::user::Role;

use super::{hash_secret, Accounts, Credential, Principal};

/// Live keys one account may hold.
pub const KEYS_PER_USER_MAX: usize = 25;
pub const KEY_NAME_MAX: usize = 64;
/// A use from the same address within this long of the last recorded one is not written again:
/// a busy script must not turn every request into a database write.
const USE_RECORD_INTERVAL: Duration = Duration::minutes(1);

/// A new key and its secret, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    /// The whole key, `vz_<id>_<secret>`.
    pub secret: String,
}

impl Accounts {
    pub async fn create_api_key(
        &self,
        principal: &Principal,
        name: &str,
        scopes: Vec<Scope>,
        expires_at: Option<OffsetDateTime>,
        meta: &RequestMeta,
    ) -> Result<CreatedApiKey, CoreError> {
        let session_id = principal.require_session("API keys cannot create API keys")?;
        let owner = self.account(principal).await?;
        let now = self.now();
        // A key outlives the access token that made it, so the session behind that token must
        // still be live: a token stolen from a session since ended cannot mint a lasting key.
        let session = self.deps.sessions.session(session_id).await?;
        if session.is_none_or(|s| s.revoked_at.is_some() || s.is_expired(now)) {
            return Err(CoreError::InvalidToken(TokenProblem::Revoked));
        }
        let mut v = Validator::default();
        let name = v.check(parse_name(name));
        let scopes = v.check(parse_scopes(scopes, owner.role));
        let expires_at = v.check(match expires_at {
            Some(t) if t <= now => {
                Err(FieldError::new("expires_at", "in_the_past", "expires_at must be in the future"))
            }
            other => Ok(other),
        });
        let (name, scopes, expires_at) = v.finish(|| Some((name?, scopes?, expires_at?)))?;
        if self.deps.api_keys.for_user(owner.id).await?.len() >= KEYS_PER_USER_MAX {
            return Err(CoreError::Conflict(FieldError::new(
                "api_keys",
                "too_many",
                format!("an account may hold at most {KEYS_PER_USER_MAX} keys; revoke one first"),
            )));
        }

        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        let id = ApiKeyId::new(self.deps.ids.as_ref());
        let key = ApiKey {
            id,
            user_id: owner.id,
            name,
            scopes,
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
            last_used_ip: None,
        };
        let mut entry = self.audit_entry(AuditAction::ApiKeyCreated, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("key_id".into(), id.to_string().into());
        entry.detail.insert("name".into(), key.name.clone().into());
        entry.detail.insert("scopes".into(), key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().into());
        self.deps.api_keys.create(&NewApiKey { key: key.clone(), secret_hash: hash_secret(&secret) }, &entry).await?;
        Ok(CreatedApiKey { key, secret: format!("{PREFIX}{id}_{secret}") })
    }

    pub async fn list_api_keys(&self, principal: &Principal) -> Result<Vec<ApiKey>, CoreError> {
        principal.require_session("API keys cannot list API keys")?;
        let owner = self.account(principal).await?;
        Ok(self.deps.api_keys.for_user(owner.id).await?)
    }

    pub async fn revoke_api_key(
        &self,
        principal: &Principal,
        id: ApiKeyId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        principal.require_session("API keys cannot revoke API keys")?;
        let owner = self.account(principal).await?;
        let mut entry = self.audit_entry(AuditAction::ApiKeyRevoked, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("key_id".into(), id.to_string().into());
        if !self.deps.api_keys.revoke(id, owner.id, self.now(), &entry).await? {
            return Err(CoreError::NotFound("API key"));
        }
        self.signed_out(owner.id, Some(super::SignedOut::ApiKey(id))).await;
        Ok(())
    }

    /// The principal a presented key stands for. Unknown keys and wrong secrets are told apart
    /// from nothing (both "malformed or unknown"); revoked and expired keys say so. Nothing is
    /// written here: the use to record comes back as a [`KeyUse`], which the caller passes to
    /// [`Accounts::record_key_use`] once the request is admitted, so that requests the rate
    /// limiter refuses do not grow the append-only audit log.
    pub async fn authenticate_api_key(
        &self,
        raw: &str,
        meta: &RequestMeta,
    ) -> Result<(Principal, Option<KeyUse>), CoreError> {
        let (id, secret) = split_key(raw).ok_or(CoreError::InvalidToken(TokenProblem::Malformed))?;
        let (key, hash) = self.deps.api_keys.get(id).await?.ok_or(CoreError::InvalidToken(TokenProblem::Malformed))?;
        if !constant_time_eq(hash_secret(secret).as_bytes(), hash.as_bytes()) {
            return Err(CoreError::InvalidToken(TokenProblem::Malformed));
        }
        let now = self.now();
        if key.revoked_at.is_some() {
            return Err(CoreError::InvalidToken(TokenProblem::Revoked));
        }
        if key.expires_at.is_some_and(|t| t <= now) {
            return Err(CoreError::InvalidToken(TokenProblem::Expired));
        }
        let owner = self.deps.users.by_id(key.user_id).await?.ok_or(CoreError::InvalidToken(TokenProblem::Revoked))?;
        if owner.disabled {
            return Err(CoreError::AccountDisabled);
        }
        // Never beyond the owner's rights: `admin` counts only while the owner is one.
        let scopes = key.scopes.iter().copied().filter(|s| *s != Scope::Admin || owner.role == Role::Admin).collect();

        let new_address = key.last_used_ip != meta.ip;
        let stale = key.last_used_at.is_none_or(|t| now - t >= USE_RECORD_INTERVAL);
        let key_use = (new_address || stale).then(|| KeyUse {
            id,
            at: now,
            ip: meta.ip.clone(),
            audit: new_address.then(|| {
                let mut e = self.audit_entry(AuditAction::ApiKeyUsed, Some(owner.id), Some(owner.id), meta);
                e.detail.insert("key_id".into(), id.to_string().into());
                e
            }),
        });
        let principal =
            Principal { user_id: owner.id, role: owner.role, credential: Credential::ApiKey { id, scopes } };
        Ok((principal, key_use))
    }

    /// Records an admitted request's use of a key: its time and address, and an audit entry
    /// when the address is new.
    pub async fn record_key_use(&self, key_use: KeyUse) -> Result<(), CoreError> {
        let KeyUse { id, at, ip, audit } = key_use;
        Ok(self.deps.api_keys.record_use(id, at, ip.as_deref(), audit.as_ref()).await?)
    }
}

/// A key's use worth writing down (a new address, or the first in a while), not yet written.
#[derive(Debug, Clone)]
pub struct KeyUse {
    id: ApiKeyId,
    at: OffsetDateTime,
    ip: Option<String>,
    audit: Option<AuditEntry>,
}

fn parse_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || raw.chars().count() > KEY_NAME_MAX || raw.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "invalid",
            format!("name must be 1 to {KEY_NAME_MAX} characters without control characters"),
        ));
    }
    Ok(name.to_string())
}

fn parse_scopes(mut scopes: Vec<Scope>, role: Role) -> Result<Vec<Scope>, FieldError> {
    if scopes.is_empty() {
        return Err(FieldError::new("scopes", "required", "name at least one scope"));
    }
    if scopes.contains(&Scope::Admin) && role != Role::Admin {
        return Err(FieldError::new(
            "scopes",
            "beyond_role",
            "only administrators can create keys with the `admin` scope",
        ));
    }
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

/// Compares without an early exit, so the time taken says nothing about where hashes differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
