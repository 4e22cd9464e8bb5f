//! The social part of the repository contract: follows on the account stores, likes and
//! reposts on the catalog's, on the in-memory fakes, SQLite and PostgreSQL (see
//! `tests/contract.rs`), and counters raced against the rows they count.

use futures_util::StreamExt;
use time::{Duration, OffsetDateTime};
use veza_core::catalog::job::{JobId, NewJob};
use veza_core::catalog::track::{AudioFormat, Original, Track, TrackCounts, TrackPatch, TrackState, Visibility};
use veza_core::id::{CommentId, PlaylistId, PlaylistItemId, TrackId, UserId};
use veza_core::page::PageRequest;
use veza_core::ports::{CommentRepo, FollowRepo, PlaylistRepo, ReactionRepo, TrackRepo, UserRepo};
use veza_core::social::comments::{Comment, CommentCursor, CommentOrder, CommentPosted};
use veza_core::social::playlist::{Added, Playlist, PlaylistKind, PlaylistPatch, ITEMS_MAX};
use veza_core::social::reactions::Target;
use veza_core::social::{Edge, FollowCounts, Linked};

use crate::contract::{new_user, now};

fn page(before: Option<i64>, limit: u32) -> PageRequest {
    PageRequest { before, limit }
}

fn people<T: Clone>(edges: &[Edge<T>]) -> Vec<T> {
    edges.iter().map(|e| e.item.clone()).collect()
}

/// Accounts `ids` with usernames from `prefix` (on the stores that keep accounts).
pub async fn make_users<S: UserRepo>(s: &S, prefix: &str, ids: impl IntoIterator<Item = i64>) {
    for id in ids {
        let name = format!("{prefix}{id}");
        UserRepo::create(s, &new_user(id, &name, &format!("{name}@example.com")), None, &[]).await.expect("user");
    }
}

async fn counts<S: FollowRepo>(s: &S, user: i64) -> FollowCounts {
    let found = s.people(&[UserId(user)]).await.expect("people");
    found.first().map(|(_, c)| *c).expect("the person exists")
}

/// Follows, on a store that holds no follows yet.
pub async fn run_follows<S: UserRepo + FollowRepo>(s: &S) {
    let (a, b, c) = (UserId(95_001), UserId(95_002), UserId(95_003));
    make_users(s, "fan", [a.0, b.0, c.0]).await;
    let t = now();
    assert_eq!(s.follow(1, a, b, t).await.unwrap(), Linked::Made);
    assert_eq!(s.follow(2, a, b, t).await.unwrap(), Linked::Already, "one follow per pair");
    assert_eq!(s.follow(3, b, a, t).await.unwrap(), Linked::Made);
    assert_eq!(s.follow(4, a, c, t).await.unwrap(), Linked::Made);
    assert_eq!(s.follow(5, a, UserId(424_242), t).await.unwrap(), Linked::Gone, "a followee that does not exist");
    assert_eq!(counts(s, a.0).await, FollowCounts { followers: 1, following: 2 });
    assert_eq!(counts(s, b.0).await, FollowCounts { followers: 1, following: 1 });
    assert_eq!(counts(s, c.0).await, FollowCounts { followers: 1, following: 0 });
    assert!(s.is_following(a, b).await.unwrap());
    assert!(!s.is_following(c, a).await.unwrap());

    // Lists: the latest follow first, the edge's id as cursor, limit + 1 rows.
    let following = s.following(a, page(None, 1)).await.unwrap();
    assert_eq!(people(&following), [c, b]);
    assert_eq!(following[0].id, 4);
    assert_eq!(following[0].at, t);
    assert_eq!(people(&s.following(a, page(Some(4), 10)).await.unwrap()), [b]);
    assert_eq!(people(&s.followers(a, page(None, 10)).await.unwrap()), [b]);
    assert!(s.followers(UserId(424_242), page(None, 10)).await.unwrap().is_empty());

    // Unfollowing counts down once.
    assert!(s.unfollow(a, c).await.unwrap());
    assert!(!s.unfollow(a, c).await.unwrap(), "already gone");
    assert!(!s.unfollow(a, UserId(424_242)).await.unwrap());
    assert_eq!(counts(s, a.0).await, FollowCounts { followers: 1, following: 1 });
    assert_eq!(counts(s, c.0).await, FollowCounts::default());

    // People: those that exist, with their accounts.
    let mut found = s.people(&[c, UserId(424_242), a]).await.unwrap();
    found.sort_by_key(|(u, _)| u.id);
    assert_eq!(found.iter().map(|(u, _)| u.id).collect::<Vec<_>>(), [a, c]);
    assert_eq!(found[0].0.username.as_str(), "fan95001");
    assert!(s.people(&[]).await.unwrap().is_empty());
}

