//! Bodies of the social routes: follows, likes and reposts, and the lists of them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use veza_core::id::UserId;
use veza_core::page::Page;
use veza_core::social::reactions::Reacted;
use veza_core::social::{Edge, Person};

use super::{PlaylistResponse, TrackResponse, UserResponse};

/// Someone in a list of followers, followed people, likers or reposters.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedUser {
    pub user: UserResponse,
    /// When they followed, liked or reposted.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A repost's caption (reposters only).
    pub caption: Option<String>,
}

/// A page of people, the latest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedUserPage {
    pub items: Vec<RelatedUser>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<Edge<Person>>> for RelatedUserPage {
    fn from(page: Page<Edge<Person>>) -> Self {
        let items =
            page.items.into_iter().map(|e| RelatedUser { user: e.item.into(), at: e.at, caption: e.caption }).collect();
        Self { items, next_cursor: page.next_cursor }
    }
}

/// What a liked or reposted item is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RelatedKind {
    Track,
    Playlist,
}

/// A track or playlist in someone's likes or reposts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedItem {
    pub kind: RelatedKind,
    /// The track, when `kind` is `track`.
    pub track: Option<TrackResponse>,
    /// The playlist, when `kind` is `playlist`.
    pub playlist: Option<PlaylistResponse>,
    /// When it was liked or reposted.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A repost's caption (reposts only).
    pub caption: Option<String>,
}

/// A page of tracks and playlists, the latest liked or reposted first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedItemPage {
    pub items: Vec<RelatedItem>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl RelatedItemPage {
    pub fn for_viewer(page: Page<Edge<Reacted>>, viewer: Option<UserId>) -> Self {
        let items = page
            .items
            .into_iter()
            .map(|e| {
                let (kind, track, playlist) = match e.item {
                    Reacted::Track(t) => (RelatedKind::Track, Some(TrackResponse::for_viewer(t, viewer)), None),
                    Reacted::Playlist(p) => {
                        (RelatedKind::Playlist, None, Some(PlaylistResponse::for_viewer(p, viewer)))
                    }
                };
                RelatedItem { kind, track, playlist, at: e.at, caption: e.caption }
            })
            .collect();
        Self { items, next_cursor: page.next_cursor }
    }
}

/// `PUT /api/v1/tracks/{id}/repost`, `PUT /api/v1/playlists/{id}/repost`
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepostRequest {
    /// Shown with the repost to your followers: up to 140 characters on one line. Reposting
    /// again replaces it; leave it out or send `null` to have none.
    #[schema(max_length = 140, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub caption: Option<String>,
}

/// Whether the caller follows someone.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowState {
    pub following: bool,
}
