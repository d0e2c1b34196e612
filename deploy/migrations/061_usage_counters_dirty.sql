-- The "counters dirty" marker, made durable (issue 12.4). Owner: lago-worker.
--
-- When usage goes into the ledger while Redis cannot count it, every quota
-- counter must be invalidated (the epoch bumped) once Redis is back, so they
-- are rebuilt from the ledger. The flag lived only in the process: a restart
-- in between lost it and the counters never included those events (an
-- over-grant). The marker is written in the same transaction as the
-- uncounted ledger rows and deleted, by generation, once the epoch is bumped.
CREATE SEQUENCE usage_counters_dirty_generation;
CREATE TABLE usage_counters_dirty (
    id         integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    generation bigint NOT NULL DEFAULT nextval('usage_counters_dirty_generation'),
    since      timestamptz NOT NULL DEFAULT now()
);
