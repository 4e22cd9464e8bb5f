-- Direct conversations: channels outside any community (community_id NULL), of kind 'dm' (two
-- people, one conversation per pair) or 'group_dm' (up to ten, with an owner and a name), and
-- who is in each.
ALTER TABLE channels ALTER COLUMN community_id DROP NOT NULL;

CREATE TABLE dm_recipients (
    channel_id BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX dm_recipients_user ON dm_recipients (user_id, channel_id);
-- One 'dm' per pair: its key is the two user ids, lower first.
CREATE TABLE dm_pairs (
    low_id     BIGINT  NOT NULL,
    high_id    BIGINT  NOT NULL,
    channel_id BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (low_id, high_id)
);
