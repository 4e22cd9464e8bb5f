//! What clients ask of the catalog: upload, read, edit and delete tracks, list an artist's
//! tracks, get a track's stream URLs and waveform, and open the media files those URLs name.
//!
//! A track another person may not see does not exist for them (404, never 403), so private
//! tracks cannot be discovered by probing ids.

use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::catalog::job::{JobId, NewJob};
use crate::catalog::media::{ByteRange, MediaError, ObjectRead};
use crate::catalog::renditions::{self, MediaPath, Rendition};
use crate::catalog::track::{
    clean_file_name, clean_tag_value, Original, Track, TrackCounts, TrackForm, TrackPatch, TrackState, Visibility,
    CREDIT_MAX, TITLE_MAX,
};
use crate::catalog::Catalog;
use crate::error::{CoreError, FieldError};
use crate::id::{TrackId, UserId};
use crate::page::{Page, PageRequest};
use crate::user::Role;

/// A file the web adapter has received into local storage, not yet accepted.
#[derive(Debug, Clone, Copy)]
pub struct StagedFile<'a> {
    pub path: &'a Path,
    pub size: u64,
    /// The name the client gave the file (used only as a fallback title and download name).
    pub file_name: &'a str,
}

/// Where a listener fetches a ready track from.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub track: Track,
    /// Until when the URLs work; after that, ask again.
    pub expires_at: OffsetDateTime,
    /// Each rendition the caller may fetch, with its signed path (from `/media/` on).
    pub renditions: Vec<(Rendition, String)>,
}

/// What the media route answers.
#[derive(Debug)]
pub enum MediaReply {
    /// Serve these bytes.
    Object {
        read: ObjectRead,
        content_type: &'static str,
        /// Segments and files never change under their URL; playlists are served fresh.
        immutable: bool,
    },
    /// Fetch it from the object store at this presigned URL.
    Redirect(String),
}

impl Catalog {
    /// Whether this node takes uploads: not when its media tools are missing (the error says
    /// what to install).
    pub fn uploads_open(&self) -> Result<(), CoreError> {
        match self.deps.media.unavailable() {
            Some(reason) => Err(CoreError::MediaUnavailable(reason.to_owned())),
            None => Ok(()),
        }
    }

    /// Accepts an upload: probes the staged file (its content decides the format), stores it as
    /// the track's original, and records the track with its processing job. Form fields left
    /// empty are taken from the file's tags, the title falling back to the file name.
    pub async fn upload(&self, caller: &Principal, form: TrackForm, file: StagedFile<'_>) -> Result<Track, CoreError> {
        caller.require(Scope::TracksWrite)?;
        self.uploads_open()?;
        let patch = TrackPatch::parse(form)?;
        if file.size == 0 {
            return Err(CoreError::invalid(FieldError::new("file", "empty", "the uploaded file is empty")));
        }
        let probe = self.deps.media.probe(file.path).await.map_err(|e| match e {
            MediaError::Unsupported(why) => CoreError::UnsupportedMedia(why),
            MediaError::Undecodable(why) => CoreError::invalid(FieldError::new("file", "undecodable", why)),
            MediaError::Storage(e) => e.into(),
            MediaError::Tool(why) => CoreError::Internal(format!("probing an upload: {why}")),
        })?;
        let now = self.deps.clock.now();
        let id = TrackId(self.deps.ids.next_raw());
        let file_name = clean_file_name(file.file_name);
        let tags = probe.tags;
        let title = patch
            .title
            .or_else(|| tags.title.as_deref().and_then(|t| clean_tag_value(t, TITLE_MAX)))
            .or_else(|| clean_tag_value(file_name.rsplit_once('.').map_or(&file_name, |(stem, _)| stem), TITLE_MAX))
            .unwrap_or_else(|| "Untitled".into());
        let track = Track {
            id,
            owner_id: caller.user_id,
            title,
            description: patch.description.unwrap_or_default(),
            genre: patch.genre.flatten(),
            tags: patch.tags.unwrap_or_default(),
            artist: tags.artist.as_deref().and_then(|a| clean_tag_value(a, CREDIT_MAX)),
            album: tags.album.as_deref().and_then(|a| clean_tag_value(a, CREDIT_MAX)),
            year: tags.year,
            visibility: patch.visibility.unwrap_or(Visibility::Public),
            downloadable: patch.downloadable.unwrap_or(false),
            share_token: share_token(),
            state: TrackState::Processing,
            progress: 0,
            failure: None,
            original: Original { format: probe.format, size: file.size, file_name },
            has_cover: tags.has_cover,
            duration_ms: probe.duration_ms,
            loudness: None,
            comments_closed: false,
            counts: TrackCounts::default(),
            created_at: now,
            updated_at: now,
        };
        self.deps.store.put_file(&track.original_key(), file.path).await?;
        let job = NewJob { id: JobId(self.deps.ids.next_raw()), track_id: id };
        if let Err(e) = self.deps.tracks.create_track(&track, &job).await {
            // No row points at the stored original: remove it rather than leave it behind.
            if let Err(cleanup) = self.deps.store.delete_prefix(&Track::storage_prefix(id)).await {
                tracing::warn!(track = %id, error = %cleanup, "an upload's original outlived its failed insert");
            }
            return Err(e.into());
        }
        self.deps.wake.wake();
        tracing::info!(track = %id, owner = %caller.user_id, format = probe.format.as_str(), bytes = file.size, "track uploaded");
        Ok(track)
    }

