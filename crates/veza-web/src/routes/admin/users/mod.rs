//! `/api/v1/admin/users…`: account management for administrators.

pub mod list;
pub mod sessions;
pub mod update;
