//! `/api/v1/me…`: the caller's own account.

pub mod api_keys;
pub mod channels;
pub mod communities;
pub mod email;
pub mod email_verification;
pub mod get;
pub mod identities;
pub mod passkeys;
pub mod password;
pub mod presence;
pub mod security_events;
pub mod sessions;
pub mod two_factor;
pub mod update;
