//! argon2id password hashing with at least OWASP's recommended parameters, run on the blocking
//! thread pool behind a semaphore: each hash holds 19 MiB, so a login flood must queue rather
//! than exhaust memory.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;
use veza_core::error::CoreError;
use veza_core::ports::PasswordHasher;

/// OWASP Password Storage Cheat Sheet, argon2id option 1: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
    /// A hash of a random password, verified against when the account does not exist so that
    /// the miss costs as much as a hit.
    dummy_hash: Arc<str>,
    permits: Arc<Semaphore>,
}

impl Argon2Hasher {
    /// `max_concurrent` bounds simultaneous hashes (and so their memory: 19 MiB each).
    pub fn new(max_concurrent: usize) -> Result<Self, CoreError> {
        let params =
            Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|e| CoreError::Internal(e.to_string()))?;
        let dummy = hash_with(&params, "veza-dummy-password-for-timing")?;
        Ok(Self { params, dummy_hash: dummy.into(), permits: Arc::new(Semaphore::new(max_concurrent.max(1))) })
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, CoreError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| CoreError::Internal(e.to_string()))?;
        // The permit moves into the blocking task: if the request is dropped (client gone,
        // timeout), the hash still runs to completion and keeps its slot until then, so no more
        // than `max_concurrent` hashes ever hold memory at once.
        tokio::task::spawn_blocking(move || {
            let result = f();
            drop(permit);
            result
        })
        .await
        .map_err(|e| CoreError::Internal(format!("hashing task failed: {e}")))
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, CoreError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: String) -> Result<String, CoreError> {
        let params = self.params.clone();
        self.blocking(move || hash_with(&params, &password)).await?
    }

    async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, CoreError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let params = self.params.clone();
        let ok = self
            .blocking(move || {
                let parsed = PasswordHash::new(&hash)
                    .map_err(|e| CoreError::Internal(format!("stored hash is unreadable: {e}")))?;
                Ok::<bool, CoreError>(argon2(&params).verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await??;
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = Argon2Hasher::new(2).expect("hasher");
        let hash = h.hash("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(h.verify("correct horse".into(), Some(hash.clone())).await.expect("verify"));
        assert!(!h.verify("wrong horse".into(), Some(hash)).await.expect("verify"));
        assert!(!h.verify("veza-dummy-password-for-timing".into(), None).await.expect("dummy"));
    }
}
