//! Signing in with Google, GitHub or Discord, and linking those accounts from one's settings.
//! The rule of what a sign-in does is [`crate::identity::decide`]; this file runs the flow
//! around it: start (state, PKCE, nonce, binding), callback (take the flow once, exchange the
//! code at the provider, decide, act).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError, TokenProblem};
use crate::id::{IdentityId, UserId};
use crate::identity::{
    decide, AuthorizationRequest, CodeGrant, FlowIntent, Identity, LinkContext, LinkDecision, OAuthFlow, Provider,
    ProviderProblem, ProviderProfile, FLOW_LIFETIME,
};
use crate::ports::{StoreError, Unlinked};
use crate::user::{Email, NewUser, Profile, Role, User, Username};

use super::login::LoginOutcome;
use super::{hash_secret, Accounts, Principal, RefreshSecret};

/// What the client needs to send the person to the provider, and to finish afterwards.
#[derive(Debug, Clone)]
pub struct OAuthStart {
    pub authorization_url: String,
    /// Comes back in the provider's redirect.
    pub state: String,
    /// Kept by the client (never in a URL) and presented with the callback.
    pub binding: String,
    pub expires_at: OffsetDateTime,
}

/// What the provider's redirect brought back, and the client's binding.
#[derive(Debug, Clone)]
pub struct OAuthCallback {
    pub code: String,
    pub state: String,
    pub binding: String,
}

/// A user's ways of signing in, as their settings show them.
#[derive(Debug, Clone)]
pub struct SignInMethods {
    pub has_password: bool,
    pub identities: Vec<Identity>,
}

/// What a refused flow is called in errors.
const WHAT: &str = "sign-in";
/// Longest `state`, binding or code looked at; real ones are far shorter.
const PARAM_MAX: usize = 2048;

impl Accounts {
    /// Starts a sign-in (or sign-up) with `provider`.
    pub async fn start_oauth(&self, provider: Provider, meta: &RequestMeta) -> Result<OAuthStart, CoreError> {
        self.start_flow(provider, FlowIntent::SignIn, meta).await
    }

