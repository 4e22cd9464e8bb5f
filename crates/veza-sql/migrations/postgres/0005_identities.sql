-- External identities (Google, GitHub, Discord accounts) linked to Veza accounts. A provider's
-- subject is linked to one account at most.
CREATE TABLE identities (
    id           BIGINT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    email        TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    UNIQUE (provider, subject)
);
CREATE INDEX identities_user ON identities (user_id, id);
