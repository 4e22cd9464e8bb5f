//! `/api/v1/communities/{id}/members…`

pub mod list;
pub mod remove;
pub mod update;
