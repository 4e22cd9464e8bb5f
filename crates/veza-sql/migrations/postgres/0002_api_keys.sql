-- Scoped API keys. The secret is stored only as its SHA-256; times are Unix microseconds.
CREATE TABLE api_keys (
    id           BIGINT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL,   -- space-separated, e.g. "profile:read tracks:read"
    secret_hash  TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT
);
CREATE INDEX api_keys_user ON api_keys (user_id, id);
