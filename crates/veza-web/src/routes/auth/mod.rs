//! `/api/v1/auth/…`: creating sessions and ending them.

pub mod login;
pub mod logout;
pub mod logout_all;
pub mod refresh;
pub mod register;
