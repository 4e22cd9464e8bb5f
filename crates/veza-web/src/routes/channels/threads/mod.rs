//! `/api/v1/channels/{channel_id}/threads`: starting threads in a channel, and listing them.

pub mod list;
pub mod start;
