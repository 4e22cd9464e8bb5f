//! The social layer around the catalog: people following each other, liking, reposting and
//! commenting on tracks. Every relation is a row with its own time-ordered id (the cursor of the lists it
//! appears in), and the counters shown on users and tracks change in the same transaction as the
//! row they count, only when a row was really added or removed, so they stay equal to the rows
//! however many requests race (see the contract suite's `toggles_keep_counters_exact`).

use std::sync::Arc;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::id::{IdGenerator, UserId};
use crate::ports::{ChatEvents, CommentRepo, FollowRepo, PlaylistRepo, ReactionRepo, TrackRepo};
use crate::user::User;

pub mod comments;
pub mod follows;
pub mod playlist;
pub mod playlists;
pub mod reactions;

/// What the social use cases need.
#[derive(Debug, Clone)]
pub struct SocialDeps {
    pub follows: Arc<dyn FollowRepo>,
    pub reactions: Arc<dyn ReactionRepo>,
    pub comments: Arc<dyn CommentRepo>,
    pub playlists: Arc<dyn PlaylistRepo>,
    pub tracks: Arc<dyn TrackRepo>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    /// Where new comments are announced to the sessions watching their track.
    pub events: Arc<dyn ChatEvents>,
}

/// The social use cases.
#[derive(Debug, Clone)]
pub struct Social {
    deps: SocialDeps,
}

impl Social {
    pub fn new(deps: SocialDeps) -> Self {
        Self { deps }
    }
}

/// The counts shown on every user object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub followers: u64,
    pub following: u64,
    /// Public tracks: what anyone sees on the user's page.
    pub tracks: u64,
}

/// A person as others see them: the account and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user: User,
    pub counts: UserCounts,
}

/// One relation in a list (a follow, a like, a repost): its row's id, which is the list's
/// cursor, what it points at, and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge<T> {
    pub id: i64,
    pub item: T,
    pub at: OffsetDateTime,
    /// A repost's caption; always `None` for follows and likes.
    pub caption: Option<String>,
}

impl<T> Edge<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Edge<U> {
        Edge { id: self.id, item: f(self.item), at: self.at, caption: self.caption }
    }
}

/// What making a relation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// The row was added and counted.
    Made,
    /// It was there already; nothing was counted.
    Already,
    /// What it points at no longer exists.
    Gone,
}

/// Someone's follow counts, as the follow store keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowCounts {
    pub followers: u64,
    pub following: u64,
}

/// A user id list as given to the stores' batched reads.
pub(crate) fn unique_ids(ids: impl IntoIterator<Item = UserId>) -> Vec<UserId> {
    let mut ids: Vec<UserId> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
