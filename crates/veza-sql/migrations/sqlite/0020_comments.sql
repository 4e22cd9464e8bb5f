-- Timed comments on tracks. A reply answers a top-level comment and goes with it; the track's
-- count of comments is a column moved in the transaction that adds or removes them.
ALTER TABLE tracks ADD COLUMN comment_count   INTEGER NOT NULL DEFAULT 0;
-- 1 when the owner closed the track to new comments.
ALTER TABLE tracks ADD COLUMN comments_closed INTEGER NOT NULL DEFAULT 0;

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    track_id   INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reply_to   INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    body       TEXT   NOT NULL,
    at_ms      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    edited_at  INTEGER
);
-- Along the track, and the latest first.
CREATE INDEX comments_timeline ON comments (track_id, at_ms, id);
CREATE INDEX comments_newest ON comments (track_id, id);
-- A comment's replies (deleted with it).
CREATE INDEX comments_replies ON comments (reply_to) WHERE reply_to IS NOT NULL;
