-- Schema version 1: learners, item status, the append-only event log,
-- study sessions, notes and milestone runs.
-- Timestamps are RFC 3339 strings in UTC; dates are YYYY-MM-DD.

CREATE TABLE learners (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

-- The current state of each item for each learner; absent row = todo.
CREATE TABLE item_status (
    learner_id  INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('todo', 'in_progress', 'done', 'skipped')),
    started_at  TEXT,
    finished_at TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (learner_id, item_id)
);

-- Every change, never updated or deleted.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    learner_id  INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    item_id     TEXT,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_learner ON events (learner_id, at);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events is append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events is append-only'); END;

CREATE TABLE study_sessions (
    id          INTEGER PRIMARY KEY,
    learner_id  INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL,
    date        TEXT NOT NULL,
    minutes     INTEGER NOT NULL CHECK (minutes > 0),
    note        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX study_sessions_by_learner ON study_sessions (learner_id, date);

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    learner_id  INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Milestone runs (`roadmap run`) and verifications of a learner's own work
-- (`roadmap verify`).
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    learner_id       INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    phase_id         TEXT NOT NULL,
    runner           TEXT NOT NULL,
    kind             TEXT NOT NULL DEFAULT 'run' CHECK (kind IN ('run', 'verify')),
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    duration_seconds REAL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'interrupted')),
    params           TEXT NOT NULL DEFAULT '{}',
    metrics          TEXT NOT NULL DEFAULT '{}',
    criteria         TEXT NOT NULL DEFAULT '[]',
    error            TEXT,
    artifact_dir     TEXT,
    tool_version     TEXT NOT NULL,
    pid              INTEGER,
    pid_start        TEXT
);
CREATE INDEX runs_by_learner ON runs (learner_id, phase_id, started_at);