/// A track as the social checks need it.
pub fn social_track(id: i64, owner: UserId, visibility: Visibility, at: OffsetDateTime) -> Track {
    Track {
        id: TrackId(id),
        owner_id: owner,
        title: format!("Social {id}"),
        description: String::new(),
        genre: None,
        tags: vec![],
        artist: None,
        album: None,
        year: None,
        visibility,
        downloadable: false,
        share_token: format!("share-{id}"),
        state: TrackState::Ready,
        progress: 100,
        failure: None,
        original: Original { format: AudioFormat::Mp3, size: 1, file_name: "a.mp3".into() },
        has_cover: false,
        duration_ms: 60_000,
        loudness: None,
        comments_closed: false,
        counts: TrackCounts::default(),
        created_at: at,
        updated_at: at,
    }
}

async fn create<S: TrackRepo>(s: &S, t: &Track) {
    s.create_track(t, &NewJob { id: JobId(t.id.0 + 1_000_000), track_id: t.id }).await.expect("track");
}

async fn track_counts<S: TrackRepo>(s: &S, id: TrackId) -> TrackCounts {
    s.track(id).await.unwrap().expect("track").counts
}

async fn public_tracks<S: TrackRepo>(s: &S, owner: UserId) -> u64 {
    let counts = s.public_track_counts(&[owner]).await.unwrap();
    counts.iter().find(|(o, _)| *o == owner).map_or(0, |(_, n)| *n)
}

