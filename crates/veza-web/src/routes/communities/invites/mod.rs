//! `/api/v1/communities/{id}/invites…`

pub mod create;
pub mod list;
