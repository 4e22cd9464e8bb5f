//! TOTP (RFC 6238 with SHA-1, 6 digits, 30-second steps, as every authenticator app expects)
//! through the `totp-rs` crate, and the sealing of TOTP secrets at rest with ChaCha20-Poly1305
//! under a server key: a copy of the database alone does not yield anyone's second factor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use totp_rs::{Algorithm, TOTP};
use veza_core::ports::Authenticator;
use veza_core::CoreError;

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
/// 160-bit secrets, the size RFC 4226 recommends and apps expect.
const SECRET_LEN: usize = 20;
/// Prefix of a sealed secret, naming the format so that it can change later.
const SEALED_V1: &str = "v1.";
/// Bound into every sealed secret, so a ciphertext made for something else does not open here.
const AAD: &[u8] = b"veza totp secret";

/// The [`Authenticator`] of the `veza` binary.
pub struct TotpAuthenticator {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for TotpAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpAuthenticator { key: <redacted> }")
    }
}

/// The sealing key must be 32 bytes.
#[derive(Debug, thiserror::Error)]
#[error("the TOTP sealing key must be exactly 32 bytes, got {0}")]
pub struct SealingKeyError(pub usize);

impl TotpAuthenticator {
    pub const KEY_LEN: usize = 32;

    pub fn new(sealing_key: &[u8]) -> Result<Self, SealingKeyError> {
        let unbound =
            UnboundKey::new(&CHACHA20_POLY1305, sealing_key).map_err(|_| SealingKeyError(sealing_key.len()))?;
        Ok(Self { key: LessSafeKey::new(unbound), rng: SystemRandom::new() })
    }

    /// A new random sealing key.
    pub fn generate_key() -> Result<Vec<u8>, CoreError> {
        crate::random_bytes(Self::KEY_LEN)
    }

    fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> Result<TOTP, CoreError> {
        TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECS, secret.to_vec(), issuer.map(str::to_string), account.into())
            .map_err(|e| CoreError::Internal(format!("TOTP parameters refused: {e}")))
    }
}

/// Compares two codes in time independent of where they differ.
fn same_code(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator for TotpAuthenticator {
    fn new_secret(&self) -> Result<Vec<u8>, CoreError> {
        let mut secret = vec![0u8; SECRET_LEN];
        self.rng.fill(&mut secret).map_err(|_| CoreError::Internal("the system random generator failed".into()))?;
        Ok(secret)
    }

    fn secret_base32(&self, secret: &[u8]) -> String {
        totp_rs::Secret::Raw(secret.to_vec()).to_encoded().to_string()
    }

    fn matching_step(&self, secret: &[u8], code: &str, now: OffsetDateTime) -> Option<i64> {
        let totp = Self::totp(secret, None, "").ok()?;
        let step = u64::try_from(now.unix_timestamp()).ok()? / STEP_SECS;
        // The current step first: the common case costs one HMAC.
        [step, step.saturating_sub(1), step + 1]
            .into_iter()
            .find(|s| same_code(&totp.generate(s * STEP_SECS), code))
            .and_then(|s| i64::try_from(s).ok())
    }

    fn provisioning_uri(&self, secret: &[u8], issuer: &str, account: &str) -> String {
        match Self::totp(secret, Some(issuer), account) {
            Ok(totp) => totp.get_url(),
            Err(e) => {
                tracing::error!(error = %e, "cannot build a provisioning URI");
                String::new()
            }
        }
    }

    fn qr_png(&self, uri: &str) -> Result<Vec<u8>, CoreError> {
        let totp = TOTP::from_url(uri).map_err(|e| CoreError::Internal(format!("bad provisioning URI: {e}")))?;
        totp.get_qr_png().map_err(|e| CoreError::Internal(format!("cannot draw the QR code: {e}")))
    }

    fn seal(&self, secret: &[u8]) -> Result<String, CoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CoreError::Internal("no system randomness".into()))?;
        let mut sealed = secret.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(AAD), &mut sealed)
            .map_err(|_| CoreError::Internal("cannot seal a TOTP secret".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_V1}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    fn open(&self, sealed: &str) -> Result<Vec<u8>, CoreError> {
        let refused = || {
            CoreError::Internal(
                "a stored TOTP secret does not open with this server's key (was VEZA_TOTP_KEY changed?)".into(),
            )
        };
        let bytes = sealed.strip_prefix(SEALED_V1).and_then(|b| URL_SAFE_NO_PAD.decode(b).ok()).ok_or_else(refused)?;
        if bytes.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut body = body.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(AAD), &mut body).map_err(|_| refused())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> TotpAuthenticator {
        TotpAuthenticator::new(&[7u8; 32]).expect("key")
    }

    /// RFC 6238 appendix B, SHA-1 rows: the secret is the ASCII "12345678901234567890" and the
    /// published codes have 8 digits; a 6-digit code is the same number modulo 10^6.
    #[test]
    fn rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        let vectors = [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        for (t, eight) in vectors {
            let now = OffsetDateTime::from_unix_timestamp(t).expect("time");
            let six = &eight[2..];
            assert_eq!(auth().matching_step(secret, six, now), Some(t / 30), "t={t}");
            assert_eq!(auth().matching_step(secret, "000000", now), None);
        }
    }

    #[test]
    fn codes_of_neighbouring_steps_match_and_further_ones_do_not() {
        let a = auth();
        let secret = a.new_secret().expect("secret");
        let totp = TotpAuthenticator::totp(&secret, None, "").expect("totp");
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_015).expect("time");
        let step = 1_800_000_015 / 30;
        for (offset, expected) in [(-2, None), (-1, Some(step - 1)), (0, Some(step)), (1, Some(step + 1)), (2, None)] {
            let code = totp.generate(u64::try_from((step + offset) * 30).expect("positive"));
            let found = a.matching_step(&secret, &code, now);
            // A neighbour's code can collide with the current one's by chance (1 in a million).
            assert!(found == expected || found == Some(step), "offset {offset}: {found:?}");
        }
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_key() {
        let a = auth();
        let sealed = a.seal(b"0123456789abcdefghij").expect("seal");
        assert!(sealed.starts_with("v1."));
        assert_ne!(sealed, a.seal(b"0123456789abcdefghij").expect("seal"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).expect("open"), b"0123456789abcdefghij");
        let other = TotpAuthenticator::new(&[8u8; 32]).expect("key");
        assert!(other.open(&sealed).is_err());
        assert!(a.open("v1.AAAA").is_err());
        assert!(a.open("plain").is_err());
        assert!(TotpAuthenticator::new(&[0u8; 16]).is_err());
    }

    #[test]
    fn the_uri_names_issuer_and_account_and_the_qr_is_a_png() {
        let a = auth();
        let secret = a.new_secret().expect("secret");
        let uri = a.provisioning_uri(&secret, "Veza", "nova");
        assert!(uri.starts_with("otpauth://totp/Veza:nova?secret="), "{uri}");
        assert!(uri.contains(&format!("secret={}", a.secret_base32(&secret))));
        assert!(uri.contains("issuer=Veza"));
        let png = a.qr_png(&uri).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
