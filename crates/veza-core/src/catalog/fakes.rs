//! In-memory implementations of the catalog's ports, for the core's tests and as the reference
//! the storage contract suite checks the SQL adapter against.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::catalog::job::{Claim, Finished, Job, JobId, NewJob, Outcome};
use crate::catalog::media::{
    ByteRange, Listed, MediaError, MediaPipeline, ObjectInfo, ObjectRead, ObjectStore, Probe, Processed,
    ProgressReport, StorageError,
};
use crate::catalog::renditions::{self, Rendition};
use crate::catalog::track::{Loudness, Track, TrackPatch, TrackState, Visibility};
use crate::catalog::JobWake;
use crate::id::{CommentId, PlaylistId, PlaylistItemId};
use crate::id::{TrackId, UserId};
use crate::page::PageRequest;
use crate::ports::{CommentRepo, JobQueue, PlaylistRepo, ReactionRepo, StoreResult, TrackRepo};
use crate::social::comments::{Comment, CommentCursor, CommentOrder, CommentPosted};
use crate::social::playlist::{slot, spaced, Added, Playlist, PlaylistItem, PlaylistPatch, ITEMS_MAX};
use crate::social::reactions::Target;
use crate::social::{Edge, Linked};

#[derive(Debug, Clone)]
struct QueuedJob {
    id: JobId,
    track_id: TrackId,
    attempts: u32,
    next_attempt_at: OffsetDateTime,
    lease_until: Option<OffsetDateTime>,
    done: bool,
    last_error: Option<String>,
}

/// A like or a repost.
#[derive(Debug, Clone)]
struct Reaction {
    id: i64,
    user: UserId,
    target: Target,
    caption: Option<String>,
    at: OffsetDateTime,
}

#[derive(Debug, Default)]
struct Catalog {
    tracks: BTreeMap<TrackId, Track>,
    jobs: Vec<QueuedJob>,
    likes: Vec<Reaction>,
    reposts: Vec<Reaction>,
    comments: Vec<Comment>,
    playlists: BTreeMap<PlaylistId, Playlist>,
    /// (item, playlist, track, position, added by, at)
    items: Vec<(PlaylistItemId, PlaylistId, TrackId, i64, UserId, OffsetDateTime)>,
}

/// Tracks and jobs in one lock, so each call is atomic like a transaction.
#[derive(Debug, Default, Clone)]
pub struct MemoryCatalog(Arc<Mutex<Catalog>>);

