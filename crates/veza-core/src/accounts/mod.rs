//! The account use cases: register, log in, refresh, log out, read and edit profiles, read the
//! audit log. Each takes the caller's [`RequestMeta`] so that what it records says where the
//! request came from.

mod admin;
mod api_keys;
pub(crate) use api_keys::constant_time_eq;
pub use api_keys::KeyUse;
mod audit_view;
mod email;
mod login;
mod magic_link;
mod passkeys;
mod password;
mod profile;
mod register;
mod second_factor;
mod sessions;
mod social;
mod tokens;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::account_token::{AccountToken, NewAccountToken, TokenPurpose};
use crate::api_key::Scope;
use crate::audit::{AuditAction, AuditEntry, RequestMeta};
use crate::clock::Clock;
use crate::error::CoreError;
use crate::id::{ApiKeyId, AuditId, IdGenerator, SessionId, UserId};
use crate::mail::MailQueue;
use crate::ports::{
    AccessClaims, AccountTokenRepo, ApiKeyRepo, AuditRepo, Authenticator, ChatEvents, IdentityProviders, IdentityRepo,
    OAuthFlowRepo, PasskeyCeremonies, PasskeyRepo, PasswordHasher, SecondFactorRepo, SessionRepo, TokenSigner,
    UserRepo,
};
use crate::rate_limit::attempts::Attempt;
use crate::rate_limit::attempts::GuessLimits;
use crate::session::{NewSession, ACCESS_TOKEN_LIFETIME};
use crate::user::{Role, User};

pub use email::RESEND_COOLDOWN;
pub use login::LoginOutcome;
pub use magic_link::MagicLinkNonce;
pub use passkeys::PasskeyCeremony;
pub use register::{NewAccount, RegisterInput};
pub use second_factor::{accept_totp, MfaChallenge, SecondFactor, SecondFactorStatus, TotpSetup, RECOVERY_CODES};
pub use social::{OAuthCallback, OAuthStart, SignInMethods};

/// Everything the account use cases need, supplied by the binary (or a test).
#[derive(Debug, Clone)]
pub struct AccountDeps {
    pub users: Arc<dyn UserRepo>,
    pub api_keys: Arc<dyn ApiKeyRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn TokenSigner>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    /// Brute-force protection for passwords (and, as they come, other guessable secrets).
    pub guesses: GuessLimits,
    /// Where notifications to account owners are queued.
    pub mail: Arc<dyn MailQueue>,
    /// Single-use tokens: address verification, password reset, the second login step.
    pub account_tokens: Arc<dyn AccountTokenRepo>,
    pub second_factors: Arc<dyn SecondFactorRepo>,
    /// TOTP codes and the sealing of their secrets.
    pub authenticator: Arc<dyn Authenticator>,
    /// External identities linked to accounts, the social sign-ins under way, and the
    /// providers they run against.
    pub identities: Arc<dyn IdentityRepo>,
    pub oauth_flows: Arc<dyn OAuthFlowRepo>,
    pub providers: Arc<dyn IdentityProviders>,
    /// Passkeys, and the WebAuthn relying party that checks them.
    pub passkeys: Arc<dyn PasskeyRepo>,
    pub webauthn: Arc<dyn PasskeyCeremonies>,
    pub links: Links,
    pub policy: AccountPolicy,
    /// Where ended sign-ins are announced, so the gateway closes their connections at once,
    /// on every node.
    pub events: Arc<dyn ChatEvents>,
}

/// Which sign-ins a committed change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedOut {
    /// One session.
    Session(SessionId),
    /// Every session of the account but `keep` (API keys stay).
    Sessions {
        keep: Option<SessionId>,
    },
    ApiKey(ApiKeyId),
    /// The account is disabled: every session and key.
    Account,
}

impl SignedOut {
    /// Whether a connection signed in with `credential` (of the same account) is ended.
    pub fn ends(self, credential: &Credential) -> bool {
        match (self, credential) {
            (Self::Account, _) => true,
            (Self::Session(s), Credential::Session(id)) => s == *id,
            (Self::Sessions { keep }, Credential::Session(id)) => keep != Some(*id),
            (Self::ApiKey(k), Credential::ApiKey { id, .. }) => k == *id,
            _ => false,
        }
    }

    /// What ending sessions as a credential change says ended, if anything.
    pub fn of(end: crate::account_token::EndSessions) -> Option<Self> {
        use crate::account_token::EndSessions;
        match end {
            EndSessions::None => None,
            EndSessions::All => Some(Self::Sessions { keep: None }),
            EndSessions::AllBut(keep) => Some(Self::Sessions { keep: Some(keep) }),
        }
    }
}

/// Rules an installation chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPolicy {
    /// Administrators may use their powers only with two-factor authentication on.
    pub admins_need_second_factor: bool,
}

