-- kanary store, version 1 (SQLite). Keep in step with postgres/0001_objects_and_executions.sql:
-- the same tables, columns and indexes; only the types and collations differ.

-- Kayenta's stored objects (StandardObjectType): one row per (type, id), the JSON body as
-- text, and what listings need without reading the body.
CREATE TABLE objects (
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    name         TEXT,
    applications TEXT    NOT NULL,  -- a JSON array of strings
    body         TEXT    NOT NULL,  -- the JSON body
    updated_ms   INTEGER NOT NULL,
    PRIMARY KEY (type, id)
);

-- Listing: most recently updated first, per type.
CREATE INDEX objects_listing ON objects (type, updated_ms DESC, id);

CREATE TABLE executions (
    id               TEXT    NOT NULL PRIMARY KEY,
    kind             TEXT    NOT NULL,  -- ExecutionKind::as_str
    application      TEXT    NOT NULL,
    status           TEXT    NOT NULL,  -- ExecutionStatus::as_lower
    request          TEXT    NOT NULL,  -- JSON
    state            TEXT    NOT NULL,  -- JSON
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    owner            TEXT,
    lease_expires_ms INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_ms       INTEGER NOT NULL,
    started_ms       INTEGER,
    ended_ms         INTEGER
);

-- Claim: the oldest claimable execution. Partial, so that it holds only the executions that
-- still have work (a handful) however many completed ones accumulate; the claim query
-- repeats this predicate word for word so that SQLite's planner can use it.
CREATE INDEX executions_claim ON executions (created_ms, id)
    WHERE status IN ('not_started', 'running');

-- Listing: newest first, overall and per application.
CREATE INDEX executions_listing ON executions (created_ms DESC, id DESC);
CREATE INDEX executions_by_application ON executions (application, created_ms DESC, id DESC);
