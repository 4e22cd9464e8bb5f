//! External identities (Google, GitHub, Discord) and the rule that decides what a sign-in with
//! one does. The rule is a pure function, so every case is tested without a provider; the
//! flows that feed it are `accounts/social.rs`.
//!
//! The rule: an identity already linked signs its account in. Otherwise only an address the
//! provider vouches for is used at all (an unverified one is not even looked up, so the answer
//! never tells whether an account has it). An account is linked automatically only when it
//! proved that same address to Veza; an account that did not must be signed in to and linked
//! explicitly (so nobody takes over an account by registering its address at a provider). With
//! no account on the address, a new one is made.
//!
//! A flow ([`OAuthFlow`]) runs the authorization code grant with PKCE S256: Veza keeps the
//! verifier, the OIDC nonce and the purpose of the flow server-side under the hash of a random
//! `state`; the client keeps a second secret (the binding) without which the state is worth
//! nothing, so a code injected into someone else's browser signs nobody in.

use time::{Duration, OffsetDateTime};

use crate::id::{IdentityId, UserId};

/// The providers Veza signs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Google,
    GitHub,
    Discord,
}

impl Provider {
    pub const ALL: [Self; 3] = [Self::Google, Self::GitHub, Self::Discord];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::GitHub => "github",
            Self::Discord => "discord",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The provider's name as people know it.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Google => "Google",
            Self::GitHub => "GitHub",
            Self::Discord => "Discord",
        }
    }
}

/// How long a started sign-in may take at the provider.
pub const FLOW_LIFETIME: Duration = Duration::minutes(10);

/// What a finished flow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowIntent {
    /// Sign in (or sign up) with the identity.
    SignIn,
    /// Link the identity to this account, whose owner started the flow from their settings.
    Link(UserId),
}

/// A started flow, as stored until its callback (at most [`FLOW_LIFETIME`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthFlow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: String,
    /// SHA-256 of the binding handed to the client that started the flow.
    pub binding_hash: String,
    pub provider: Provider,
    pub intent: FlowIntent,
    /// The PKCE verifier, sent to the provider with the code. It proves nothing without the
    /// code, which only the provider's redirect carries.
    pub pkce_verifier: String,
    /// The OpenID Connect nonce the ID token must carry (providers without ID tokens ignore it).
    pub nonce: String,
    pub requested_from: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What goes into the provider's authorization URL besides its own configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub state: String,
    /// BASE64URL(SHA-256(verifier)), sent with `code_challenge_method=S256`.
    pub pkce_challenge: String,
    pub nonce: String,
}

/// What the provider needs to exchange a code, and what its answer must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    pub code: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// Why a provider gave no profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderProblem {
    /// The provider refused the code (expired, used, for another client): the person should
    /// start again. Carries the provider's error code.
    #[error("the provider refused the sign-in ({0}); start again")]
    Refused(String),
    /// The provider could not be reached or failed.
    #[error("the provider could not be reached: {0}")]
    Unavailable(String),
    /// The provider's answer failed a check (the ID token's signature, issuer, audience,
    /// expiry or nonce; a missing field).
    #[error("the provider's answer was not acceptable: {0}")]
    Invalid(String),
}

/// An external identity linked to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: IdentityId,
    pub user_id: UserId,
    pub provider: Provider,
    /// The provider's id for the person; with `provider`, unique.
    pub subject: String,
    /// The address the provider reported at linking, for display.
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// What a provider says about the person signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderProfile {
    pub provider: Provider,
    /// The provider's stable, never-reassigned id for the person (`sub`, GitHub's numeric id,
    /// Discord's snowflake), as text.
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider says the person controls `email`.
    pub email_verified: bool,
    /// A name to start a new account's username from.
    pub name_hint: Option<String>,
}

/// What Veza knows that bears on a sign-in with a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkContext {
    /// The account this provider identity is already linked to.
    pub linked_to: Option<UserId>,
    /// The account whose address is the profile's email, and whether it verified it.
    pub same_address: Option<(UserId, bool)>,
    /// The account signed in now, when the person is linking from their settings.
    pub signed_in: Option<UserId>,
}

