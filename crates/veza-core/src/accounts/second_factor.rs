//! Two-factor authentication: a TOTP authenticator (RFC 6238) and ten single-use recovery codes.
//! Turning it on takes a code from the new authenticator; turning it off takes the password and
//! a code. Either way every other session ends. Every guess at a code goes through the same
//! brute-force throttle as passwords, and a code is accepted at most once.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;

use crate::account_token::{CredentialChange, EndSessions, SpentCode, TokenPurpose};
use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError, TokenProblem};
use crate::id::UserId;
use crate::ports::{Authenticator, SecondFactorRepo, TotpEnabling};
use crate::session::RevokeReason;
use crate::user::User;

use super::{hash_secret, Accounts, Principal, TokenPair};

/// How many recovery codes a user holds.
pub const RECOVERY_CODES: usize = 10;
/// Shown in authenticator apps above the account name.
pub const TOTP_ISSUER: &str = "Veza";

/// What an authenticator app needs, shown once at setup.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code, PNG in base64.
    pub qr_png_base64: String,
}

/// How a second factor was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
    /// One of the account's passkeys, through `POST /auth/login/mfa/passkey/…`.
    Passkey,
}

impl SecondFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey => "passkey",
        }
    }
}

/// The answer to a right password for an account with 2FA: the login continues with
/// [`Accounts::login_mfa`] and this token.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    pub mfa_token: String,
    pub expires_at: time::OffsetDateTime,
    pub methods: Vec<SecondFactor>,
}

/// The state of the caller's 2FA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorStatus {
    pub totp_enabled: bool,
    pub recovery_codes_left: u32,
}

/// Characters in a recovery code, in groups of [`RECOVERY_GROUP`].
const RECOVERY_CHARS: usize = 24;
const RECOVERY_GROUP: usize = 6;

/// Ten recovery codes like `k7pq2x-9dmfa3-hjkq4w-tz8nbe`: 120 random bits each (24 characters of
/// lowercase base32 without the look-alikes 0, 1, l and o). At that length a plain SHA-256 is a
/// safe stored form (ASVS 5.0 asks for a slow salted hash only below 112 bits). Returned with
/// their stored hashes.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<u8> = (0..RECOVERY_CHARS).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())]).collect();
            let groups: Vec<&str> =
                chars.chunks(RECOVERY_GROUP).map(|g| std::str::from_utf8(g).unwrap_or_default()).collect();
            groups.join("-")
        })
        .collect();
    let hashes = codes.iter().map(|c| hash_secret(&normalize_recovery_code(c))).collect();
    (codes, hashes)
}

/// Recovery codes are compared without case, spaces or dashes, as people retype them.
fn normalize_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// Six digits (spaces allowed, as apps show `123 456`) are a TOTP code; anything else is tried as a
/// recovery code.
fn looks_like_totp(code: &str) -> bool {
    let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == 6 && digits.iter().all(char::is_ascii_digit)
}

/// Longest code worth checking; recovery codes are 27 characters.
const CODE_MAX: usize = 64;

impl Accounts {
    pub async fn second_factor_status(&self, principal: &Principal) -> Result<SecondFactorStatus, CoreError> {
        let user = self.me(principal).await?;
        let totp_enabled = self.totp_enabled(&user).await?;
        let recovery_codes_left =
            if totp_enabled { self.deps.second_factors.recovery_codes_left(user.id).await? } else { 0 };
        Ok(SecondFactorStatus { totp_enabled, recovery_codes_left })
    }

    pub(super) async fn totp_enabled(&self, user: &User) -> Result<bool, CoreError> {
        Ok(self.deps.second_factors.totp(user.id).await?.is_some_and(|t| t.enabled_at.is_some()))
    }

    /// Starts TOTP setup: a new secret, pending until [`Accounts::enable_totp`] proves that an
    /// app holds it. Asking again replaces a pending secret.
    pub async fn setup_totp(&self, principal: &Principal) -> Result<TotpSetup, CoreError> {
        principal.require_session("setting up two-factor authentication")?;
        let user = self.account(principal).await?;
        let auth = &self.deps.authenticator;
        let secret = auth.new_secret()?;
        let sealed = auth.seal(&secret)?;
        if !self.deps.second_factors.set_pending_totp(user.id, &sealed, self.now()).await? {
            return Err(already_enabled());
        }
        let otpauth_uri = auth.provisioning_uri(&secret, TOTP_ISSUER, user.username.as_str());
        let qr_png_base64 = STANDARD.encode(auth.qr_png(&otpauth_uri)?);
        Ok(TotpSetup { secret: auth.secret_base32(&secret), otpauth_uri, qr_png_base64 })
    }