/// Likes, reposts and the public-track count. `owner` and `fans` must be accounts the store
/// knows (on the stores that keep accounts) with no tracks yet.
pub async fn run_reactions<S: TrackRepo + ReactionRepo>(s: &S, owner: UserId, fans: [UserId; 2]) {
    let t = now();
    let [u1, u2] = fans;
    let public = social_track(96_001, owner, Visibility::Public, t);
    let unlisted = social_track(96_002, owner, Visibility::Unlisted, t);
    let private = social_track(96_003, owner, Visibility::Private, t);
    for track in [&public, &unlisted, &private] {
        create(s, track).await;
    }
    assert_eq!(public_tracks(s, owner).await, 1, "only public tracks count on a profile");

    assert_eq!(s.like(10, u1, Target::Track(public.id), t).await.unwrap(), Linked::Made);
    assert_eq!(s.like(11, u1, Target::Track(public.id), t).await.unwrap(), Linked::Already);
    assert_eq!(s.like(12, u2, Target::Track(public.id), t + Duration::seconds(1)).await.unwrap(), Linked::Made);
    assert_eq!(s.like(13, u1, Target::Track(TrackId(1)), t).await.unwrap(), Linked::Gone);
    assert_eq!(track_counts(s, public.id).await.likes, 2);
    let likers = s.likers(Target::Track(public.id), page(None, 10)).await.unwrap();
    assert_eq!(people(&likers), [u2, u1]);
    assert_eq!(likers[0].at, t + Duration::seconds(1));
    assert_eq!(people(&s.likers(Target::Track(public.id), page(Some(12), 10)).await.unwrap()), [u1]);

    // Someone's likes leave out what the reader may not see.
    assert_eq!(s.like(14, u1, Target::Track(unlisted.id), t).await.unwrap(), Linked::Made);
    assert_eq!(s.like(15, owner, Target::Track(private.id), t).await.unwrap(), Linked::Made);
    let liked = |user, viewer| async move {
        let edges = s.liked_tracks(user, viewer, page(None, 10)).await.unwrap();
        edges.into_iter().map(|e| e.item.id).collect::<Vec<_>>()
    };
    assert_eq!(liked(u1, None).await, [public.id], "an unlisted track is not shown to others");
    assert_eq!(liked(u1, Some(u2)).await, [public.id]);
    assert_eq!(liked(u1, Some(u1)).await, [unlisted.id, public.id], "the liker reached it: theirs to see");
    assert_eq!(liked(u1, Some(owner)).await, [unlisted.id, public.id], "the owner sees their own");
    assert!(liked(owner, Some(u1)).await.is_empty(), "a private track is the owner's alone");
    assert_eq!(liked(owner, Some(owner)).await, [private.id]);
    let first = s.liked_tracks(u1, Some(u1), page(None, 1)).await.unwrap();
    assert_eq!(first.len(), 2, "limit + 1");
    assert_eq!(first[0].item.counts.likes, 1, "tracks come with their counts");

    assert!(s.unlike(u1, Target::Track(public.id)).await.unwrap());
    assert!(!s.unlike(u1, Target::Track(public.id)).await.unwrap());
    assert!(!s.unlike(u1, Target::Track(TrackId(1))).await.unwrap());
    assert_eq!(track_counts(s, public.id).await.likes, 1);

    // Reposts: a caption, changed by reposting again without moving or counting twice.
    assert_eq!(s.repost(20, u1, Target::Track(public.id), Some("hear this"), t).await.unwrap(), Linked::Made);
    assert_eq!(s.repost(21, u1, Target::Track(public.id), Some("really"), t).await.unwrap(), Linked::Already);
    assert_eq!(s.repost(22, u2, Target::Track(public.id), None, t).await.unwrap(), Linked::Made);
    assert_eq!(s.repost(23, u2, Target::Track(TrackId(1)), None, t).await.unwrap(), Linked::Gone);
    assert_eq!(track_counts(s, public.id).await.reposts, 2);
    let reposters = s.reposters(Target::Track(public.id), page(None, 10)).await.unwrap();
    assert_eq!(people(&reposters), [u2, u1]);
    assert_eq!(reposters[1].caption.as_deref(), Some("really"));
    assert_eq!(reposters[1].id, 20, "the repost kept its place");
    let reposted = s.reposted_tracks(u1, None, page(None, 10)).await.unwrap();
    assert_eq!(
        reposted.iter().map(|e| (e.item.id, e.caption.as_deref())).collect::<Vec<_>>(),
        [(public.id, Some("really"))]
    );
    assert_eq!(s.repost(24, u1, Target::Track(public.id), None, t).await.unwrap(), Linked::Already);
    assert_eq!(
        s.reposters(Target::Track(public.id), page(None, 10)).await.unwrap()[1].caption,
        None,
        "a caption can be taken away"
    );
    assert!(s.unrepost(u2, Target::Track(public.id)).await.unwrap());
    assert!(!s.unrepost(u2, Target::Track(public.id)).await.unwrap());
    assert_eq!(track_counts(s, public.id).await.reposts, 1);
    assert!(s.likers(Target::Track(public.id), page(None, 10)).await.unwrap().iter().all(|e| e.caption.is_none()));

    // The public-track count follows visibility changes and deletes, counted once.
    let to_public = TrackPatch { visibility: Some(Visibility::Public), ..TrackPatch::default() };
    s.update_track(unlisted.id, &to_public, t).await.unwrap().expect("exists");
    s.update_track(unlisted.id, &to_public, t).await.unwrap().expect("exists");
    assert_eq!(public_tracks(s, owner).await, 2);
    let to_private = TrackPatch { visibility: Some(Visibility::Private), ..TrackPatch::default() };
    s.update_track(unlisted.id, &to_private, t).await.unwrap().expect("exists");
    assert_eq!(public_tracks(s, owner).await, 1);
    assert!(s.delete_track(public.id).await.unwrap());
    assert_eq!(public_tracks(s, owner).await, 0);
    assert!(
        s.likers(Target::Track(public.id), page(None, 10)).await.unwrap().is_empty(),
        "a deleted track's likes go with it"
    );
    assert!(s.reposted_tracks(u1, Some(u1), page(None, 10)).await.unwrap().is_empty());
    for id in [unlisted.id, private.id] {
        assert!(s.delete_track(id).await.unwrap());
    }
}

