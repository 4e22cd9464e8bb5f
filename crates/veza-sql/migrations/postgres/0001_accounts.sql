-- Accounts, login sessions with rotating refresh tokens, and the append-only audit log.
-- Times are Unix microseconds (UTC) in 64-bit integers, identical in both databases.

CREATE TABLE users (
    id                BIGINT PRIMARY KEY,
    username          TEXT   NOT NULL UNIQUE,           -- always lowercase
    email             TEXT   NOT NULL,                  -- as typed
    email_normalized  TEXT   NOT NULL UNIQUE,           -- lowercase, for uniqueness and login
    email_verified_at BIGINT,
    password_hash     TEXT   NOT NULL,
    role              TEXT   NOT NULL CHECK (role IN ('user', 'moderator', 'admin')),
    disabled_at       BIGINT,
    disabled_reason   TEXT,
    display_name      TEXT,
    bio               TEXT,
    avatar_url        TEXT,
    location          TEXT,
    links             TEXT   NOT NULL DEFAULT '[]',    -- JSON array of URLs
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX users_role ON users (role);

-- One row per refresh-token family.
CREATE TABLE sessions (
    id             BIGINT PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT,
    user_agent     TEXT,
    ip             TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token ever issued, by SHA-256; consumed ones stay to detect replays.
CREATE TABLE refresh_tokens (
    token_hash  TEXT   PRIMARY KEY,
    session_id  BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- No foreign keys: the log must outlive the accounts it mentions.
CREATE TABLE audit_log (
    id         BIGINT PRIMARY KEY,
    action     TEXT   NOT NULL,
    actor_id   BIGINT,
    target_id  BIGINT,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    detail     TEXT   NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