    /// Starts linking `provider` to the caller's account, from a signed-in session, once they
    /// proved they are at the keyboard (the current password, or a fresh sign-in for an account
    /// without one).
    pub async fn start_oauth_link(
        &self,
        principal: &Principal,
        provider: Provider,
        current_password: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<OAuthStart, CoreError> {
        principal.require_session("API keys cannot link sign-in providers")?;
        let owner = self.account(principal).await?;
        self.prove_presence(principal, &owner, current_password, meta).await?;
        self.start_flow(provider, FlowIntent::Link(owner.id), meta).await
    }

    async fn start_flow(
        &self,
        provider: Provider,
        intent: FlowIntent,
        meta: &RequestMeta,
    ) -> Result<OAuthStart, CoreError> {
        let state = RefreshSecret::generate();
        let binding = RefreshSecret::generate();
        // 43 base64url characters: a valid RFC 7636 verifier with 256 bits of entropy.
        let verifier = RefreshSecret::generate().token;
        let nonce = RefreshSecret::generate().token;
        let request = AuthorizationRequest {
            state: state.token.clone(),
            pkce_challenge: URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            nonce: nonce.clone(),
        };
        let authorization_url =
            self.deps.providers.authorization_url(provider, &request).ok_or(CoreError::NotFound("sign-in provider"))?;
        let now = self.now();
        let flow = OAuthFlow {
            state_hash: state.hash,
            binding_hash: binding.hash,
            provider,
            intent,
            pkce_verifier: verifier,
            nonce,
            requested_from: meta.ip.clone(),
            created_at: now,
            expires_at: now + FLOW_LIFETIME,
        };
        self.deps.oauth_flows.save_flow(&flow).await?;
        Ok(OAuthStart { authorization_url, state: state.token, binding: binding.token, expires_at: flow.expires_at })
    }

    /// Finishes a sign-in: signs in the linked account, links a matching verified account, or
    /// creates one; 2FA still applies to existing accounts.
    pub async fn finish_oauth(
        &self,
        provider: Provider,
        callback: &OAuthCallback,
        meta: &RequestMeta,
    ) -> Result<LoginOutcome, CoreError> {
        let profile = self.exchange(provider, callback, |intent| intent == FlowIntent::SignIn, meta).await?;
        let linked = self.deps.identities.find_identity(provider, &profile.subject).await?;
        let same_address = match &profile.email {
            Some(email) => self.deps.users.credentials(email).await?.map(|(u, _)| (u.id, u.email_verified)),
            None => None,
        };
        let ctx = LinkContext { linked_to: linked.as_ref().map(|i| i.user_id), same_address, signed_in: None };
        match decide(&profile, &ctx) {
            LinkDecision::SignIn(owner) => {
                let user = self.existing(owner).await?;
                if let Some(identity) = &linked {
                    self.deps.identities.identity_used(identity.id, self.now()).await?;
                }
                self.sign_in_as(user, provider, meta).await
            }
            LinkDecision::Link(owner) => {
                let user = self.existing(owner).await?;
                if user.disabled {
                    return Err(self.login_failed_for(&user, meta).await);
                }
                self.link_identity(&user, &profile, "verified_email", meta).await?;
                self.sign_in_as(user, provider, meta).await
            }
            LinkDecision::Create => {
                let user = self.create_from_profile(&profile, meta).await?;
                self.sign_in_as(user, provider, meta).await
            }
            LinkDecision::LinkExplicitly => {
                self.record_oauth_failure(provider, "link_required", same_address.map(|(id, _)| id), meta).await;
                Err(CoreError::Conflict(FieldError::new(
                    "email",
                    "link_required",
                    format!(
                        "an account already uses this address; sign in to it (with its password or a magic link) \
                         and link your {} account from its settings",
                        provider.display_name()
                    ),
                )))
            }
            LinkDecision::NoVerifiedEmail => {
                self.record_oauth_failure(provider, "no_verified_email", None, meta).await;
                Err(CoreError::invalid(FieldError::new(
                    "email",
                    "unverified",
                    format!(
                        "{} shared no verified email address; verify one there (and make it your primary \
                         address), or sign up with a password",
                        provider.display_name()
                    ),
                )))
            }
            LinkDecision::LinkedElsewhere => Err(CoreError::Internal("a sign-in flow had a signed-in user".into())),
        }
    }

    /// Finishes linking `provider` to the caller's account; returns the identity (the one
    /// already linked, when it was).
    pub async fn finish_oauth_link(
        &self,
        principal: &Principal,
        provider: Provider,
        callback: &OAuthCallback,
        meta: &RequestMeta,
    ) -> Result<Identity, CoreError> {
        principal.require_session("API keys cannot link sign-in providers")?;
        let owner = self.account(principal).await?;
        let profile = self.exchange(provider, callback, |intent| intent == FlowIntent::Link(owner.id), meta).await?;
        let linked = self.deps.identities.find_identity(provider, &profile.subject).await?;
        let ctx = LinkContext {
            linked_to: linked.as_ref().map(|i| i.user_id),
            same_address: None,
            signed_in: Some(owner.id),
        };
        match (decide(&profile, &ctx), linked) {
            (LinkDecision::SignIn(_), Some(identity)) => Ok(identity),
            (LinkDecision::Link(_), _) => self.link_identity(&owner, &profile, "settings", meta).await,
            (LinkDecision::LinkedElsewhere, _) => Err(CoreError::Conflict(FieldError::new(
                "provider",
                "linked_elsewhere",
                format!(
                    "this {} account is linked to another Veza account; unlink it there first",
                    provider.display_name()
                ),
            ))),
            (decision, _) => Err(CoreError::Internal(format!("unexpected link decision {decision:?}"))),
        }
    }

    /// The caller's ways of signing in.
    pub async fn sign_in_methods(&self, principal: &Principal) -> Result<SignInMethods, CoreError> {
        principal.require(crate::api_key::Scope::ProfileRead)?;
        let owner = self.account(principal).await?;
        let has_password =
            self.deps.users.credentials(owner.username.as_str()).await?.is_some_and(|(_, h)| h.is_some());
        Ok(SignInMethods { has_password, identities: self.deps.identities.identities_of(owner.id).await? })
    }

    /// Unlinks one of the caller's identities, unless it is the account's last way to sign in.
    pub async fn unlink_identity(
        &self,
        principal: &Principal,
        id: IdentityId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        principal.require_session("API keys cannot unlink sign-in providers")?;
        let owner = self.account(principal).await?;
        let identity = self.deps.identities.identities_of(owner.id).await?.into_iter().find(|i| i.id == id);
        let Some(identity) = identity else { return Err(CoreError::NotFound("identity")) };
        let mut entry = self.audit_entry(AuditAction::IdentityUnlinked, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("provider".into(), identity.provider.as_str().into());
        entry.detail.insert("identity_id".into(), identity.id.to_string().into());
        match self.deps.identities.unlink(id, owner.id, &entry).await? {
            Unlinked::Done => {}
            Unlinked::NotFound => return Err(CoreError::NotFound("identity")),
            Unlinked::LastSignInMethod => {
                return Err(CoreError::Conflict(FieldError::new(
                    "id",
                    "last_sign_in_method",
                    "this is the account's last way to sign in; set a password (through POST /auth/password/forgot) \
                     or link another provider first",
                )))
            }
        }
        let name = identity.provider.display_name();
        self.notify(
            owner.email.as_str(),
            &format!("{name} sign-in removed from your Veza account"),
            &[
                format!("Hello {},", owner.username.as_str()),
                format!("Your Veza account can no longer be signed in to with {name}."),
                "If this was not you, change your password and end the sessions you do not recognise.".to_string(),
            ],
        )
        .await;
        Ok(())
    }

    /// Takes the flow (once), checks it is for this provider and purpose and still live, and
    /// exchanges the code for the provider's profile.
    async fn exchange(
        &self,
        provider: Provider,
        callback: &OAuthCallback,
        intended: impl Fn(FlowIntent) -> bool,
        meta: &RequestMeta,
    ) -> Result<ProviderProfile, CoreError> {
        let too_long = [&callback.code, &callback.state, &callback.binding].iter().any(|p| p.len() > PARAM_MAX);
        let flow = if too_long {
            None
        } else {
            self.deps.oauth_flows.take_flow(&hash_secret(&callback.state), &hash_secret(&callback.binding)).await?
        };
        let refusal = match &flow {
            None => Some(TokenProblem::Malformed),
            Some(flow) if flow.provider != provider || !intended(flow.intent) => Some(TokenProblem::Malformed),
            Some(flow) if self.now() >= flow.expires_at => Some(TokenProblem::Expired),
            Some(_) => None,
        };
        let flow = match (flow, refusal) {
            (Some(flow), None) => flow,
            (_, problem) => {
                let problem = problem.unwrap_or(TokenProblem::Malformed);
                self.record_oauth_failure(provider, &format!("state_{problem:?}").to_lowercase(), None, meta).await;
                return Err(CoreError::InvalidAccountToken { what: WHAT, problem });
            }
        };
        let grant = CodeGrant { code: callback.code.clone(), pkce_verifier: flow.pkce_verifier, nonce: flow.nonce };
        let mut profile = match self.deps.providers.profile(provider, &grant).await {
            Ok(profile) if profile.provider == provider => profile,
            Ok(_) => return Err(CoreError::Internal("the provider adapter answered for another provider".into())),
            Err(problem) => {
                let reason = match problem {
                    ProviderProblem::Refused(_) => "provider_refused",
                    ProviderProblem::Unavailable(_) => "provider_unavailable",
                    ProviderProblem::Invalid(_) => "provider_invalid",
                };
                self.record_oauth_failure(provider, reason, None, meta).await;
                return Err(CoreError::Provider { provider: provider.display_name(), problem });
            }
        };
        // An address Veza could not send to is no address at all.
        profile.email = profile.email.as_deref().and_then(|e| Email::parse(e).ok()).map(|e| e.normalized());
        if profile.email.is_none() {
            profile.email_verified = false;
        }
        Ok(profile)
    }

    /// The account a decision named, or a refusal that does not tell whether it exists.
    async fn existing(&self, id: UserId) -> Result<User, CoreError> {
        self.deps.users.by_id_fresh(id).await?.ok_or(CoreError::InvalidCredentials)
    }

    /// Signs in an existing account after a provider vouched for it: refused when disabled, a
    /// second step when it has 2FA.
    async fn sign_in_as(&self, user: User, provider: Provider, meta: &RequestMeta) -> Result<LoginOutcome, CoreError> {
        if user.disabled {
            return Err(self.login_failed_for(&user, meta).await);
        }
        if self.totp_enabled(&user).await? {
            return Ok(LoginOutcome::MfaRequired(self.mfa_challenge(&user, provider.as_str(), meta).await?));
        }
        let tokens = self.finish_login(&user, provider.as_str(), meta).await?;
        Ok(LoginOutcome::LoggedIn(Box::new(user), tokens))
    }

    /// Links the profile's identity to `owner`, audited (`how`: what proved the link) and told to
    /// the owner by mail.
    async fn link_identity(
        &self,
        owner: &User,
        profile: &ProviderProfile,
        how: &str,
        meta: &RequestMeta,
    ) -> Result<Identity, CoreError> {
        let identity = self.new_identity(owner.id, profile);
        let mut entry = self.audit_entry(AuditAction::IdentityLinked, Some(owner.id), Some(owner.id), meta);
        entry.detail.insert("provider".into(), profile.provider.as_str().into());
        entry.detail.insert("identity_id".into(), identity.id.to_string().into());
        entry.detail.insert("how".into(), how.into());
        match self.deps.identities.link(&identity, &entry).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(CoreError::Conflict(FieldError::new(
                    "provider",
                    "linked_elsewhere",
                    "this provider account was just linked to another Veza account",
                )))
            }
            Err(e) => return Err(e.into()),
        }
        let name = profile.provider.display_name();
        self.notify(
            owner.email.as_str(),
            &format!("{name} sign-in added to your Veza account"),
            &[
                format!("Hello {},", owner.username.as_str()),
                format!(
                    "Your Veza account can now be signed in to with the {name} account {}.",
                    profile.email.as_deref().unwrap_or("that shares no address")
                ),
                "If this was not you, remove it in your account settings, change your password and end the \
                 sessions you do not recognise."
                    .to_string(),
            ],
        )
        .await;
        Ok(identity)
    }

