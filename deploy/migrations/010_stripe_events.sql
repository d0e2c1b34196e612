-- The Stripe webhook inbox. Owner: stripe-worker.
-- A row is written (group-committed) before the gateway answers 200; the
-- event's id is Stripe's, so a redelivery inserts nothing. payload is the raw
-- body exactly as Stripe signed it (text, not jsonb: no parse on the ingest
-- path, and the bytes stay verifiable).
CREATE TABLE stripe_events (
    id              text PRIMARY KEY,                    -- evt_...
    type            text NOT NULL,
    created         bigint NOT NULL,                     -- Stripe's event time (Unix s)
    livemode        boolean NOT NULL DEFAULT false,
    payload         text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processed', 'ignored', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,          -- claims so far (a claim counts even if the worker died)
    next_attempt_at timestamptz NOT NULL DEFAULT now(),  -- back-off after a failure
    locked_until    timestamptz,                         -- the claim's lease: past it, another worker may take it
    last_error      text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz
);
-- What the processors scan: due, unfinished events.
CREATE INDEX stripe_events_due_idx ON stripe_events (next_attempt_at) WHERE status = 'pending';
-- What operators list: by status, newest first.
CREATE INDEX stripe_events_status_idx ON stripe_events (status, received_at DESC);
