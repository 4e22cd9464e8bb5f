//! `/api/v1/channels/{channel_id}…`: one channel, and its permission overwrites.

pub mod delete;
pub mod get;
pub mod messages;
pub mod permissions;
pub mod pins;
pub mod typing;
pub mod update;
