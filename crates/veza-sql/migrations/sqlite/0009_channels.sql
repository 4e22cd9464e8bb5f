-- Channels of communities (categories hold channels; a deleted category leaves its channels
-- outside any) and their permission overwrites, one per role or member.
CREATE TABLE channels (
    id            INTEGER  PRIMARY KEY,
    community_id  INTEGER  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,  -- text | announcement | category
    name          TEXT    NOT NULL,
    topic         TEXT,
    parent_id     INTEGER  REFERENCES channels (id) ON DELETE SET NULL,
    position      INTEGER  NOT NULL,
    slowmode_secs INTEGER  NOT NULL,
    created_at    INTEGER  NOT NULL
);
CREATE INDEX channels_community ON channels (community_id, position, id);

CREATE TABLE channel_overwrites (
    channel_id  INTEGER  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    target_kind TEXT    NOT NULL,  -- role | member
    target_id   INTEGER  NOT NULL,
    allow_bits  INTEGER  NOT NULL,
    deny_bits   INTEGER  NOT NULL,
    PRIMARY KEY (channel_id, target_kind, target_id)
);
CREATE INDEX channel_overwrites_target ON channel_overwrites (target_kind, target_id);