impl MemoryCatalog {
    /// The lease of the job of `track` (for tests watching renewals).
    pub fn lease_of(&self, track: TrackId) -> Option<OffsetDateTime> {
        self.state().jobs.iter().find(|j| j.track_id == track).and_then(|j| j.lease_until)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Catalog> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl TrackRepo for MemoryCatalog {
    async fn create_track(&self, track: &Track, job: &NewJob) -> StoreResult<()> {
        let mut s = self.state();
        s.tracks.insert(track.id, track.clone());
        s.jobs.push(QueuedJob {
            id: job.id,
            track_id: job.track_id,
            attempts: 0,
            next_attempt_at: track.created_at,
            lease_until: None,
            done: false,
            last_error: None,
        });
        Ok(())
    }

    async fn track(&self, id: TrackId) -> StoreResult<Option<Track>> {
        Ok(self.state().tracks.get(&id).cloned())
    }

    async fn tracks_by_owner(&self, owner: UserId, all: bool, page: PageRequest) -> StoreResult<Vec<Track>> {
        Ok(self
            .state()
            .tracks
            .values()
            .rev()
            .filter(|t| t.owner_id == owner && (all || t.visibility == Visibility::Public))
            .filter(|t| page.before.is_none_or(|b| t.id.0 < b))
            .take(page.limit as usize + 1)
            .cloned()
            .collect())
    }

    async fn update_track(&self, id: TrackId, patch: &TrackPatch, now: OffsetDateTime) -> StoreResult<Option<Track>> {
        let mut s = self.state();
        let Some(t) = s.tracks.get_mut(&id) else { return Ok(None) };
        if let Some(v) = &patch.title {
            t.title.clone_from(v);
        }
        if let Some(v) = &patch.description {
            t.description.clone_from(v);
        }
        if let Some(v) = &patch.genre {
            t.genre.clone_from(v);
        }
        if let Some(v) = &patch.tags {
            t.tags.clone_from(v);
        }
        if let Some(v) = patch.visibility {
            t.visibility = v;
        }
        if let Some(v) = patch.downloadable {
            t.downloadable = v;
        }
        if let Some(v) = patch.comments_closed {
            t.comments_closed = v;
        }
        t.updated_at = now;
        Ok(Some(t.clone()))
    }

    async fn delete_track(&self, id: TrackId) -> StoreResult<bool> {
        let mut s = self.state();
        s.jobs.retain(|j| j.track_id != id);
        s.likes.retain(|l| l.target != Target::Track(id));
        s.reposts.retain(|r| r.target != Target::Track(id));
        s.comments.retain(|c| c.track_id != id);
        s.items.retain(|i| i.2 != id);
        Ok(s.tracks.remove(&id).is_some())
    }

    async fn public_track_counts(&self, owners: &[UserId]) -> StoreResult<Vec<(UserId, u64)>> {
        let s = self.state();
        Ok(owners
            .iter()
            .map(|&o| {
                let public = s.tracks.values().filter(|t| t.owner_id == o && t.visibility == Visibility::Public);
                (o, public.count() as u64)
            })
            .collect())
    }

    async fn track_progress(&self, claim: Claim, id: TrackId, percent: u8) -> StoreResult<()> {
        let mut s = self.state();
        if s.held(claim).is_none() {
            return Ok(());
        }
        if let Some(t) = s.tracks.get_mut(&id).filter(|t| t.state == TrackState::Processing) {
            t.progress = percent;
        }
        Ok(())
    }

    async fn finish_track(
        &self,
        claim: Claim,
        id: TrackId,
        outcome: &Outcome,
        now: OffsetDateTime,
    ) -> StoreResult<Finished> {
        let mut s = self.state();
        let Some(j) = s.held(claim) else {
            let gone = !s.jobs.iter().any(|j| j.id == claim.job);
            return Ok(if gone { Finished::TrackGone } else { Finished::Fenced });
        };
        j.done = true;
        j.lease_until = None;
        let Some(t) = s.tracks.get_mut(&id) else { return Ok(Finished::TrackGone) };
        match outcome {
            Outcome::Ready { duration_ms, loudness } => {
                t.state = TrackState::Ready;
                t.progress = 100;
                t.failure = None;
                t.duration_ms = *duration_ms;
                t.loudness = Some(*loudness);
            }
            Outcome::Failed { reason } => {
                t.state = TrackState::Failed;
                t.failure = Some(reason.clone());
            }
        }
        t.updated_at = now;
        Ok(Finished::Done(Box::new(t.clone())))
    }
}

impl Catalog {
    /// The job `claim` still holds: unfinished and at the claim's attempt.
    fn held(&mut self, claim: Claim) -> Option<&mut QueuedJob> {
        self.jobs.iter_mut().find(|j| j.id == claim.job && j.attempts == claim.attempt && !j.done)
    }
}

#[async_trait]
impl JobQueue for MemoryCatalog {
    async fn claim_job(&self, now: OffsetDateTime, lease_until: OffsetDateTime) -> StoreResult<Option<Job>> {
        let mut s = self.state();
        let due = s
            .jobs
            .iter_mut()
            .filter(|j| !j.done && j.next_attempt_at <= now && j.lease_until.is_none_or(|l| l < now))
            .min_by_key(|j| (j.next_attempt_at, j.id.0));
        Ok(due.map(|j| {
            j.attempts += 1;
            j.lease_until = Some(lease_until);
            Job { id: j.id, track_id: j.track_id, attempts: j.attempts, last_error: j.last_error.clone() }
        }))
    }

    async fn renew_job(&self, claim: Claim, lease_until: OffsetDateTime) -> StoreResult<bool> {
        let mut s = self.state();
        Ok(s.held(claim).map(|j| j.lease_until = Some(lease_until)).is_some())
    }

    async fn retry_job(&self, claim: Claim, at: OffsetDateTime, error: &str) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(j) = s.held(claim) else { return Ok(false) };
        j.next_attempt_at = at;
        j.lease_until = None;
        j.last_error = Some(error.to_owned());
        Ok(true)
    }
}

/// Objects in memory, keyed like the real stores, each with when it was written (the real
/// time: the fake has no clock; [`MemoryObjects::written_at`] sets it).
#[derive(Debug, Default, Clone)]
pub struct MemoryObjects(Arc<Mutex<BTreeMap<String, Stored>>>);

/// An object's bytes and when they were written.
type Stored = (Vec<u8>, OffsetDateTime);

impl MemoryObjects {
    pub fn keys(&self) -> Vec<String> {
        self.0.lock().unwrap().keys().cloned().collect()
    }

