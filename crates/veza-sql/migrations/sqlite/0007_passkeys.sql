-- Passkeys (WebAuthn credentials), unique by credential id across all accounts, and the
-- ceremonies that create and use them: kept by the SHA-256 of their id, taken once.
CREATE TABLE passkeys (
    id            INTEGER  PRIMARY KEY,
    user_id       INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    credential_id TEXT    NOT NULL UNIQUE,
    data          TEXT    NOT NULL,  -- the credential as webauthn-rs serialises it (public key, counter)
    created_at    INTEGER  NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id, id);

CREATE TABLE webauthn_ceremonies (
    id_hash    TEXT    PRIMARY KEY,
    purpose    TEXT    NOT NULL,  -- register | sign_in | second_factor
    user_id    INTEGER  REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    created_at INTEGER  NOT NULL,
    expires_at INTEGER  NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
