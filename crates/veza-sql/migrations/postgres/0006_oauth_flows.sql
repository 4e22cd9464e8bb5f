-- Social sign-ins under way, from the start to the provider's callback (at most 10 minutes).
-- Kept under the SHA-256 of their state; taken (deleted) by the one callback that also shows the
-- binding the starting client holds. An account made by a provider has no password: its
-- password_hash is the empty string, which no hash verification accepts.
CREATE TABLE oauth_flows (
    state_hash     TEXT    PRIMARY KEY,
    binding_hash   TEXT    NOT NULL,
    provider       TEXT    NOT NULL,
    link_user_id   BIGINT  REFERENCES users (id) ON DELETE CASCADE, -- set when linking from settings
    pkce_verifier  TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    requested_from TEXT,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX oauth_flows_expiry ON oauth_flows (expires_at);
