//! Chat: communities, roles, channels, threads and messages, the permission model every action is
//! decided with, and the events committed changes announce.

pub mod attachment;
pub mod cache;
pub mod channel;
pub mod channels;
pub mod communities;
pub mod community;
pub mod direct;
pub mod event;
pub mod message;
pub mod messages;
pub mod permissions;
pub mod presence;
pub mod room;
pub mod threads;

#[cfg(test)]
mod communities_tests;
