//! The catalog's use cases on the in-memory fakes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::accounts::{Credential, Principal};
use crate::api_key::Scope;
use crate::catalog::fakes::{CountingWake, FakeOutcome, FakePipeline, Gate, MemoryCatalog, MemoryObjects};
use crate::catalog::media::MediaError;
use crate::catalog::processing::{LEASE, MAX_ATTEMPTS};
use crate::catalog::renditions::{MediaSigner, Rendition};
use crate::catalog::track::{TrackForm, TrackState, Visibility};
use crate::catalog::tracks::{MediaReply, StagedFile};
use crate::catalog::{Catalog, CatalogDeps, CatalogPolicy};
use crate::chat::event::ChatEvent;
use crate::clock::{Clock, Timer};
use crate::error::CoreError;
use crate::fakes::{ManualClock, RecordedEvents, SequentialIds};
use crate::id::{ApiKeyId, SessionId, TrackId, UserId};
use crate::page::PageRequest;
use crate::ports::JobQueue;
use crate::user::Role;

struct World {
    catalog: Catalog,
    objects: MemoryObjects,
    pipeline: FakePipeline,
    events: RecordedEvents,
    clock: Arc<ManualClock>,
    timer: Arc<TickTimer>,
    jobs: MemoryCatalog,
    wake: Arc<CountingWake>,
    dir: std::path::PathBuf,
}

/// A timer whose sleeps end only when the test ticks it (one sleeper at a time).
#[derive(Debug, Default)]
struct TickTimer(Arc<tokio::sync::Notify>);

impl TickTimer {
    /// Ends the pending sleep (or the next one to start).
    fn tick(&self) {
        self.0.notify_one();
    }
}

impl Timer for TickTimer {
    fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let notify = self.0.clone();
        Box::pin(async move { notify.notified().await })
    }
}

fn world() -> World {
    world_redirecting(false)
}

