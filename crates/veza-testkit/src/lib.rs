//! Test support: fresh databases per test ([`db`]), the one contract suite every repository
//! adapter must pass ([`contract`]), a real `veza` process on port 0 ([`server`]) and the mail
//! it writes ([`outbox`]), a gateway client speaking its WebSocket protocol ([`gateway`]), and audio and uploads
//! for the track tests ([`media`]).

pub mod browser;
pub mod contract;
pub mod contract_catalog;
pub mod contract_social;
pub mod db;
pub mod gateway;
pub mod media;
pub mod oauth;
pub mod outbox;
pub mod pg;
pub mod proxy;
pub mod redis;
pub mod s3;
pub mod server;
pub mod totp;