    /// Makes the objects under `prefix` look written at `at` (the fake has no clock of its own).
    pub fn written_at(&self, prefix: &str, at: OffsetDateTime) {
        for (key, (_, written)) in self.0.lock().unwrap().iter_mut() {
            if key.starts_with(prefix) {
                *written = at;
            }
        }
    }
}

#[async_trait]
impl ObjectStore for MemoryObjects {
    async fn put_file(&self, key: &str, file: &Path) -> Result<(), StorageError> {
        let bytes = std::fs::read(file).map_err(|e| StorageError::Unavailable(e.to_string()))?;
        self.put_bytes(key, bytes).await
    }

    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.0.lock().unwrap().insert(key.to_owned(), (bytes, OffsetDateTime::now_utc()));
        Ok(())
    }

    async fn fetch_to_file(&self, key: &str, file: &Path) -> Result<(), StorageError> {
        let bytes = self.read(key).await?;
        std::fs::write(file, bytes).map_err(|e| StorageError::Unavailable(e.to_string()))
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let objects = self.0.lock().unwrap();
        objects.get(key).map(|(bytes, _)| bytes.clone()).ok_or_else(|| StorageError::NotFound(key.to_owned()))
    }

    async fn open(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectRead, StorageError> {
        let bytes = self.read(key).await?;
        let size = bytes.len() as u64;
        let range = ByteRange::part_of(range, size)?;
        let part = bytes::Bytes::copy_from_slice(&bytes[range.start as usize..range.end as usize]);
        let body = Box::pin(futures_util_once(part));
        Ok(ObjectRead { info: ObjectInfo { size, last_modified: OffsetDateTime::UNIX_EPOCH, etag: None }, range, body })
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        self.0.lock().unwrap().retain(|k, _| !k.starts_with(prefix));
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StorageError> {
        let objects = self.0.lock().unwrap();
        let listed = objects.iter().filter(|(k, _)| k.starts_with(prefix));
        Ok(listed.map(|(key, (_, modified))| Listed { key: key.clone(), modified: *modified }).collect())
    }

    /// A pretend presigned URL that says how long it lasts, for tests of what asks for one.
    async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<Option<String>, StorageError> {
        Ok(Some(format!("memory:{key}?expires-in={}", ttl.as_secs())))
    }
}

/// A one-item stream, without pulling in a stream library for the fakes.
fn futures_util_once(bytes: bytes::Bytes) -> impl futures_core::Stream<Item = std::io::Result<bytes::Bytes>> + Send {
    struct Once(Option<bytes::Bytes>);
    impl futures_core::Stream for Once {
        type Item = std::io::Result<bytes::Bytes>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.take().map(Ok))
        }
    }
    Once(Some(bytes))
}

