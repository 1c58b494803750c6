-- kanary store, version 1 (PostgreSQL). Keep in step with sqlite/0001_objects_and_executions.sql:
-- the same tables, columns and indexes; only the types and collations differ.
--
-- Ids sort with COLLATE "C" (byte order), as SQLite's BINARY and the in-memory store do,
-- whatever the database's default collation: listings break ties on the id.

-- Kayenta's stored objects (StandardObjectType): one row per (type, id), the JSON body as
-- text (kept as written, not JSONB, which would reorder keys and normalise numbers), and what
-- listings need without reading the body.
CREATE TABLE objects (
    type         TEXT   NOT NULL,
    id           TEXT   COLLATE "C" NOT NULL,
    name         TEXT,
    applications TEXT   NOT NULL,  -- a JSON array of strings
    body         TEXT   NOT NULL,  -- the JSON body
    updated_ms   BIGINT NOT NULL,
    PRIMARY KEY (type, id)
);

-- Listing: most recently updated first, per type.
CREATE INDEX objects_listing ON objects (type, updated_ms DESC, id);

CREATE TABLE executions (
    id               TEXT    COLLATE "C" NOT NULL PRIMARY KEY,
    kind             TEXT    NOT NULL,  -- ExecutionKind::as_str
    application      TEXT    NOT NULL,
    status           TEXT    NOT NULL,  -- ExecutionStatus::as_lower
    request          TEXT    NOT NULL,  -- JSON
    state            TEXT    NOT NULL,  -- JSON
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    owner            TEXT,
    lease_expires_ms BIGINT,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    created_ms       BIGINT  NOT NULL,
    started_ms       BIGINT,
    ended_ms         BIGINT
);

-- Claim: the oldest claimable execution. Partial, so that it holds only the executions that
-- still have work (a handful) however many completed ones accumulate.
CREATE INDEX executions_claim ON executions (created_ms, id)
    WHERE status IN ('not_started', 'running');

-- Listing: newest first, overall and per application.
CREATE INDEX executions_listing ON executions (created_ms DESC, id DESC);
CREATE INDEX executions_by_application ON executions (application, created_ms DESC, id DESC);
