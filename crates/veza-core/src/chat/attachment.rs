//! Files attached to messages: what may be attached (decided by the bytes, never the name),
//! how many and how large, where each is stored, and the signed URLs through which the people
//! who can read the message fetch it.
//!
//! Storage keys nest as `attachments/{community}/{gate}/{channel}/{message}/{attachment}`, the
//! gate being the channel whose view permission covers the message (a thread's parent). So
//! deleting a message, a thread, a channel with its threads, or a whole community removes its
//! files with one prefix each. Direct conversations use `direct` for the community.

use std::path::Path;

use time::OffsetDateTime;

use crate::chat::event::Place;
use crate::error::FieldError;
use crate::id::{AttachmentId, ChannelId, CommunityId, MessageId};

/// Files one message may carry.
pub const ATTACHMENTS_MAX: usize = 10;
/// The longest file name kept, in characters.
pub const FILE_NAME_MAX: usize = 200;
/// How many leading bytes decide a file's type.
pub const SNIFF_BYTES: usize = 8 * 1024;
/// Attachment URLs stay valid at least this long…
const URL_LIFETIME: time::Duration = time::Duration::hours(24);
/// …and their expiry is rounded up to this step, so that reading the same message again within
/// it gives the same URL and caches keep working.
const URL_STEP_SECS: i64 = 3600;

/// A stored file of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: AttachmentId,
    /// As the sender named it, cleaned (see [`file_name`]).
    pub file_name: String,
    /// Decided from the content by [`sniff`].
    pub content_type: String,
    pub size: u64,
    /// Where the bytes are in the object store.
    pub key: String,
    /// The signed URL to fetch it, filled in whenever the message is read.
    pub url: Option<String>,
}

impl Attachment {
    /// Whether browsers should show it in place (images, audio, video) rather than download it.
    pub fn inline(&self) -> bool {
        ["image/", "audio/", "video/"].iter().any(|p| self.content_type.starts_with(p))
    }
}

/// A received file, before the message use case accepts it.
#[derive(Debug, Clone, Copy)]
pub struct StagedAttachment<'a> {
    /// A local file holding the bytes.
    pub path: &'a Path,
    pub size: u64,
    /// The name the client gave it.
    pub file_name: &'a str,
    /// Its first bytes (up to [`SNIFF_BYTES`]).
    pub head: &'a [u8],
}

/// The types that may be attached, by what the bytes say: images, audio, video, PDF, ZIP
/// archives and UTF-8 text. Nothing a browser would run as a page (HTML, SVG) is accepted.
const ACCEPTED: [(&str, &str); 21] = [
    ("image/png", "image/png"),
    ("image/jpeg", "image/jpeg"),
    ("image/gif", "image/gif"),
    ("image/webp", "image/webp"),
    ("image/avif", "image/avif"),
    ("audio/mpeg", "audio/mpeg"),
    ("audio/x-flac", "audio/flac"),
    ("audio/ogg", "audio/ogg"),
    ("audio/opus", "audio/ogg"),
    ("audio/x-wav", "audio/wav"),
    ("audio/x-aiff", "audio/aiff"),
    ("audio/m4a", "audio/mp4"),
    ("audio/aac", "audio/aac"),
    ("audio/midi", "audio/midi"),
    ("video/mp4", "video/mp4"),
    ("video/webm", "video/webm"),
    ("video/quicktime", "video/quicktime"),
    ("video/x-matroska", "video/x-matroska"),
    ("application/pdf", "application/pdf"),
    ("application/zip", "application/zip"),
    ("application/gzip", "application/gzip"),
];

/// The content type of a file whose first bytes are `head`, when Veza accepts it.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if let Some(kind) = infer::get(head) {
        return ACCEPTED.iter().find(|(found, _)| *found == kind.mime_type()).map(|(_, served)| *served);
    }
    text(head).then_some("text/plain; charset=utf-8")
}

/// Printable UTF-8 text, judged on its first bytes (which may end inside a character).
fn text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // Cut off mid-character at the end of the sample: judge what precedes it.
        Err(e) if e.error_len().is_none() && head.len() - e.valid_up_to() < 4 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && !valid.trim_start().starts_with('<')
        && valid.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

/// A file name to keep: its last path segment, trimmed, without control characters or quotes,
/// at most [`FILE_NAME_MAX`] characters (keeping the extension); `file` when nothing is left.
pub fn file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        last.chars().filter(|&c| !c.is_control() && !matches!(c, '"' | '\u{202e}' | '\u{200f}')).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return "file".into();
    }
    if cleaned.chars().count() <= FILE_NAME_MAX {
        return cleaned.into();
    }
    let ext = cleaned.rsplit_once('.').map(|(_, e)| e).filter(|e| e.chars().count() <= 10).unwrap_or_default();
    let keep = FILE_NAME_MAX - ext.chars().count() - usize::from(!ext.is_empty());
    let stem: String = cleaned.chars().take(keep).collect();
    if ext.is_empty() {
        stem
    } else {
        format!("{stem}.{ext}")
    }
}

