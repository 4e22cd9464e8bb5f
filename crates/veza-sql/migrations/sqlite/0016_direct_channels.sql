-- Direct conversations: channels outside any community (community_id NULL), of kind 'dm' (two
-- people, one conversation per pair) or 'group_dm' (up to ten, with an owner and a name), and
-- who is in each. SQLite cannot drop NOT NULL from a column, so the channels table is rebuilt
-- (the migration runs with foreign keys off: dropping the old table must not cascade).
CREATE TABLE channels_rebuilt (
    id            INTEGER  PRIMARY KEY,
    community_id  INTEGER  REFERENCES communities (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,  -- text | announcement | category | thread | dm | group_dm
    name          TEXT    NOT NULL,
    topic         TEXT,
    parent_id     INTEGER  REFERENCES channels (id) ON DELETE SET NULL,
    position      INTEGER  NOT NULL,
    slowmode_secs INTEGER  NOT NULL,
    created_at    INTEGER  NOT NULL,
    owner_id      INTEGER,
    starter_id    INTEGER,
    archived_at   INTEGER,
    locked        INTEGER  NOT NULL DEFAULT 0
);
INSERT INTO channels_rebuilt (id, community_id, kind, name, topic, parent_id, position, slowmode_secs,
                              created_at, owner_id, starter_id, archived_at, locked)
    SELECT id, community_id, kind, name, topic, parent_id, position, slowmode_secs, created_at, owner_id,
           starter_id, archived_at, locked FROM channels;
DROP TABLE channels;
ALTER TABLE channels_rebuilt RENAME TO channels;
CREATE INDEX channels_community ON channels (community_id, position, id);
CREATE UNIQUE INDEX channels_starter ON channels (starter_id);
CREATE INDEX channels_threads ON channels (parent_id, id);

CREATE TABLE dm_recipients (
    channel_id INTEGER  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX dm_recipients_user ON dm_recipients (user_id, channel_id);
-- One 'dm' per pair: its key is the two user ids, lower first.
CREATE TABLE dm_pairs (
    low_id     INTEGER  NOT NULL,
    high_id    INTEGER  NOT NULL,
    channel_id INTEGER  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (low_id, high_id)
);
