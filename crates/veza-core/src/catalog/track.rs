//! Tracks as values: what an artist uploads and what listeners see of it. Every field is checked
//! when it is constructed ([`TrackFields::parse`], [`TrackPatch`]); a [`Track`] in hand is valid.

use time::OffsetDateTime;

use crate::error::{CoreError, FieldError, Validator};
use crate::id::{TrackId, UserId};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5000;
pub const GENRE_MAX: usize = 50;
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX: usize = 30;
/// Artist and album names read from a file's tags are cut to this many characters.
pub const CREDIT_MAX: usize = 200;
/// Failure reasons are shown to the artist; longer tool output is cut.
pub const REASON_MAX: usize = 500;

/// The loudness every track is played at: the −14 LUFS that the large streaming services
/// normalise to, so Veza's tracks sit beside theirs.
pub const TARGET_LUFS: f64 = -14.0;
/// The gain never lifts a track's true peak above this, so normalising never clips.
pub const PEAK_CEILING_DBTP: f64 = -1.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Anyone can find and play it.
    Public,
    /// Playable by anyone holding the track's secret link; not listed.
    Unlisted,
    /// The owner only.
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Public, Self::Unlisted, Self::Private].into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrackState {
    /// Uploaded; the renditions are being made.
    Processing,
    /// Every rendition is stored and playable.
    Ready,
    /// Processing gave up; `failure` says why. The original is kept.
    Failed,
}

impl TrackState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Processing, Self::Ready, Self::Failed].into_iter().find(|v| v.as_str() == s)
    }
}

/// The audio formats Veza accepts, decided by probing the content (never the file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    Mp3,
    /// AAC (or ALAC) in an MP4/M4A container.
    M4a,
    Flac,
    Wav,
    Aiff,
    /// Ogg Vorbis.
    Vorbis,
    /// Opus, in Ogg.
    Opus,
}

impl AudioFormat {
    pub const ALL: [Self; 7] = [Self::Mp3, Self::M4a, Self::Flac, Self::Wav, Self::Aiff, Self::Vorbis, Self::Opus];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mp3 => "mp3",
            Self::M4a => "m4a",
            Self::Flac => "flac",
            Self::Wav => "wav",
            Self::Aiff => "aiff",
            Self::Vorbis => "vorbis",
            Self::Opus => "opus",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The file extension the original is stored and downloaded under.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Vorbis => "ogg",
            Self::Aiff => "aif",
            other => other.as_str(),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Mp3 => "audio/mpeg",
            Self::M4a => "audio/mp4",
            Self::Flac => "audio/flac",
            Self::Wav => "audio/wav",
            Self::Aiff => "audio/aiff",
            Self::Vorbis | Self::Opus => "audio/ogg",
        }
    }
}

/// EBU R128 measurements of the original.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    pub integrated_lufs: f64,
    pub true_peak_dbtp: f64,
}

impl Loudness {
    /// The gain a player applies to reach [`TARGET_LUFS`], lowered so the true peak stays under
    /// [`PEAK_CEILING_DBTP`]. Silence gets no gain.
    pub fn gain_db(&self) -> f64 {
        // −70 LUFS is R128's absolute gate: quieter than that is silence, which no gain fixes.
        if !self.integrated_lufs.is_finite() || self.integrated_lufs <= -70.0 {
            return 0.0;
        }
        let gain = TARGET_LUFS - self.integrated_lufs;
        let headroom = if self.true_peak_dbtp.is_finite() { PEAK_CEILING_DBTP - self.true_peak_dbtp } else { gain };
        (gain.min(headroom) * 100.0).round() / 100.0
    }
}

/// What the probe reads from a file's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTags {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub year: Option<i32>,
    /// The file carries a picture (cover art).
    pub has_cover: bool,
}

