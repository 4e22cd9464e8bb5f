//! The catalog's use cases on the in-memory fakes.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::accounts::{Credential, Principal};
use crate::api_key::Scope;
use crate::catalog::fakes::{CountingWake, FakeOutcome, FakePipeline, MemoryCatalog, MemoryObjects};
use crate::catalog::media::MediaError;
use crate::catalog::processing::MAX_ATTEMPTS;
use crate::catalog::renditions::{MediaSigner, Rendition};
use crate::catalog::track::{TrackForm, TrackState, Visibility};
use crate::catalog::tracks::{MediaReply, StagedFile};
use crate::catalog::{Catalog, CatalogDeps, CatalogPolicy};
use crate::chat::event::ChatEvent;
use crate::error::CoreError;
use crate::fakes::{ManualClock, RecordedEvents, SequentialIds};
use crate::id::{ApiKeyId, SessionId, TrackId, UserId};
use crate::page::PageRequest;
use crate::user::Role;

struct World {
    catalog: Catalog,
    objects: MemoryObjects,
    pipeline: FakePipeline,
    events: RecordedEvents,
    clock: Arc<ManualClock>,
    wake: Arc<CountingWake>,
    dir: std::path::PathBuf,
}

fn world() -> World {
    let objects = MemoryObjects::default();
    let pipeline = FakePipeline::new(objects.clone());
    let events = RecordedEvents::default();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()));
    let wake = Arc::new(CountingWake::default());
    let store = MemoryCatalog::default();
    let catalog = Catalog::new(CatalogDeps {
        tracks: Arc::new(store.clone()),
        jobs: Arc::new(store),
        store: Arc::new(objects.clone()),
        media: Arc::new(pipeline.clone()),
        clock: clock.clone(),
        ids: Arc::new(SequentialIds::default()),
        events: Arc::new(events.clone()),
        wake: wake.clone(),
        signer: MediaSigner::new(b"test key"),
        policy: CatalogPolicy { url_ttl: Duration::from_secs(300), redirect_to_store: false },
    });
    let dir = std::env::temp_dir().join(format!("veza-core-catalog-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    World { catalog, objects, pipeline, events, clock, wake, dir }
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
