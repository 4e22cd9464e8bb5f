//! Playlists as values: a titled, ordered list of tracks (a playlist, an album or an EP) with
//! the visibility rules of tracks, and the people besides its owner who may edit its items.

use time::OffsetDateTime;

use crate::catalog::track::{text, Track, Visibility, DESCRIPTION_MAX, TITLE_MAX};
use crate::error::{CoreError, Validator};
use crate::id::{PlaylistId, PlaylistItemId, UserId};

/// The most tracks a playlist holds.
pub const ITEMS_MAX: usize = 1000;
/// The most collaborators a playlist has.
pub const COLLABORATORS_MAX: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlaylistKind {
    Playlist,
    Album,
    Ep,
}

impl PlaylistKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Playlist => "playlist",
            Self::Album => "album",
            Self::Ep => "ep",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Playlist, Self::Album, Self::Ep].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playlist {
    pub id: PlaylistId,
    pub owner_id: UserId,
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
    pub kind: PlaylistKind,
    /// The secret of its link: who holds it may see an unlisted playlist.
    pub share_token: String,
    /// Who besides the owner may add, move and remove its tracks.
    pub collaborators: Vec<UserId>,
    /// How many public tracks it holds (what anyone reading it sees; its own view counts what
    /// its reader sees).
    pub track_count: u64,
    /// Kept by the social stores, in the transactions that change what they count.
    pub likes: u64,
    pub reposts: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Playlist {
    /// May `viewer` see it? Its owner and collaborators always; others as a track's visibility
    /// says.
    pub fn visible_to(&self, viewer: Option<UserId>, link: Option<&str>) -> bool {
        if viewer.is_some_and(|v| self.may_edit(v)) {
            return true;
        }
        match self.visibility {
            Visibility::Public => true,
            Visibility::Unlisted => {
                link.is_some_and(|l| crate::accounts::constant_time_eq(l.as_bytes(), self.share_token.as_bytes()))
            }
            Visibility::Private => false,
        }
    }

    /// May `user` change its items?
    pub fn may_edit(&self, user: UserId) -> bool {
        user == self.owner_id || self.collaborators.contains(&user)
    }
}

/// A track in a playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistItem {
    pub id: PlaylistItemId,
    pub track: Track,
    pub added_by: UserId,
    pub added_at: OffsetDateTime,
}

/// What a client sends to create or change a playlist, before validation.
#[derive(Debug, Clone, Default)]
pub struct PlaylistForm {
    pub title: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
    pub kind: Option<PlaylistKind>,
}

/// A checked change: fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaylistPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
    pub kind: Option<PlaylistKind>,
}

impl PlaylistPatch {
    /// Checks every field, reporting all bad ones at once.
    pub fn parse(form: PlaylistForm) -> Result<Self, CoreError> {
        let mut v = Validator::default();
        let title = form.title.map(|t| v.check(text("title", &t, 1, TITLE_MAX, false)));
        let description = form.description.map(|d| v.check(text("description", &d, 0, DESCRIPTION_MAX, true)));
        v.finish(|| {
            Some(Self {
                title: title.flatten(),
                description: description.flatten(),
                visibility: form.visibility,
                kind: form.kind,
            })
        })
    }
}

/// The spacing of fresh positions: room for twenty halvings between neighbours before a
/// playlist's positions are laid out again.
pub const POSITION_GAP: i64 = 1 << 20;

/// The position that puts an item at `index` among items at `positions` (in order, the moved
/// item left out): halfway between its new neighbours. `None` when they sit side by side, and
/// the positions must first be laid out again ([`spaced`]).
pub fn slot(positions: &[i64], index: usize) -> Option<i64> {
    let index = index.min(positions.len());
    let before = index.checked_sub(1).map(|i| positions[i]);
    let after = positions.get(index).copied();
    match (before, after) {
        (None, None) => Some(POSITION_GAP),
        (Some(b), None) => b.checked_add(POSITION_GAP),
        (None, Some(a)) => a.checked_sub(POSITION_GAP),
        (Some(b), Some(a)) => (a - b > 1).then(|| b + (a - b) / 2),
    }
}

/// Fresh positions for `n` items, [`POSITION_GAP`] apart.
pub fn spaced(n: usize) -> Vec<i64> {
    (1..=n as i64).map(|i| i * POSITION_GAP).collect()
}

/// What adding a track did.
#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    Added(Box<PlaylistItem>),
    /// The track is in the playlist already.
    Duplicate,
    /// The playlist holds [`ITEMS_MAX`] tracks.
    Full,
    TrackGone,
    PlaylistGone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fall_between_neighbours_until_there_is_no_room() {
        assert_eq!(slot(&[], 0), Some(POSITION_GAP));
        assert_eq!(slot(&[10, 20], 5), Some(20 + POSITION_GAP), "past the end appends");
        assert_eq!(slot(&[10, 20], 0), Some(10 - POSITION_GAP));
        assert_eq!(slot(&[10, 20], 1), Some(15));
        assert_eq!(slot(&[10, 11], 1), None, "no room: lay out again");
        // Inserting at the same place again and again halves the gap each time.
        let mut positions = spaced(2);
        let mut inserts = 0;
        while let Some(p) = slot(&positions, 1) {
            positions.insert(1, p);
            inserts += 1;
        }
        assert_eq!(inserts, 20);
        assert_eq!(spaced(3), [POSITION_GAP, 2 * POSITION_GAP, 3 * POSITION_GAP]);
    }
}
