//! `/api/v1/channels/{channel_id}/permissions/{target_id}`

pub mod delete;
pub mod put;
