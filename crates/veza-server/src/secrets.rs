//! Secrets that must survive restarts: generated into `{data_dir}/secrets/` on first start when
//! the configuration supplies none, readable by the owner only, and never logged.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const JWT_KEY_FILE: &str = "jwt-ed25519.pk8";
const TOTP_KEY_FILE: &str = "totp-chacha20.key";
const MEDIA_KEY_FILE: &str = "media-hmac-sha256.key";

/// The token signing key (PKCS#8 DER): from configuration, else from the data dir, else new.
pub fn jwt_signing_key(configured: &str, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if !configured.is_empty() {
        return STANDARD
            .decode(configured.trim())
            .context("invalid configuration for VEZA_JWT_PRIVATE_KEY (jwt_private_key): must be base64 of a PKCS#8 DER Ed25519 key");
    }
    let path = secrets_dir(data_dir)?.join(JWT_KEY_FILE);
    if path.exists() {
        check_private(&path)?;
        return fs::read(&path).with_context(|| format!("cannot read {}", path.display()));
    }
    let key = veza_crypto::generate_ed25519_pkcs8().context("cannot generate a signing key")?;
    write_private(&path, &key)?;
    tracing::info!(path = %path.display(), "generated a new token signing key");
    Ok(key)
}

/// The key sealing TOTP secrets (32 bytes): from configuration, else from the data dir, else new.
pub fn totp_sealing_key(configured: &str, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    random_key(configured, data_dir, TOTP_KEY_FILE, "VEZA_TOTP_KEY (totp_key)", "TOTP sealing key")
}

/// The key signing media URLs (32 bytes): from configuration, else from the data dir, else new.
pub fn media_signing_key(configured: &str, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    random_key(configured, data_dir, MEDIA_KEY_FILE, "VEZA_MEDIA_KEY (media_key)", "media URL signing key")
}

/// A 32-byte random key: from configuration (base64), else from `file` in the data dir's
/// secrets, else generated there.
fn random_key(configured: &str, data_dir: &Path, file: &str, setting: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    const KEY_LEN: usize = 32;
    if !configured.is_empty() {
        let key = STANDARD.decode(configured.trim()).ok().filter(|k| k.len() == KEY_LEN);
        return key
            .with_context(|| format!("invalid configuration for {setting}: must be base64 of {KEY_LEN} random bytes"));
    }
    let path = secrets_dir(data_dir)?.join(file);
    if path.exists() {
        check_private(&path)?;
        let key = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if key.len() != KEY_LEN {
            bail!("{} is not a {KEY_LEN}-byte key; restore it from a backup", path.display());
        }
        return Ok(key);
    }
    let key = veza_crypto::random_bytes(KEY_LEN).with_context(|| format!("cannot generate a {what}"))?;
    write_private(&path, &key)?;
    tracing::info!(path = %path.display(), "generated a new {what}");
    Ok(key)
}

fn secrets_dir(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = data_dir.join("secrets");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))?;
    Ok(dir)
}

/// Writes with mode 0600 from the start (no window where the file is world-readable), and
/// refuses to overwrite: two nodes racing to create a key must not end up with different ones.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn check_private(path: &Path) -> anyhow::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!("{} is readable by others (mode {mode:o}); run `chmod 600` on it", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = jwt_signing_key("", dir.path()).expect("generate");
        let path = dir.path().join("secrets").join(JWT_KEY_FILE);
        assert_eq!(fs::metadata(&path).expect("exists").permissions().mode() & 0o777, 0o600);
        assert_eq!(jwt_signing_key("", dir.path()).expect("reuse"), first, "the same key after a restart");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(jwt_signing_key("", dir.path()).is_err(), "a world-readable key is refused");
    }
}
