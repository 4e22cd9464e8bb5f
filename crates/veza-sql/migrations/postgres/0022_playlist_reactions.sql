-- Likes and reposts of playlists, as of tracks (migration 19): rows with time-ordered ids, and
-- counts as columns of the playlist moved in the transaction that adds or removes the row.
ALTER TABLE playlists ADD COLUMN like_count   BIGINT NOT NULL DEFAULT 0;
ALTER TABLE playlists ADD COLUMN repost_count BIGINT NOT NULL DEFAULT 0;

CREATE TABLE playlist_likes (
    id          BIGINT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    playlist_id BIGINT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX playlist_likes_once ON playlist_likes (user_id, playlist_id);
CREATE INDEX playlist_likes_by_user ON playlist_likes (user_id, id);
CREATE INDEX playlist_likes_by_playlist ON playlist_likes (playlist_id, id);

CREATE TABLE playlist_reposts (
    id          BIGINT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    playlist_id BIGINT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    caption     TEXT,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX playlist_reposts_once ON playlist_reposts (user_id, playlist_id);
CREATE INDEX playlist_reposts_by_user ON playlist_reposts (user_id, id);
CREATE INDEX playlist_reposts_by_playlist ON playlist_reposts (playlist_id, id);
