//! `/api/v1/channels/{channel_id}/pins…`

pub mod delete;
pub mod list;
pub mod put;
