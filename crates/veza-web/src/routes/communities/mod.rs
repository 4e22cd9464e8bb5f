//! `/api/v1/communities/…`: communities, their members, roles, invites and bans.

pub mod bans;
pub mod channels;
pub mod create;
pub mod delete;
pub mod get;
pub mod invites;
pub mod members;
pub mod presences;
pub mod read_states;
pub mod roles;
pub mod update;
