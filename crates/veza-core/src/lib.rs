//! Veza's domain and use cases. This crate owns what Veza *is* — users, sessions, the audit log,
//! the rules for each — and declares as traits ("ports") everything it needs from the outside
//! world: storage, password hashing, token signing, time and randomness.
//!
//! It knows nothing of HTTP, SQL, Redis or the environment: adapters implement the ports and the
//! `veza` binary wires them together. Every use case runs against the in-memory fakes in
//! [`fakes`], which is how the unit tests here exercise them.

pub mod account_token;
pub mod accounts;
pub mod api_key;
pub mod audit;
pub mod catalog;
pub mod chat;
pub mod clock;
pub mod error;
pub mod fakes;
pub mod id;
pub mod identity;
pub mod mail;
pub mod page;
pub mod passkey;
pub mod ports;
pub mod rate_limit;
pub mod session;
pub mod social;
pub mod user;
pub mod user_cache;

pub use error::{CoreError, FieldError};
