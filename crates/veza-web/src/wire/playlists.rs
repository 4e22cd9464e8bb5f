//! Bodies of the playlist routes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use veza_core::catalog::track::Visibility;
use veza_core::id::{PlaylistId, PlaylistItemId, TrackId, UserId};
use veza_core::social::playlist::{Playlist, PlaylistForm, PlaylistItem, PlaylistKind};
use veza_core::social::playlists::PlaylistView;

use super::TrackResponse;

/// `POST /api/v1/playlists`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlaylistRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Line breaks and tabs allowed.
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// `public` unless said.
    pub visibility: Option<Visibility>,
    /// `playlist` unless said.
    pub kind: Option<PlaylistKind>,
}

impl From<CreatePlaylistRequest> for PlaylistForm {
    fn from(r: CreatePlaylistRequest) -> Self {
        Self { title: Some(r.title), description: r.description, visibility: r.visibility, kind: r.kind }
    }
}

/// `PATCH /api/v1/playlists/{id}`: fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlaylistRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
    pub kind: Option<PlaylistKind>,
}

impl From<UpdatePlaylistRequest> for PlaylistForm {
    fn from(r: UpdatePlaylistRequest) -> Self {
        Self { title: r.title, description: r.description, visibility: r.visibility, kind: r.kind }
    }
}

/// A playlist, album or EP, without its tracks.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaylistResponse {
    pub id: PlaylistId,
    pub owner_id: UserId,
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
    pub kind: PlaylistKind,
    /// The secret that lets anyone holding it see an unlisted playlist (`?secret=`); shown to
    /// its owner and collaborators only.
    pub secret: Option<String>,
    /// Who besides the owner may change its tracks.
    pub collaborators: Vec<UserId>,
    /// How many tracks you may see in it (in lists: its public tracks).
    pub track_count: u64,
    pub like_count: u64,
    pub repost_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl PlaylistResponse {
    pub fn for_viewer(p: Playlist, viewer: Option<UserId>) -> Self {
        let secret = viewer.is_some_and(|v| p.may_edit(v)).then_some(p.share_token);
        Self {
            id: p.id,
            owner_id: p.owner_id,
            title: p.title,
            description: p.description,
            visibility: p.visibility,
            kind: p.kind,
            secret,
            collaborators: p.collaborators,
            track_count: p.track_count,
            like_count: p.likes,
            repost_count: p.reposts,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A track in a playlist.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaylistItemResponse {
    /// The item: what moving and removing the track name.
    pub id: PlaylistItemId,
    pub track: TrackResponse,
    pub added_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

impl PlaylistItemResponse {
    pub fn for_viewer(i: PlaylistItem, viewer: Option<UserId>) -> Self {
        Self { id: i.id, track: TrackResponse::for_viewer(i.track, viewer), added_by: i.added_by, added_at: i.added_at }
    }
}

/// A playlist with the tracks you may see, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaylistDetail {
    #[serde(flatten)]
    pub playlist: PlaylistResponse,
    pub items: Vec<PlaylistItemResponse>,
}

impl PlaylistDetail {
    pub fn for_viewer(view: PlaylistView, viewer: Option<UserId>) -> Self {
        Self {
            playlist: PlaylistResponse::for_viewer(view.playlist, viewer),
            items: view.items.into_iter().map(|i| PlaylistItemResponse::for_viewer(i, viewer)).collect(),
        }
    }
}

/// A page of playlists, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaylistPage {
    pub items: Vec<PlaylistResponse>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/playlists/{id}/tracks`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddToPlaylistRequest {
    /// A public track, or one of yours.
    pub track_id: TrackId,
    /// Where to put it, 0 being first; at the end when left out or past it.
    pub position: Option<u32>,
}

/// `PATCH /api/v1/playlists/{id}/tracks/{item_id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovePlaylistItemRequest {
    /// The new place, 0 being first; past the end is last.
    pub position: u32,
}
