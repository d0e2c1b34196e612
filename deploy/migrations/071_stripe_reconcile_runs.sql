-- The daily reconcile's schedule and lease. Owner: stripe-worker.
--
-- One row. A stripe-worker takes the run by moving lease_until ahead in one
-- UPDATE guarded by next_run_at <= now() and an expired lease, so whatever
-- number of workers on whatever hosts, one runs it; a worker killed mid-run
-- only delays it until its lease runs out. The result (drift counts per kind,
-- and the drift itself) stays here, so every stripe-worker shows the same
-- ob_reconcile_drift gauges and an operator can read what was found.
CREATE TABLE stripe_reconcile_runs (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    next_run_at  timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,
    holder       text,
    runs         bigint NOT NULL DEFAULT 0,      -- runs completed (ok or not)
    last_run_at  timestamptz,
    last_ok_at   timestamptz,
    last_error   text,
    counts       jsonb NOT NULL DEFAULT '{}',    -- {"status_mismatch": 1, ...} of the last good run
    drift        jsonb NOT NULL DEFAULT '[]',    -- its rows (at most 1000)
    fix_events   integer NOT NULL DEFAULT 0      -- inbox events it recorded (RECONCILE_FIX)
);
INSERT INTO stripe_reconcile_runs DEFAULT VALUES;