    /// A track as `viewer` may see it; `link` is the share token of an unlisted track's link.
    pub async fn track(&self, viewer: Option<&Principal>, id: TrackId, link: Option<&str>) -> Result<Track, CoreError> {
        if let Some(p) = viewer {
            p.require(Scope::TracksRead)?;
        }
        let track = self.deps.tracks.track(id).await?.ok_or(CoreError::NotFound("track"))?;
        if !track.visible_to(viewer.map(|p| p.user_id), link) {
            return Err(CoreError::NotFound("track"));
        }
        Ok(track)
    }

    /// `owner`'s tracks, newest first: all of them for the owner, the public ones for others.
    pub async fn tracks_by(
        &self,
        viewer: Option<&Principal>,
        owner: UserId,
        page: PageRequest,
    ) -> Result<Page<Track>, CoreError> {
        if let Some(p) = viewer {
            p.require(Scope::TracksRead)?;
        }
        let all = viewer.is_some_and(|p| p.user_id == owner);
        let rows = self.deps.tracks.tracks_by_owner(owner, all, page).await?;
        Ok(Page::from_rows(rows, page.limit, |t| t.id.0))
    }

    /// Edits a track's details; its owner only.
    pub async fn update(&self, caller: &Principal, id: TrackId, form: TrackForm) -> Result<Track, CoreError> {
        caller.require(Scope::TracksWrite)?;
        let patch = TrackPatch::parse(form)?;
        let track = self.owned(caller, id, false, "only the track's owner can change it").await?;
        if patch.is_empty() {
            return Ok(track);
        }
        let now = self.deps.clock.now();
        self.deps.tracks.update_track(id, &patch, now).await?.ok_or(CoreError::NotFound("track"))
    }

    /// Deletes a track and everything stored for it; its owner or an administrator.
    pub async fn delete(&self, caller: &Principal, id: TrackId) -> Result<(), CoreError> {
        caller.require(Scope::TracksWrite)?;
        let is_admin = caller.role == Role::Admin && caller.require(Scope::Admin).is_ok();
        self.owned(caller, id, is_admin, "only the track's owner or an administrator can delete it").await?;
        // Files first: a failure leaves the row, so the delete can be retried; a worker that
        // finishes after this finds the row gone and removes what it stored.
        self.deps.store.delete_prefix(&Track::storage_prefix(id)).await?;
        self.deps.tracks.delete_track(id).await?;
        tracing::info!(track = %id, by = %caller.user_id, "track deleted");
        Ok(())
    }

