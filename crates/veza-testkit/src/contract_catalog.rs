//! The catalog's part of the repository contract: tracks and the job queue, on the in-memory
//! fakes, SQLite and PostgreSQL (see `tests/contract.rs`).

use time::{Duration, OffsetDateTime};
use veza_core::catalog::job::{Claim, Finished, JobId, NewJob, Outcome};
use veza_core::catalog::track::{
    AudioFormat, Loudness, Original, Track, TrackCounts, TrackPatch, TrackState, Visibility,
};
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
        comments_closed: false,
        counts: TrackCounts::default(),
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
    assert!(s.retry_job(second.claim(), now + Duration::minutes(1), "ffmpeg crashed").await.unwrap());
    for _ in 0..2 {
        s.claim_job(now, lease).await.unwrap().expect("the rest");
    }
    assert_eq!(s.claim_job(now, lease).await.unwrap(), None, "everything is held or waiting");
    let retried = s.claim_job(now + Duration::seconds(90), lease).await.unwrap();
    let retried = retried.expect("due again");
    assert_eq!((retried.id, retried.attempts), (second.id, 2));
    assert_eq!(retried.last_error.as_deref(), Some("ffmpeg crashed"));
    // The retried claim's first holder is fenced off: its writes are refused and change nothing.
    assert!(!s.retry_job(second.claim(), now, "a stale crash").await.unwrap());
    assert!(!s.renew_job(second.claim(), now + Duration::days(1)).await.unwrap());
    assert!(s.renew_job(retried.claim(), now + Duration::minutes(3)).await.unwrap(), "the new holder renews");
    // Renewal holds the lease; progress is written only under the live claim.
    assert!(s.renew_job(job.claim(), now + Duration::minutes(30)).await.unwrap());
    s.track_progress(job.claim(), first.id, 40).await.unwrap();
    assert_eq!(s.track(first.id).await.unwrap().unwrap().progress, 40);
    let after_lease = now + Duration::minutes(20);
    let claimed = s.claim_job(after_lease, after_lease + Duration::minutes(2)).await.unwrap().expect("lapsed ones");
    assert_ne!(claimed.id, job.id, "the renewed lease still holds");

    // Finishing records the outcome and ends the job, once.
    let loudness = Loudness { integrated_lufs: -17.25, true_peak_dbtp: -0.5 };
    let ready = Outcome::Ready { duration_ms: 300_990, loudness };
    let Finished::Done(done) = s.finish_track(job.claim(), first.id, &ready, later).await.unwrap() else {
        panic!("the live claim finishes the job")
    };
    assert_eq!(
        (done.state, done.progress, done.duration_ms, done.loudness),
        (TrackState::Ready, 100, 300_990, Some(loudness))
    );
    let failure = Outcome::Failed { reason: "a stale run failed".into() };
    assert_eq!(s.finish_track(job.claim(), first.id, &failure, later).await.unwrap(), Finished::Fenced);
    assert!(!s.renew_job(job.claim(), later).await.unwrap(), "a finished job cannot be renewed");
    s.track_progress(job.claim(), first.id, 10).await.unwrap();
    let after = s.track(first.id).await.unwrap().unwrap();
    assert_eq!((after.state, after.progress, after.failure), (TrackState::Ready, 100, None), "nothing changed");
    let far = now + Duration::days(1);
    let mut left = Vec::new();
    while let Some(j) = s.claim_job(far, far + Duration::minutes(2)).await.unwrap() {
        left.push(j);
    }
    assert!(!left.iter().any(|j| j.id == job.id), "a finished job never runs again");
    let stale = Claim { job: JobId(9102), attempt: 1 };
    let fenced = s.finish_track(stale, TrackId(9002), &failure, later).await.unwrap();
    assert_eq!(fenced, Finished::Fenced, "an earlier claim of a job taken over");
    let live = left.iter().find(|j| j.id == JobId(9102)).expect("claimed again").claim();
    let Finished::Done(failed) =
        s.finish_track(live, TrackId(9002), &Outcome::Failed { reason: "not audio".into() }, later).await.unwrap()
    else {
        panic!("the live claim finishes the job")
    };
    assert_eq!((failed.state, failed.failure.as_deref()), (TrackState::Failed, Some("not audio")));

    // Deleting takes the jobs along; finishing a deleted track says so.
    assert!(s.delete_track(TrackId(9003)).await.unwrap());
    assert!(!s.delete_track(TrackId(9003)).await.unwrap());
    let of_deleted = left.iter().find(|j| j.id == JobId(9103)).expect("claimed").claim();
    let gone = s.finish_track(of_deleted, TrackId(9003), &Outcome::Failed { reason: "x".into() }, later).await;
    assert_eq!(gone.unwrap(), Finished::TrackGone);
    assert!(!s.renew_job(of_deleted, later).await.unwrap());
}
