//! `/api/v1/me/sessions…`: where the caller is logged in, and ending sessions. From a logged-in
//! session only.

pub mod list;
pub mod revoke;
pub mod revoke_others;