/// `fans` people like and unlike one track and follow and unfollow one account, `toggles` times
/// each, all at once; then every counter equals the rows it counts. `star` and the `fans`
/// accounts must exist (on the stores that keep them), `track` must not.
pub async fn toggles_keep_counters_exact<S: TrackRepo + ReactionRepo + FollowRepo>(
    s: &S,
    star: UserId,
    fans: &[UserId],
    track: i64,
    toggles: usize,
) {
    let t = now();
    let song = social_track(track, star, Visibility::Public, t);
    create(s, &song).await;
    let before = counts(s, star.0).await;
    let next_id = std::sync::atomic::AtomicI64::new(track * 10_000);
    let id = || next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work = fans.iter().flat_map(|&fan| (0..toggles).map(move |n| (fan, n))).map(|(fan, n)| {
        let (like, repost, follow) = (id(), id(), id());
        async move {
            if n % 2 == 0 {
                let (l, r, f) = tokio::join!(
                    s.like(like, fan, Target::Track(song.id), t),
                    s.repost(repost, fan, Target::Track(song.id), None, t),
                    s.follow(follow, fan, star, t)
                );
                (l.map(|_| ()), r.map(|_| ()), f.map(|_| ()))
            } else {
                let (l, r, f) = tokio::join!(
                    s.unlike(fan, Target::Track(song.id)),
                    s.unrepost(fan, Target::Track(song.id)),
                    s.unfollow(fan, star)
                );
                (l.map(|_| ()), r.map(|_| ()), f.map(|_| ()))
            }
        }
    });
    // 64 at a time: more than any pool's connections, so they queue and race, without
    // queueing so many that waiting for a connection outlasts the pool's timeout.
    let done: Vec<_> = futures_util::stream::iter(work).buffer_unordered(64).collect().await;
    for (l, r, f) in done {
        l.expect("like");
        r.expect("repost");
        f.expect("follow");
    }
    let all = page(None, 10_000);
    let likers = s.likers(Target::Track(song.id), all).await.unwrap().len() as u64;
    let reposters = s.reposters(Target::Track(song.id), all).await.unwrap().len() as u64;
    let followers = s.followers(star, all).await.unwrap().len() as u64;
    let counted = track_counts(s, song.id).await;
    assert_eq!(counted.likes, likers, "likes counted against the rows");
    assert_eq!(counted.reposts, reposters, "reposts counted against the rows");
    assert_eq!(counts(s, star.0).await.followers, followers, "followers counted against the rows");
    assert!(followers <= before.followers + fans.len() as u64, "a follower counted twice");
    for &fan in fans {
        let following = s.following(fan, all).await.unwrap().len() as u64;
        assert_eq!(counts(s, fan.0).await.following, following, "{fan:?}'s following");
    }
    eprintln!(
        "toggles: {} fans × {toggles} ended with {likers} likes, {reposters} reposts, {followers} followers",
        fans.len()
    );
}

fn comment(id: i64, track: TrackId, author: UserId, reply_to: Option<i64>, at_ms: u64, at: OffsetDateTime) -> Comment {
    Comment {
        id: CommentId(id),
        track_id: track,
        author_id: author,
        reply_to: reply_to.map(CommentId),
        body: format!("comment {id}\nwith a second line"),
        at_ms,
        created_at: at,
        edited_at: None,
    }
}

