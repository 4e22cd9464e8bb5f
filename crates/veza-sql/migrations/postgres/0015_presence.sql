-- Presence: each person's chosen status and "listening to" track (kept across connections), and
-- their live gateway connections, each leased by the node holding it and renewed while it lives.
CREATE TABLE presence_settings (
    user_id      BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT    NOT NULL,  -- online | idle | dnd | invisible
    track_id     BIGINT,
    since        BIGINT  NOT NULL
);

CREATE TABLE presence_connections (
    connection_id TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node          TEXT    NOT NULL,
    lease_until   BIGINT  NOT NULL
);
CREATE INDEX presence_connections_user ON presence_connections (user_id, lease_until);
CREATE INDEX presence_connections_node ON presence_connections (node);
CREATE INDEX presence_connections_lease ON presence_connections (lease_until);
