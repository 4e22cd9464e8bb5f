//! Channels of a community: text and announcement channels, grouped under categories, each with
//! a topic, a position, a slowmode and permission overwrites for roles and members; and threads,
//! side conversations inside a text or announcement channel, which take their parent's
//! overwrites (whoever may view the channel may view its threads).

use time::OffsetDateTime;

use crate::chat::permissions::Overwrite;
use crate::error::FieldError;
use crate::id::{ChannelId, CommunityId, MessageId, UserId};

/// What a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Text,
    /// Only members with `manage_messages` post; everyone reads.
    Announcement,
    /// Groups channels; holds no messages.
    Category,
    /// A conversation inside a text or announcement channel (its `parent_id`).
    Thread,
}

impl ChannelKind {
    pub const ALL: [Self; 4] = [Self::Text, Self::Announcement, Self::Category, Self::Thread];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Announcement => "announcement",
            Self::Category => "category",
            Self::Thread => "thread",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub community_id: CommunityId,
    pub kind: ChannelKind,
    pub name: String,
    pub topic: Option<String>,
    /// The category it is in.
    pub parent_id: Option<ChannelId>,
    /// Order among its siblings, lowest first.
    pub position: u32,
    /// Seconds a member waits between two messages (0: none).
    pub slowmode_secs: u32,
    pub created_at: OffsetDateTime,
    /// A thread's are its parent's, filled in when it is read for a decision: it has none of
    /// its own.
    pub overwrites: Vec<Overwrite>,
    /// Set for threads, and only for them.
    pub thread: Option<Thread>,
}

/// What a thread has beyond a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Who started it.
    pub owner_id: UserId,
    /// The parent's message it was started from; `None` for a standalone thread.
    pub starter_id: Option<MessageId>,
    /// Archived threads take no new messages until unarchived.
    pub archived_at: Option<OffsetDateTime>,
    /// Only members with `manage_threads` may unarchive a locked thread.
    pub locked: bool,
    /// Minutes without a message after which it archives itself: one of [`AUTO_ARCHIVE_MINUTES`].
    pub auto_archive_minutes: u32,
    /// When it was last unarchived: the inactivity is counted from then at the earliest.
    pub unarchived_at: Option<OffsetDateTime>,
}

/// The inactivity a thread may archive itself after, in minutes (Discord's): an hour, a day,
/// three days, a week.
pub const AUTO_ARCHIVE_MINUTES: [u32; 4] = [60, 1440, 4320, 10080];
/// A new thread's, unless its starter chooses: a day.
pub const AUTO_ARCHIVE_DEFAULT: u32 = 1440;

/// `minutes`, when it is one of [`AUTO_ARCHIVE_MINUTES`].
pub fn auto_archive(minutes: u32) -> Result<u32, crate::error::FieldError> {
    if AUTO_ARCHIVE_MINUTES.contains(&minutes) {
        return Ok(minutes);
    }
    Err(crate::error::FieldError::new(
        "auto_archive_minutes",
        "out_of_range",
        "auto_archive_minutes is 60, 1440, 4320 or 10080 (an hour, a day, three days, a week)",
    ))
}

/// A conversation outside any community: two people (a DM, one per pair) or a group of up to
/// ten with an owner and a name. Whoever is in it may do anything there but manage others; it
/// has no roles, overwrites or slowmode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectChannel {
    pub id: ChannelId,
    pub group: bool,
    /// Groups only: who started it; they add and remove people and rename it.
    pub owner_id: Option<UserId>,
    /// Groups only; empty until named.
    pub name: String,
    /// Everyone in it, by id.
    pub recipients: Vec<UserId>,
    pub created_at: OffsetDateTime,
}

/// People in a group conversation, its owner included (Discord's figure).
pub const GROUP_MAX: usize = 10;
/// Conversations one person may be in at once.
pub const DIRECT_CHANNELS_MAX: usize = 1000;

/// Someone in a thread: who follows it (posting in a thread joins it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMember {
    pub thread_id: ChannelId,
    pub user_id: UserId,
    pub joined_at: OffsetDateTime,
}

impl Channel {
    /// The channel whose permissions decide who sees this one: itself, or a thread's parent.
    pub fn gate(&self) -> ChannelId {
        match (self.kind, self.parent_id) {
            (ChannelKind::Thread, Some(parent)) => parent,
            _ => self.id,
        }
    }

    pub fn is_archived(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| t.archived_at.is_some())
    }
}

pub const NAME_MAX: usize = 100;
pub const TOPIC_MAX: usize = 1024;
pub const SLOWMODE_MAX: u32 = 6 * 3600;
pub const POSITION_MAX: u32 = 10_000;
/// Channels a community may have, categories included (threads are counted apart).
pub const CHANNELS_MAX: usize = 500;
/// Threads not archived a community may have at once (Discord's figure).
pub const ACTIVE_THREADS_MAX: usize = 1000;
/// Threads listed in one page.
pub const THREAD_PAGE_MAX: u32 = 100;
/// People listed as a thread's members (and the most a thread's member list shows).
pub const THREAD_MEMBERS_PAGE_MAX: u32 = 1000;

/// A channel name: 1–100 characters, lowercase, spaces become dashes (as Discord does), no
/// control characters.
pub fn channel_name(raw: &str) -> Result<String, FieldError> {
    let name = crate::chat::community::text("name", raw, NAME_MAX)?;
    Ok(name.to_lowercase().split_whitespace().collect::<Vec<_>>().join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_lowercase_and_dashed() {
        assert_eq!(channel_name("  Lo-fi  Beats ").expect("ok"), "lo-fi-beats");
        assert_eq!(channel_name("").expect_err("blank").code, "required");
        for kind in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(kind.as_str()), Some(kind));
        }
    }
}
