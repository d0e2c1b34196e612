-- Usage metering: metric catalogue and the usage ledger. Owner: lago-worker.

-- The metric codes events may carry. Each is a Lago billable metric of the
-- same code (billing-admin setup-lago creates them). quota = the plan's API-call
-- limit applies to it (plans.api_calls_limit).
CREATE TABLE usage_metrics (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,64}$'),
    name        text NOT NULL,
    aggregation text NOT NULL DEFAULT 'sum_agg' CHECK (aggregation IN ('sum_agg', 'count_agg')),
    quota       boolean NOT NULL DEFAULT false
);
INSERT INTO usage_metrics (code, name, aggregation, quota) VALUES ('api_calls', 'API calls', 'sum_agg', true);

-- The usage ledger: the truth for quotas and for what Lago is told.
-- quantity is also sent to Lago as properties.quantity (sum_agg).
CREATE TABLE usage_events (
    transaction_id   text PRIMARY KEY,                 -- the caller's idempotency key, Lago's too
    user_id          text NOT NULL,
    code             text NOT NULL,                    -- a usage_metrics code (checked by the worker: a foreign
                                                       -- key costs ~10 us per row on the ingest hot path)
    quantity         bigint NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    occurred_at      timestamptz NOT NULL,
    properties       jsonb NOT NULL DEFAULT '{}',
    subscription_id  text,                             -- resolved at authorize or at forwarding time
    source           text NOT NULL DEFAULT 'ingest' CHECK (source IN ('ingest', 'authorize')),
    received_at      timestamptz NOT NULL DEFAULT now(),
    forwarded_at     timestamptz,                      -- Lago acknowledged it
    forward_attempts integer NOT NULL DEFAULT 0,
    next_forward_at  timestamptz NOT NULL DEFAULT now(), -- lease / back-off of the forwarder
    last_error       text
);
CREATE INDEX usage_events_unforwarded_idx ON usage_events (next_forward_at) WHERE forwarded_at IS NULL;
CREATE INDEX usage_events_user_code_idx ON usage_events (user_id, code, occurred_at);
