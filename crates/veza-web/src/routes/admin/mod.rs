//! `/api/v1/admin/…`: administration, for the `admin` role.

pub mod audit;
pub mod users;
