//! `/api/v1/channels/{channel_id}/messages/{message_id}/reactions…`

pub mod clear;
pub mod clear_emoji;
pub mod react;
pub mod summary;
pub mod unreact;
pub mod users;
