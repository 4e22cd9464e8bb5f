//! Likes and reposts of tracks and playlists. A like is private to nobody: anyone may list a
//! person's likes and a track's likers, as on SoundCloud. A repost puts something public, with
//! an optional caption, before its reposter's followers; so only public tracks and playlists can
//! be reposted, and not by their own owner. What someone may not see does not exist for them here
//! either (404), and drops out of the lists they read.

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::catalog::track::{Track, Visibility};
use crate::error::{CoreError, FieldError};
use crate::id::{PlaylistId, TrackId, UserId};
use crate::page::{Page, PageRequest};
use crate::social::follows::require_read;
use crate::social::playlist::Playlist;
use crate::social::{Edge, Linked, Person, Social};

/// The longest repost caption, in characters.
pub const CAPTION_MAX: usize = 140;

/// What is liked or reposted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Track(TrackId),
    Playlist(PlaylistId),
}

impl Target {
    fn missing(self) -> CoreError {
        match self {
            Self::Track(_) => CoreError::NotFound("track"),
            Self::Playlist(_) => CoreError::NotFound("playlist"),
        }
    }
}

/// A liked or reposted thing, as a list of someone's likes or reposts holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reacted {
    Track(Track),
    Playlist(Playlist),
}

/// Whom a target belongs to and who may see it: what liking and reposting check.
struct Seen {
    owner: UserId,
    visibility: Visibility,
}

impl Social {
    /// `caller` likes a track or playlist (`link`: an unlisted one's secret).
    pub async fn like(&self, caller: &Principal, target: Target, link: Option<&str>) -> Result<Linked, CoreError> {
        caller.require(Scope::SocialWrite)?;
        self.visible_target(Some(caller), target, link).await?;
        let now = self.deps.clock.now();
        match self.deps.reactions.like(self.deps.ids.next_raw(), caller.user_id, target, now).await? {
            Linked::Gone => Err(target.missing()),
            linked => Ok(linked),
        }
    }

