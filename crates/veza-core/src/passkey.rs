//! Passkeys (WebAuthn credentials): what Veza keeps of each, and the ceremonies that create and
//! use them. The WebAuthn checks themselves (signatures, challenges, origins, user verification,
//! counters) are the `PasskeyCeremonies` port's, implemented with webauthn-rs; the core sees its
//! options, states and credentials only as opaque JSON and text.

use time::{Duration, OffsetDateTime};

use crate::id::{PasskeyId, UserId};

/// How long a started ceremony waits for the authenticator.
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);

/// Longest passkey name.
pub const NAME_MAX: usize = 64;

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    pub id: PasskeyId,
    pub user_id: UserId,
    /// Chosen by the owner ("Phone", "YubiKey 5").
    pub name: String,
    /// The credential id, base64url: unique across all accounts.
    pub credential_id: String,
    /// The credential as the port serialised it (public key, counter, flags).
    pub data: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Adding a passkey to this account.
    Register(UserId),
    /// Signing in with a passkey, whoever it turns out to be (a discoverable credential).
    SignIn,
    /// The second step of this account's login.
    SecondFactor(UserId),
}

/// A started ceremony, kept server-side (by the hash of its id) until it is finished, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub id_hash: String,
    pub purpose: CeremonyPurpose,
    /// The port's state for the ceremony (the challenge among it).
    pub state: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// The options to hand the browser, and the state to keep.
#[derive(Debug, Clone)]
pub struct CeremonyStart {
    /// `{"publicKey": {...}}`, for `PublicKeyCredential.parseCreationOptionsFromJSON` (or
    /// `parseRequestOptionsFromJSON`) on its `publicKey`.
    pub options: serde_json::Value,
    pub state: String,
}

/// A credential a registration created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub credential_id: String,
    pub data: String,
}

/// The name a passkey is given: trimmed, 1–64 characters, no control characters; "Passkey"
/// when none is given.
pub fn parse_name(raw: Option<&str>) -> Result<String, crate::error::FieldError> {
    let name = raw.map(str::trim).unwrap_or("Passkey");
    if name.is_empty() {
        return Err(crate::error::FieldError::new("name", "required", "name must not be blank"));
    }
    if name.chars().count() > NAME_MAX {
        return Err(crate::error::FieldError::new(
            "name",
            "too_long",
            format!("name must be at most {NAME_MAX} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(crate::error::FieldError::new("name", "invalid_chars", "name must not contain control characters"));
    }
    Ok(name.to_string())
}
