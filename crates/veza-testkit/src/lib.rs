//! Test support: fresh databases per test ([`db`]), the one contract suite every repository
//! adapter must pass ([`contract`]), and a real `veza` process on port 0 ([`server`]).

pub mod contract;
pub mod db;
pub mod proxy;
pub mod redis;
pub mod server;
