//! `/api/v1/channels/{channel_id}/messages…`

pub mod ack;
pub mod delete;
pub mod edit;
pub mod edits;
pub mod get;
pub mod list;
pub mod reactions;
pub mod send;