/// What the fake pipeline does with the next file it processes.
#[derive(Debug, Clone)]
pub enum FakeOutcome {
    Succeed,
    Fail(fn(String) -> MediaError),
    /// Waits, after reporting progress and storing a first file, for the test's gate, then
    /// fails with its error or succeeds: a run that stalls, then crashes or finishes.
    Await(Gate),
}

/// What a [`Gate`] hands the run to await.
pub type GateFuture = Pin<Box<dyn Future<Output = Result<(), MediaError>> + Send>>;

/// A point a test holds a fake run at: each call gives the future the run awaits.
#[derive(Clone)]
pub struct Gate(pub Arc<dyn Fn() -> GateFuture + Send + Sync>);

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// A media pipeline that reads a tiny text format instead of audio: a staged file whose text is
/// `audio <format> <duration_ms>` probes as that format; anything else is refused. Processing
/// writes one placeholder object per rendition (for the core's tests only; the real pipeline is
/// `veza-media`'s, tested with ffmpeg).
#[derive(Debug, Clone)]
pub struct FakePipeline {
    pub store: MemoryObjects,
    pub next: Arc<Mutex<Vec<FakeOutcome>>>,
}

impl FakePipeline {
    pub fn new(store: MemoryObjects) -> Self {
        Self { store, next: Arc::default() }
    }

    /// Queues what the next `process` calls do (default: succeed).
    pub fn then(&self, outcome: FakeOutcome) {
        self.next.lock().unwrap().push(outcome);
    }
}

#[async_trait]
impl MediaPipeline for FakePipeline {
    async fn probe(&self, file: &Path) -> Result<Probe, MediaError> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut words = text.split_whitespace();
        let (Some("audio"), Some(format), Some(duration)) = (words.next(), words.next(), words.next()) else {
            return Err(MediaError::Unsupported("not an audio file".into()));
        };
        let format = crate::catalog::track::AudioFormat::parse(format)
            .ok_or_else(|| MediaError::Unsupported(format!("{format} is not accepted")))?;
        let duration_ms = duration.parse().map_err(|_| MediaError::Undecodable("bad duration".into()))?;
        Ok(Probe { format, duration_ms, sample_rate: 44_100, channels: 2, tags: Default::default() })
    }

    async fn process(
        &self,
        track: TrackId,
        original_key: &str,
        expected_duration_ms: u64,
        _has_cover: bool,
        progress: &dyn ProgressReport,
    ) -> Result<Processed, MediaError> {
        self.store.read(original_key).await?;
        let outcome = {
            let mut next = self.next.lock().unwrap();
            if next.is_empty() {
                FakeOutcome::Succeed
            } else {
                next.remove(0)
            }
        };
        progress.report(50).await;
        // Something is stored before the outcome is known, as with a real partial failure.
        self.store.put_bytes(&Rendition::HlsAac.key(track, "master.m3u8"), b"#EXTM3U\n".to_vec()).await?;
        match outcome {
            FakeOutcome::Fail(make) => return Err(make("the fake pipeline was told to fail".into())),
            FakeOutcome::Await(gate) => (gate.0)().await?,
            FakeOutcome::Succeed => {}
        }
        self.store.put_bytes(&renditions::waveform_key(track, false), b"{\"version\":2}".to_vec()).await?;
        self.store.put_bytes(&renditions::waveform_key(track, true), b"{\"samples\":[]}".to_vec()).await?;
        Ok(Processed {
            duration_ms: expected_duration_ms,
            loudness: Loudness { integrated_lufs: -20.0, true_peak_dbtp: -6.0 },
        })
    }
}

/// Counts wake-ups.
#[derive(Debug, Default)]
pub struct CountingWake(pub std::sync::atomic::AtomicUsize);

