-- Projector's PostgreSQL event log, created on first use. The schema is `projector` unless
-- the log URL says ?schema=NAME. Generated from PostgresEventLog.schemaStatements.

CREATE SCHEMA IF NOT EXISTS projector;

-- Events in insert order. seq is handed out at insert and commits out of order: never
-- tail by it. transaction_id is the inserting transaction, for the sequencer.
CREATE TABLE IF NOT EXISTS projector.events (
    seq bigserial PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    id uuid NOT NULL UNIQUE,
    stream text NOT NULL,
    version bigint NOT NULL,
    type text NOT NULL,
    data json NOT NULL,
    metadata json NOT NULL DEFAULT '{}',
    time timestamptz NOT NULL DEFAULT now(),
    tenant text,
    UNIQUE (stream, version)
);

CREATE INDEX IF NOT EXISTS events_transaction_seq ON projector.events (transaction_id, seq);

-- The log's order: position n is the n-th event to become visible. Gapless; a row
-- is never changed or removed.
CREATE TABLE IF NOT EXISTS projector.positions (
    position bigint PRIMARY KEY,
    seq bigint NOT NULL UNIQUE REFERENCES projector.events (seq)
);

-- One row: every event of a transaction below low_xid has a position.
CREATE TABLE IF NOT EXISTS projector.sequencer (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    low_xid xid8 NOT NULL,
    last_position bigint NOT NULL
);

INSERT INTO projector.sequencer (low_xid, last_position) VALUES ('0', 0) ON CONFLICT DO NOTHING;

-- A sequencer round: numbers every visible event without a position, ordered by
-- (transaction id, seq), then records the snapshot's xmin as the low-water mark (every
-- transaction below it has finished: no event below it can appear later). Rounds are
-- serialised by an advisory lock; each statement here takes a new snapshot, so a round
-- sees the positions of the round before it. Returns the last position.
CREATE OR REPLACE FUNCTION projector.sequence() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    low xid8;
    last bigint;
    horizon xid8;
    added bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(1886546547, 733277923);
    SELECT low_xid, last_position INTO low, last FROM projector.sequencer;
    -- EXECUTE plans with the actual mark, so the planner sees how few events lie above
    -- it; one statement, so what it numbers and the xmin it returns share a snapshot.
    EXECUTE $q$
        WITH fresh AS (
            SELECT e.seq, row_number() OVER (ORDER BY e.transaction_id, e.seq) AS n
            FROM projector.events e
            WHERE e.transaction_id >= $1
              AND NOT EXISTS (SELECT 1 FROM projector.positions p WHERE p.seq = e.seq)),
        added AS (
            INSERT INTO projector.positions (position, seq)
            SELECT $2 + fresh.n, fresh.seq FROM fresh
            RETURNING position)
        SELECT pg_snapshot_xmin(pg_current_snapshot()), (SELECT count(*) FROM added)
    $q$ INTO horizon, added USING low, last;
    IF added > 0 OR horizon > low THEN
        UPDATE projector.sequencer SET low_xid = greatest(low_xid, horizon), last_position = last + added;
    END IF;
    RETURN last + added;
END $$;

-- Wakes tailers (LISTEN projector_events) when any writer's insert commits.
CREATE OR REPLACE FUNCTION projector.notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_events', '');
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER events_notify AFTER INSERT ON projector.events
    FOR EACH STATEMENT EXECUTE FUNCTION projector.notify_events();
