//! `/api/v1/playlists/…`: playlists, albums and EPs, their tracks and collaborators.

pub mod collaborators;
pub mod create;
pub mod delete;
pub mod get;
pub mod like;
pub mod likers;
pub mod repost;
pub mod reposters;
pub mod tracks;
pub mod update;
