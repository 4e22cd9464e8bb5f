//! `/api/v1/communities/{id}/bans…`

pub mod delete;
pub mod list;
pub mod put;
