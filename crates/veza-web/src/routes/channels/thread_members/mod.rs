//! `/api/v1/channels/{channel_id}/thread-members…`: who follows a thread; joining and leaving.

pub mod join;
pub mod leave;
pub mod list;
pub mod remove;
