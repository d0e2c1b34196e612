-- Domain messages from the stripe-worker to the subscription-worker (the
-- owner of customers and subscriptions). Inserted in the transaction that
-- marks the Stripe event processed; applied, and marked applied, in the
-- transaction that changes the subscription. A re-insert for the same event
-- and kind is a no-op. Writer: stripe-worker; owner: subscription-worker.
CREATE TABLE subscription_updates (
    id              bigserial PRIMARY KEY,
    source_event_id text NOT NULL,                       -- the Stripe event it came from
    kind            text NOT NULL CHECK (kind IN ('customer.link', 'subscription.snapshot', 'subscription.deleted',
                                                  'invoice.paid', 'invoice.payment_failed')),
    subscription_id text,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,          -- failed applications (waiting for the subscription is not one)
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz,
    UNIQUE (source_event_id, kind)
);
CREATE INDEX subscription_updates_due_idx ON subscription_updates (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX subscription_updates_subscription_idx ON subscription_updates (subscription_id) WHERE status = 'pending';

-- A subscription event can arrive before the checkout that names its user:
-- the subscription is kept with user_id NULL ("unresolved") until the link
-- (checkout.session.completed or a customers row for its Stripe customer)
-- arrives. Unresolved subscriptions entitle nobody.
ALTER TABLE subscriptions ALTER COLUMN user_id DROP NOT NULL;
CREATE INDEX subscriptions_unresolved_idx ON subscriptions (stripe_customer_id) WHERE user_id IS NULL;
