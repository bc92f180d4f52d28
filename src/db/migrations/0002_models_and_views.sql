-- Schema version 2: the models registry (phase 2 onwards saves models that
-- later phases load) and read-only views for mentors.

CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    learner_id  INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    path        TEXT NOT NULL,
    metrics     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);
CREATE INDEX models_by_name ON models (name, created_at);

-- Per learner and item: status and timestamps (items never touched are absent: todo).
CREATE VIEW v_progress AS
SELECT l.name AS learner, s.item_id, substr(s.item_id, 1, instr(s.item_id || '.', '.') - 1) AS phase_id,
       s.status, s.started_at, s.finished_at, s.updated_at
FROM item_status s JOIN learners l ON l.id = s.learner_id;

-- The newest run of each kind per learner and phase.
CREATE VIEW v_latest_runs AS
SELECT l.name AS learner, r.phase_id, r.kind, r.runner, r.status, r.started_at, r.finished_at,
       r.duration_seconds, r.metrics, r.artifact_dir, r.tool_version, r.id AS run_id
FROM runs r JOIN learners l ON l.id = r.learner_id
WHERE r.id = (SELECT r2.id FROM runs r2
              WHERE r2.learner_id = r.learner_id AND r2.phase_id = r.phase_id AND r2.kind = r.kind
              ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1);

-- Minutes studied per learner and phase.
CREATE VIEW v_time_spent AS
SELECT l.name AS learner, substr(s.item_id, 1, instr(s.item_id || '.', '.') - 1) AS phase_id,
       SUM(s.minutes) AS minutes, COUNT(*) AS sessions, MIN(s.date) AS first_date, MAX(s.date) AS last_date
FROM study_sessions s JOIN learners l ON l.id = s.learner_id
GROUP BY l.name, phase_id;
