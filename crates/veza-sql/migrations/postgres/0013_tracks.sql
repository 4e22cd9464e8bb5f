-- Uploaded tracks. Tags are newline-separated (a tag cannot hold control characters); loudness
-- is EBU R128 as measured from the original, NULL until processed.
CREATE TABLE tracks (
    id              BIGINT  PRIMARY KEY,
    owner_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    genre           TEXT,
    tags            TEXT    NOT NULL,
    artist          TEXT,
    album           TEXT,
    year            BIGINT,
    visibility      TEXT    NOT NULL,
    downloadable    BIGINT  NOT NULL,
    share_token     TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    progress        BIGINT  NOT NULL,
    failure         TEXT,
    original_format TEXT    NOT NULL,
    original_size   BIGINT  NOT NULL,
    original_name   TEXT    NOT NULL,
    has_cover       BIGINT  NOT NULL,
    duration_ms     BIGINT  NOT NULL,
    loudness_lufs   DOUBLE PRECISION,
    true_peak_dbtp  DOUBLE PRECISION,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
-- An artist's page, newest first.
CREATE INDEX tracks_by_owner ON tracks (owner_id, id);

-- The durable job queue: a claimed job is held until lease_until; a finished one keeps its row
-- until its track goes.
CREATE TABLE jobs (
    id              BIGINT  PRIMARY KEY,
    kind            TEXT    NOT NULL,
    track_id        BIGINT  NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT,
    finished_at     BIGINT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL
);
-- The workers' question: what is due and not finished?
CREATE INDEX jobs_due ON jobs (next_attempt_at) WHERE finished_at IS NULL;
CREATE INDEX jobs_by_track ON jobs (track_id);