    /// `caller` takes back their like; not liking it is no error. Something gone private can
    /// still be unliked.
    pub async fn unlike(&self, caller: &Principal, target: Target) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        if !self.deps.reactions.unlike(caller.user_id, target).await? {
            self.visible_target(Some(caller), target, None).await?;
        }
        Ok(())
    }

    /// `caller` reposts someone else's public track or playlist, with an optional caption;
    /// reposting again changes the caption.
    pub async fn repost(&self, caller: &Principal, target: Target, caption: Option<&str>) -> Result<Linked, CoreError> {
        caller.require(Scope::SocialWrite)?;
        let caption = parse_caption(caption)?;
        let seen = self.visible_target(Some(caller), target, None).await?;
        if seen.owner == caller.user_id {
            return Err(CoreError::Conflict(FieldError::new("id", "own_track", "you cannot repost what is yours")));
        }
        if seen.visibility != Visibility::Public {
            return Err(CoreError::Conflict(FieldError::new(
                "id",
                "not_public",
                "only public tracks and playlists can be reposted: a repost shows them to your followers",
            )));
        }
        let now = self.deps.clock.now();
        let id = self.deps.ids.next_raw();
        match self.deps.reactions.repost(id, caller.user_id, target, caption.as_deref(), now).await? {
            Linked::Gone => Err(target.missing()),
            linked => Ok(linked),
        }
    }

    /// `caller` takes back their repost; not having reposted it is no error.
    pub async fn unrepost(&self, caller: &Principal, target: Target) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        if !self.deps.reactions.unrepost(caller.user_id, target).await? {
            self.visible_target(Some(caller), target, None).await?;
        }
        Ok(())
    }

    /// The tracks and playlists `user` likes that `viewer` may see, the latest liked first.
    pub async fn likes_of(
        &self,
        viewer: Option<&Principal>,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Edge<Reacted>>, CoreError> {
        self.reacted_by(viewer, user, page, true).await
    }

    /// The tracks and playlists `user` reposted that `viewer` may see, the latest first, with
    /// their captions.
    pub async fn reposts_of(
        &self,
        viewer: Option<&Principal>,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Edge<Reacted>>, CoreError> {
        self.reacted_by(viewer, user, page, false).await
    }

    /// `user`'s likes (or reposts), tracks and playlists together.
    async fn reacted_by(
        &self,
        viewer: Option<&Principal>,
        user: UserId,
        page: PageRequest,
        likes: bool,
    ) -> Result<Page<Edge<Reacted>>, CoreError> {
        require_read(viewer)?;
        self.person(user).await?;
        let (me, store) = (viewer.map(|p| p.user_id), &self.deps.reactions);
        let (tracks, playlists) = if likes {
            (store.liked_tracks(user, me, page).await?, store.liked_playlists(user, me, page).await?)
        } else {
            (store.reposted_tracks(user, me, page).await?, store.reposted_playlists(user, me, page).await?)
        };
        Ok(merged(tracks, playlists, page))
    }

    /// Who likes a track or playlist, the latest first.
    pub async fn likers(
        &self,
        viewer: Option<&Principal>,
        target: Target,
        link: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Edge<Person>>, CoreError> {
        require_read(viewer)?;
        self.visible_target(viewer, target, link).await?;
        let edges = self.deps.reactions.likers(target, page).await?;
        self.edges_to_people(edges, page).await
    }

    /// Who reposted a track or playlist, the latest first, with their captions.
    pub async fn reposters(
        &self,
        viewer: Option<&Principal>,
        target: Target,
        link: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Edge<Person>>, CoreError> {
        require_read(viewer)?;
        self.visible_target(viewer, target, link).await?;
        let edges = self.deps.reactions.reposters(target, page).await?;
        self.edges_to_people(edges, page).await
    }

    /// The track, when `viewer` may see it; otherwise as if it did not exist.
    pub(crate) async fn visible_track(
        &self,
        viewer: Option<&Principal>,
        id: TrackId,
        link: Option<&str>,
    ) -> Result<Track, CoreError> {
        let track = self.deps.tracks.track(id).await?.ok_or(CoreError::NotFound("track"))?;
        if !track.visible_to(viewer.map(|p| p.user_id), link) {
            return Err(CoreError::NotFound("track"));
        }
        Ok(track)
    }

    async fn visible_target(
        &self,
        viewer: Option<&Principal>,
        target: Target,
        link: Option<&str>,
    ) -> Result<Seen, CoreError> {
        Ok(match target {
            Target::Track(id) => {
                let t = self.visible_track(viewer, id, link).await?;
                Seen { owner: t.owner_id, visibility: t.visibility }
            }
            Target::Playlist(id) => {
                let p = self.visible_playlist(viewer, id, link).await?;
                Seen { owner: p.owner_id, visibility: p.visibility }
            }
        })
    }
}

/// One page of someone's likes (or reposts) from a page of each kind, both read from the same
/// cursor: the ids are time-ordered and unique across kinds, so the newest `limit` of the two
/// together are the page, and the next starts after the last of them.
fn merged(tracks: Vec<Edge<Track>>, playlists: Vec<Edge<Playlist>>, page: PageRequest) -> Page<Edge<Reacted>> {
    let mut all: Vec<Edge<Reacted>> = tracks
        .into_iter()
        .map(|e| e.map(Reacted::Track))
        .chain(playlists.into_iter().map(|e| e.map(Reacted::Playlist)))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.id));
    all.truncate(page.limit as usize + 1);
    Page::from_rows(all, page.limit, |e| e.id)
}

/// A caption as stored: trimmed, `None` when empty, at most [`CAPTION_MAX`] characters of one
/// line.
fn parse_caption(caption: Option<&str>) -> Result<Option<String>, CoreError> {
    let Some(caption) = caption.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let field = |code, message: String| CoreError::invalid(FieldError::new("caption", code, message));
    if caption.chars().count() > CAPTION_MAX {
        return Err(field("too_long", format!("a caption has at most {CAPTION_MAX} characters")));
    }
    if caption.chars().any(char::is_control) {
        return Err(field("invalid_characters", "a caption is one line without control characters".into()));
    }
    Ok(Some(caption.to_owned()))
}
