-- The social layer: follows, likes and reposts, each a row with its own time-ordered id (the
-- cursor of the lists it appears in). The counts shown on users and tracks are columns, changed
-- in the transaction that adds or removes the row they count.
ALTER TABLE users ADD COLUMN follower_count  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN following_count INTEGER NOT NULL DEFAULT 0;
-- Public tracks: what anyone sees on the user's page.
ALTER TABLE users ADD COLUMN track_count     INTEGER NOT NULL DEFAULT 0;
UPDATE users SET track_count = (
    SELECT COUNT(*) FROM tracks WHERE tracks.owner_id = users.id AND tracks.visibility = 'public'
);
ALTER TABLE tracks ADD COLUMN like_count   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tracks ADD COLUMN repost_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE follows (
    id          INTEGER PRIMARY KEY,
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
-- One follow per pair, and the list of whom someone follows, latest first.
CREATE UNIQUE INDEX follows_by_follower ON follows (follower_id, followee_id);
CREATE INDEX follows_following_list ON follows (follower_id, id);
-- Someone's followers, latest first.
CREATE INDEX follows_by_followee ON follows (followee_id, id);

CREATE TABLE likes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id   INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX likes_once ON likes (user_id, track_id);
CREATE INDEX likes_by_user ON likes (user_id, id);
CREATE INDEX likes_by_track ON likes (track_id, id);

CREATE TABLE reposts (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id   INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    caption    TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX reposts_once ON reposts (user_id, track_id);
CREATE INDEX reposts_by_user ON reposts (user_id, id);
CREATE INDEX reposts_by_track ON reposts (track_id, id);
