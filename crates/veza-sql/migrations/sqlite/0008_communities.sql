-- Communities: their roles (the @everyone role has the community's id), members and the roles
-- each holds, invites (uses counted by a conditional UPDATE) and bans.
CREATE TABLE communities (
    id          INTEGER  PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT,
    owner_id    INTEGER  NOT NULL REFERENCES users (id),
    created_at  INTEGER  NOT NULL
);

CREATE TABLE community_roles (
    id           INTEGER  PRIMARY KEY,
    community_id INTEGER  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    permissions  INTEGER  NOT NULL,  -- the 64-bit set, as a signed integer
    position     INTEGER  NOT NULL,
    created_at   INTEGER  NOT NULL
);
CREATE INDEX community_roles_community ON community_roles (community_id, position);

CREATE TABLE community_members (
    community_id    INTEGER  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id         INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nickname        TEXT,
    joined_at       INTEGER  NOT NULL,
    timed_out_until INTEGER,
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX community_members_user ON community_members (user_id, joined_at);

CREATE TABLE member_roles (
    community_id INTEGER  NOT NULL,
    user_id      INTEGER  NOT NULL,
    role_id      INTEGER  NOT NULL REFERENCES community_roles (id) ON DELETE CASCADE,
    PRIMARY KEY (community_id, user_id, role_id),
    FOREIGN KEY (community_id, user_id) REFERENCES community_members (community_id, user_id) ON DELETE CASCADE
);

CREATE TABLE community_invites (
    code         TEXT    PRIMARY KEY,
    community_id INTEGER  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    created_by   INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER  NOT NULL,
    expires_at   INTEGER,
    max_uses     INTEGER,
    uses         INTEGER  NOT NULL DEFAULT 0
);
CREATE INDEX community_invites_community ON community_invites (community_id);

CREATE TABLE community_bans (
    community_id INTEGER  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id      INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason       TEXT,
    banned_by    INTEGER  NOT NULL,
    created_at   INTEGER  NOT NULL,
    PRIMARY KEY (community_id, user_id)
);
