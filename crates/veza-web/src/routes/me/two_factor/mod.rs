//! `/api/v1/me/2fa…`: two-factor authentication (TOTP and recovery codes).

pub mod recovery_codes;
pub mod status;
pub mod totp_disable;
pub mod totp_enable;
pub mod totp_setup;
