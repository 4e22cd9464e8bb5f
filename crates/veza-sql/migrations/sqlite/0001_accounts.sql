-- Accounts, login sessions with rotating refresh tokens, and the append-only audit log.
-- Times are Unix microseconds (UTC) in 64-bit integers, identical in both databases.

CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    username          TEXT    NOT NULL UNIQUE,          -- always lowercase
    email             TEXT    NOT NULL,                 -- as typed
    email_normalized  TEXT    NOT NULL UNIQUE,          -- lowercase, for uniqueness and login
    email_verified_at INTEGER,
    password_hash     TEXT    NOT NULL,
    role              TEXT    NOT NULL CHECK (role IN ('user', 'moderator', 'admin')),
    disabled_at       INTEGER,
    disabled_reason   TEXT,
    display_name      TEXT,
    bio               TEXT,
    avatar_url        TEXT,
    location          TEXT,
    links             TEXT    NOT NULL DEFAULT '[]',   -- JSON array of URLs
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX users_role ON users (role);

-- One row per refresh-token family.
CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT,
    user_agent     TEXT,
    ip             TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token ever issued, by SHA-256; consumed ones stay to detect replays.
CREATE TABLE refresh_tokens (
    token_hash  TEXT    PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    consumed_at INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- No foreign keys: the log must outlive the accounts it mentions.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    action     TEXT    NOT NULL,
    actor_id   INTEGER,
    target_id  INTEGER,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    detail     TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
