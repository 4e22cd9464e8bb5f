//! `/api/v1/me/channels`: one's direct conversations.

pub mod list;
pub mod open;
pub mod update;
