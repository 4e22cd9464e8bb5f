//! Messages: what was said in a channel, by whom, in reply to what, mentioning whom; edits keep
//! the earlier text, deletion leaves a tombstone.

use time::OffsetDateTime;

use crate::error::FieldError;
use crate::id::{ChannelId, MessageId, RoleId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub author_id: UserId,
    /// Empty once deleted.
    pub content: String,
    /// The client's id for the send, so a retried send posts once.
    pub nonce: Option<String>,
    pub reply_to: Option<MessageId>,
    pub mentions: Mentions,
    pub created_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
}

/// Who a message mentions: `<@user id>`, `<@&role id>`, `@everyone`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub users: Vec<UserId>,
    pub roles: Vec<RoleId>,
    pub everyone: bool,
}

/// An earlier version of an edited message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEdit {
    pub message_id: MessageId,
    /// The text before this edit.
    pub content: String,
    pub edited_at: OffsetDateTime,
}

/// Where a page of history starts, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCursor {
    Latest,
    Before(MessageId),
    After(MessageId),
    /// Up to half the page on each side of this message, and the message.
    Around(MessageId),
}

/// How many people reacted to a message with one emoji, and whether the caller did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    pub emoji: String,
    pub count: u64,
    pub me: bool,
}

/// A pinned message of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub message: Message,
    pub pinned_by: UserId,
    pub pinned_at: OffsetDateTime,
}

/// Where a member stands in a channel: the last message they read, how many came after, and how
/// many of those mention them (directly, through a role, or `@everyone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadState {
    pub channel_id: ChannelId,
    pub last_read: Option<MessageId>,
    pub unread: u64,
    pub mentions: u64,
}

/// Different emoji one message can carry.
pub const REACTIONS_MAX: usize = 20;
/// Pinned messages per channel.
pub const PINS_MAX: usize = 50;

/// A reaction: one Unicode emoji (skin tones and other variants included), nothing else.
pub fn emoji(raw: &str) -> Result<String, FieldError> {
    if raw.len() <= 64 && emojis::get(raw).is_some() {
        Ok(raw.to_string())
    } else {
        Err(FieldError::new("emoji", "not_an_emoji", "a reaction is one Unicode emoji, such as 👍"))
    }
}

/// How a send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    New(Message),
    /// A retry of a send that already happened (same author, channel and nonce).
    Existing(Message),
}

pub const CONTENT_MAX: usize = 4000;
pub const NONCE_MAX: usize = 64;
pub const PAGE_MAX: u32 = 100;
/// Mentions a message may carry.
pub const MENTIONS_MAX: usize = 50;

/// A message's text: 1–4000 characters once trimmed; line breaks and tabs allowed, no other
/// control characters.
pub fn content(raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new("content", "required", "a message needs some text"));
    }
    if text.chars().count() > CONTENT_MAX {
        return Err(FieldError::new("content", "too_long", format!("a message is at most {CONTENT_MAX} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new("content", "invalid_chars", "a message must not contain control characters"));
    }
    Ok(text.to_string())
}

/// The mentions written in a text, each once, in order of appearance.
pub fn parse_mentions(text: &str) -> Mentions {
    let mut mentions = Mentions { everyone: text.contains("@everyone"), ..Mentions::default() };
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let (role, digits_from) = match rest.strip_prefix('&') {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let digits: String = digits_from.chars().take_while(char::is_ascii_digit).collect();
        let closed = digits_from[digits.len()..].starts_with('>');
        if let (true, Ok(id)) = (closed && !digits.is_empty(), digits.parse::<i64>()) {
            if role && !mentions.roles.contains(&RoleId(id)) {
                mentions.roles.push(RoleId(id));
            } else if !role && !mentions.users.contains(&UserId(id)) {
                mentions.users.push(UserId(id));
            }
        }
    }
    mentions
}

/// A client nonce: up to 64 characters of letters, digits, `-` and `_`.
pub fn nonce(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw {
        None => Ok(None),
        Some(n)
            if !n.is_empty()
                && n.len() <= NONCE_MAX
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(n.to_string()))
        }
        Some(_) => Err(FieldError::new("nonce", "invalid", "a nonce is 1–64 letters, digits, '-' or '_'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_read_once_each_and_malformed_ones_ignored() {
        let m = parse_mentions("hi <@12> and <@&34>, <@12> again; <@x> <@56 <@&> @everyone");
        assert_eq!(m.users, [UserId(12)]);
        assert_eq!(m.roles, [RoleId(34)]);
        assert!(m.everyone);
        assert_eq!(parse_mentions("plain"), Mentions::default());
        assert_eq!(parse_mentions("<@99999999999999999999>").users, []);
    }

    #[test]
    fn reactions_are_single_emoji() {
        for ok in ["👍", "🎶", "👍🏽", "❤️", "🇫🇷"] {
            assert!(emoji(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "👍👍", ":+1:", "<script>", "\u{200d}"] {
            assert_eq!(emoji(bad).expect_err(bad).code, "not_an_emoji", "{bad}");
        }
    }

    #[test]
    fn content_is_trimmed_bounded_and_printable() {
        assert_eq!(content("  hello\nworld ").expect("ok"), "hello\nworld");
        assert_eq!(content(" ").expect_err("blank").code, "required");
        assert_eq!(content(&"x".repeat(4001)).expect_err("long").code, "too_long");
        assert_eq!(content("a\u{0}b").expect_err("nul").code, "invalid_chars");
        assert!(nonce(Some("a b")).is_err());
        assert_eq!(nonce(Some("retry-1")).expect("ok").as_deref(), Some("retry-1"));
    }
}
