//! What clients ask of playlists: create, read, edit and delete them, list someone's, add, move
//! and remove tracks, and name collaborators. A playlist someone may not see does not exist for
//! them (404); a track in it that they may not see is left out of what they read, and a deleted
//! track leaves every playlist it was in.

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::catalog::track::Visibility;
use crate::catalog::tracks::share_token;
use crate::error::{CoreError, FieldError};
use crate::id::{PlaylistId, PlaylistItemId, TrackId, UserId};
use crate::page::{Page, PageRequest};
use crate::social::follows::require_read;
use crate::social::playlist::{
    Added, Playlist, PlaylistForm, PlaylistItem, PlaylistKind, PlaylistPatch, COLLABORATORS_MAX, ITEMS_MAX,
};
use crate::social::Social;
use crate::user::Role;

/// A playlist as one reader sees it: the tracks they may see, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistView {
    pub playlist: Playlist,
    pub items: Vec<PlaylistItem>,
}

impl Social {
    /// Creates a playlist; the title is required.
    pub async fn create_playlist(&self, caller: &Principal, form: PlaylistForm) -> Result<Playlist, CoreError> {
        caller.require(Scope::SocialWrite)?;
        if form.title.is_none() {
            return Err(CoreError::invalid(FieldError::new("title", "required", "a playlist needs a title")));
        }
        let patch = PlaylistPatch::parse(form)?;
        let now = self.deps.clock.now();
        let playlist = Playlist {
            id: PlaylistId::new(self.deps.ids.as_ref()),
            owner_id: caller.user_id,
            title: patch.title.unwrap_or_default(),
            description: patch.description.unwrap_or_default(),
            visibility: patch.visibility.unwrap_or(Visibility::Public),
            kind: patch.kind.unwrap_or(PlaylistKind::Playlist),
            share_token: share_token(),
            collaborators: Vec::new(),
            track_count: 0,
            likes: 0,
            reposts: 0,
            created_at: now,
            updated_at: now,
        };
        self.deps.playlists.create_playlist(&playlist).await?;
        Ok(playlist)
    }

    /// A playlist with the tracks `viewer` may see (`link`: an unlisted playlist's secret).
    pub async fn playlist(
        &self,
        viewer: Option<&Principal>,
        id: PlaylistId,
        link: Option<&str>,
    ) -> Result<PlaylistView, CoreError> {
        require_read(viewer)?;
        let playlist = self.visible_playlist(viewer, id, link).await?;
        let me = viewer.map(|p| p.user_id);
        let mut items = self.deps.playlists.playlist_items(id).await?;
        items.retain(|i| i.track.visible_to(me, None));
        let playlist = Playlist { track_count: items.len() as u64, ..playlist };
        Ok(PlaylistView { playlist, items })
    }

    /// `owner`'s playlists, newest first: all of them for the owner, the public ones for others.
    pub async fn playlists_by(
        &self,
        viewer: Option<&Principal>,
        owner: UserId,
        page: PageRequest,
    ) -> Result<Page<Playlist>, CoreError> {
        require_read(viewer)?;
        self.person(owner).await?;
        let all = viewer.is_some_and(|p| p.user_id == owner);
        let rows = self.deps.playlists.playlists_by_owner(owner, all, page).await?;
        Ok(Page::from_rows(rows, page.limit, |p| p.id.0))
    }

    /// Changes a playlist's details; its owner only.
    pub async fn update_playlist(
        &self,
        caller: &Principal,
        id: PlaylistId,
        form: PlaylistForm,
    ) -> Result<Playlist, CoreError> {
        caller.require(Scope::SocialWrite)?;
        let patch = PlaylistPatch::parse(form)?;
        let playlist = self.owned_playlist(caller, id, false).await?;
        if patch == PlaylistPatch::default() {
            return Ok(playlist);
        }
        let now = self.deps.clock.now();
        self.deps.playlists.update_playlist(id, &patch, now).await?.ok_or(CoreError::NotFound("playlist"))
    }