/// Timed comments. `owner` and `fan` must be accounts the store knows (on the stores that keep
/// accounts).
pub async fn run_comments<S: TrackRepo + CommentRepo>(s: &S, owner: UserId, fan: UserId) {
    let t = now();
    let song = social_track(96_101, owner, Visibility::Public, t);
    create(s, &song).await;
    let post = |c: Comment| async move { s.post_comment(&c).await.unwrap() };
    assert_eq!(post(comment(1, song.id, fan, None, 5_000, t)).await, CommentPosted::Posted);
    assert_eq!(post(comment(2, song.id, owner, None, 1_000, t)).await, CommentPosted::Posted);
    assert_eq!(post(comment(3, song.id, owner, Some(1), 5_000, t)).await, CommentPosted::Posted);
    assert_eq!(post(comment(4, song.id, fan, None, 5_000, t)).await, CommentPosted::Posted);
    assert_eq!(post(comment(5, song.id, fan, Some(3), 5_000, t)).await, CommentPosted::ParentGone, "a reply's reply");
    assert_eq!(post(comment(6, song.id, fan, Some(999), 0, t)).await, CommentPosted::ParentGone);
    assert_eq!(post(comment(7, TrackId(1), fan, None, 0, t)).await, CommentPosted::TrackGone);
    assert_eq!(track_counts(s, song.id).await.comments, 4);
    assert_eq!(s.comment(CommentId(3)).await.unwrap(), Some(comment(3, song.id, owner, Some(1), 5_000, t)));

    let ids = |cs: Vec<Comment>| cs.into_iter().map(|c| c.id.0).collect::<Vec<_>>();
    let timeline = CommentCursor::Start(CommentOrder::Timeline);
    assert_eq!(ids(s.comments(song.id, timeline, 10).await.unwrap()), [2, 1, 3, 4], "by position, then as posted");
    assert_eq!(ids(s.comments(song.id, timeline, 1).await.unwrap()), [2, 1], "limit + 1");
    let after = CommentCursor::After { at_ms: 5_000, id: 1 };
    assert_eq!(ids(s.comments(song.id, after, 10).await.unwrap()), [3, 4]);
    let newest = CommentCursor::Start(CommentOrder::Newest);
    assert_eq!(ids(s.comments(song.id, newest, 10).await.unwrap()), [4, 3, 2, 1]);
    assert_eq!(ids(s.comments(song.id, CommentCursor::Before(3), 10).await.unwrap()), [2, 1]);

    let later = t + Duration::seconds(3);
    let edited = s.edit_comment(CommentId(2), "changed", later).await.unwrap().expect("exists");
    assert_eq!((edited.body.as_str(), edited.edited_at), ("changed", Some(later)));
    assert_eq!(s.edit_comment(CommentId(999), "x", later).await.unwrap(), None);

    // Deleting a comment takes its replies along, counted.
    assert_eq!(s.delete_comment(CommentId(1)).await.unwrap(), 2);
    assert_eq!(s.delete_comment(CommentId(1)).await.unwrap(), 0);
    assert_eq!(ids(s.comments(song.id, newest, 10).await.unwrap()), [4, 2]);
    assert_eq!(track_counts(s, song.id).await.comments, 2);

    // Closed to comments: nothing more is posted.
    let close = TrackPatch { comments_closed: Some(true), ..TrackPatch::default() };
    assert!(s.update_track(song.id, &close, t).await.unwrap().expect("exists").comments_closed);
    assert_eq!(post(comment(8, song.id, fan, None, 0, t)).await, CommentPosted::Closed);
    assert_eq!(track_counts(s, song.id).await.comments, 2);
    assert!(s.delete_track(song.id).await.unwrap());
    assert_eq!(s.comment(CommentId(4)).await.unwrap(), None, "a deleted track's comments go with it");
}

/// `fans` reply to one comment while its author deletes it, `rounds` times: the track's count
/// equals its comments after every round.
pub async fn replies_racing_a_deletion_stay_counted<S: TrackRepo + CommentRepo>(
    s: &S,
    owner: UserId,
    fans: &[UserId],
    track: i64,
    rounds: i64,
) {
    let t = now();
    let song = social_track(track, owner, Visibility::Public, t);
    create(s, &song).await;
    let mut raced = [0; 2];
    for round in 0..rounds {
        let parent = track * 1_000 + round * 100;
        assert_eq!(s.post_comment(&comment(parent, song.id, owner, None, 0, t)).await.unwrap(), CommentPosted::Posted);
        let replies = fans.iter().enumerate().map(|(i, &fan)| {
            let reply = comment(parent + 1 + i as i64, song.id, fan, Some(parent), 0, t);
            async move { s.post_comment(&reply).await.unwrap() }
        });
        let (posted, gone) = tokio::join!(join_all_posts(replies), s.delete_comment(CommentId(parent)));
        let gone = gone.unwrap();
        let landed = posted.iter().filter(|p| **p == CommentPosted::Posted).count() as u64;
        assert_eq!(gone, 1 + landed, "round {round}: the deletion took every reply that landed before it");
        let all = s.comments(song.id, CommentCursor::Start(CommentOrder::Newest), 10_000).await.unwrap();
        assert!(all.is_empty(), "round {round}: a reply outlived its comment: {all:?}");
        assert_eq!(track_counts(s, song.id).await.comments, 0, "round {round}");
        raced[usize::from(landed > 0)] += 1;
    }
    eprintln!("replies and a deletion: the deletion first in {} rounds, a reply first in {}", raced[0], raced[1]);
}

