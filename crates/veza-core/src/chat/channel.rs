//! Channels of a community: text and announcement channels, grouped under categories, each with
//! a topic, a position, a slowmode and permission overwrites for roles and members.

use time::OffsetDateTime;

use crate::chat::permissions::Overwrite;
use crate::error::FieldError;
use crate::id::{ChannelId, CommunityId};

/// What a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Text,
    /// Only members with `manage_messages` post; everyone reads.
    Announcement,
    /// Groups channels; holds no messages.
    Category,
}

impl ChannelKind {
    pub const ALL: [Self; 3] = [Self::Text, Self::Announcement, Self::Category];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Announcement => "announcement",
            Self::Category => "category",
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
    pub overwrites: Vec<Overwrite>,
}

pub const NAME_MAX: usize = 100;
pub const TOPIC_MAX: usize = 1024;
pub const SLOWMODE_MAX: u32 = 6 * 3600;
pub const POSITION_MAX: u32 = 10_000;
/// Channels a community may have, categories included.
pub const CHANNELS_MAX: usize = 500;

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
