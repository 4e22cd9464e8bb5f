//! `/api/v1/me/passkeys…`: adding passkeys (WebAuthn credentials), listing, renaming and
//! removing them. From a logged-in session, except listing.

pub mod add;
pub mod delete;
pub mod list;
pub mod options;
pub mod rename;
