//! `/api/v1/me…`: the caller's own account.

pub mod api_keys;
pub mod get;
pub mod security_events;
pub mod sessions;
pub mod update;
