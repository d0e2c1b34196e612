-- Delivery of notification requests: the e-mail outbox (on the request row
-- itself), outgoing webhook endpoints and messages, the delivery log, the
-- users' mail preferences and the daily mail caps. Owner: notifier (other
-- services only INSERT into notifications).

-- The request row is also its e-mail's outbox entry: claimed with a lease
-- (locked_until), marked sent or failed in the statement that logs the attempt.
-- 'skipped': no mail is due (no address, unsubscribed, daily cap, a kind
-- without a mail); last_error says which.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped'));
ALTER TABLE notifications
    ADD COLUMN locked_until  timestamptz,
    ADD COLUMN fanned_out_at timestamptz,            -- webhook messages created for it
    ADD COLUMN email_to      text,
    ADD COLUMN message_id    text;                   -- the mail's Message-ID (stable across attempts)
-- Requests stored before webhooks existed have nobody to fan out to.
UPDATE notifications SET fanned_out_at = created_at;
CREATE INDEX notifications_fanout_idx ON notifications (id) WHERE fanned_out_at IS NULL;

-- Any insert wakes the notifiers at commit (a periodic scan catches up anyway).
CREATE FUNCTION notifications_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('notifications', '');
    RETURN NULL;
END $$;
CREATE TRIGGER notifications_wake AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_wake();

CREATE TABLE webhook_endpoints (
    id              text PRIMARY KEY,                  -- ep_<hex>
    url             text NOT NULL,
    events          text[] NOT NULL,                   -- event types, or '*' for all
    description     text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL DEFAULT true,
    secret          text NOT NULL,                     -- whsec_<base64>
    previous_secret text,                              -- still signs until previous_secret_expires_at
    previous_secret_expires_at timestamptz,
    failing_since   timestamptz,                       -- first failed attempt since the last success
    disabled_at     timestamptz,
    disabled_reason text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_messages (
    id              text PRIMARY KEY,                  -- msg_<hex>: the webhook-id header, the same on every attempt
    notification_id bigint NOT NULL REFERENCES notifications (id),
    endpoint_id     text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    body            text NOT NULL,                     -- the exact bytes signed and sent
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (notification_id, endpoint_id)
);
CREATE INDEX webhook_messages_due_idx ON webhook_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_messages_endpoint_idx ON webhook_messages (endpoint_id, status, created_at);

-- Every delivery attempt, e-mail or webhook.
CREATE TABLE delivery_attempts (
    id              bigserial PRIMARY KEY,
    notification_id bigint REFERENCES notifications (id),
    message_id      text REFERENCES webhook_messages (id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    attempt         integer NOT NULL,
    ok              boolean NOT NULL,
    status_code     integer,                           -- HTTP status or SMTP reply code; NULL when none arrived
    duration_ms     integer NOT NULL,
    response        text,                              -- the first bytes of the answer (printable ASCII only)
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_message_idx ON delivery_attempts (message_id, id);
CREATE INDEX delivery_attempts_notification_idx ON delivery_attempts (notification_id, id);

-- A user's choice (RFC 8058 one-click): no mail but payment and security mail.
CREATE TABLE notification_preferences (
    user_id         text PRIMARY KEY,
    unsubscribed_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- At most one mail of a capped class (payment_failed, quota) per user and UTC day:
-- the first notification to claim the day keeps it.
CREATE TABLE email_daily_caps (
    user_id         text NOT NULL,
    cap             text NOT NULL,
    day             date NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (user_id, cap, day)
);
