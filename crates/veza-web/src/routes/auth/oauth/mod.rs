//! `/api/v1/auth/oauth/…`: signing in (or up) with Google, GitHub or Discord.
//!
//! The client starts a flow, sends the person to the provider, and posts what the provider's
//! redirect brought back (with the binding the start returned) to the callback.

pub mod callback;
pub mod providers;
pub mod start;
