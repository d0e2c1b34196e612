-- Lago's copy of each subscription, and Lago's webhooks. Owner: lago-worker.

-- What Lago was last told about a subscription. The lago-worker compares it
-- with subscriptions and pushes the difference (customer upsert + subscription
-- create/change, or terminate), marking it synced only after Lago said OK.
CREATE TABLE lago_subscription_sync (
    subscription_id text PRIMARY KEY,                  -- subscriptions.id = Lago's external_id
    user_id         text NOT NULL,                     -- Lago's external_customer_id
    synced_plan_id  text,                              -- the plan code Lago has
    synced_status   text CHECK (synced_status IN ('active', 'terminated')),
    synced_at       timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);

-- Lago webhook inbox, deduplicated by X-Lago-Unique-Key.
CREATE TABLE lago_webhooks (
    unique_key   text PRIMARY KEY,
    webhook_type text NOT NULL DEFAULT '',
    payload      jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'ignored', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX lago_webhooks_pending_idx ON lago_webhooks (received_at) WHERE status = 'pending';
