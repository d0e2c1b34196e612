-- Notification requests, written by any service inside the transaction that
-- caused them, delivered by the notifier. Owner: notifier.
CREATE TABLE notifications (
    id           bigserial PRIMARY KEY,
    dedupe_key   text NOT NULL UNIQUE,                   -- e.g. 'stripe:evt_123:receipt': a repeat inserts nothing
    kind         text NOT NULL,                          -- trial_will_end, receipt, payment_failed, ...
    user_id      text,
    channel      text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'webhook')),
    payload      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX notifications_pending_idx ON notifications (next_attempt_at) WHERE status = 'pending';
