//! `/api/v1/communities/{id}/channels`

pub mod create;
pub mod list;