/// Where the links in account mails point: pages of the web client, which post the token back
/// to the API (a link that changed something on a plain GET would be clicked by mail scanners).
#[derive(Debug, Clone)]
pub struct Links {
    /// The web client's base URL, without a trailing slash.
    pub app_url: String,
}

impl Links {
    pub fn new(app_url: &str) -> Self {
        Self { app_url: app_url.trim_end_matches('/').to_string() }
    }

    fn page(&self, page: &str, token: &str) -> String {
        format!("{}/{page}?token={token}", self.app_url)
    }
}

#[derive(Debug, Clone)]
pub struct Accounts {
    deps: AccountDeps,
}

/// The caller of an authenticated request: a person through a session, or a script through an
/// API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub credential: Credential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A verified access token of this session: every scope the role allows.
    Session(SessionId),
    /// An API key, limited to its scopes.
    ApiKey { id: ApiKeyId, scopes: Vec<Scope> },
}

impl Principal {
    /// Allows a session, or an API key holding `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), CoreError> {
        match &self.credential {
            Credential::Session(_) => Ok(()),
            Credential::ApiKey { scopes, .. } if scopes.contains(&scope) => Ok(()),
            Credential::ApiKey { .. } => Err(CoreError::MissingScope(scope.as_str())),
        }
    }

    /// Some operations are for people only (managing keys and sessions): a key could otherwise
    /// mint keys beyond its own scopes.
    pub fn require_session(&self, what: &'static str) -> Result<SessionId, CoreError> {
        match self.credential {
            Credential::Session(id) => Ok(id),
            Credential::ApiKey { .. } => Err(CoreError::Forbidden(what)),
        }
    }
}

/// What a successful login, registration or refresh hands the client.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: OffsetDateTime,
    pub refresh_token: String,
    pub refresh_expires_at: OffsetDateTime,
    pub session_id: SessionId,
}

/// A fresh refresh token: 256 random bits, base64url. Only its SHA-256 is ever stored.
struct RefreshSecret {
    token: String,
    hash: String,
}

impl RefreshSecret {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_secret(&token);
        Self { token, hash }
    }
}

