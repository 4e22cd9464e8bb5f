//! `/api/v1/me/api-keys…`: the caller's API keys. Managed from a logged-in session only; a key
//! cannot create, list or revoke keys.

pub mod create;
pub mod list;
pub mod revoke;
