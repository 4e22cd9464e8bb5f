-- How far each member has read each channel.
CREATE TABLE read_states (
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id   BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    last_read_id BIGINT  NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);