    /// Turns 2FA on, given the password and a code from the app holding the pending secret, and
    /// returns the recovery codes (shown this once). Every other session ends. The password
    /// keeps a stolen session from tying the account to an attacker's authenticator.
    pub async fn enable_totp(
        &self,
        principal: &Principal,
        password: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>, CoreError> {
        let session = principal.require_session("enabling two-factor authentication")?;
        let user = self.account(principal).await?;
        self.reauthenticate(&user, password, meta).await?;
        let record = match self.deps.second_factors.totp(user.id).await? {
            Some(r) if r.enabled_at.is_some() => return Err(already_enabled()),
            Some(r) => r,
            None => {
                return Err(CoreError::Conflict(FieldError::new(
                    "code",
                    "no_pending_setup",
                    "start with POST /api/v1/me/2fa/totp/setup, then send a code from the app",
                )))
            }
        };
        let secret = self.deps.authenticator.open(&record.sealed_secret)?;
        let now = self.now();
        let mut step = None;
        let right = self
            .guarded_guess("mfa", &user, meta, async {
                step = (code.len() <= CODE_MAX && looks_like_totp(code))
                    .then(|| self.deps.authenticator.matching_step(&secret, &strip(code), now))
                    .flatten();
                Ok(step.is_some())
            })
            .await?;
        let Some(step) = step.filter(|_| right) else {
            return Err(wrong_code(self.second_factor_failed(&user, "totp_setup", meta).await));
        };
        let (codes, hashes) = new_recovery_codes();
        let change = CredentialChange::end_sessions(EndSessions::AllBut(session), RevokeReason::SecondFactorChanged);
        let entries = [
            self.audit_entry(AuditAction::TotpEnabled, Some(user.id), Some(user.id), meta),
            self.audit_entry(AuditAction::RecoveryCodesGenerated, Some(user.id), Some(user.id), meta),
        ];
        let enabling = TotpEnabling { sealed_secret: &record.sealed_secret, step, recovery_hashes: &hashes };
        if !self.deps.second_factors.enable_totp(user.id, &enabling, &change, now, &entries).await? {
            return Err(CoreError::Conflict(FieldError::new(
                "code",
                "setup_replaced",
                "two-factor authentication was enabled or set up again meanwhile; start the setup over",
            )));
        }
        self.signed_out(user.id, super::SignedOut::of(change.end_sessions)).await;
        self.tell_about_second_factor(&user, true, meta).await;
        Ok(codes)
    }

    /// Turns 2FA off, given the password and a code (TOTP or recovery). Every other session ends.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        password: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let session = principal.require_session("disabling two-factor authentication")?;
        let user = self.account(principal).await?;
        if !self.totp_enabled(&user).await? {
            return Err(not_enabled());
        }
        self.reauthenticate(&user, password, meta).await?;
        self.check_second_factor(&user, code, meta).await.map_err(wrong_code)?;
        let change = CredentialChange::end_sessions(EndSessions::AllBut(session), RevokeReason::SecondFactorChanged);
        let entry = self.audit_entry(AuditAction::TotpDisabled, Some(user.id), Some(user.id), meta);
        if !self.deps.second_factors.disable_totp(user.id, &change, self.now(), &[entry]).await? {
            return Err(not_enabled());
        }
        self.signed_out(user.id, super::SignedOut::of(change.end_sessions)).await;
        self.tell_about_second_factor(&user, false, meta).await;
        Ok(())
    }

    /// Replaces the recovery codes, given a code (TOTP or recovery), and returns the new ones.
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>, CoreError> {
        principal.require_session("replacing recovery codes")?;
        let user = self.account(principal).await?;
        if !self.totp_enabled(&user).await? {
            return Err(not_enabled());
        }
        self.check_second_factor(&user, code, meta).await.map_err(wrong_code)?;
        let (codes, hashes) = new_recovery_codes();
        let entry = self.audit_entry(AuditAction::RecoveryCodesGenerated, Some(user.id), Some(user.id), meta);
        self.deps.second_factors.replace_recovery_codes(user.id, &hashes, self.now(), &[entry]).await?;
        Ok(codes)
    }