    fn new_identity(&self, owner: UserId, profile: &ProviderProfile) -> Identity {
        Identity {
            id: IdentityId::new(self.deps.ids.as_ref()),
            user_id: owner,
            provider: profile.provider,
            subject: profile.subject.clone(),
            email: profile.email.clone(),
            created_at: self.now(),
            last_used_at: Some(self.now()),
        }
    }

    /// Makes a password-less account for a new person, named after what the provider calls
    /// them, with the identity linked, in one transaction.
    async fn create_from_profile(&self, profile: &ProviderProfile, meta: &RequestMeta) -> Result<User, CoreError> {
        let email = Email::parse(profile.email.as_deref().unwrap_or_default()).map_err(CoreError::invalid)?;
        let base = username_base(profile.name_hint.as_deref(), email.as_str());
        for attempt in 0..8 {
            let username = if attempt == 0 { base.clone() } else { with_suffix(&base) };
            let Ok(username) = Username::parse(&username) else { continue };
            if self.deps.users.by_username(&username).await?.is_some() {
                continue;
            }
            let now = self.now();
            let id = UserId::new(self.deps.ids.as_ref());
            let new_user = NewUser {
                id,
                username: username.clone(),
                email: email.clone(),
                email_verified: true,
                password_hash: None,
                role: Role::User,
                created_at: now,
            };
            let identity = self.new_identity(id, profile);
            let mut registered = self.audit_entry(AuditAction::UserRegistered, Some(id), Some(id), meta);
            registered.detail.insert("method".into(), profile.provider.as_str().into());
            let mut linked = self.audit_entry(AuditAction::IdentityLinked, Some(id), Some(id), meta);
            linked.detail.insert("provider".into(), profile.provider.as_str().into());
            linked.detail.insert("identity_id".into(), identity.id.to_string().into());
            linked.detail.insert("how".into(), "sign_up".into());
            match self.deps.identities.create_with_identity(&new_user, &identity, &[registered, linked]).await {
                Ok(()) => {}
                // Someone took the name between the check and the insert: try another.
                Err(StoreError::Conflict("username")) => continue,
                Err(StoreError::Conflict(_)) => {
                    return Err(CoreError::Conflict(FieldError::new(
                        "email",
                        "taken",
                        "an account was just made with this address or provider account; sign in again",
                    )))
                }
                Err(e) => return Err(e.into()),
            }
            let user = User {
                id,
                username,
                email: email.clone(),
                email_verified: true,
                role: Role::User,
                disabled: false,
                disabled_reason: None,
                profile: Profile::default(),
                created_at: now,
                updated_at: now,
            };
            return Ok(user);
        }
        Err(CoreError::Conflict(FieldError::new(
            "username",
            "taken",
            "no free username could be made from the provider's name; sign up with a password instead",
        )))
    }

