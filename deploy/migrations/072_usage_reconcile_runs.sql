-- The daily usage reconcile's schedule and lease. Owner: lago-worker.
--
-- As stripe_reconcile_runs (071) for the stripe-worker: one row, taken by one
-- lago-worker at a time with a lease; the result (events Lago lacks, per
-- kind, and the drift rows) stays here for every lago-worker's gauges.
CREATE TABLE usage_reconcile_runs (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    next_run_at  timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,
    holder       text,
    runs         bigint NOT NULL DEFAULT 0,
    last_run_at  timestamptz,
    last_ok_at   timestamptz,
    last_error   text,
    missing      bigint NOT NULL DEFAULT 0,      -- events Lago lacks, as the last good run found
    drift        jsonb NOT NULL DEFAULT '[]',    -- its rows (at most 1000)
    reforwarded  integer NOT NULL DEFAULT 0      -- events it queued again (RECONCILE_FIX)
);
INSERT INTO usage_reconcile_runs DEFAULT VALUES;