/// The stored original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub format: AudioFormat,
    pub size: u64,
    /// The name the artist uploaded it under, for downloads (cut and cleaned).
    pub file_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub id: TrackId,
    pub owner_id: UserId,
    pub title: String,
    pub description: String,
    pub genre: Option<String>,
    pub tags: Vec<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub year: Option<i32>,
    pub visibility: Visibility,
    pub downloadable: bool,
    /// The secret of the track's link: who holds it may play an unlisted track.
    pub share_token: String,
    pub state: TrackState,
    /// 0–100 while processing.
    pub progress: u8,
    pub failure: Option<String>,
    pub original: Original,
    pub has_cover: bool,
    /// Known once probed; exact once processed.
    pub duration_ms: u64,
    pub loudness: Option<Loudness>,
    /// The owner closed it to new comments.
    pub comments_closed: bool,
    /// Kept by the social stores, in the transactions that change what they count.
    pub counts: TrackCounts,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What listeners did with a track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackCounts {
    pub likes: u64,
    pub reposts: u64,
    pub comments: u64,
}

impl Track {
    /// Where everything of this track is stored; deleting the track removes the whole prefix.
    pub fn storage_prefix(id: TrackId) -> String {
        format!("tracks/{id}/")
    }

    pub fn original_key(&self) -> String {
        format!("{}original/original.{}", Self::storage_prefix(self.id), self.original.format.extension())
    }

    /// May `viewer` see this track? `link` is a share token the viewer presented.
    pub fn visible_to(&self, viewer: Option<UserId>, link: Option<&str>) -> bool {
        if viewer == Some(self.owner_id) {
            return true;
        }
        match self.visibility {
            Visibility::Public => true,
            Visibility::Unlisted => {
                link.is_some_and(|l| crate::accounts::constant_time_eq(l.as_bytes(), self.share_token.as_bytes()))
            }
            Visibility::Private => false,
        }
    }
}

/// The form of an upload and of an edit, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` clears the genre.
    pub genre: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Visibility>,
    pub downloadable: Option<bool>,
    pub comments_closed: Option<bool>,
}

/// What a client sends, before validation.
#[derive(Debug, Clone, Default)]
pub struct TrackForm {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `Some("")` clears the genre.
    pub genre: Option<String>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Visibility>,
    pub downloadable: Option<bool>,
    pub comments_closed: Option<bool>,
}