    /// Records a social sign-in that went nowhere, against the account when one is known.
    async fn record_oauth_failure(&self, provider: Provider, reason: &str, target: Option<UserId>, meta: &RequestMeta) {
        let mut entry = self.audit_entry(AuditAction::LoginFailed, None, target, meta);
        entry.detail.insert("method".into(), provider.as_str().into());
        entry.detail.insert("reason".into(), reason.into());
        if let Err(e) = self.deps.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not record a failed social sign-in");
        }
    }
}

/// A username from the provider's name for the person (or the address's local part): the
/// allowed characters of it, lowercased, at most 24 long so that a suffix still fits.
fn username_base(name_hint: Option<&str>, email: &str) -> String {
    let clean = |raw: &str| -> String {
        let mapped: String = raw
            .chars()
            .filter_map(|c| match c {
                'a'..='z' | '0'..='9' | '_' | '.' => Some(c),
                'A'..='Z' => Some(c.to_ascii_lowercase()),
                ' ' | '-' => Some('_'),
                _ => None,
            })
            .collect();
        mapped.trim_matches(|c| c == '.' || c == '_').chars().take(24).collect()
    };
    let local = email.split('@').next().unwrap_or_default();
    [name_hint.map(clean), Some(clean(local))]
        .into_iter()
        .flatten()
        .find(|n| n.len() >= Username::MIN)
        .unwrap_or_else(|| "listener".to_string())
}

/// The base with a random four-digit suffix.
fn with_suffix(base: &str) -> String {
    use rand::Rng;
    format!("{base}_{}", rand::rngs::OsRng.gen_range(1000..10000))
}

#[cfg(test)]
mod tests {
    use super::username_base;

    #[test]
    fn usernames_are_made_from_names_then_addresses() {
        assert_eq!(username_base(Some("Nova Vega"), "x@example.com"), "nova_vega");
        assert_eq!(username_base(Some("octocat"), "x@example.com"), "octocat");
        assert_eq!(username_base(Some("日本"), "kaori.s@example.com"), "kaori.s");
        assert_eq!(username_base(None, "ab@example.com"), "listener");
        assert_eq!(username_base(Some("..--__x"), "a+b@example.com"), "listener");
        assert_eq!(username_base(Some(&"z".repeat(80)), "x@example.com").len(), 24);
    }
}
