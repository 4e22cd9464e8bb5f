//! `/api/v1/users/…`: public profiles.

pub mod by_username;
pub mod get;
pub mod tracks;
