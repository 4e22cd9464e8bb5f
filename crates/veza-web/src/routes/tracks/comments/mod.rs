//! `/api/v1/tracks/{id}/comments…`: timed comments.

pub mod delete;
pub mod edit;
pub mod list;
pub mod post;
