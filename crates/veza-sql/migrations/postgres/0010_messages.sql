-- Messages of channels (a deleted one keeps its row, emptied: a tombstone), whom they mention,
-- and the earlier text of edited ones. A client nonce makes a retried send post once.
CREATE TABLE messages (
    id               BIGINT  PRIMARY KEY,
    channel_id       BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id        BIGINT  NOT NULL REFERENCES users (id),
    content          TEXT    NOT NULL,
    nonce            TEXT,
    reply_to         BIGINT,
    mention_everyone BIGINT  NOT NULL DEFAULT 0,
    created_at       BIGINT  NOT NULL,
    edited_at        BIGINT,
    deleted_at       BIGINT,
    UNIQUE (channel_id, author_id, nonce)
);
CREATE INDEX messages_channel ON messages (channel_id, id);
CREATE INDEX messages_author ON messages (channel_id, author_id, created_at);

CREATE TABLE message_mentions (
    message_id BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,  -- user | role
    target_id  BIGINT  NOT NULL,
    PRIMARY KEY (message_id, kind, target_id)
);
CREATE INDEX message_mentions_target ON message_mentions (kind, target_id);

CREATE TABLE message_edits (
    message_id BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    content    TEXT    NOT NULL,
    edited_at  BIGINT  NOT NULL
);
CREATE INDEX message_edits_message ON message_edits (message_id, edited_at);