async fn join_all_posts<F: std::future::Future<Output = CommentPosted>>(
    posts: impl Iterator<Item = F>,
) -> Vec<CommentPosted> {
    futures_util::future::join_all(posts).await
}

fn playlist(id: i64, owner: UserId, visibility: Visibility, at: OffsetDateTime) -> Playlist {
    Playlist {
        id: PlaylistId(id),
        owner_id: owner,
        title: format!("List {id}"),
        description: "for the road".into(),
        visibility,
        kind: PlaylistKind::Album,
        share_token: format!("list-{id}"),
        collaborators: vec![],
        track_count: 0,
        likes: 0,
        reposts: 0,
        created_at: at,
        updated_at: at,
    }
}

/// Playlists. `owner`, `fan` and `other` must be accounts the store knows (on the stores that
/// keep accounts) with no playlists yet.
pub async fn run_playlists<S: TrackRepo + PlaylistRepo + ReactionRepo>(
    s: &S,
    owner: UserId,
    fan: UserId,
    other: UserId,
) {
    let t = now();
    let list = playlist(96_201, owner, Visibility::Public, t);
    s.create_playlist(&list).await.unwrap();
    assert_eq!(s.playlist(list.id).await.unwrap().as_ref(), Some(&list), "a playlist reads back as written");
    assert_eq!(s.playlist(PlaylistId(1)).await.unwrap(), None);
    let songs: Vec<Track> = (0..4).map(|i| social_track(96_210 + i, owner, Visibility::Public, t)).collect();
    for song in &songs {
        create(s, song).await;
    }
    let mut next = 96_300;
    let mut add = |track: TrackId, index: Option<usize>| {
        next += 1;
        let item = PlaylistItemId(next);
        async move { (item, s.add_item(list.id, item, track, index, owner, t).await.unwrap()) }
    };
    let (a, added) = add(songs[0].id, None).await;
    assert!(matches!(&added, Added::Added(i) if i.id == a && i.track.id == songs[0].id), "{added:?}");
    let (b, _) = add(songs[1].id, None).await;
    let (c, _) = add(songs[2].id, Some(0)).await;
    assert_eq!(add(songs[0].id, None).await.1, Added::Duplicate);
    assert_eq!(add(TrackId(1), None).await.1, Added::TrackGone);
    assert_eq!(
        s.add_item(PlaylistId(1), PlaylistItemId(1), songs[0].id, None, owner, t).await.unwrap(),
        Added::PlaylistGone
    );
    let order = || async { s.playlist_items(list.id).await.unwrap().into_iter().map(|i| i.id).collect::<Vec<_>>() };
    assert_eq!(order().await, [c, a, b], "at an index, or at the end");
    assert_eq!(s.playlist(list.id).await.unwrap().unwrap().track_count, 3);

    // Moves, many to the same place, until the positions must be laid out again.
    assert!(s.move_item(list.id, b, 0).await.unwrap());
    assert_eq!(order().await, [b, c, a]);
    assert!(s.move_item(list.id, b, 99).await.unwrap());
    assert_eq!(order().await, [c, a, b]);
    assert!(!s.move_item(list.id, PlaylistItemId(1), 0).await.unwrap());
    let (d, _) = add(songs[3].id, None).await;
    let mut model = vec![c, a, b, d];
    for n in 0..45 {
        let moving = model[3 - n % 2];
        assert!(s.move_item(list.id, moving, 1).await.unwrap());
        model.retain(|i| *i != moving);
        model.insert(1, moving);
        assert_eq!(order().await, model, "move {n}");
    }
    assert!(s.remove_item(list.id, a).await.unwrap());
    assert!(!s.remove_item(list.id, a).await.unwrap());
    model.retain(|i| *i != a);
    assert_eq!(order().await, model);

    // Collaborators, up to the limit given.
    assert!(s.set_collaborator(list.id, fan, true, 1).await.unwrap());
    assert!(!s.set_collaborator(list.id, fan, true, 1).await.unwrap(), "already one");
    assert!(!s.set_collaborator(list.id, other, true, 1).await.unwrap(), "over the limit");
    assert_eq!(s.playlist(list.id).await.unwrap().unwrap().collaborators, [fan]);
    assert!(s.set_collaborator(list.id, fan, false, 1).await.unwrap());
    assert!(!s.set_collaborator(list.id, fan, false, 1).await.unwrap());
    assert!(s.set_collaborator(list.id, other, true, 1).await.unwrap());

    // Likes and reposts of playlists, counted, listed where the reader may see them.
    let target = Target::Playlist(list.id);
    assert_eq!(s.like(98_001, fan, target, t).await.unwrap(), Linked::Made);
    assert_eq!(s.like(98_002, fan, target, t).await.unwrap(), Linked::Already);
    assert_eq!(s.like(98_003, fan, Target::Playlist(PlaylistId(1)), t).await.unwrap(), Linked::Gone);
    assert_eq!(s.repost(98_004, fan, target, Some("road trip"), t).await.unwrap(), Linked::Made);
    let counted = s.playlist(list.id).await.unwrap().unwrap();
    assert_eq!((counted.likes, counted.reposts), (1, 1));
    assert_eq!(people(&s.likers(target, page(None, 10)).await.unwrap()), [fan]);
    let reposted = s.reposted_playlists(fan, None, page(None, 10)).await.unwrap();
    assert_eq!(
        reposted.iter().map(|e| (e.item.id, e.caption.as_deref())).collect::<Vec<_>>(),
        [(list.id, Some("road trip"))]
    );
    let liked = s.liked_playlists(fan, None, page(None, 10)).await.unwrap();
    assert_eq!((liked.len(), liked[0].item.likes), (1, 1), "playlists come with their counts");
    let secret = playlist(96_204, owner, Visibility::Private, t);
    s.create_playlist(&secret).await.unwrap();
    assert!(s.set_collaborator(secret.id, other, true, 5).await.unwrap());
    assert_eq!(s.like(98_005, fan, Target::Playlist(secret.id), t).await.unwrap(), Linked::Made);
    let seen = |viewer| async move {
        let edges = s.liked_playlists(fan, viewer, page(None, 10)).await.unwrap();
        edges.into_iter().map(|e| e.item.id).collect::<Vec<_>>()
    };
    assert_eq!(seen(Some(fan)).await, [list.id], "a private playlist is its owner's and collaborators'");
    assert_eq!(seen(Some(owner)).await, [secret.id, list.id]);
    assert_eq!(seen(Some(other)).await, [secret.id, list.id], "a collaborator of it");
    assert!(s.unlike(fan, target).await.unwrap());
    assert!(s.unrepost(fan, target).await.unwrap());
    assert!(!s.unrepost(fan, target).await.unwrap());
    let counted = s.playlist(list.id).await.unwrap().unwrap();
    assert_eq!((counted.likes, counted.reposts), (0, 0));
    assert!(s.delete_playlist(secret.id).await.unwrap());
    assert!(s.liked_playlists(fan, Some(owner), page(None, 10)).await.unwrap().is_empty(), "its likes went with it");

    // Edits, lists, a deleted track leaving, and the playlist's deletion.
    let later = t + Duration::seconds(2);
    let patch =
        PlaylistPatch { title: Some("Renamed".into()), kind: Some(PlaylistKind::Ep), ..PlaylistPatch::default() };
    let renamed = s.update_playlist(list.id, &patch, later).await.unwrap().expect("exists");
    assert_eq!((renamed.title.as_str(), renamed.kind, renamed.updated_at), ("Renamed", PlaylistKind::Ep, later));
    assert_eq!(renamed.description, "for the road", "left as it was");
    assert_eq!(s.update_playlist(PlaylistId(1), &patch, later).await.unwrap(), None);
    let hidden = playlist(96_202, owner, Visibility::Private, t);
    s.create_playlist(&hidden).await.unwrap();
    let ids = |ps: Vec<Playlist>| ps.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(s.playlists_by_owner(owner, false, page(None, 10)).await.unwrap()), [list.id]);
    assert_eq!(ids(s.playlists_by_owner(owner, true, page(None, 10)).await.unwrap()), [hidden.id, list.id]);
    assert_eq!(ids(s.playlists_by_owner(owner, true, page(Some(hidden.id.0), 10)).await.unwrap()), [list.id]);
    assert!(s.delete_track(songs[1].id).await.unwrap());
    model.retain(|i| *i != b);
    assert_eq!(order().await, model, "a deleted track leaves its playlists");
    assert!(s.delete_playlist(list.id).await.unwrap());
    assert!(!s.delete_playlist(list.id).await.unwrap());
    assert_eq!(s.playlist(list.id).await.unwrap(), None);

    // Full at the limit.
    let full = playlist(96_203, owner, Visibility::Public, t);
    s.create_playlist(&full).await.unwrap();
    let last = social_track(96_999_999, owner, Visibility::Public, t);
    create(s, &last).await;
    for n in 0..ITEMS_MAX as i64 {
        let song = social_track(97_100_000 + n, owner, Visibility::Private, t);
        create(s, &song).await;
        let added = s.add_item(full.id, PlaylistItemId(97_200_000 + n), song.id, None, owner, t).await.unwrap();
        assert!(matches!(added, Added::Added(_)), "item {n}: {added:?}");
    }
    assert_eq!(s.add_item(full.id, PlaylistItemId(97_300_000), last.id, Some(0), owner, t).await.unwrap(), Added::Full);
    assert_eq!(s.playlist(full.id).await.unwrap().unwrap().track_count, 0, "a playlist counts its public tracks");
    assert_eq!(s.playlist_items(full.id).await.unwrap().len(), ITEMS_MAX);
}

