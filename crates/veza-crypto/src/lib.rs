//! Cryptographic adapters for the core's ports: [`Argon2Hasher`] for passwords,
//! [`JwtSigner`] for Ed25519 (EdDSA) access tokens and [`TotpAuthenticator`] for TOTP codes and
//! the sealing of their secrets. Kept out of `veza-core` so that the domain's
//! tests run on fast fakes, and in one crate so that all key handling can be reviewed in one place.

mod hasher;
mod jwt;
mod passkeys;
mod totp;

pub use hasher::Argon2Hasher;
pub use jwt::{generate_ed25519_pkcs8, JwtSigner, KeyError, TokenAudience};
pub use passkeys::WebauthnPasskeys;
pub use totp::{SealingKeyError, TotpAuthenticator};

/// `len` bytes from the operating system's random source, for keys.
pub fn random_bytes(len: usize) -> Result<Vec<u8>, veza_core::CoreError> {
    use ring::rand::SecureRandom;
    let mut key = vec![0u8; len];
    ring::rand::SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| veza_core::CoreError::Internal("no system randomness".into()))?;
    Ok(key)
}
