//! `/api/v1/channels/{channel_id}…`: one channel (or thread), its permission overwrites, its
//! messages, pins and threads, and a thread's members.

pub mod delete;
pub mod get;
pub mod messages;
pub mod permissions;
pub mod pins;
pub mod recipients;
pub mod thread_members;
pub mod threads;
pub mod typing;
pub mod update;
