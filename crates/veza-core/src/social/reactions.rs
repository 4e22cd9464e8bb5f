//! Likes and reposts of tracks. A like is private to nobody: anyone may list a person's likes
//! and a track's likers, as on SoundCloud. A repost puts a public track, with an optional
//! caption, before its reposter's followers; so only public tracks can be reposted, and not by
//! their own artist. A track someone may not see does not exist for them here either (404), and
//! drops out of the lists they read.

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::catalog::track::{Track, Visibility};
use crate::error::{CoreError, FieldError};
use crate::id::{TrackId, UserId};
use crate::page::{Page, PageRequest};
use crate::social::follows::require_read;
use crate::social::{Edge, Linked, Person, Social};

/// The longest repost caption, in characters.
pub const CAPTION_MAX: usize = 140;

impl Social {
    /// `caller` likes the track (`link`: an unlisted track's secret).
    pub async fn like(&self, caller: &Principal, id: TrackId, link: Option<&str>) -> Result<Linked, CoreError> {
        caller.require(Scope::SocialWrite)?;
        self.visible_track(Some(caller), id, link).await?;
        let now = self.deps.clock.now();
        match self.deps.reactions.like(self.deps.ids.next_raw(), caller.user_id, id, now).await? {
            Linked::Gone => Err(CoreError::NotFound("track")),
            linked => Ok(linked),
        }
    }

    /// `caller` takes back their like; not liking it is no error. A track gone private can
    /// still be unliked.
    pub async fn unlike(&self, caller: &Principal, id: TrackId) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        if !self.deps.reactions.unlike(caller.user_id, id).await? {
            self.visible_track(Some(caller), id, None).await?;
        }
        Ok(())
    }

    /// `caller` reposts a public track of someone else's, with an optional caption; reposting
    /// again changes the caption.
    pub async fn repost(&self, caller: &Principal, id: TrackId, caption: Option<&str>) -> Result<Linked, CoreError> {
        caller.require(Scope::SocialWrite)?;
        let caption = parse_caption(caption)?;
        let track = self.visible_track(Some(caller), id, None).await?;
        if track.owner_id == caller.user_id {
            return Err(CoreError::invalid(FieldError::new("id", "own_track", "you cannot repost your own track")));
        }
        if track.visibility != Visibility::Public {
            return Err(CoreError::invalid(FieldError::new(
                "id",
                "not_public",
                "only public tracks can be reposted: a repost shows the track to your followers",
            )));
        }
        let now = self.deps.clock.now();
        match self.deps.reactions.repost(self.deps.ids.next_raw(), caller.user_id, id, caption.as_deref(), now).await? {
            Linked::Gone => Err(CoreError::NotFound("track")),
            linked => Ok(linked),
        }
    }

    /// `caller` takes back their repost; not having reposted it is no error.
    pub async fn unrepost(&self, caller: &Principal, id: TrackId) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        if !self.deps.reactions.unrepost(caller.user_id, id).await? {
            self.visible_track(Some(caller), id, None).await?;
        }
        Ok(())
    }

    /// The tracks `user` likes that `viewer` may see, the latest liked first.
    pub async fn likes_of(
        &self,
        viewer: Option<&Principal>,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Edge<Track>>, CoreError> {
        require_read(viewer)?;
        self.person(user).await?;
        let rows = self.deps.reactions.liked_tracks(user, viewer.map(|p| p.user_id), page).await?;
        Ok(Page::from_rows(rows, page.limit, |e| e.id))
    }

    /// The tracks `user` reposted that `viewer` may see, the latest first, with their captions.
    pub async fn reposts_of(
        &self,
        viewer: Option<&Principal>,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Edge<Track>>, CoreError> {
        require_read(viewer)?;
        self.person(user).await?;
        let rows = self.deps.reactions.reposted_tracks(user, viewer.map(|p| p.user_id), page).await?;
        Ok(Page::from_rows(rows, page.limit, |e| e.id))
    }

    /// Who likes the track, the latest first.
    pub async fn likers(
        &self,
        viewer: Option<&Principal>,
        id: TrackId,
        link: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Edge<Person>>, CoreError> {
        require_read(viewer)?;
        self.visible_track(viewer, id, link).await?;
        let edges = self.deps.reactions.likers(id, page).await?;
        self.edges_to_people(edges, page).await
    }

    /// Who reposted the track, the latest first, with their captions.
    pub async fn reposters(
        &self,
        viewer: Option<&Principal>,
        id: TrackId,
        link: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Edge<Person>>, CoreError> {
        require_read(viewer)?;
        self.visible_track(viewer, id, link).await?;
        let edges = self.deps.reactions.reposters(id, page).await?;
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
