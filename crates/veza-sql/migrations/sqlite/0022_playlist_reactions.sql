-- Likes and reposts of playlists, as of tracks (migration 19): rows with time-ordered ids, and
-- counts as columns of the playlist moved in the transaction that adds or removes the row.
ALTER TABLE playlists ADD COLUMN like_count   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE playlists ADD COLUMN repost_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE playlist_likes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    playlist_id INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX playlist_likes_once ON playlist_likes (user_id, playlist_id);
CREATE INDEX playlist_likes_by_user ON playlist_likes (user_id, id);
CREATE INDEX playlist_likes_by_playlist ON playlist_likes (playlist_id, id);

CREATE TABLE playlist_reposts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    playlist_id INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    caption     TEXT,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX playlist_reposts_once ON playlist_reposts (user_id, playlist_id);
CREATE INDEX playlist_reposts_by_user ON playlist_reposts (user_id, id);
CREATE INDEX playlist_reposts_by_playlist ON playlist_reposts (playlist_id, id);
