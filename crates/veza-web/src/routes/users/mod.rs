//! `/api/v1/users/…`: public profiles, whom people follow, and what they like and repost.

pub mod by_username;
pub mod follow;
pub mod followers;
pub mod following;
pub mod get;
pub mod likes;
pub mod playlists;
pub mod reposts;
pub mod tracks;
