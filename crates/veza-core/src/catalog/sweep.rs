//! Files nothing points at: a write that stored files and then failed (the process died between
//! the two, or removing them failed), left behind in the object store. A sweep lists a kind of
//! file by its key layout, groups them by the row that would own them, and removes the groups
//! whose row does not exist — only once their newest file is older than a grace period, so a
//! write still under way (files first, then its row) is never taken for an orphan.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::catalog::media::{Listed, ObjectStore};
use crate::catalog::Catalog;
use crate::error::CoreError;
use crate::id::TrackId;

/// How old the newest file of a group must be before it may be swept: far longer than any
/// write takes between storing its files and storing its row.
pub const GRACE: time::Duration = time::Duration::hours(1);

/// The groups of `listed` by their first `depth` key segments (`tracks/{id}`: 2), as the
/// group's prefix (with a trailing `/`) and the id its last segment names, when every file of
/// the group was written before `before`. Keys that do not fit the layout are left alone.
pub fn groups_older_than(listed: &[Listed], depth: usize, before: OffsetDateTime) -> Vec<(String, i64)> {
    let mut newest: BTreeMap<String, (i64, OffsetDateTime)> = BTreeMap::new();
    for object in listed {
        let segments: Vec<&str> = object.key.split('/').collect();
        if segments.len() <= depth {
            continue;
        }
        let Ok(id) = segments[depth - 1].parse::<i64>() else { continue };
        let prefix = format!("{}/", segments[..depth].join("/"));
        let entry = newest.entry(prefix).or_insert((id, object.modified));
        entry.1 = entry.1.max(object.modified);
    }
    newest.into_iter().filter(|(_, (_, at))| *at < before).map(|(prefix, (id, _))| (prefix, id)).collect()
}

/// Removes the groups of files under `prefix` (keyed `depth` segments deep) older than the
/// grace whose owner `owned` says is gone; returns how many went. A failure with one group is
/// logged and the sweep goes on with the next.
pub async fn sweep<F, Fut>(
    store: &dyn ObjectStore,
    prefix: &str,
    depth: usize,
    now: OffsetDateTime,
    owned: F,
) -> Result<usize, CoreError>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<bool, CoreError>>,
{
    let listed = store.list(prefix).await?;
    let mut swept = 0;
    for (group, id) in groups_older_than(&listed, depth, now - GRACE) {
        let gone = match owned(id).await {
            Ok(owned) => !owned,
            Err(e) => {
                tracing::warn!(group, error = %e, "cannot tell whether files are owned; left for the next sweep");
                continue;
            }
        };
        if gone {
            match store.delete_prefix(&group).await {
                Ok(()) => {
                    tracing::info!(group, "removed files nothing points at");
                    swept += 1;
                }
                Err(e) => tracing::warn!(group, error = %e, "cannot remove files nothing points at"),
            }
        }
    }
    Ok(swept)
}

impl Catalog {
    /// Removes the files of tracks that do not exist (a failed upload, a deletion whose file
    /// removal failed); returns how many tracks' files went.
    pub async fn sweep_orphan_files(&self) -> Result<usize, CoreError> {
        let owned = |id: i64| async move { Ok(self.deps.tracks.track(TrackId(id)).await?.is_some()) };
        sweep(self.deps.store.as_ref(), TRACKS, 2, self.deps.clock.now(), owned).await
    }
}

/// Where tracks' files live: `tracks/{id}/…` (`Track::storage_prefix`).
const TRACKS: &str = "tracks/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_owner_and_keeps_the_recent_and_the_odd() {
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let at = |key: &str, minutes: i64| Listed { key: key.into(), modified: t - time::Duration::minutes(minutes) };
        let listed = [
            at("tracks/1/original/a.flac", 120),
            at("tracks/1/hls_aac/master.m3u8", 90),
            at("tracks/2/original/b.flac", 120),
            at("tracks/2/mp3/128k.mp3", 10), // still being written to
            at("tracks/x/original/c.flac", 120),
            at("tracks/3", 120),
        ];
        assert_eq!(groups_older_than(&listed, 2, t - GRACE), [("tracks/1/".to_string(), 1)]);
    }
}
