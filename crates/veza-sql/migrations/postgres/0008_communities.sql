-- Communities: their roles (the @everyone role has the community's id), members and the roles
-- each holds, invites (uses counted by a conditional UPDATE) and bans.
CREATE TABLE communities (
    id          BIGINT  PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT,
    owner_id    BIGINT  NOT NULL REFERENCES users (id),
    created_at  BIGINT  NOT NULL
);

CREATE TABLE community_roles (
    id           BIGINT  PRIMARY KEY,
    community_id BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    permissions  BIGINT  NOT NULL,  -- the 64-bit set, as a signed integer
    position     BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX community_roles_community ON community_roles (community_id, position);

CREATE TABLE community_members (
    community_id    BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nickname        TEXT,
    joined_at       BIGINT  NOT NULL,
    timed_out_until BIGINT,
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX community_members_user ON community_members (user_id, joined_at);

CREATE TABLE member_roles (
    community_id BIGINT  NOT NULL,
    user_id      BIGINT  NOT NULL,
    role_id      BIGINT  NOT NULL REFERENCES community_roles (id) ON DELETE CASCADE,
    PRIMARY KEY (community_id, user_id, role_id),
    FOREIGN KEY (community_id, user_id) REFERENCES community_members (community_id, user_id) ON DELETE CASCADE
);

CREATE TABLE community_invites (
    code         TEXT    PRIMARY KEY,
    community_id BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    created_by   BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    max_uses     BIGINT,
    uses         BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX community_invites_community ON community_invites (community_id);

CREATE TABLE community_bans (
    community_id BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason       TEXT,
    banned_by    BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (community_id, user_id)
);
