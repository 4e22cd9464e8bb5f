-- Single-use tokens (address verification, password reset, the second login step), stored by
-- SHA-256; and second factors: a TOTP authenticator per user (its secret sealed with a server
-- key) and recovery codes by SHA-256.

CREATE TABLE account_tokens (
    token_hash  TEXT    PRIMARY KEY,
    purpose     TEXT    NOT NULL,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT,                    -- verify_email: the address it proves
    session_id  BIGINT,                  -- the session that asked, if any
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    nonce_hash  TEXT,                    -- magic_link: SHA-256 of the asking client's nonce
    first_factor TEXT,                   -- mfa_login: how the first step was proved
    requested_from TEXT,                 -- the client address that asked
    consumed_at BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose, created_at);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);

CREATE TABLE totp_authenticators (
    user_id       BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    enabled_at    BIGINT,                -- NULL while pending
    last_step     BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
