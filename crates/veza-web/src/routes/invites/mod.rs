//! `/api/v1/invites/{code}`: what an invite leads to, joining through it, deleting it.

pub mod accept;
pub mod delete;
pub mod get;
