-- Messages of channels (a deleted one keeps its row, emptied: a tombstone), whom they mention,
-- and the earlier text of edited ones. A client nonce makes a retried send post once.
CREATE TABLE messages (
    id               INTEGER  PRIMARY KEY,
    channel_id       INTEGER  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id        INTEGER  NOT NULL REFERENCES users (id),
    content          TEXT    NOT NULL,
    nonce            TEXT,
    reply_to         INTEGER,
    mention_everyone INTEGER  NOT NULL DEFAULT 0,
    created_at       INTEGER  NOT NULL,
    edited_at        INTEGER,
    deleted_at       INTEGER,
    UNIQUE (channel_id, author_id, nonce)
);
CREATE INDEX messages_channel ON messages (channel_id, id);
CREATE INDEX messages_author ON messages (channel_id, author_id, created_at);

CREATE TABLE message_mentions (
    message_id INTEGER  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,  -- user | role
    target_id  INTEGER  NOT NULL,
    PRIMARY KEY (message_id, kind, target_id)
);
CREATE INDEX message_mentions_target ON message_mentions (kind, target_id);

CREATE TABLE message_edits (
    message_id INTEGER  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    content    TEXT    NOT NULL,
    edited_at  INTEGER  NOT NULL
);
CREATE INDEX message_edits_message ON message_edits (message_id, edited_at);
