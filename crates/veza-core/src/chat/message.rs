//! Messages: what was said in a channel, by whom, in reply to what, mentioning whom; edits keep
//! the earlier text, deletion leaves a tombstone.

use time::OffsetDateTime;

use crate::catalog::track::{Track, TrackState};
use crate::error::FieldError;
use crate::id::{ChannelId, MessageId, RoleId, TrackId, UserId};

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
    /// The Veza tracks its links point to, as cards. Worked out whenever the message is read,
    /// never stored: a track made private or deleted stops showing.
    pub embeds: Vec<TrackEmbed>,
    /// Its files, in the order they were sent; none once deleted.
    pub attachments: Vec<crate::chat::attachment::Attachment>,
}

/// A Veza track a message links to, as everyone may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackEmbed {
    pub track_id: TrackId,
    pub owner_id: UserId,
    pub title: String,
    pub artist: Option<String>,
    pub duration_ms: u64,
    pub state: TrackState,
    pub has_cover: bool,
}

impl From<&Track> for TrackEmbed {
    fn from(t: &Track) -> Self {
        Self {
            track_id: t.id,
            owner_id: t.owner_id,
            title: t.title.clone(),
            artist: t.artist.clone(),
            duration_ms: t.duration_ms,
            state: t.state,
            has_cover: t.has_cover,
        }
    }
}

/// Track cards per message, at most.
pub const EMBEDS_MAX: usize = 3;

/// The tracks `content` links to, in order, without repeats, at most [`EMBEDS_MAX`]: URLs
/// `{base}/tracks/{id}` for each of `bases` (the web client's and the API's public URL), with
/// the `?secret=` of an unlisted track's link when there is one.
pub fn track_links(content: &str, bases: &[String]) -> Vec<(TrackId, Option<String>)> {
    let mut found: Vec<(usize, TrackId, Option<String>)> = Vec::new();
    for base in bases {
        let needle = format!("{}/tracks/", base.trim_end_matches('/'));
        let mut from = 0;
        while let Some(at) = content[from..].find(&needle) {
            let start = from + at;
            let after = &content[start + needle.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            from = start + needle.len() + digits;
            let Ok(id) = after[..digits].parse::<i64>() else { continue };
            let rest = &after[digits..];
            // The link ends at the id (or its secret): `/tracks/12abc` is some other page.
            let secret = rest.strip_prefix("?secret=").map(|s| {
                let len = s.bytes().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')).count();
                s[..len].to_owned()
            });
            let tail = match &secret {
                Some(s) => &rest["?secret=".len() + s.len()..],
                None => rest,
            };
            if tail.chars().next().is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '-')) {
                continue;
            }
            if !found.iter().any(|(_, t, _)| t.0 == id) {
                found.push((start, TrackId(id), secret.filter(|s| !s.is_empty())));
            }
        }
    }
    found.sort_by_key(|(at, _, _)| *at);
    found.into_iter().take(EMBEDS_MAX).map(|(_, id, secret)| (id, secret)).collect()
}

#[cfg(test)]
mod embed_tests {
    use super::*;

    #[test]
    fn finds_track_links_of_this_server_only() {
        let bases = vec!["https://app.example.org".to_string(), "https://api.example.org/".to_string()];
        let text = "listen: https://app.example.org/tracks/12 and (https://api.example.org/tracks/34?secret=a-b_9), \
                    again https://app.example.org/tracks/12, not https://evil.example/tracks/56, \
                    not https://app.example.org/tracks/78/edit or https://app.example.org/tracks/9x";
        assert_eq!(track_links(text, &bases), vec![(TrackId(12), None), (TrackId(34), Some("a-b_9".to_string()))],);
        let many = (1..=5).map(|i| format!("https://app.example.org/tracks/{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(track_links(&many, &bases).len(), EMBEDS_MAX);
        assert!(track_links("https://app.example.org/tracks/99999999999999999999", &bases).is_empty());
    }
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
