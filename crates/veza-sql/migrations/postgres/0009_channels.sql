-- Channels of communities (categories hold channels; a deleted category leaves its channels
-- outside any) and their permission overwrites, one per role or member.
CREATE TABLE channels (
    id            BIGINT  PRIMARY KEY,
    community_id  BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,  -- text | announcement | category
    name          TEXT    NOT NULL,
    topic         TEXT,
    parent_id     BIGINT  REFERENCES channels (id) ON DELETE SET NULL,
    position      BIGINT  NOT NULL,
    slowmode_secs BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX channels_community ON channels (community_id, position, id);

CREATE TABLE channel_overwrites (
    channel_id  BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    target_kind TEXT    NOT NULL,  -- role | member
    target_id   BIGINT  NOT NULL,
    allow_bits  BIGINT  NOT NULL,
    deny_bits   BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, target_kind, target_id)
);
CREATE INDEX channel_overwrites_target ON channel_overwrites (target_kind, target_id);
