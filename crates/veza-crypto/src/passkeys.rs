//! The WebAuthn relying party, on webauthn-rs: passkeys with user verification required, signed
//! by the algorithms webauthn-rs accepts (ES256, RS256, EdDSA), from the web client's origin.
//! Ceremony states and credentials are serialised to JSON for the core to keep.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use veza_core::error::CoreError;
use veza_core::passkey::{CeremonyStart, NewCredential, Passkey as StoredPasskey};
use veza_core::ports::PasskeyCeremonies;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// The relying party: Veza as the web client's origin presents it to authenticators. Off when
/// that origin cannot have passkeys (an IP address, plain http other than localhost).
#[derive(Debug)]
pub struct WebauthnPasskeys {
    webauthn: Option<Webauthn>,
}

/// Why passkeys are off.
const OFF: &str =
    "passkeys are off on this server: its web client URL (VEZA_APP_URL) must be https, or http://localhost, \
                   on a domain name (browsers bind passkeys to domains, never to IP addresses)";

/// What an authentication ceremony keeps: discoverable (any passkey of the site) or for a
/// known set of passkeys.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum AuthState {
    Discoverable(DiscoverableAuthentication),
    Known(PasskeyAuthentication),
}

fn internal(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(format!("{what}: {e}"))
}

impl WebauthnPasskeys {
    /// `origin`: the web client's origin (`https://music.example.org`); `rp_id`: the domain the
    /// passkeys are bound to (the origin's host, or a parent domain of it).
    pub fn new(rp_id: &str, origin: &str) -> Result<Self, String> {
        let origin = Url::parse(origin).map_err(|e| format!("`{origin}` is not a URL: {e}"))?;
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .and_then(|b| b.rp_name("Veza").build())
            .map_err(|e| format!("relying party `{rp_id}` at `{origin}`: {e}"))?;
        Ok(Self { webauthn: Some(webauthn) })
    }

    /// Passkeys off: every ceremony is refused with the reason.
    pub fn off() -> Self {
        Self { webauthn: None }
    }

    fn rp(&self) -> Result<&Webauthn, String> {
        self.webauthn.as_ref().ok_or_else(|| OFF.to_string())
    }

    fn rp_or_forbidden(&self) -> Result<&Webauthn, CoreError> {
        self.webauthn.as_ref().ok_or(CoreError::Forbidden(OFF))
    }

    fn passkey(stored: &StoredPasskey) -> Result<Passkey, String> {
        serde_json::from_str(&stored.data).map_err(|e| format!("stored passkey is unreadable: {e}"))
    }
}

impl PasskeyCeremonies for WebauthnPasskeys {
    fn start_registration(
        &self,
        handle: [u8; 16],
        username: &str,
        existing: &[StoredPasskey],
    ) -> Result<CeremonyStart, CoreError> {
        let exclude = existing.iter().filter_map(|p| Self::passkey(p).ok()).map(|p| p.cred_id().clone()).collect();
        let (options, state) = self
            .rp_or_forbidden()?
            .start_passkey_registration(Uuid::from_bytes(handle), username, username, Some(exclude))
            .map_err(|e| internal("starting a passkey registration", e))?;
        let mut options = serde_json::to_value(options).map_err(|e| internal("registration options", e))?;
        // A passkey must be discoverable, or it could not sign in without a username.
        if let Some(selection) = options["publicKey"]["authenticatorSelection"].as_object_mut() {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("registration state", e))?;
        Ok(CeremonyStart { options, state })
    }

    fn finish_registration(&self, response: &serde_json::Value, state: &str) -> Result<NewCredential, String> {
        let response: RegisterPublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(|e| format!("not a registration response: {e}"))?;
        let state: PasskeyRegistration = serde_json::from_str(state).map_err(|e| format!("unreadable state: {e}"))?;
        let passkey = self.rp()?.finish_passkey_registration(&response, &state).map_err(|e| e.to_string())?;
        Ok(NewCredential {
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref()),
            data: serde_json::to_string(&passkey).map_err(|e| e.to_string())?,
        })
    }

    fn start_authentication(&self, allowed: &[StoredPasskey]) -> Result<CeremonyStart, CoreError> {
        let (mut options, state) = if allowed.is_empty() {
            let (options, state) = self
                .rp_or_forbidden()?
                .start_discoverable_authentication()
                .map_err(|e| internal("starting a passkey sign-in", e))?;
            let options = serde_json::to_value(options).map_err(|e| internal("sign-in options", e))?;
            (options, AuthState::Discoverable(state))
        } else {
            let passkeys: Vec<Passkey> = allowed.iter().filter_map(|p| Self::passkey(p).ok()).collect();
            let (options, state) = self
                .rp_or_forbidden()?
                .start_passkey_authentication(&passkeys)
                .map_err(|e| internal("starting a passkey check", e))?;
            let options = serde_json::to_value(options).map_err(|e| internal("sign-in options", e))?;
            (options, AuthState::Known(state))
        };
        // A button press, not autofill: the client asks the authenticator directly.
        if let Some(options) = options.as_object_mut() {
            options.remove("mediation");
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("sign-in state", e))?;
        Ok(CeremonyStart { options, state })
    }

    fn credential_of(&self, response: &serde_json::Value) -> Result<String, String> {
        let response: PublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(|e| format!("not an authentication response: {e}"))?;
        Ok(URL_SAFE_NO_PAD.encode(response.get_credential_id()))
    }

    fn finish_authentication(
        &self,
        response: &serde_json::Value,
        state: &str,
        stored: &StoredPasskey,
    ) -> Result<Option<String>, String> {
        let response: PublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(|e| format!("not an authentication response: {e}"))?;
        let state: AuthState = serde_json::from_str(state).map_err(|e| format!("unreadable state: {e}"))?;
        let mut passkey = Self::passkey(stored)?;
        let webauthn = self.rp()?;
        let result = match state {
            AuthState::Discoverable(state) => {
                let key = DiscoverableKey::from(&passkey);
                webauthn.finish_discoverable_authentication(&response, state, &[key])
            }
            AuthState::Known(state) => webauthn.finish_passkey_authentication(&response, &state),
        }
        .map_err(|e| e.to_string())?;
        if result.cred_id() != passkey.cred_id() {
            return Err("the answer is signed by another passkey".into());
        }
        match passkey.update_credential(&result) {
            Some(true) => serde_json::to_string(&passkey).map(Some).map_err(|e| e.to_string()),
            _ => Ok(None),
        }
    }
}
