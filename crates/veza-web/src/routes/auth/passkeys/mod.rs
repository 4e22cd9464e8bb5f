//! `/api/v1/auth/passkeys/…` and `/api/v1/auth/login/mfa/passkey…`: signing in with a passkey,
//! alone (no password, no username) or as the second step of a login.

pub mod login;
pub mod mfa;
pub mod mfa_options;
pub mod options;
