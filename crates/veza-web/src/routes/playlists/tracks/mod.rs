//! `/api/v1/playlists/{id}/tracks…`: a playlist's tracks, added, moved and removed by its
//! owner and collaborators.

pub mod add;
pub mod move_item;
pub mod remove;
