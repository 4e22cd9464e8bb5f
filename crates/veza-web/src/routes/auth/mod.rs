//! `/api/v1/auth/…`: creating sessions and ending them, and the flows that run before a login
//! (address verification links, password recovery, the second login step).

pub mod forgot_password;
pub mod login;
pub mod login_mfa;
pub mod logout;
pub mod logout_all;
pub mod magic_link;
pub mod magic_link_verify;
pub mod oauth;
pub mod passkeys;
pub mod refresh;
pub mod register;
pub mod reset_password;
pub mod verify_email;
