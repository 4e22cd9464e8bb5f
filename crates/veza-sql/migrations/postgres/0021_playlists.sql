-- Playlists, albums and EPs: an ordered list of tracks. An item's place is a sparse position
-- (new ones fall halfway between their neighbours), so moving a track writes one row.
CREATE TABLE playlists (
    id          BIGINT PRIMARY KEY,
    owner_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT   NOT NULL,
    description TEXT   NOT NULL,
    visibility  TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    share_token TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX playlists_by_owner ON playlists (owner_id, id);

-- added_by is kept as a plain id: a collaborator's account going does not take their additions.
CREATE TABLE playlist_items (
    id          BIGINT PRIMARY KEY,
    playlist_id BIGINT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    track_id    BIGINT NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    added_by    BIGINT NOT NULL,
    added_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX playlist_items_once ON playlist_items (playlist_id, track_id);
CREATE INDEX playlist_items_order ON playlist_items (playlist_id, position, id);
-- A deleted track leaves every playlist.
CREATE INDEX playlist_items_by_track ON playlist_items (track_id);

CREATE TABLE playlist_collaborators (
    playlist_id BIGINT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (playlist_id, user_id)
);