impl JobWake for CountingWake {
    fn wake(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Which list of reactions a call works on, and the counter it moves.
#[derive(Clone, Copy)]
enum Kind {
    Like,
    Repost,
}

impl Catalog {
    fn reactions(&mut self, kind: Kind) -> &mut Vec<Reaction> {
        match kind {
            Kind::Like => &mut self.likes,
            Kind::Repost => &mut self.reposts,
        }
    }

    fn exists(&self, target: Target) -> bool {
        match target {
            Target::Track(id) => self.tracks.contains_key(&id),
            Target::Playlist(id) => self.playlists.contains_key(&id),
        }
    }

    fn count(&mut self, kind: Kind, target: Target, up: bool) {
        let n = match (target, kind) {
            (Target::Track(id), Kind::Like) => self.tracks.get_mut(&id).map(|t| &mut t.counts.likes),
            (Target::Track(id), Kind::Repost) => self.tracks.get_mut(&id).map(|t| &mut t.counts.reposts),
            (Target::Playlist(id), Kind::Like) => self.playlists.get_mut(&id).map(|p| &mut p.likes),
            (Target::Playlist(id), Kind::Repost) => self.playlists.get_mut(&id).map(|p| &mut p.reposts),
        };
        if let Some(n) = n {
            *n = if up { *n + 1 } else { n.saturating_sub(1) };
        }
    }

    fn react(&mut self, kind: Kind, r: Reaction) -> Linked {
        if !self.exists(r.target) {
            return Linked::Gone;
        }
        let target = r.target;
        if let Some(old) = self.reactions(kind).iter_mut().find(|o| o.user == r.user && o.target == r.target) {
            old.caption = r.caption;
            return Linked::Already;
        }
        self.reactions(kind).push(r);
        self.count(kind, target, true);
        Linked::Made
    }

    fn unreact(&mut self, kind: Kind, user: UserId, target: Target) -> bool {
        let list = self.reactions(kind);
        let before = list.len();
        list.retain(|r| !(r.user == user && r.target == target));
        let removed = list.len() < before;
        if removed {
            self.count(kind, target, false);
        }
        removed
    }

    /// `user`'s reactions of this kind that `viewer` may see, newest first, as `pick` finds
    /// their targets.
    fn reacted<T: Clone>(
        &mut self,
        kind: Kind,
        user: UserId,
        page: PageRequest,
        pick: impl Fn(&Catalog, Target) -> Option<T>,
    ) -> Vec<Edge<T>> {
        let mut list: Vec<Reaction> = self.reactions(kind).iter().filter(|r| r.user == user).cloned().collect();
        list.sort_by_key(|r| std::cmp::Reverse(r.id));
        list.into_iter()
            .filter(|r| page.before.is_none_or(|b| r.id < b))
            .filter_map(|r| {
                pick(self, r.target).map(|item| Edge { id: r.id, item, at: r.at, caption: r.caption.clone() })
            })
            .take(page.limit as usize + 1)
            .collect()
    }

    fn reactors(&mut self, kind: Kind, target: Target, page: PageRequest) -> Vec<Edge<UserId>> {
        let mut list: Vec<Edge<UserId>> = self
            .reactions(kind)
            .iter()
            .filter(|r| r.target == target && page.before.is_none_or(|b| r.id < b))
            .map(|r| Edge { id: r.id, item: r.user, at: r.at, caption: r.caption.clone() })
            .collect();
        list.sort_by_key(|e| std::cmp::Reverse(e.id));
        list.truncate(page.limit as usize + 1);
        list
    }
}

/// Whether `viewer` sees, in `user`'s list, something of `owner`'s with this visibility: public
/// things, their own, and, in their own list, unlisted ones they reached.
fn sees_in_list(visibility: Visibility, owner: UserId, user: UserId, viewer: Option<UserId>) -> bool {
    visibility == Visibility::Public
        || viewer == Some(owner)
        || (viewer == Some(user) && visibility == Visibility::Unlisted)
}

fn track_seen(user: UserId, viewer: Option<UserId>) -> impl Fn(&Catalog, Target) -> Option<Track> {
    move |c, target| match target {
        Target::Track(id) => {
            c.tracks.get(&id).filter(|t| sees_in_list(t.visibility, t.owner_id, user, viewer)).cloned()
        }
        Target::Playlist(_) => None,
    }
}

fn playlist_seen(user: UserId, viewer: Option<UserId>) -> impl Fn(&Catalog, Target) -> Option<Playlist> {
    move |c, target| match target {
        Target::Playlist(id) => c
            .playlists
            .get(&id)
            .filter(|p| sees_in_list(p.visibility, p.owner_id, user, viewer) || viewer.is_some_and(|v| p.may_edit(v)))
            .map(|p| c.counted(p.clone())),
        Target::Track(_) => None,
    }
}

#[async_trait]
impl ReactionRepo for MemoryCatalog {
    async fn like(&self, id: i64, user: UserId, target: Target, at: OffsetDateTime) -> StoreResult<Linked> {
        Ok(self.state().react(Kind::Like, Reaction { id, user, target, caption: None, at }))
    }

    async fn unlike(&self, user: UserId, target: Target) -> StoreResult<bool> {
        Ok(self.state().unreact(Kind::Like, user, target))
    }

    async fn liked_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>> {
        Ok(self.state().reacted(Kind::Like, user, page, track_seen(user, viewer)))
    }

    async fn liked_playlists(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Playlist>>> {
        Ok(self.state().reacted(Kind::Like, user, page, playlist_seen(user, viewer)))
    }

    async fn likers(&self, target: Target, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        Ok(self.state().reactors(Kind::Like, target, page))
    }

    async fn repost(
        &self,
        id: i64,
        user: UserId,
        target: Target,
        caption: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<Linked> {
        Ok(self.state().react(Kind::Repost, Reaction { id, user, target, caption: caption.map(str::to_owned), at }))
    }

    async fn unrepost(&self, user: UserId, target: Target) -> StoreResult<bool> {
        Ok(self.state().unreact(Kind::Repost, user, target))
    }

    async fn reposted_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>> {
        Ok(self.state().reacted(Kind::Repost, user, page, track_seen(user, viewer)))
    }

    async fn reposted_playlists(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Playlist>>> {
        Ok(self.state().reacted(Kind::Repost, user, page, playlist_seen(user, viewer)))
    }

    async fn reposters(&self, target: Target, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>> {
        Ok(self.state().reactors(Kind::Repost, target, page))
    }
}

#[async_trait]
impl CommentRepo for MemoryCatalog {
    async fn post_comment(&self, comment: &Comment) -> StoreResult<CommentPosted> {
        let mut s = self.state();
        match s.tracks.get(&comment.track_id) {
            None => return Ok(CommentPosted::TrackGone),
            Some(t) if t.comments_closed => return Ok(CommentPosted::Closed),
            Some(_) => {}
        }
        if let Some(parent) = comment.reply_to {
            let fits = |c: &Comment| c.id == parent && c.track_id == comment.track_id && c.reply_to.is_none();
            if !s.comments.iter().any(fits) {
                return Ok(CommentPosted::ParentGone);
            }
        }
        s.comments.push(comment.clone());
        if let Some(t) = s.tracks.get_mut(&comment.track_id) {
            t.counts.comments += 1;
        }
        Ok(CommentPosted::Posted)
    }

    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        Ok(self.state().comments.iter().find(|c| c.id == id).cloned())
    }

    async fn comments(&self, track: TrackId, cursor: CommentCursor, limit: u32) -> StoreResult<Vec<Comment>> {
        let s = self.state();
        let mut list: Vec<Comment> = s.comments.iter().filter(|c| c.track_id == track).cloned().collect();
        let order = match cursor {
            CommentCursor::Start(order) => order,
            CommentCursor::After { .. } => CommentOrder::Timeline,
            CommentCursor::Before(_) => CommentOrder::Newest,
        };
        match order {
            CommentOrder::Timeline => list.sort_by_key(|c| (c.at_ms, c.id)),
            CommentOrder::Newest => list.sort_by_key(|c| std::cmp::Reverse(c.id)),
        }
        list.retain(|c| match cursor {
            CommentCursor::Start(_) => true,
            CommentCursor::After { at_ms, id } => (c.at_ms, c.id.0) > (at_ms, id),
            CommentCursor::Before(id) => c.id.0 < id,
        });
        list.truncate(limit as usize + 1);
        Ok(list)
    }

    async fn edit_comment(&self, id: CommentId, body: &str, at: OffsetDateTime) -> StoreResult<Option<Comment>> {
        let mut s = self.state();
        Ok(s.comments.iter_mut().find(|c| c.id == id).map(|c| {
            c.body = body.to_owned();
            c.edited_at = Some(at);
            c.clone()
        }))
    }

    async fn delete_comment(&self, id: CommentId) -> StoreResult<u64> {
        let mut s = self.state();
        let Some(track) = s.comments.iter().find(|c| c.id == id).map(|c| c.track_id) else { return Ok(0) };
        let before = s.comments.len();
        s.comments.retain(|c| c.id != id && c.reply_to != Some(id));
        let gone = (before - s.comments.len()) as u64;
        if let Some(t) = s.tracks.get_mut(&track) {
            t.counts.comments = t.counts.comments.saturating_sub(gone);
        }
        Ok(gone)
    }
}

impl Catalog {
    /// The playlist's items, in order.
    fn ordered(&self, playlist: PlaylistId) -> Vec<(PlaylistItemId, PlaylistId, TrackId, i64, UserId, OffsetDateTime)> {
        let mut items: Vec<_> = self.items.iter().filter(|i| i.1 == playlist).cloned().collect();
        items.sort_by_key(|i| (i.3, i.0));
        items
    }

    /// A position for `index` among the playlist's items other than `moving`, laying them out
    /// again first when there is no room.
    fn position(&mut self, playlist: PlaylistId, moving: Option<PlaylistItemId>, index: usize) -> i64 {
        let others: Vec<_> = self.ordered(playlist).into_iter().filter(|i| Some(i.0) != moving).collect();
        let positions: Vec<i64> = others.iter().map(|i| i.3).collect();
        if let Some(p) = slot(&positions, index) {
            return p;
        }
        let fresh = spaced(others.len());
        for (item, p) in others.iter().zip(&fresh) {
            if let Some(i) = self.items.iter_mut().find(|i| i.0 == item.0) {
                i.3 = *p;
            }
        }
        slot(&fresh, index).unwrap_or(i64::MAX)
    }

    fn counted(&self, mut playlist: Playlist) -> Playlist {
        let public = |i: &&(PlaylistItemId, PlaylistId, TrackId, i64, UserId, OffsetDateTime)| {
            self.tracks.get(&i.2).is_some_and(|t| t.visibility == Visibility::Public)
        };
        playlist.track_count = self.items.iter().filter(|i| i.1 == playlist.id).filter(public).count() as u64;
        playlist
    }
}

#[async_trait]
impl PlaylistRepo for MemoryCatalog {
    async fn create_playlist(&self, playlist: &Playlist) -> StoreResult<()> {
        self.state().playlists.insert(playlist.id, playlist.clone());
        Ok(())
    }

    async fn playlist(&self, id: PlaylistId) -> StoreResult<Option<Playlist>> {
        let s = self.state();
        Ok(s.playlists.get(&id).cloned().map(|p| s.counted(p)))
    }

    async fn update_playlist(
        &self,
        id: PlaylistId,
        patch: &PlaylistPatch,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Playlist>> {
        let mut s = self.state();
        let Some(p) = s.playlists.get_mut(&id) else { return Ok(None) };
        if let Some(v) = &patch.title {
            p.title.clone_from(v);
        }
        if let Some(v) = &patch.description {
            p.description.clone_from(v);
        }
        if let Some(v) = patch.visibility {
            p.visibility = v;
        }
        if let Some(v) = patch.kind {
            p.kind = v;
        }
        p.updated_at = now;
        let p = p.clone();
        Ok(Some(s.counted(p)))
    }

    async fn delete_playlist(&self, id: PlaylistId) -> StoreResult<bool> {
        let mut s = self.state();
        s.items.retain(|i| i.1 != id);
        s.likes.retain(|l| l.target != Target::Playlist(id));
        s.reposts.retain(|r| r.target != Target::Playlist(id));
        Ok(s.playlists.remove(&id).is_some())
    }

    async fn playlists_by_owner(&self, owner: UserId, all: bool, page: PageRequest) -> StoreResult<Vec<Playlist>> {
        let s = self.state();
        Ok(s.playlists
            .values()
            .rev()
            .filter(|p| p.owner_id == owner && (all || p.visibility == Visibility::Public))
            .filter(|p| page.before.is_none_or(|b| p.id.0 < b))
            .take(page.limit as usize + 1)
            .map(|p| s.counted(p.clone()))
            .collect())
    }

    async fn playlist_items(&self, id: PlaylistId) -> StoreResult<Vec<PlaylistItem>> {
        let s = self.state();
        Ok(s.ordered(id)
            .into_iter()
            .filter_map(|i| {
                let track = s.tracks.get(&i.2)?.clone();
                Some(PlaylistItem { id: i.0, track, added_by: i.4, added_at: i.5 })
            })
            .collect())
    }

    async fn add_item(
        &self,
        playlist: PlaylistId,
        item: PlaylistItemId,
        track: TrackId,
        index: Option<usize>,
        by: UserId,
        at: OffsetDateTime,
    ) -> StoreResult<Added> {
        let mut s = self.state();
        if !s.playlists.contains_key(&playlist) {
            return Ok(Added::PlaylistGone);
        }
        let Some(t) = s.tracks.get(&track).cloned() else { return Ok(Added::TrackGone) };
        let present = s.ordered(playlist);
        if present.iter().any(|i| i.2 == track) {
            return Ok(Added::Duplicate);
        }
        if present.len() >= ITEMS_MAX {
            return Ok(Added::Full);
        }
        let position = s.position(playlist, None, index.unwrap_or(usize::MAX));
        s.items.push((item, playlist, track, position, by, at));
        Ok(Added::Added(Box::new(PlaylistItem { id: item, track: t, added_by: by, added_at: at })))
    }

    async fn move_item(&self, playlist: PlaylistId, item: PlaylistItemId, index: usize) -> StoreResult<bool> {
        let mut s = self.state();
        if !s.items.iter().any(|i| i.0 == item && i.1 == playlist) {
            return Ok(false);
        }
        let position = s.position(playlist, Some(item), index);
        if let Some(i) = s.items.iter_mut().find(|i| i.0 == item) {
            i.3 = position;
        }
        Ok(true)
    }

    async fn remove_item(&self, playlist: PlaylistId, item: PlaylistItemId) -> StoreResult<bool> {
        let mut s = self.state();
        let before = s.items.len();
        s.items.retain(|i| !(i.0 == item && i.1 == playlist));
        Ok(s.items.len() < before)
    }

    async fn set_collaborator(&self, playlist: PlaylistId, user: UserId, on: bool, max: usize) -> StoreResult<bool> {
        let mut s = self.state();
        let Some(p) = s.playlists.get_mut(&playlist) else { return Ok(false) };
        let present = p.collaborators.contains(&user);
        Ok(match (on, present) {
            (true, false) if p.collaborators.len() < max => {
                p.collaborators.push(user);
                p.collaborators.sort();
                true
            }
            (false, true) => {
                p.collaborators.retain(|c| *c != user);
                true
            }
            _ => false,
        })
    }
}