fn world_redirecting(redirect_to_store: bool) -> World {
    let objects = MemoryObjects::default();
    let pipeline = FakePipeline::new(objects.clone());
    let events = RecordedEvents::default();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()));
    let wake = Arc::new(CountingWake::default());
    let store = MemoryCatalog::default();
    let timer = Arc::new(TickTimer::default());
    let catalog = Catalog::new(CatalogDeps {
        tracks: Arc::new(store.clone()),
        jobs: Arc::new(store.clone()),
        store: Arc::new(objects.clone()),
        media: Arc::new(pipeline.clone()),
        clock: clock.clone(),
        timer: timer.clone(),
        ids: Arc::new(SequentialIds::default()),
        events: Arc::new(events.clone()),
        wake: wake.clone(),
        signer: MediaSigner::new(b"test key"),
        policy: CatalogPolicy { url_ttl: Duration::from_secs(300), redirect_to_store, lease: LEASE },
    });
    let dir = std::env::temp_dir().join(format!("veza-core-catalog-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    World { catalog, objects, pipeline, events, clock, timer, jobs: store, wake, dir }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn person(id: i64) -> Principal {
    Principal { user_id: UserId(id), role: Role::User, credential: Credential::Session(SessionId(id)) }
}

impl World {
    async fn upload(
        &self,
        who: &Principal,
        content: &str,
        form: TrackForm,
    ) -> Result<crate::catalog::track::Track, CoreError> {
        let path = self.dir.join(format!("{}.part", rand::random::<u64>()));
        std::fs::write(&path, content).unwrap();
        let staged = StagedFile { path: &path, size: content.len() as u64, file_name: "My Song.flac" };
        self.catalog.upload(who, form, staged).await
    }
}

#[tokio::test]
async fn an_upload_is_processed_into_a_ready_track_and_announced() {
    let w = world();
    let artist = person(1);
    let track = w.upload(&artist, "audio flac 5000", TrackForm::default()).await.expect("accepted");
    assert_eq!(track.title, "My Song", "the file name stands in for a missing title");
    assert_eq!(track.state, TrackState::Processing);
    assert_eq!(w.wake.0.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert!(w.objects.keys().contains(&format!("tracks/{}/original/original.flac", track.id)));

    assert!(w.catalog.run_next_job().await.unwrap());
    assert!(!w.catalog.run_next_job().await.unwrap(), "the job is done");
    let ready = w.catalog.track(Some(&artist), track.id, None).await.unwrap();
    assert_eq!((ready.state, ready.progress), (TrackState::Ready, 100));
    assert_eq!(ready.loudness.unwrap().gain_db(), 5.0);
    assert_eq!(
        w.events.take(),
        [ChatEvent::TrackProcessed {
            owner_id: artist.user_id,
            track_id: track.id,
            state: TrackState::Ready,
            failure: None
        }]
    );

    let stream = w.catalog.stream(None, track.id, None).await.unwrap();
    let offered: Vec<_> = stream.renditions.iter().map(|(r, _)| *r).collect();
    assert_eq!(offered, [Rendition::HlsAac, Rendition::HlsOpus, Rendition::Mp3, Rendition::Preview]);
    let (_, master) = &stream.renditions[0];
    let reply = w.catalog.open_media(master.strip_prefix("/media/").unwrap(), None).await.unwrap();
    assert!(matches!(reply, MediaReply::Object { immutable: false, .. }), "playlists are not immutable");
    w.clock.advance(time::Duration::minutes(6));
    let expired = w.catalog.open_media(master.strip_prefix("/media/").unwrap(), None).await;
    assert!(matches!(expired, Err(CoreError::Forbidden(_))));
}

#[tokio::test]
async fn content_decides_the_format_and_bad_files_are_refused() {
    let w = world();
    let artist = person(1);
    let text = w.upload(&artist, "just some text", TrackForm::default()).await;
    assert!(matches!(text, Err(CoreError::UnsupportedMedia(_))), "{text:?}");
    let empty = w.upload(&artist, "", TrackForm::default()).await;
    assert!(matches!(empty, Err(CoreError::Validation(_))), "{empty:?}");
    assert!(w.objects.keys().is_empty(), "nothing refused is stored");
}

#[tokio::test]
async fn crashes_are_retried_with_backoff_then_fail_leaving_only_the_original() {
    let w = world();
    let artist = person(1);
    let track = w.upload(&artist, "audio mp3 1000", TrackForm::default()).await.unwrap();
    for _ in 0..MAX_ATTEMPTS {
        w.pipeline.then(FakeOutcome::Fail(MediaError::Tool));
    }
    assert!(w.catalog.run_next_job().await.unwrap());
    assert!(!w.catalog.run_next_job().await.unwrap(), "waiting out the backoff");
    for _ in 1..MAX_ATTEMPTS {
        w.clock.advance(time::Duration::hours(1));
        assert!(w.catalog.run_next_job().await.unwrap());
    }
    let failed = w.catalog.track(Some(&artist), track.id, None).await.unwrap();
    assert_eq!(failed.state, TrackState::Failed);
    assert!(failed.failure.unwrap().contains("told to fail"));
    assert_eq!(w.objects.keys(), [format!("tracks/{}/original/original.mp3", track.id)]);
    // The owner may still fetch the original; listeners get a clear refusal.
    let stream = w.catalog.stream(Some(&artist), track.id, None).await.unwrap();
    assert_eq!(stream.renditions.len(), 1);
    assert!(matches!(w.catalog.stream(None, track.id, None).await, Err(CoreError::NotReady(_))));
}

#[tokio::test]
async fn undecodable_audio_fails_at_once() {
    let w = world();
    let track = w.upload(&person(1), "audio wav 1000", TrackForm::default()).await.unwrap();
    w.pipeline.then(FakeOutcome::Fail(MediaError::Undecodable));
    assert!(w.catalog.run_next_job().await.unwrap());
    let t = w.catalog.track(Some(&person(1)), track.id, None).await.unwrap();
    assert_eq!(t.state, TrackState::Failed);
    assert_eq!(w.events.take().len(), 1);
}

#[tokio::test]
async fn private_and_unlisted_tracks_hide_from_others() {
    let w = world();
    let artist = person(1);
    let private = TrackForm { visibility: Some(Visibility::Private), ..TrackForm::default() };
    let unlisted = TrackForm { visibility: Some(Visibility::Unlisted), ..TrackForm::default() };
    let p = w.upload(&artist, "audio flac 10", private).await.unwrap();
    let u = w.upload(&artist, "audio flac 10", unlisted).await.unwrap();
    let public = w.upload(&artist, "audio flac 10", TrackForm::default()).await.unwrap();
    let other = person(2);
    assert!(matches!(w.catalog.track(Some(&other), p.id, None).await, Err(CoreError::NotFound(_))));
    assert!(matches!(w.catalog.track(None, u.id, None).await, Err(CoreError::NotFound(_))));
    w.catalog.track(None, u.id, Some(&u.share_token)).await.expect("the link opens it");
    let theirs =
        w.catalog.tracks_by(Some(&other), artist.user_id, PageRequest { before: None, limit: 10 }).await.unwrap();
    assert_eq!(theirs.items.iter().map(|t| t.id).collect::<Vec<_>>(), [public.id]);
    let mine =
        w.catalog.tracks_by(Some(&artist), artist.user_id, PageRequest { before: None, limit: 2 }).await.unwrap();
    assert_eq!(mine.items.len(), 2);
    assert!(mine.next_cursor.is_some());
    // Someone else cannot change or delete it; for a private track it does not even exist.
    let edit = TrackForm { title: Some("mine now".into()), ..TrackForm::default() };
    assert!(matches!(w.catalog.update(&other, public.id, edit.clone()).await, Err(CoreError::Forbidden(_))));
    assert!(matches!(w.catalog.update(&other, p.id, edit).await, Err(CoreError::NotFound(_))));
    assert!(matches!(w.catalog.delete(&other, p.id).await, Err(CoreError::NotFound(_))));
}

#[tokio::test]
async fn deleting_removes_every_file_and_a_late_worker_cleans_up_after_itself() {
    let w = world();
    let artist = person(1);
    let track = w.upload(&artist, "audio flac 10", TrackForm::default()).await.unwrap();
    w.catalog.delete(&artist, track.id).await.unwrap();
    assert!(w.objects.keys().is_empty());
    assert!(!w.catalog.run_next_job().await.unwrap(), "the job went with the track");
    assert!(matches!(w.catalog.track(Some(&artist), track.id, None).await, Err(CoreError::NotFound(_))));
}

#[tokio::test]
async fn api_keys_need_the_track_scopes() {
    let w = world();
    let key = Principal {
        user_id: UserId(1),
        role: Role::User,
        credential: Credential::ApiKey { id: ApiKeyId(5), scopes: vec![Scope::TracksRead] },
    };
    let refused = w.upload(&key, "audio flac 10", TrackForm::default()).await;
    assert!(matches!(refused, Err(CoreError::MissingScope("tracks:write"))), "{refused:?}");
    assert!(matches!(w.catalog.track(Some(&key), TrackId(1), None).await, Err(CoreError::NotFound(_))));
}

/// A gate a test opens: the run reaching it is told (`reached`), and goes on as `open` says.
struct Held {
    reached: Arc<tokio::sync::Notify>,
    open: Arc<tokio::sync::Notify>,
}

fn held_run(then: fn() -> Result<(), MediaError>) -> (FakeOutcome, Held) {
    let held = Held { reached: Arc::default(), open: Arc::default() };
    let (reached, open) = (held.reached.clone(), held.open.clone());
    let gate = Gate(Arc::new(move || {
        let (reached, open) = (reached.clone(), open.clone());
        Box::pin(async move {
            reached.notify_one();
            open.notified().await;
            then()
        })
    }));
    (FakeOutcome::Await(gate), held)
}

fn ready_event(track: &crate::catalog::track::Track) -> ChatEvent {
    ChatEvent::TrackProcessed { owner_id: track.owner_id, track_id: track.id, state: TrackState::Ready, failure: None }
}

/// Before fencing, a worker whose lease lapsed went on, and its late failure marked the track
/// another worker had made ready as failed and deleted its renditions. Now its writes are
/// refused: the track stays ready, once, with every file.
#[tokio::test]
async fn a_worker_whose_job_was_taken_over_changes_nothing() {
    let w = world();
    let artist = person(1);
    let track = w.upload(&artist, "audio flac 5000", TrackForm::default()).await.unwrap();
    let (stalls, first) = held_run(|| Err(MediaError::Undecodable("a late, stale failure".into())));
    w.pipeline.then(stalls);
    let stale = tokio::spawn({
        let catalog = w.catalog.clone();
        async move { catalog.run_next_job().await }
    });
    first.reached.notified().await;
    // The first worker cannot renew (its timer never fires: a frozen process, a cut network)
    // and its lease runs out; a second worker takes the job and finishes it.
    w.clock.advance(time::Duration::seconds(LEASE.as_secs() as i64 + 1));
    assert!(w.catalog.run_next_job().await.unwrap());
    assert_eq!(w.events.take(), [ready_event(&track)]);
    let files = w.objects.keys();
    assert!(files.iter().any(|k| k.contains("waveform")), "{files:?}");

    first.open.notify_one();
    assert!(stale.await.unwrap().unwrap(), "the stale run ends quietly");
    let t = w.catalog.track(Some(&artist), track.id, None).await.unwrap();
    assert_eq!((t.state, t.progress, t.failure), (TrackState::Ready, 100, None));
    assert_eq!(w.objects.keys(), files, "no file of the winner's was removed");
    assert!(w.events.take().is_empty(), "announced once");
    assert!(!w.catalog.run_next_job().await.unwrap(), "and never run again");
}

/// A stale worker's own timer finds the lease gone at its next renewal and stops the run
/// (dropping it kills ffmpeg) without writing anything.
#[tokio::test]
async fn a_worker_stops_when_its_renewal_finds_the_job_taken_over() {
    let w = world();
    let track = w.upload(&person(1), "audio flac 5000", TrackForm::default()).await.unwrap();
    let (never, first) = held_run(|| Ok(()));
    w.pipeline.then(never);
    let stale = tokio::spawn({
        let catalog = w.catalog.clone();
        async move { catalog.run_next_job().await }
    });
    first.reached.notified().await;
    w.clock.advance(time::Duration::seconds(LEASE.as_secs() as i64 + 1));
    assert!(w.catalog.run_next_job().await.unwrap());
    assert_eq!(w.events.take(), [ready_event(&track)]);
    w.timer.tick();
    assert!(stale.await.unwrap().unwrap(), "the run is dropped, never released from its gate");
    assert!(w.events.take().is_empty());
}

/// The lease is renewed on the timer for as long as the run lasts, progress or none: a silent
/// run longer than many leases is never handed to a second worker.
#[tokio::test]
async fn a_live_worker_keeps_its_lease_through_a_silent_run() {
    let w = world();
    let artist = person(1);
    let track = w.upload(&artist, "audio flac 5000", TrackForm::default()).await.unwrap();
    let (silent, run) = held_run(|| Ok(()));
    w.pipeline.then(silent);
    let worker = tokio::spawn({
        let catalog = w.catalog.clone();
        async move { catalog.run_next_job().await }
    });
    run.reached.notified().await;
    for _ in 0..12 {
        // A quarter of the lease passes, and the worker's timer fires: it renews.
        w.clock.advance(time::Duration::seconds(LEASE.as_secs() as i64 / 4));
        let before = w.jobs.lease_of(track.id);
        w.timer.tick();
        while w.jobs.lease_of(track.id) == before {
            tokio::task::yield_now().await;
        }
        let now = w.clock.now();
        assert_eq!(w.jobs.claim_job(now, now).await.unwrap(), None, "the job is still held");
    }
    run.open.notify_one();
    assert!(worker.await.unwrap().unwrap());
    assert_eq!(w.events.take(), [ready_event(&track)]);
}

/// A store's presigned URL lasts as long as the signed path it stands for has left, not a fresh
/// full TTL: a link about to expire cannot be turned into a longer-lived one.
#[tokio::test]
async fn a_presigned_url_expires_with_the_signed_path() {
    let w = world_redirecting(true);
    let artist = person(1);
    let track = w.upload(&artist, "audio flac 5000", TrackForm::default()).await.unwrap();
    assert!(w.catalog.run_next_job().await.unwrap());
    let stream = w.catalog.stream(None, track.id, None).await.unwrap();
    let (_, master) = &stream.renditions[0];
    let segment = master.strip_prefix("/media/").unwrap().replace("master.m3u8", "segment.m4s");
    let redirect = |reply| match reply {
        MediaReply::Redirect(url) => url,
        other => panic!("{other:?}"),
    };
    let fresh = redirect(w.catalog.open_media(&segment, None).await.unwrap());
    assert!(fresh.ends_with("?expires-in=300"), "{fresh}");
    w.clock.advance(time::Duration::seconds(290));
    let late = redirect(w.catalog.open_media(&segment, None).await.unwrap());
    assert!(late.ends_with("?expires-in=10"), "{late}");
}

/// Files of tracks that do not exist (a failed upload, a deletion whose removal failed) are
/// swept once they are an hour old; a live track's files, and fresh ones, stay.
#[tokio::test]
async fn files_no_track_owns_are_swept_after_the_grace() {
    use crate::catalog::media::ObjectStore;
    let w = world();
    let artist = person(1);
    let kept = w.upload(&artist, "audio flac 5000", TrackForm::default()).await.unwrap();
    assert!(w.catalog.run_next_job().await.unwrap());
    let now = w.clock.now();
    w.objects.written_at("tracks/", now - time::Duration::hours(3));
    w.objects.put_bytes("tracks/777/original/original.flac", b"stray".to_vec()).await.unwrap();
    w.objects.written_at("tracks/777/", now - time::Duration::minutes(59));
    assert_eq!(w.catalog.sweep_orphan_files().await.unwrap(), 0, "too fresh to tell from an upload under way");
    w.objects.written_at("tracks/777/", now - time::Duration::minutes(61));
    w.objects.put_bytes("tracks/778/original/original.flac", b"new".to_vec()).await.unwrap();
    w.objects.written_at("tracks/778/", now);
    assert_eq!(w.catalog.sweep_orphan_files().await.unwrap(), 1);
    let keys = w.objects.keys();
    assert!(!keys.iter().any(|k| k.starts_with("tracks/777/")), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("tracks/778/")), "a fresh one stays: {keys:?}");
    assert!(keys.iter().any(|k| k.starts_with(&format!("tracks/{}/", kept.id))), "the live track's stay: {keys:?}");
}
