//! The catalog's part of the repository contract: tracks and the job queue, on the in-memory
//! fakes, SQLite and PostgreSQL (see `tests/contract.rs`).

use time::{Duration, OffsetDateTime};
use veza_core::catalog::job::{JobId, NewJob, Outcome};
use veza_core::catalog::track::{AudioFormat, Loudness, Original, Track, TrackPatch, TrackState, Visibility};
use veza_core::id::{TrackId, UserId};
use veza_core::page::PageRequest;
use veza_core::ports::{JobQueue, TrackRepo};

fn track(id: i64, owner: UserId, visibility: Visibility, at: OffsetDateTime) -> Track {
    Track {
        id: TrackId(id),
        owner_id: owner,
        title: format!("Track {id}"),
        description: "line one\nline two".into(),
        genre: Some("ambient".into()),
        tags: vec!["drone".into(), "field recording".into()],
        artist: Some("Someone".into()),
        album: None,
        year: Some(1999),
        visibility,
        downloadable: true,
        share_token: format!("token-{id}"),
        state: TrackState::Processing,
        progress: 0,
        failure: None,
        original: Original { format: AudioFormat::Flac, size: 123_456_789, file_name: "a b.flac".into() },
        has_cover: true,
        duration_ms: 301_000,
        loudness: None,
        created_at: at,
        updated_at: at,
    }
}

/// Runs the catalog checks; `owner` must be an existing account, and the store must hold no
/// tracks or jobs yet.
pub async fn run_catalog<S: TrackRepo + JobQueue>(s: &S, owner: UserId, now: OffsetDateTime) {
    let first = track(9001, owner, Visibility::Public, now);
    s.create_track(&first, &NewJob { id: JobId(9101), track_id: first.id }).await.expect("create");
    assert_eq!(s.track(first.id).await.expect("read").as_ref(), Some(&first), "a track reads back as written");
    assert_eq!(s.track(TrackId(1)).await.expect("read"), None);

    // Listing: newest first, public ones only unless all, cursor paging.
    for (id, v) in [(9002, Visibility::Private), (9003, Visibility::Unlisted), (9004, Visibility::Public)] {
        let t = track(id, owner, v, now);
        s.create_track(&t, &NewJob { id: JobId(id + 100), track_id: t.id }).await.expect("create");
    }
    let ids = |ts: Vec<Track>| ts.into_iter().map(|t| t.id.0).collect::<Vec<_>>();
    let page = |before, limit| PageRequest { before, limit };
    assert_eq!(ids(s.tracks_by_owner(owner, false, page(None, 10)).await.unwrap()), [9004, 9001]);
    assert_eq!(ids(s.tracks_by_owner(owner, true, page(None, 2)).await.unwrap()), [9004, 9003, 9002], "limit + 1");
    assert_eq!(ids(s.tracks_by_owner(owner, true, page(Some(9003), 10)).await.unwrap()), [9002, 9001]);
    assert!(s.tracks_by_owner(UserId(424242), true, page(None, 10)).await.unwrap().is_empty());

    // Patching writes only what the patch has; clearing the genre works.
    let later = now + Duration::seconds(5);
    let patch = TrackPatch { title: Some("Renamed".into()), genre: Some(None), ..TrackPatch::default() };
    let patched = s.update_track(first.id, &patch, later).await.unwrap().expect("exists");
    assert_eq!((patched.title.as_str(), patched.genre.as_deref()), ("Renamed", None));
    assert_eq!((patched.tags.clone(), patched.updated_at), (first.tags.clone(), later));
    let tags = TrackPatch { tags: Some(vec![]), visibility: Some(Visibility::Private), ..TrackPatch::default() };
    let patched = s.update_track(first.id, &tags, later).await.unwrap().expect("exists");
    assert!(patched.tags.is_empty());
    assert_eq!((patched.title.as_str(), patched.visibility), ("Renamed", Visibility::Private));
    assert_eq!(s.update_track(TrackId(1), &patch, later).await.unwrap(), None);

    // The queue: oldest first, one holder at a time, leases that lapse, retries that wait.
    let lease = now + Duration::minutes(2);
    let job = s.claim_job(now, lease).await.unwrap().expect("a due job");
    assert_eq!((job.id, job.track_id, job.attempts, job.last_error.clone()), (JobId(9101), first.id, 1, None));
    let second = s.claim_job(now, lease).await.unwrap().expect("another");
    assert_ne!(second.id, job.id, "a held job is not handed out twice");
    s.retry_job(second.id, now + Duration::minutes(1), "ffmpeg crashed").await.unwrap();
    for _ in 0..2 {
        s.claim_job(now, lease).await.unwrap().expect("the rest");
    }
    assert_eq!(s.claim_job(now, lease).await.unwrap(), None, "everything is held or waiting");
    let retried = s.claim_job(now + Duration::seconds(90), lease).await.unwrap();
    let retried = retried.expect("due again");
    assert_eq!((retried.id, retried.attempts), (second.id, 2));
    assert_eq!(retried.last_error.as_deref(), Some("ffmpeg crashed"));
    // Progress renews the lease; a lapsed lease frees the job for another worker.
    s.track_progress(job.id, first.id, 40, now + Duration::minutes(30)).await.unwrap();
    assert_eq!(s.track(first.id).await.unwrap().unwrap().progress, 40);
    let after_lease = now + Duration::minutes(20);
    let claimed = s.claim_job(after_lease, after_lease + Duration::minutes(2)).await.unwrap().expect("lapsed ones");
    assert_ne!(claimed.id, job.id, "the renewed lease still holds");

    // Finishing records the outcome and ends the job.
    let loudness = Loudness { integrated_lufs: -17.25, true_peak_dbtp: -0.5 };
    let done = s
        .finish_track(job.id, first.id, &Outcome::Ready { duration_ms: 300_990, loudness }, later)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(
        (done.state, done.progress, done.duration_ms, done.loudness),
        (TrackState::Ready, 100, 300_990, Some(loudness))
    );
    let far = now + Duration::days(1);
    let mut left = Vec::new();
    while let Some(j) = s.claim_job(far, far + Duration::minutes(2)).await.unwrap() {
        left.push(j.id);
    }
    assert!(!left.contains(&job.id), "a finished job never runs again");
    let failed = s
        .finish_track(JobId(9102), TrackId(9002), &Outcome::Failed { reason: "not audio".into() }, later)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!((failed.state, failed.failure.as_deref()), (TrackState::Failed, Some("not audio")));

    // Deleting takes the jobs along; finishing a deleted track says so.
    assert!(s.delete_track(TrackId(9003)).await.unwrap());
    assert!(!s.delete_track(TrackId(9003)).await.unwrap());
    let gone = s.finish_track(JobId(9103), TrackId(9003), &Outcome::Failed { reason: "x".into() }, later).await;
    assert_eq!(gone.unwrap(), None);
}