    /// Signed URLs of a ready track's renditions. The original is offered only when the artist
    /// allows downloads (or to the artist).
    pub async fn stream(
        &self,
        viewer: Option<&Principal>,
        id: TrackId,
        link: Option<&str>,
    ) -> Result<StreamInfo, CoreError> {
        let track = self.track(viewer, id, link).await?;
        let is_owner = viewer.is_some_and(|p| p.user_id == track.owner_id);
        let mut offered = Vec::new();
        if track.state == TrackState::Ready {
            offered.extend([Rendition::HlsAac, Rendition::HlsOpus, Rendition::Mp3, Rendition::Preview]);
            if track.has_cover {
                offered.push(Rendition::Cover);
            }
        }
        if track.downloadable || is_owner {
            offered.push(Rendition::Original);
        }
        if offered.is_empty() || (track.state != TrackState::Ready && !is_owner) {
            return Err(CoreError::NotReady(match track.state {
                TrackState::Processing => "the track is still processing; try again when it is ready",
                _ => "the track failed to process and cannot be played",
            }));
        }
        let expires_at = self.deps.clock.now() + self.deps.policy.url_ttl;
        let renditions =
            offered.into_iter().map(|r| (r, self.deps.signer.sign(id, r, expires_at, &r.entry(&track)))).collect();
        Ok(StreamInfo { track, expires_at, renditions })
    }

    /// The waveform of a ready track: audiowaveform's JSON, or the fixed-width summary.
    pub async fn waveform(
        &self,
        viewer: Option<&Principal>,
        id: TrackId,
        link: Option<&str>,
        summary: bool,
    ) -> Result<Vec<u8>, CoreError> {
        let track = self.track(viewer, id, link).await?;
        if track.state != TrackState::Ready {
            return Err(CoreError::NotReady("the waveform is computed while the track processes; it is not ready yet"));
        }
        Ok(self.deps.store.read(&renditions::waveform_key(id, summary)).await?)
    }

    /// Opens the media file a signed path names (the part after `/media/`).
    pub async fn open_media(&self, path: &str, range: Option<ByteRange>) -> Result<MediaReply, CoreError> {
        let path = MediaPath::parse(path)?;
        let now = self.deps.clock.now();
        self.deps.signer.verify(&path, now)?;
        let key = path.rendition.key(path.track, &path.file);
        let content_type = renditions::content_type(&path.file);
        let playlist = path.file.ends_with(".m3u8");
        // Playlists stay on this server: their relative URIs must resolve against a signed path.
        if self.deps.policy.redirect_to_store && !playlist {
            // The store's URL lasts no longer than the signed path it stands for.
            let left = u64::try_from(path.expires - now.unix_timestamp()).unwrap_or(0).max(1);
            if let Some(url) = self.deps.store.presigned_get(&key, Duration::from_secs(left)).await? {
                return Ok(MediaReply::Redirect(url));
            }
        }
        let read = self.deps.store.open(&key, range).await?;
        Ok(MediaReply::Object { read, content_type, immutable: !playlist })
    }

    /// The track, when `caller` owns it (or `overrides` owning it); otherwise as if it did not
    /// exist, or `refusal` when they may see it.
    async fn owned(
        &self,
        caller: &Principal,
        id: TrackId,
        overrides: bool,
        refusal: &'static str,
    ) -> Result<Track, CoreError> {
        let track = self.deps.tracks.track(id).await?.ok_or(CoreError::NotFound("track"))?;
        if track.owner_id == caller.user_id || overrides {
            return Ok(track);
        }
        Err(if track.visible_to(Some(caller.user_id), None) {
            CoreError::Forbidden(refusal)
        } else {
            CoreError::NotFound("track")
        })
    }
}

/// The secret of a track's link: 128 random bits, base64url.
pub(crate) fn share_token() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
