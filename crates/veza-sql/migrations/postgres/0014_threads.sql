-- Threads are channels of kind 'thread' whose parent_id is the channel they are in. They keep
-- who started them, the message they were started from (one thread per message), when they
-- were archived and whether they are locked. Their members are the people following them.
ALTER TABLE channels ADD COLUMN owner_id BIGINT;
ALTER TABLE channels ADD COLUMN starter_id BIGINT;
ALTER TABLE channels ADD COLUMN archived_at BIGINT;
ALTER TABLE channels ADD COLUMN locked BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX channels_starter ON channels (starter_id);
CREATE INDEX channels_threads ON channels (parent_id, id);

CREATE TABLE thread_members (
    thread_id  BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at  BIGINT  NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX thread_members_user ON thread_members (user_id, thread_id);
