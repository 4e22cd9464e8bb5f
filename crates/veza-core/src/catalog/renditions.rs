//! The renditions every ready track has, where each is stored, and the signed URLs through which
//! listeners fetch them. A URL is bound to one track, one rendition and an expiry by an
//! HMAC-SHA256 over the three, carried in the path — `/media/{track}/{rendition}/{expires}/{sig}/…`
//! — so the relative URIs inside an HLS playlist inherit it and need no signature of their own.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::catalog::track::Track;
use crate::error::CoreError;
use crate::id::{AttachmentId, TrackId};

/// 6-second segments: Apple's HLS authoring specification, and short enough to seek quickly.
pub const SEGMENT_SECS: u32 = 6;
/// The preview is the first 30 seconds, as on most stores.
pub const PREVIEW_SECS: u32 = 30;
/// The AAC-LC ladder, in kb/s, best first.
pub const AAC_LADDER: [u32; 2] = [160, 96];
/// The Opus ladder, in kb/s, best first.
pub const OPUS_LADDER: [u32; 2] = [96, 64];
/// Cover art is scaled down to fit a square of this many pixels.
pub const COVER_MAX_PX: u32 = 1200;
/// The cover's file in its folder.
pub const COVER_FILE: &str = "cover.jpg";
/// The plain MP3 for players without HLS, and for downloads of tracks that allow them.
pub const MP3_KBPS: u32 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rendition {
    /// HLS, AAC-LC in fMP4: a master playlist over [`AAC_LADDER`].
    HlsAac,
    /// HLS, Opus in fMP4: a master playlist over [`OPUS_LADDER`].
    HlsOpus,
    /// One MP3 file, [`MP3_KBPS`] CBR with a Xing/LAME header.
    Mp3,
    /// The first [`PREVIEW_SECS`] as MP3.
    Preview,
    /// The file as uploaded, when the artist allows downloads.
    Original,
    /// The cover art the file carried, as a JPEG of at most [`COVER_MAX_PX`] a side.
    Cover,
}

impl Rendition {
    pub const ALL: [Self; 6] = [Self::HlsAac, Self::HlsOpus, Self::Mp3, Self::Preview, Self::Original, Self::Cover];

    /// Its folder under the track's prefix, and its name in media URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HlsAac => "aac",
            Self::HlsOpus => "opus",
            Self::Mp3 => "mp3",
            Self::Preview => "preview",
            Self::Original => "original",
            Self::Cover => "cover",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The file a client starts from: the master playlist, or the one file.
    pub fn entry(self, track: &Track) -> String {
        match self {
            Self::HlsAac | Self::HlsOpus => "master.m3u8".into(),
            Self::Mp3 => format!("{MP3_KBPS}k.mp3"),
            Self::Preview => "preview.mp3".into(),
            Self::Original => format!("original.{}", track.original.format.extension()),
            Self::Cover => COVER_FILE.into(),
        }
    }

    /// The storage key of `file` (a path relative to the rendition's folder).
    pub fn key(self, track: TrackId, file: &str) -> String {
        format!("{}{}/{file}", Track::storage_prefix(track), self.as_str())
    }
}

/// Where the waveform is stored: the full audiowaveform JSON, and the fixed-width summary.
pub fn waveform_key(track: TrackId, summary: bool) -> String {
    let name = if summary { "summary" } else { "full" };
    format!("{}{name}.json", waveform_prefix(track))
}

pub fn waveform_prefix(track: TrackId) -> String {
    format!("{}waveform/", Track::storage_prefix(track))
}

/// The content type of a media file, by its extension (the pipeline names every file it writes).
pub fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next().unwrap_or_default() {
        "m3u8" => "application/vnd.apple.mpegurl",
        "mp4" | "m4s" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "aif" => "audio/aiff",
        "ogg" | "opus" => "audio/ogg",
        "m4a" => "audio/mp4",
        "json" => "application/json",
        "jpg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// Signs and checks media URLs with the node's media key (shared by every node of a cluster).
#[derive(Clone)]
pub struct MediaSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for MediaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MediaSigner(..)")
    }
}

/// A media path taken apart, signature not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPath {
    pub track: TrackId,
    pub rendition: Rendition,
    pub expires: i64,
    pub signature: String,
    /// Relative to the rendition's folder: `master.m3u8`, `160k/seg_003.m4s`.
    pub file: String,
}