    /// Deletes a playlist (never its tracks); its owner or an administrator.
    pub async fn delete_playlist(&self, caller: &Principal, id: PlaylistId) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        let admin = caller.role == Role::Admin && caller.require(Scope::Admin).is_ok();
        self.owned_playlist(caller, id, admin).await?;
        self.deps.playlists.delete_playlist(id).await?;
        Ok(())
    }

    /// Adds a public track, or one of the caller's own, at `index` or at the end; the owner and
    /// collaborators only. Someone else's unlisted track stays out: its link is a secret its
    /// owner shares, which a playlist would pass on to every reader.
    pub async fn add_to_playlist(
        &self,
        caller: &Principal,
        id: PlaylistId,
        track: TrackId,
        index: Option<usize>,
    ) -> Result<PlaylistItem, CoreError> {
        caller.require(Scope::SocialWrite)?;
        self.editable_playlist(caller, id).await?;
        let t = self.visible_track(Some(caller), track, None).await.map_err(|_| track_problem())?;
        if t.owner_id != caller.user_id && t.visibility != Visibility::Public {
            return Err(track_problem());
        }
        let item = PlaylistItemId::new(self.deps.ids.as_ref());
        let now = self.deps.clock.now();
        match self.deps.playlists.add_item(id, item, track, index, caller.user_id, now).await? {
            Added::Added(item) => Ok(*item),
            Added::Duplicate => Err(CoreError::Conflict(FieldError::new(
                "track_id",
                "duplicate",
                "the track is in the playlist already",
            ))),
            Added::Full => Err(CoreError::Conflict(FieldError::new(
                "track_id",
                "playlist_full",
                format!("a playlist holds at most {ITEMS_MAX} tracks"),
            ))),
            Added::TrackGone => Err(track_problem()),
            Added::PlaylistGone => Err(CoreError::NotFound("playlist")),
        }
    }

    /// Moves an item to `index` (0 is first; past the end is last).
    pub async fn move_in_playlist(
        &self,
        caller: &Principal,
        id: PlaylistId,
        item: PlaylistItemId,
        index: usize,
    ) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        self.editable_playlist(caller, id).await?;
        if !self.deps.playlists.move_item(id, item, index).await? {
            return Err(CoreError::NotFound("playlist item"));
        }
        Ok(())
    }

    /// Takes an item out of the playlist.
    pub async fn remove_from_playlist(
        &self,
        caller: &Principal,
        id: PlaylistId,
        item: PlaylistItemId,
    ) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        self.editable_playlist(caller, id).await?;
        if !self.deps.playlists.remove_item(id, item).await? {
            return Err(CoreError::NotFound("playlist item"));
        }
        Ok(())
    }

    /// Lets `user` edit the playlist's items (`on`), or no longer; its owner only.
    pub async fn set_collaborator(
        &self,
        caller: &Principal,
        id: PlaylistId,
        user: UserId,
        on: bool,
    ) -> Result<(), CoreError> {
        caller.require(Scope::SocialWrite)?;
        let playlist = self.owned_playlist(caller, id, false).await?;
        if on {
            if user == playlist.owner_id {
                return Err(CoreError::Conflict(FieldError::new("user_id", "owner", "the owner edits it already")));
            }
            self.person(user).await?;
        }
        let changed = self.deps.playlists.set_collaborator(id, user, on, COLLABORATORS_MAX).await?;
        if changed || !on {
            return Ok(());
        }
        // Nothing changed: already one (maybe just now), the playlist gone, or no room left.
        let now = self.deps.playlists.playlist(id).await?.ok_or(CoreError::NotFound("playlist"))?;
        if !now.collaborators.contains(&user) {
            return Err(CoreError::Conflict(FieldError::new(
                "user_id",
                "too_many",
                format!("a playlist has at most {COLLABORATORS_MAX} collaborators"),
            )));
        }
        Ok(())
    }

    pub(crate) async fn visible_playlist(
        &self,
        viewer: Option<&Principal>,
        id: PlaylistId,
        link: Option<&str>,
    ) -> Result<Playlist, CoreError> {
        let playlist = self.deps.playlists.playlist(id).await?.ok_or(CoreError::NotFound("playlist"))?;
        if !playlist.visible_to(viewer.map(|p| p.user_id), link) {
            return Err(CoreError::NotFound("playlist"));
        }
        Ok(playlist)
    }

    /// The playlist, when `caller` owns it (or `overrides`); otherwise as if it did not exist,
    /// or forbidden when they may see it.
    async fn owned_playlist(&self, caller: &Principal, id: PlaylistId, overrides: bool) -> Result<Playlist, CoreError> {
        let playlist = self.deps.playlists.playlist(id).await?.ok_or(CoreError::NotFound("playlist"))?;
        if playlist.owner_id == caller.user_id || overrides {
            return Ok(playlist);
        }
        Err(if playlist.visible_to(Some(caller.user_id), None) {
            CoreError::Forbidden("only the playlist's owner can do this")
        } else {
            CoreError::NotFound("playlist")
        })
    }

    /// The playlist, when `caller` may edit its items.
    async fn editable_playlist(&self, caller: &Principal, id: PlaylistId) -> Result<Playlist, CoreError> {
        let playlist = self.deps.playlists.playlist(id).await?.ok_or(CoreError::NotFound("playlist"))?;
        if playlist.may_edit(caller.user_id) {
            return Ok(playlist);
        }
        Err(if playlist.visible_to(Some(caller.user_id), None) {
            CoreError::Forbidden("only the playlist's owner and collaborators can change its tracks")
        } else {
            CoreError::NotFound("playlist")
        })
    }
}

/// A track to add that does not exist for the caller: 404, as any unseen track.
fn track_problem() -> CoreError {
    CoreError::NotFound("track")
}