/// The key prefix of everything under a community (or of all direct conversations).
pub fn community_prefix(community: Option<CommunityId>) -> String {
    match community {
        Some(c) => format!("attachments/{c}/"),
        None => "attachments/direct/".into(),
    }
}

/// The key prefix of a channel and all its threads.
pub fn channel_prefix(community: Option<CommunityId>, channel: ChannelId) -> String {
    format!("{}{channel}/", community_prefix(community))
}

/// The key prefix of one thread.
pub fn thread_prefix(community: CommunityId, parent: ChannelId, thread: ChannelId) -> String {
    format!("{}{thread}/", channel_prefix(Some(community), parent))
}

/// The key prefix of a message's files.
pub fn message_prefix(place: &Place, channel: ChannelId, message: MessageId) -> String {
    let (community, gate) = match place {
        Place::Community { community_id, gate } => (Some(*community_id), *gate),
        Place::Direct { .. } => (None, channel),
    };
    format!("{}{channel}/{message}/", channel_prefix(community, gate))
}

/// When a URL signed at `now` expires: at least a day later, on the hour.
pub fn url_expiry(now: OffsetDateTime) -> OffsetDateTime {
    let at = (now + URL_LIFETIME).unix_timestamp();
    let rounded = at.div_euclid(URL_STEP_SECS) * URL_STEP_SECS + URL_STEP_SECS;
    OffsetDateTime::from_unix_timestamp(rounded).unwrap_or(now + URL_LIFETIME)
}

/// The file name as it appears at the end of a URL: every byte outside `[A-Za-z0-9._-]`
/// percent-encoded.
pub fn url_name(file_name: &str) -> String {
    let mut out = String::with_capacity(file_name.len());
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why a file was refused.
pub fn unsupported(file_name: &str) -> FieldError {
    FieldError::new(
        "files",
        "unsupported_type",
        format!(
            "`{file_name}` is not a type Veza accepts: images (PNG, JPEG, GIF, WebP, AVIF), audio, video \
             (MP4, WebM, QuickTime, Matroska), PDF, ZIP, gzip or UTF-8 text"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_decide_the_type() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some("audio/flac"));
        assert_eq!(sniff("notes: café\r\n\tdone".as_bytes()), Some("text/plain; charset=utf-8"));
        // A sample that ends inside a character is still text.
        assert_eq!(sniff(&"é".as_bytes()[..1]), None, "nothing valid before the cut");
        assert_eq!(sniff(&"abcé".as_bytes()[..4]), Some("text/plain; charset=utf-8"));
        for refused in [
            &b"<html><script>alert(1)</script>"[..],
            b"  <svg xmlns='http://www.w3.org/2000/svg'/>",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
            b"MZ\x90\0\x03\0\0\0",
            b"binary\0garbage",
            b"\xc3\x28\xa0\xa1",
            b"",
        ] {
            assert_eq!(sniff(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn file_names_are_cleaned_and_bounded() {
        assert_eq!(file_name("C:\\Users\\me\\mix.wav"), "mix.wav");
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name(" .hidden "), "hidden");
        assert_eq!(file_name("a\u{0}b\"c\u{202e}d.txt"), "abcd.txt");
        assert_eq!(file_name("  "), "file");
        let long = format!("{}.flac", "x".repeat(300));
        let kept = file_name(&long);
        assert_eq!(kept.chars().count(), FILE_NAME_MAX);
        assert!(kept.ends_with("x.flac"));
        assert_eq!(url_name("mix 1 (é).wav"), "mix%201%20%28%C3%A9%29.wav");
    }

    #[test]
    fn keys_nest_so_one_prefix_removes_a_message_thread_channel_or_community() {
        let (c, parent, thread, m) = (CommunityId(1), ChannelId(2), ChannelId(3), MessageId(4));
        let in_thread = message_prefix(&Place::Community { community_id: c, gate: parent }, thread, m);
        assert_eq!(in_thread, "attachments/1/2/3/4/");
        assert!(in_thread.starts_with(&thread_prefix(c, parent, thread)));
        assert!(in_thread.starts_with(&channel_prefix(Some(c), parent)));
        assert!(in_thread.starts_with(&community_prefix(Some(c))));
        let in_parent = message_prefix(&Place::Community { community_id: c, gate: parent }, parent, m);
        assert!(in_parent.starts_with(&channel_prefix(Some(c), parent)));
        assert!(!in_parent.starts_with(&thread_prefix(c, parent, thread)));
        let direct = message_prefix(&Place::Direct { recipients: vec![] }, ChannelId(9), m);
        assert_eq!(direct, "attachments/direct/9/9/4/");
    }

    #[test]
    fn urls_last_a_day_and_stay_the_same_within_the_hour() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_123).expect("time");
        let expiry = url_expiry(now);
        assert!(expiry - now >= URL_LIFETIME && expiry - now <= URL_LIFETIME + time::Duration::hours(1));
        assert_eq!(expiry.unix_timestamp() % URL_STEP_SECS, 0);
        assert_eq!(url_expiry(now + time::Duration::minutes(1)), expiry);
    }
}