/// The longest file path accepted after the signature; the pipeline's are far shorter.
const FILE_PATH_MAX: usize = 100;

impl MediaPath {
    /// Parses `{track}/{rendition}/{expires}/{sig}/{file…}` (the part after `/media/`). The file
    /// path may only hold segments of `[A-Za-z0-9._-]` that do not start with a dot, so no path
    /// ever climbs out of the rendition's folder.
    pub fn parse(path: &str) -> Result<Self, CoreError> {
        let bad = || CoreError::NotFound("media file");
        let mut parts = path.splitn(5, '/');
        let mut next = || parts.next().ok_or_else(bad);
        let track = next()?.parse::<i64>().map(TrackId).map_err(|_| bad())?;
        let rendition = Rendition::parse(next()?).ok_or_else(bad)?;
        let expires = next()?.parse::<i64>().map_err(|_| bad())?;
        let signature = next()?.to_owned();
        let file = next()?.to_owned();
        let safe_segment = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        if file.len() > FILE_PATH_MAX || !file.split('/').all(safe_segment) {
            return Err(bad());
        }
        Ok(Self { track, rendition, expires, signature, file })
    }
}

impl MediaSigner {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// The MAC over what a URL grants: `{track}/{rendition}/{expires}` for a rendition,
    /// `attachment/{id}/{expires}` for a message's file (never confused: a track id is a number).
    fn mac(&self, grant: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(grant.as_bytes());
        mac
    }

