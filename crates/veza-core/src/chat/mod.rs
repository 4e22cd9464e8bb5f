//! Chat: communities, roles, channels and messages. So far the permission model, which the
//! chat use cases will decide every action with.

pub mod channel;
pub mod channels;
pub mod communities;
pub mod community;
pub mod message;
pub mod messages;
pub mod permissions;

#[cfg(test)]
mod communities_tests;
