//! Bodies of the track routes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use veza_core::catalog::renditions::Rendition;
use veza_core::catalog::track::{AudioFormat, Track, TrackForm, TrackState, Visibility};
use veza_core::catalog::tracks::StreamInfo;
use veza_core::id::{TrackId, UserId};

/// A track as its viewer may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackResponse {
    pub id: TrackId,
    pub owner_id: UserId,
    pub title: String,
    pub description: String,
    pub genre: Option<String>,
    pub tags: Vec<String>,
    /// From the file's tags.
    pub artist: Option<String>,
    pub album: Option<String>,
    pub year: Option<i32>,
    pub visibility: Visibility,
    /// The artist offers the original file for download.
    pub downloadable: bool,
    /// The secret that lets anyone holding it play an unlisted track (`?secret=`); shown to the
    /// owner only.
    pub secret: Option<String>,
    pub state: TrackState,
    /// 0–100 while processing; 100 when ready.
    #[schema(minimum = 0, maximum = 100)]
    pub progress: u8,
    /// Why processing failed, when it did.
    pub failure: Option<String>,
    pub original: OriginalResponse,
    /// The file carries cover art.
    pub has_cover: bool,
    /// Read from the file at upload; exact once processed.
    pub duration_ms: u64,
    /// Measured while processing.
    pub loudness: Option<LoudnessResponse>,
    /// The owner closed it to new comments.
    pub comments_closed: bool,
    pub like_count: u64,
    pub repost_count: u64,
    pub comment_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct OriginalResponse {
    /// Decided by probing the content.
    pub format: AudioFormat,
    pub size: u64,
    pub file_name: String,
}

/// EBU R128 loudness of the original, and the gain a player applies to reach −14 LUFS.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoudnessResponse {
    pub integrated_lufs: f64,
    pub true_peak_dbtp: f64,
    pub gain_db: f64,
}

impl TrackResponse {
    /// The track as `viewer` sees it: the share secret is the owner's alone.
    pub fn for_viewer(t: Track, viewer: Option<UserId>) -> Self {
        let secret = (viewer == Some(t.owner_id)).then_some(t.share_token);
        Self {
            id: t.id,
            owner_id: t.owner_id,
            title: t.title,
            description: t.description,
            genre: t.genre,
            tags: t.tags,
            artist: t.artist,
            album: t.album,
            year: t.year,
            visibility: t.visibility,
            downloadable: t.downloadable,
            secret,
            state: t.state,
            progress: t.progress,
            failure: t.failure,
            original: OriginalResponse {
                format: t.original.format,
                size: t.original.size,
                file_name: t.original.file_name,
            },
            has_cover: t.has_cover,
            duration_ms: t.duration_ms,
            loudness: t.loudness.map(|l| LoudnessResponse {
                integrated_lufs: l.integrated_lufs,
                true_peak_dbtp: l.true_peak_dbtp,
                gain_db: l.gain_db(),
            }),
            comments_closed: t.comments_closed,
            like_count: t.counts.likes,
            repost_count: t.counts.reposts,
            comment_count: t.counts.comments,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A page of tracks, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackPage {
    pub items: Vec<TrackResponse>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A tag: 1–30 characters, not blank, without control characters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, min_length = 1, max_length = 30, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$")]
pub struct TagText(pub String);

/// `PATCH /api/v1/tracks/{id}`: fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTrackRequest {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub title: Option<String>,
    /// Line breaks and tabs allowed.
    #[schema(max_length = 5000, pattern = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<String>,
    /// `null` or `""` clears it.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, max_length = 50, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub genre: Option<Option<String>>,
    /// Up to 10 tags of 1–30 characters; lowercased and deduplicated.
    #[schema(max_items = 10, inline)]
    pub tags: Option<Vec<TagText>>,
    pub visibility: Option<Visibility>,
    pub downloadable: Option<bool>,
    /// Closes the track to new comments (`true`) or opens it again.
    pub comments_closed: Option<bool>,
}

impl From<UpdateTrackRequest> for TrackForm {
    fn from(r: UpdateTrackRequest) -> Self {
        Self {
            title: r.title,
            description: r.description,
            genre: r.genre.map(Option::unwrap_or_default),
            tags: r.tags.map(|t| t.into_iter().map(|t| t.0).collect()),
            visibility: r.visibility,
            downloadable: r.downloadable,
            comments_closed: r.comments_closed,
        }
    }
}

/// The multipart form of `POST /api/v1/tracks` (`multipart/form-data`). Text fields may come
/// before or after the file; empty ones are filled from the file's tags. No other field is taken.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents the form; the handler reads it as a stream
pub struct UploadTrackForm {
    /// The audio: MP3, AAC/M4A, FLAC, WAV, AIFF, Ogg Vorbis or Opus (decided by its content).
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
    /// Default: the file's title tag, else its name.
    #[schema(required = false, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub title: String,
    /// Line breaks and tabs allowed.
    #[schema(required = false, max_length = 5000, pattern = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub description: String,
    #[schema(required = false, max_length = 50, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub genre: String,
    /// Comma-separated (or the field repeated): up to 10 tags of up to 30 characters.
    #[schema(
        required = false,
        max_length = 320,
        pattern = "^[^,\\u0000-\\u001f\\u007f-\\u009f]{0,30}(,[^,\\u0000-\\u001f\\u007f-\\u009f]{0,30}){0,9}$"
    )]
    pub tags: String,
    /// Default `public`.
    #[schema(required = false)]
    pub visibility: Visibility,
    /// `true` or `false` (default).
    #[schema(required = false)]
    pub downloadable: bool,
}

/// Where a listener fetches a track from: absolute URLs that stop working at `expires_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamResponse {
    pub track_id: TrackId,
    pub duration_ms: u64,
    /// The gain (dB) a player applies to reach −14 LUFS without clipping; 0 when unmeasured.
    pub gain_db: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// HLS master playlist, AAC-LC 160 and 96 kb/s (fMP4).
    pub hls_aac: Option<String>,
    /// HLS master playlist, Opus 96 and 64 kb/s (fMP4).
    pub hls_opus: Option<String>,
    /// MP3 128 kb/s CBR.
    pub mp3: Option<String>,
    /// The first 30 seconds, MP3.
    pub preview: Option<String>,
    /// The file as uploaded: when the artist allows downloads, and always for the artist.
    pub original: Option<String>,
    /// The cover art the file carried, as a JPEG of at most 1200 pixels a side.
    pub cover: Option<String>,
}

impl StreamResponse {
    /// The stream info with its paths made absolute under `base` (the public URL).
    pub fn new(info: StreamInfo, base: &str) -> Self {
        let mut out = Self {
            track_id: info.track.id,
            duration_ms: info.track.duration_ms,
            gain_db: info.track.loudness.map_or(0.0, |l| l.gain_db()),
            expires_at: info.expires_at,
            hls_aac: None,
            hls_opus: None,
            mp3: None,
            preview: None,
            original: None,
            cover: None,
        };
        for (rendition, path) in info.renditions {
            let url = Some(format!("{base}{path}"));
            match rendition {
                Rendition::HlsAac => out.hls_aac = url,
                Rendition::HlsOpus => out.hls_opus = url,
                Rendition::Mp3 => out.mp3 = url,
                Rendition::Preview => out.preview = url,
                Rendition::Original => out.original = url,
                Rendition::Cover => out.cover = url,
            }
        }
        out
    }
}