    fn signature(&self, grant: &str) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        URL_SAFE_NO_PAD.encode(self.mac(grant).finalize().into_bytes())
    }

    /// Checks a signature over `grant` valid until `expires`. Every refusal is the same 403: a
    /// client's answer to it is always to ask for fresh URLs.
    fn check(&self, grant: &str, signature: &str, expires: i64, now: OffsetDateTime) -> Result<(), CoreError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let refused = || CoreError::Forbidden("this media link has expired or is not valid; ask for a fresh one");
        let sig = URL_SAFE_NO_PAD.decode(signature).map_err(|_| refused())?;
        self.mac(grant).verify_slice(&sig).map_err(|_| refused())?;
        if expires < now.unix_timestamp() {
            return Err(refused());
        }
        Ok(())
    }

    /// The path (from `/media/` on) of `file` of a rendition, valid until `expires`.
    pub fn sign(&self, track: TrackId, rendition: Rendition, expires: OffsetDateTime, file: &str) -> String {
        let expires = expires.unix_timestamp();
        let sig = self.signature(&format!("{track}/{}/{expires}", rendition.as_str()));
        format!("/media/{track}/{}/{expires}/{sig}/{file}", rendition.as_str())
    }

    /// Accepts a path signed by [`MediaSigner::sign`] that has not expired at `now`.
    pub fn verify(&self, path: &MediaPath, now: OffsetDateTime) -> Result<(), CoreError> {
        let grant = format!("{}/{}/{}", path.track, path.rendition.as_str(), path.expires);
        self.check(&grant, &path.signature, path.expires, now)
    }

    /// The path (from `/media/` on) of a message's file, valid until `expires`; `url_name` (the
    /// file name, URL-encoded) is only there for browsers to save it under.
    pub fn sign_attachment(&self, id: AttachmentId, expires: OffsetDateTime, url_name: &str) -> String {
        let expires = expires.unix_timestamp();
        let sig = self.signature(&format!("attachment/{id}/{expires}"));
        format!("/media/attachments/{id}/{expires}/{sig}/{url_name}")
    }

    /// The attachment a path signed by [`MediaSigner::sign_attachment`] grants, if it has not
    /// expired at `now`. `path` is what follows `/media/attachments/`.
    pub fn verify_attachment(&self, path: &str, now: OffsetDateTime) -> Result<AttachmentId, CoreError> {
        let bad = || CoreError::NotFound("attachment");
        let mut parts = path.splitn(4, '/');
        let mut next = || parts.next().ok_or_else(bad);
        let id = next()?.parse::<i64>().map(AttachmentId).map_err(|_| bad())?;
        let expires = next()?.parse::<i64>().map_err(|_| bad())?;
        let signature = next()?;
        let name = next()?;
        if name.is_empty() || name.len() > 1024 || name.contains('/') {
            return Err(bad());
        }
        self.check(&format!("attachment/{id}/{expires}"), signature, expires, now)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_paths_verify_until_they_expire_and_grant_only_their_file() {
        let signer = MediaSigner::new(b"k");
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let url = signer.sign_attachment(AttachmentId(41), now + time::Duration::hours(1), "a%20b.png");
        let path = url.strip_prefix("/media/attachments/").expect("prefix");
        assert_eq!(signer.verify_attachment(path, now).expect("fresh"), AttachmentId(41));
        let renamed = path.replace("a%20b.png", "other.exe");
        assert_eq!(signer.verify_attachment(&renamed, now).expect("the name is not granted"), AttachmentId(41));
        let expired = signer.verify_attachment(path, now + time::Duration::hours(2));
        assert!(matches!(expired, Err(CoreError::Forbidden(_))));
        let other = path.replacen("41/", "42/", 1);
        assert!(matches!(signer.verify_attachment(&other, now), Err(CoreError::Forbidden(_))));
        assert!(MediaSigner::new(b"other").verify_attachment(path, now).is_err());
        for malformed in ["", "41", "x/1/sig/a", "41/1/sig", "41/1/sig/"] {
            assert!(matches!(signer.verify_attachment(malformed, now), Err(CoreError::NotFound(_))), "{malformed}");
        }
        // A track's signature grants no attachment, and the other way round.
        let track_sig = signer.sign(TrackId(41), Rendition::Mp3, now + time::Duration::hours(1), "128k.mp3");
        let sig = track_sig.split('/').nth(5).expect("signature");
        let forged = format!("41/{}/{sig}/x", (now + time::Duration::hours(1)).unix_timestamp());
        assert!(signer.verify_attachment(&forged, now).is_err());
    }

    #[test]
    fn signed_paths_verify_until_they_expire_and_not_when_altered() {
        let signer = MediaSigner::new(b"k");
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let url = signer.sign(TrackId(7), Rendition::HlsAac, now + time::Duration::minutes(5), "master.m3u8");
        let path = MediaPath::parse(url.strip_prefix("/media/").unwrap()).unwrap();
        assert_eq!(path.file, "master.m3u8");
        signer.verify(&path, now).expect("fresh");
        // Segments inherit the playlist's signature through relative URIs.
        let segment = MediaPath { file: "160k/seg_001.m4s".into(), ..path.clone() };
        signer.verify(&segment, now).expect("same signature for the rendition's files");
        assert!(signer.verify(&path, now + time::Duration::minutes(6)).is_err(), "expired");
        for tampered in [
            MediaPath { track: TrackId(8), ..path.clone() },
            MediaPath { rendition: Rendition::HlsOpus, ..path.clone() },
            MediaPath { expires: path.expires + 3600, ..path.clone() },
            MediaPath { signature: "AAAA".into(), ..path.clone() },
        ] {
            assert!(signer.verify(&tampered, now).is_err(), "{tampered:?}");
        }
        assert!(MediaSigner::new(b"other").verify(&path, now).is_err());
    }

    #[test]
    fn media_paths_cannot_leave_their_folder() {
        for bad in [
            "7/aac/1/s/../x",
            "7/aac/1/s/.hidden",
            "7/aac/1/s/a//b",
            "7/aac/1/s/",
            "7/flac/1/s/a",
            "x/aac/1/s/a",
            "7/aac/1/s/a%2F..",
            "7/aac/1/s",
        ] {
            assert!(MediaPath::parse(bad).is_err(), "{bad}");
        }
        assert!(MediaPath::parse("7/opus/1/s/96k/init.mp4").is_ok());
    }

    #[test]
    fn byte_ranges_resolve_like_http_says() {
        use crate::catalog::media::ByteRange;
        assert_eq!(ByteRange::FromTo(0, 9).resolve(100), Some(0..10));
        assert_eq!(ByteRange::FromTo(90, 200).resolve(100), Some(90..100));
        assert_eq!(ByteRange::From(99).resolve(100), Some(99..100));
        assert_eq!(ByteRange::Suffix(10).resolve(100), Some(90..100));
        assert_eq!(ByteRange::Suffix(500).resolve(100), Some(0..100));
        assert_eq!(ByteRange::From(100).resolve(100), None);
        assert_eq!(ByteRange::FromTo(5, 4).resolve(100), None);
        assert_eq!(ByteRange::Suffix(0).resolve(100), None);
    }
}