/// The stored form of a random secret (refresh tokens, API keys): SHA-256 in hex. A fast hash
/// suffices (no argon2): the input is 256 random bits, not a human-chosen password.
pub fn hash_secret(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Accounts {
    /// Announces ended sign-ins of `user` (after they are committed).
    async fn signed_out(&self, user: UserId, ended: Option<SignedOut>) {
        if let Some(ended) = ended {
            self.deps.events.publish(crate::chat::event::ChatEvent::SignedOut { user_id: user, ended }).await;
        }
    }

    pub fn new(deps: AccountDeps) -> Self {
        Self { deps }
    }

    pub fn deps(&self) -> &AccountDeps {
        &self.deps
    }

    /// Verifies an access token and returns who holds it.
    pub fn authenticate(&self, access_token: &str) -> Result<Principal, CoreError> {
        let claims = self.deps.tokens.verify(access_token).map_err(CoreError::InvalidToken)?;
        Ok(Principal { user_id: claims.user_id, role: claims.role, credential: Credential::Session(claims.session_id) })
    }

    fn now(&self) -> OffsetDateTime {
        self.deps.clock.now()
    }

    fn audit_entry(
        &self,
        action: AuditAction,
        actor: Option<UserId>,
        target: Option<UserId>,
        meta: &RequestMeta,
    ) -> AuditEntry {
        AuditEntry {
            id: AuditId::new(self.deps.ids.as_ref()),
            action,
            actor,
            target,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            request_id: meta.request_id.clone(),
            detail: serde_json::Map::new(),
            created_at: self.now(),
        }
    }

    fn access_token(
        &self,
        user: &User,
        session_id: SessionId,
        now: OffsetDateTime,
    ) -> Result<(String, OffsetDateTime), CoreError> {
        let expires_at = now + ACCESS_TOKEN_LIFETIME;
        let claims = AccessClaims {
            user_id: user.id,
            session_id,
            role: user.role,
            issued_at: now,
            expires_at,
            token_id: uuid_like(self.deps.ids.next_raw()),
        };
        Ok((self.deps.tokens.issue(&claims)?, expires_at))
    }

    /// A new single-use token for `user`: the secret to hand out, and what to store.
    fn new_account_token(
        &self,
        purpose: TokenPurpose,
        user: UserId,
        email: Option<String>,
        session_id: Option<SessionId>,
        meta: &RequestMeta,
    ) -> (String, NewAccountToken) {
        let now = self.now();
        let secret = RefreshSecret::generate();
        let token = AccountToken {
            purpose,
            user_id: user,
            email,
            session_id,
            nonce_hash: None,
            first_factor: None,
            requested_from: meta.ip.clone(),
            created_at: now,
            expires_at: now + purpose.lifetime(),
            consumed_at: None,
        };
        (secret.token, NewAccountToken { hash: secret.hash, token })
    }

    /// Looks up a presented single-use token and checks that it can be redeemed for `purpose`
    /// now; a refusal is audited (against the owner when the token is known) and answered with
    /// why. Returns the token and its hash.
    async fn live_token(
        &self,
        presented: &str,
        purpose: TokenPurpose,
        what: &'static str,
        meta: &RequestMeta,
    ) -> Result<(AccountToken, String), CoreError> {
        use crate::error::TokenProblem;
        // Real tokens are 43 characters; anything far longer is not worth hashing.
        let hash = (presented.len() <= 256).then(|| hash_secret(presented));
        let found = match &hash {
            Some(hash) => self.deps.account_tokens.find(hash).await?,
            None => None,
        };
        let problem = match &found {
            None => Some(TokenProblem::Malformed),
            Some(token) => token.refusal(purpose, self.now()),
        };
        match (found, hash, problem) {
            (Some(token), Some(hash), None) => Ok((token, hash)),
            (found, _, problem) => {
                let target = found.as_ref().filter(|t| t.purpose == purpose).map(|t| t.user_id);
                let problem = problem.unwrap_or(TokenProblem::Malformed);
                Err(self.token_refused(purpose, what, problem, target, meta).await)
            }
        }
    }

    /// Records a refused single-use token (against its owner when known) and returns the error
    /// that says why. A failure to record is logged but does not change the answer.
    async fn token_refused(
        &self,
        purpose: TokenPurpose,
        what: &'static str,
        problem: crate::error::TokenProblem,
        target: Option<UserId>,
        meta: &RequestMeta,
    ) -> CoreError {
        let mut entry = self.audit_entry(AuditAction::AccountTokenRefused, None, target, meta);
        entry.detail.insert("purpose".into(), purpose.as_str().into());
        entry.detail.insert("reason".into(), problem.to_string().into());
        if let Err(e) = self.deps.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not record a refused token");
        }
        CoreError::InvalidAccountToken { what, problem }
    }

    /// One guess at a secret of `user`'s (`password`, `mfa`) under the brute-force throttle:
    /// refused while the account or the address must wait; counted in advance; forgiven when
    /// right (the account's whole count, the address's this one). Returns whether it was right.
    async fn guarded_guess<F>(&self, secret: &str, user: &User, meta: &RequestMeta, check: F) -> Result<bool, CoreError>
    where
        F: std::future::Future<Output = Result<bool, CoreError>>,
    {
        let guesses = &self.deps.guesses;
        let counters = guesses.keys(secret, Some(user.username.as_str()), meta.ip.as_deref());
        match guesses.throttle.begin(&counters).await {
            Ok(Attempt::Go { .. }) => {}
            Ok(Attempt::Wait(wait)) => return Err(CoreError::TooManyAttempts(wait)),
            Err(e) => return Err(CoreError::Unavailable(e.to_string())),
        }
        let right = check.await?;
        if right {
            for (i, counter) in counters.iter().enumerate() {
                if let Err(e) = guesses.throttle.forgive(counter, i == 0).await {
                    tracing::warn!(error = %e, "could not settle a failed-guess counter");
                }
            }
        }
        Ok(right)
    }

    /// Queues a notice to the account's owner; a failure to queue is only logged (the change it
    /// reports has happened either way).
    async fn notify(&self, to: &str, subject: &str, paragraphs: &[String]) {
        let mail = crate::mail::from_paragraphs(to, subject, paragraphs);
        if let Err(e) = self.deps.mail.enqueue(self.deps.ids.next_raw(), &mail, self.now()).await {
            tracing::warn!(error = %e, subject, "could not queue a notice");
        }
    }

    /// A new session for `user` with its first refresh token, and the tokens to return.
    fn start_session(&self, user: &User, meta: &RequestMeta) -> Result<(NewSession, TokenPair), CoreError> {
        let now = self.now();
        let secret = RefreshSecret::generate();
        let session = NewSession {
            id: SessionId::new(self.deps.ids.as_ref()),
            user_id: user.id,
            token_hash: secret.hash,
            created_at: now,
            user_agent: meta.user_agent.clone(),
            ip: meta.ip.clone(),
        };
        let (access_token, access_expires_at) = self.access_token(user, session.id, now)?;
        let refresh_expires_at = session.expires_at().min(now + crate::session::IDLE_LIFETIME);
        let pair = TokenPair {
            access_token,
            access_expires_at,
            refresh_token: secret.token,
            refresh_expires_at,
            session_id: session.id,
        };
        Ok((session, pair))
    }
}

/// A unique token id from a snowflake plus randomness, so that `jti` is never guessable from
/// the issue time alone.
fn uuid_like(raw: i64) -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{raw:x}-{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod passkey_tests;
#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod social_tests;
#[cfg(test)]
mod tests;
