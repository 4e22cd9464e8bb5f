//! `/api/v1/me/identities…`: the provider accounts (Google, GitHub, Discord) the caller signs in
//! with, linking more, and removing them (never the last way in).

pub mod callback;
pub mod list;
pub mod start;
pub mod unlink;
