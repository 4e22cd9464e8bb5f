-- Reactions (one per person and emoji on a message) and pinned messages of channels.
CREATE TABLE message_reactions (
    message_id BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE channel_pins (
    channel_id BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    pinned_by  BIGINT  NOT NULL,
    pinned_at  BIGINT  NOT NULL,
    PRIMARY KEY (channel_id, message_id)
);