    /// For sensitive changes: when the user has 2FA, a valid code is required (a wrong one is the
    /// field error `code: incorrect`). Returns the proof to spend with the change, unspent.
    pub(super) async fn confirm_second_factor(
        &self,
        user: &User,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Option<(SecondFactor, SpentCode)>, CoreError> {
        if !self.totp_enabled(user).await? {
            return Ok(None);
        }
        match code {
            Some(code) => self.prove_second_factor(user, code, meta).await.map(Some).map_err(wrong_code),
            None => Err(CoreError::invalid(FieldError::new(
                "code",
                "required",
                "two-factor authentication is on: send a code from the authenticator app or a recovery code",
            ))),
        }
    }

    /// Checks a TOTP code or a recovery code under the throttle, and spends it.
    async fn check_second_factor(
        &self,
        user: &User,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<SecondFactor, CoreError> {
        let proof = self.prove_second_factor(user, code, meta).await?;
        self.spend_second_factor(user, proof, meta).await
    }

    /// Spends a proved code on its own, for actions with no credential change to carry it.
    /// A code spent meanwhile by a concurrent request is refused like a wrong one.
    pub(super) async fn spend_second_factor(
        &self,
        user: &User,
        (method, proof): (SecondFactor, SpentCode),
        meta: &RequestMeta,
    ) -> Result<SecondFactor, CoreError> {
        let factors = &self.deps.second_factors;
        let spent = match &proof {
            SpentCode::TotpStep(step) => factors.use_totp_step(user.id, *step).await?,
            SpentCode::RecoveryCode(hash) => factors.use_recovery_code(user.id, hash, self.now()).await?,
        };
        if !spent {
            return Err(self.second_factor_failed(user, method.as_str(), meta).await);
        }
        self.second_factor_spent(user, method, meta).await;
        Ok(method)
    }

    /// Checks a TOTP code or a recovery code under the throttle without spending it: says how the
    /// factor was proved, and what the action it authorizes must spend.
    async fn prove_second_factor(
        &self,
        user: &User,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<(SecondFactor, SpentCode), CoreError> {
        let factors = &self.deps.second_factors;
        let now = self.now();
        let mut method = SecondFactor::RecoveryCode;
        let mut proof = None;
        let right = self
            .guarded_guess("mfa", user, meta, async {
                if code.len() > CODE_MAX {
                    return Ok(false);
                }
                if looks_like_totp(code) {
                    method = SecondFactor::Totp;
                    let authenticator = self.deps.authenticator.as_ref();
                    proof =
                        prove_totp(factors.as_ref(), authenticator, user.id, code, now).await?.map(SpentCode::TotpStep);
                    return Ok(proof.is_some());
                }
                let hash = hash_secret(&normalize_recovery_code(code));
                if factors.has_recovery_code(user.id, &hash).await? {
                    proof = Some(SpentCode::RecoveryCode(hash));
                }
                Ok(proof.is_some())
            })
            .await?;
        match proof.filter(|_| right) {
            Some(proof) => Ok((method, proof)),
            None => Err(self.second_factor_failed(user, method.as_str(), meta).await),
        }
    }

    /// Records that a recovery code was used, with how many are left.
    pub(super) async fn second_factor_spent(&self, user: &User, method: SecondFactor, meta: &RequestMeta) {
        if method != SecondFactor::RecoveryCode {
            return;
        }
        let mut entry = self.audit_entry(AuditAction::RecoveryCodeUsed, Some(user.id), Some(user.id), meta);
        match self.deps.second_factors.recovery_codes_left(user.id).await {
            Ok(left) => {
                entry.detail.insert("codes_left".into(), left.into());
            }
            Err(e) => tracing::warn!(error = %e, "could not count recovery codes"),
        }
        if let Err(e) = self.deps.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not record a recovery code's use");
        }
    }

    pub(super) async fn second_factor_failed(&self, user: &User, method: &str, meta: &RequestMeta) -> CoreError {
        let mut entry = self.audit_entry(AuditAction::MfaFailed, None, Some(user.id), meta);
        entry.detail.insert("method".into(), method.into());
        if let Err(e) = self.deps.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not record a failed second factor");
        }
        CoreError::InvalidCode
    }

    /// The first step of a login with 2FA, proved by `first_factor` (`password`, `magic_link`):
    /// a short-lived token for [`Accounts::login_mfa`].
    pub(super) async fn mfa_challenge(
        &self,
        user: &User,
        first_factor: &str,
        meta: &RequestMeta,
    ) -> Result<MfaChallenge, CoreError> {
        let (secret, mut token) = self.new_account_token(TokenPurpose::MfaLogin, user.id, None, None, meta);
        token.token.first_factor = Some(first_factor.to_string());
        let expires_at = token.token.expires_at;
        self.deps.account_tokens.issue(&token, None, &[]).await?;
        let mut methods = vec![SecondFactor::Totp, SecondFactor::RecoveryCode];
        if !self.deps.passkeys.passkeys_of(user.id).await?.is_empty() {
            methods.push(SecondFactor::Passkey);
        }
        Ok(MfaChallenge { mfa_token: secret, expires_at, methods })
    }

    /// The second step of a login with 2FA: the token from the first step and a code. A wrong
    /// code leaves the token usable until it expires (the throttle bounds the guesses); a right
    /// one consumes it.
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<(User, TokenPair), CoreError> {
        let purpose = TokenPurpose::MfaLogin;
        let what = "login";
        let (token, hash) = self.live_token(mfa_token, purpose, what, meta).await?;
        let user = self.deps.users.by_id_fresh(token.user_id).await?.ok_or(CoreError::InvalidCredentials)?;
        if user.disabled {
            return Err(CoreError::AccountDisabled);
        }
        let (method, proof) = self.prove_second_factor(&user, code, meta).await?;
        // The login token and the code are spent together, or neither is.
        let consume = CredentialChange::end_sessions(EndSessions::None, RevokeReason::Logout).spending(Some(proof));
        if !self.deps.users.redeem_token(token.user_id, &hash, purpose, &consume, self.now(), &[]).await? {
            let token_live =
                self.deps.account_tokens.find(&hash).await?.is_some_and(|t| t.refusal(purpose, self.now()).is_none());
            return Err(if token_live {
                // The code was spent meanwhile by a concurrent request.
                self.second_factor_failed(&user, method.as_str(), meta).await
            } else {
                CoreError::InvalidAccountToken { what, problem: TokenProblem::Reused }
            });
        }
        self.second_factor_spent(&user, method, meta).await;
        let first = token.first_factor.as_deref().unwrap_or("password");
        let tokens = self.finish_login(&user, &format!("{first}+{}", method.as_str()), meta).await?;
        Ok((user, tokens))
    }

    async fn tell_about_second_factor(&self, user: &User, enabled: bool, meta: &RequestMeta) {
        let (subject, what) = if enabled {
            ("Two-factor authentication is on", "turned on; signing in now takes a code from your authenticator app")
        } else {
            ("Two-factor authentication is off", "turned off; signing in now takes only your password")
        };
        self.notify(
            user.email.as_str(),
            subject,
            &[
                format!("Hello {},", user.username.as_str()),
                format!(
                    "Two-factor authentication for your Veza account was just {what}. This was done from address \
                     {}, and every other device was signed out.",
                    meta.ip.as_deref().unwrap_or("unknown")
                ),
                "If this was not you, reset your password at once and check your account's security events."
                    .to_string(),
            ],
        )
        .await;
    }
}

/// The step of a TOTP code, if it is the user's enabled authenticator's code for now ± 1 step
/// and later than every step accepted before: read the authenticator, open its secret, compute.
pub async fn prove_totp(
    factors: &dyn SecondFactorRepo,
    authenticator: &dyn Authenticator,
    user: UserId,
    code: &str,
    now: time::OffsetDateTime,
) -> Result<Option<i64>, CoreError> {
    let Some(record) = factors.totp(user).await?.filter(|r| r.enabled_at.is_some()) else {
        return Ok(None);
    };
    let secret = authenticator.open(&record.sealed_secret)?;
    Ok(authenticator.matching_step(&secret, &strip(code), now).filter(|step| *step > record.last_step))
}

/// One TOTP verification with its spending: [`prove_totp`], then the step accepted once (one
/// conditional UPDATE). What every second-factor use case does, minus the throttle; public for
/// the benchmark (`bench/account_security.sh`).
pub async fn accept_totp(
    factors: &dyn SecondFactorRepo,
    authenticator: &dyn Authenticator,
    user: UserId,
    code: &str,
    now: time::OffsetDateTime,
) -> Result<bool, CoreError> {
    match prove_totp(factors, authenticator, user, code, now).await? {
        Some(step) => Ok(factors.use_totp_step(user, step).await?),
        None => Ok(false),
    }
}

fn strip(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect()
}

/// For a caller already signed in, a wrong code is a wrong field, not a failed authentication:
/// a 401 would tell clients their session ended.
pub(super) fn wrong_code(e: CoreError) -> CoreError {
    match e {
        CoreError::InvalidCode => {
            CoreError::invalid(FieldError::new("code", "incorrect", "the code is wrong or was already used"))
        }
        other => other,
    }
}

fn already_enabled() -> CoreError {
    CoreError::Conflict(FieldError::new(
        "totp",
        "already_enabled",
        "two-factor authentication is already on; turn it off first to change the authenticator",
    ))
}

fn not_enabled() -> CoreError {
    CoreError::Conflict(FieldError::new("totp", "not_enabled", "two-factor authentication is not on"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_match_their_hashes_however_retyped() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let retyped = codes[3].to_uppercase().replace('-', " ");
        assert_eq!(hash_secret(&normalize_recovery_code(&retyped)), hashes[3]);
        assert!(codes.iter().all(|c| c.len() == 27 && c.split('-').all(|g| g.len() == 6)), "{codes:?}");
    }

    #[test]
    fn six_digits_are_a_totp_code() {
        assert!(looks_like_totp("123456"));
        assert!(looks_like_totp("123 456"));
        assert!(!looks_like_totp("12345"));
        assert!(!looks_like_totp("k7pq2x-9dmfa3-hjkq4w-tz8nbe"));
        assert!(!looks_like_totp("１２３４５６")); // full-width digits are not ASCII digits
    }
}
