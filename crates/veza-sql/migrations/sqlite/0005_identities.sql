-- External identities (Google, GitHub, Discord accounts) linked to Veza accounts. A provider's
-- subject is linked to one account at most.
CREATE TABLE identities (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    email        TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (provider, subject)
);
CREATE INDEX identities_user ON identities (user_id, id);
