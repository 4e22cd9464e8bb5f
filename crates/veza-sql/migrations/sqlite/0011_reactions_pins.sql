-- Reactions (one per person and emoji on a message) and pinned messages of channels.
CREATE TABLE message_reactions (
    message_id INTEGER  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT    NOT NULL,
    created_at INTEGER  NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE channel_pins (
    channel_id INTEGER  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id INTEGER  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    pinned_by  INTEGER  NOT NULL,
    pinned_at  INTEGER  NOT NULL,
    PRIMARY KEY (channel_id, message_id)
);
