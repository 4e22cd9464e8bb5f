//! `/api/v1/communities/{id}/roles…`

pub mod create;
pub mod delete;
pub mod list;
pub mod update;