impl TrackPatch {
    /// Checks every field, reporting all bad ones at once. Text is trimmed; control characters
    /// are refused; tags are lowercased and deduplicated.
    pub fn parse(form: TrackForm) -> Result<Self, CoreError> {
        let mut v = Validator::default();
        let title = form.title.map(|t| v.check(text("title", &t, 1, TITLE_MAX, false)));
        let description = form.description.map(|d| v.check(text("description", &d, 0, DESCRIPTION_MAX, true)));
        let genre = form.genre.map(|g| {
            let g = v.check(text("genre", &g, 0, GENRE_MAX, false));
            g.map(|g| if g.is_empty() { None } else { Some(g) })
        });
        let tags = form.tags.map(|t| v.check(parse_tags(&t)));
        v.finish(|| {
            Some(Self {
                title: title.flatten(),
                description: description.flatten(),
                genre: genre.flatten(),
                tags: tags.flatten(),
                visibility: form.visibility,
                downloadable: form.downloadable,
                comments_closed: form.comments_closed,
            })
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A piece of text between `min` and `max` characters after trimming, without control
/// characters (newlines allowed where `multiline`).
pub(crate) fn text(field: &str, raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, FieldError> {
    let t = raw.trim();
    let len = t.chars().count();
    if len < min {
        return Err(FieldError::new(field, "too_short", format!("{field} must not be empty")));
    }
    if len > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
    }
    if t.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t'))) {
        return Err(FieldError::new(field, "invalid_chars", format!("{field} must not contain control characters")));
    }
    Ok(t.to_owned())
}

fn parse_tags(raw: &[String]) -> Result<Vec<String>, FieldError> {
    let mut tags: Vec<String> = Vec::new();
    for (i, tag) in raw.iter().enumerate() {
        let tag = text(&format!("tags.{i}"), tag, 1, TAG_MAX, false)?.to_lowercase();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > TAGS_MAX {
        return Err(FieldError::new("tags", "too_many", format!("at most {TAGS_MAX} tags")));
    }
    Ok(tags)
}

/// Cleans a value read from a file's tags: trimmed, control characters dropped, cut to `max`
/// characters; `None` when nothing is left.
pub fn clean_tag_value(raw: &str, max: usize) -> Option<String> {
    let cleaned: String =
        raw.chars().filter(|c| !c.is_control()).collect::<String>().trim().chars().take(max).collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// The uploaded file's name as offered back for download: its last path component, without
/// characters that would break a `Content-Disposition` header, at most 200 characters.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "track".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_reaches_the_target_without_lifting_peaks_over_the_ceiling() {
        let quiet = Loudness { integrated_lufs: -20.0, true_peak_dbtp: -10.0 };
        assert_eq!(quiet.gain_db(), 6.0);
        let peaky = Loudness { integrated_lufs: -20.0, true_peak_dbtp: -3.0 };
        assert_eq!(peaky.gain_db(), 2.0);
        let loud = Loudness { integrated_lufs: -8.0, true_peak_dbtp: 0.5 };
        assert_eq!(loud.gain_db(), -6.0);
        let silent = Loudness { integrated_lufs: f64::NEG_INFINITY, true_peak_dbtp: f64::NEG_INFINITY };
        assert_eq!(silent.gain_db(), 0.0);
    }

    #[test]
    fn forms_report_every_bad_field_and_normalise_the_good_ones() {
        let bad = TrackForm {
            title: Some("  ".into()),
            description: Some("x".repeat(DESCRIPTION_MAX + 1)),
            genre: Some("a\u{7}b".into()),
            tags: Some(vec!["ok".into(); 1].into_iter().chain((0..TAGS_MAX + 1).map(|i| format!("t{i}"))).collect()),
            ..TrackForm::default()
        };
        let Err(CoreError::Validation(errors)) = TrackPatch::parse(bad) else { panic!("accepted") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "description", "genre", "tags"]);

        let good = TrackForm {
            title: Some("  Night Drive ".into()),
            description: Some("line one\nline two".into()),
            genre: Some(String::new()),
            tags: Some(vec!["Synth".into(), "synth".into(), "Wave".into()]),
            visibility: Some(Visibility::Unlisted),
            downloadable: Some(true),
            comments_closed: Some(true),
        };
        let patch = TrackPatch::parse(good).expect("valid");
        assert_eq!(patch.title.as_deref(), Some("Night Drive"));
        assert_eq!(patch.genre, Some(None));
        assert_eq!(patch.tags, Some(vec!["synth".to_string(), "wave".to_string()]));
    }

    #[test]
    fn file_names_and_tag_values_are_cleaned() {
        assert_eq!(clean_file_name("C:\\music\\a\"b;.mp3"), "ab.mp3");
        assert_eq!(clean_file_name("../.."), "track");
        assert_eq!(clean_tag_value("  \u{0}Artist\n ", 200).as_deref(), Some("Artist"));
        assert_eq!(clean_tag_value(" \t ", 200), None);
    }

    #[test]
    fn unlisted_tracks_need_the_link_and_private_ones_the_owner() {
        let owner = UserId(1);
        let mut t = sample(owner);
        t.visibility = Visibility::Unlisted;
        assert!(!t.visible_to(Some(UserId(2)), None));
        assert!(!t.visible_to(None, Some("wrong")));
        assert!(t.visible_to(None, Some("secret")));
        t.visibility = Visibility::Private;
        assert!(!t.visible_to(None, Some("secret")));
        assert!(t.visible_to(Some(owner), None));
    }

    fn sample(owner: UserId) -> Track {
        Track {
            id: TrackId(9),
            owner_id: owner,
            title: "t".into(),
            description: String::new(),
            genre: None,
            tags: vec![],
            artist: None,
            album: None,
            year: None,
            visibility: Visibility::Public,
            downloadable: false,
            share_token: "secret".into(),
            state: TrackState::Ready,
            progress: 100,
            failure: None,
            original: Original { format: AudioFormat::Flac, size: 1, file_name: "a.flac".into() },
            has_cover: false,
            duration_ms: 1000,
            loudness: None,
            comments_closed: false,
            counts: TrackCounts::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }
}