/// What the sign-in does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDecision {
    /// Sign this account in (when linking from settings: nothing to do, it is linked already).
    SignIn(UserId),
    /// Link the identity to this account, then sign it in (or, when linking from settings,
    /// just link).
    Link(UserId),
    /// Make a new account, its address verified (the provider vouched for it), and link the
    /// identity to it.
    Create,
    /// An account has the address the person proved to the provider, but it never proved it to
    /// Veza: its owner must sign in and link from their settings. (Telling the person that the
    /// address they control has an account reveals nothing to them.)
    LinkExplicitly,
    /// The identity is linked to another account than the one signed in.
    LinkedElsewhere,
    /// The provider vouched for no address and no account is linked: nothing to make an account
    /// with. Whether an account has the unverified address is not looked at, so the answer
    /// tells nobody whether one exists.
    NoVerifiedEmail,
}

/// The rule of this module, as a function.
pub fn decide(profile: &ProviderProfile, ctx: &LinkContext) -> LinkDecision {
    match (ctx.signed_in, ctx.linked_to) {
        (Some(me), Some(owner)) if me == owner => return LinkDecision::SignIn(me),
        (Some(_), Some(_)) => return LinkDecision::LinkedElsewhere,
        // Linking from settings: the person proved the account by signing in.
        (Some(me), None) => return LinkDecision::Link(me),
        (None, Some(owner)) => return LinkDecision::SignIn(owner),
        (None, None) => {}
    }
    if profile.email.is_none() || !profile.email_verified {
        return LinkDecision::NoVerifiedEmail;
    }
    match ctx.same_address {
        Some((account, true)) => LinkDecision::Link(account),
        Some(_) => LinkDecision::LinkExplicitly,
        None => LinkDecision::Create,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOVA: UserId = UserId(1);
    const VEGA: UserId = UserId(2);

    fn profile(email: Option<&str>, verified: bool) -> ProviderProfile {
        ProviderProfile {
            provider: Provider::GitHub,
            subject: "583231".into(),
            email: email.map(str::to_string),
            email_verified: verified,
            name_hint: Some("Nova".into()),
        }
    }

    fn ctx(linked_to: Option<UserId>, same_address: Option<(UserId, bool)>, signed_in: Option<UserId>) -> LinkContext {
        LinkContext { linked_to, same_address, signed_in }
    }

    #[test]
    fn a_linked_identity_signs_its_account_in_whatever_the_address_says() {
        for (email, verified) in [(Some("nova@example.com"), true), (Some("x@y.z"), false), (None, false)] {
            let p = profile(email, verified);
            assert_eq!(decide(&p, &ctx(Some(NOVA), Some((VEGA, true)), None)), LinkDecision::SignIn(NOVA));
        }
    }

    #[test]
    fn an_address_links_automatically_only_when_both_sides_verified_it() {
        let p = profile(Some("nova@example.com"), true);
        assert_eq!(decide(&p, &ctx(None, Some((NOVA, true)), None)), LinkDecision::Link(NOVA));
        assert_eq!(decide(&p, &ctx(None, Some((NOVA, false)), None)), LinkDecision::LinkExplicitly);
        // An address the provider did not verify is never looked up: the same answer whether an
        // account has it or not.
        let unverified = profile(Some("nova@example.com"), false);
        for same_address in [Some((NOVA, true)), Some((NOVA, false)), None] {
            let decision = decide(&unverified, &ctx(None, same_address, None));
            assert_eq!(decision, LinkDecision::NoVerifiedEmail, "{same_address:?}");
        }
    }

    #[test]
    fn only_an_address_the_provider_verified_makes_a_new_account() {
        let p = profile(Some("new@example.com"), true);
        assert_eq!(decide(&p, &ctx(None, None, None)), LinkDecision::Create);
        assert_eq!(decide(&profile(None, false), &ctx(None, None, None)), LinkDecision::NoVerifiedEmail);
    }

    #[test]
    fn linking_from_settings_takes_the_signed_in_account_and_never_steals_an_identity() {
        let p = profile(Some("other@example.com"), false);
        assert_eq!(decide(&p, &ctx(None, Some((VEGA, true)), Some(NOVA))), LinkDecision::Link(NOVA));
        assert_eq!(decide(&p, &ctx(Some(NOVA), None, Some(NOVA))), LinkDecision::SignIn(NOVA));
        assert_eq!(decide(&p, &ctx(Some(VEGA), None, Some(NOVA))), LinkDecision::LinkedElsewhere);
    }

    #[test]
    fn provider_names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provider::parse("myspace"), None);
    }
}
