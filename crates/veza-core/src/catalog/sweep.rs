//! Files nothing points at: a write that stored files and then failed (the process died between
//! the two, or removing them failed), left behind in the object store. A sweep lists a kind of
//! file by its key layout, groups them by the row that would own them, and removes the groups
//! whose row does not exist — only once their newest file is older than a grace period, so a
//! write still under way (files first, then its row) is never taken for an orphan.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::catalog::media::Listed;
use crate::catalog::track::Track;
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

impl Catalog {
    /// Removes the files of tracks that do not exist (a failed upload, a deletion whose file
    /// removal failed); returns how many tracks' files went.
    pub async fn sweep_orphan_files(&self) -> Result<usize, CoreError> {
        let listed = self.deps.store.list("tracks/").await?;
        let before = self.deps.clock.now() - GRACE;
        let mut swept = 0;
        for (prefix, id) in groups_older_than(&listed, 2, before) {
            if self.deps.tracks.track(TrackId(id)).await?.is_none() {
                debug_assert_eq!(prefix, Track::storage_prefix(TrackId(id)));
                tracing::info!(prefix, "removing the files of a track that does not exist");
                self.deps.store.delete_prefix(&prefix).await?;
                swept += 1;
            }
        }
        Ok(swept)
    }
}

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