/// Adds racing for the last places of a playlist, `rounds` times: exactly as many land as there
/// is room for, and never one track twice. `owner` must be an account the store knows (on the
/// stores that keep accounts); ids from `base` on must be free.
pub async fn adds_racing_for_a_playlists_last_places<S: TrackRepo + PlaylistRepo>(
    s: &S,
    owner: UserId,
    base: i64,
    rounds: i64,
) {
    let t = now();
    let list = playlist(base, owner, Visibility::Public, t);
    s.create_playlist(&list).await.unwrap();
    for n in 0..ITEMS_MAX as i64 - 3 {
        let song = social_track(base + 1 + n, owner, Visibility::Public, t);
        create(s, &song).await;
        s.add_item(list.id, PlaylistItemId(base + 10_000 + n), song.id, None, owner, t).await.unwrap();
    }
    let racers: Vec<Track> = (0..8).map(|n| social_track(base + 5_000 + n, owner, Visibility::Public, t)).collect();
    for song in &racers {
        create(s, song).await;
    }
    for round in 0..rounds {
        let items = |n: i64| PlaylistItemId(base + 20_000 + round * 100 + n);
        // The eight racers, and one of them twice: three places are left.
        let adds = racers.iter().chain(&racers[..1]).enumerate().map(|(n, song)| {
            let item = items(n as i64);
            async move { s.add_item(list.id, item, song.id, Some(n % 3), owner, t).await.unwrap() }
        });
        let outcomes = futures_util::future::join_all(adds).await;
        let added = outcomes.iter().filter(|o| matches!(o, Added::Added(_))).count();
        assert_eq!(added, 3, "round {round}: {outcomes:?}");
        let present = s.playlist_items(list.id).await.unwrap();
        assert_eq!(present.len(), ITEMS_MAX, "round {round}");
        let mut tracks: Vec<TrackId> = present.iter().map(|i| i.track.id).collect();
        tracks.sort();
        tracks.dedup();
        assert_eq!(tracks.len(), ITEMS_MAX, "round {round}: a track twice");
        for item in present.iter().filter(|i| racers.iter().any(|r| r.id == i.track.id)) {
            assert!(s.remove_item(list.id, item.id).await.unwrap());
        }
    }
}
