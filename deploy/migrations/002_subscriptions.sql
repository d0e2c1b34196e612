-- Customers, subscriptions and what they entitle. Owner: subscription-worker.
CREATE TABLE customers (
    user_id            text PRIMARY KEY,                 -- the platform user id (JWT sub)
    email              text,
    stripe_customer_id text UNIQUE,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id                   text PRIMARY KEY,               -- Stripe's subscription id (sub_...)
    user_id              text NOT NULL,
    stripe_customer_id   text,
    plan_id              text REFERENCES plans (id),
    interval             text CHECK (interval IN ('month', 'year')),
    status               text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'unpaid', 'canceled',
                                                         'incomplete', 'incomplete_expired', 'paused')),
    stripe_price_id      text,
    stripe_item_id       text,
    started_at           timestamptz NOT NULL DEFAULT now(),
    current_period_start timestamptz,
    current_period_end   timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    trial_end            timestamptz,
    canceled_at          timestamptz,
    -- Order-proofing: the Stripe `created` (and id) of the newest event applied.
    last_event_created   bigint NOT NULL DEFAULT 0,
    last_event_id        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_user_idx ON subscriptions (user_id);

-- One row per user: the subscription that counts (a live one first, then the
-- newest) joined with its plan, and the window its API-call quota runs over.
-- Live = trialing, active or past_due (Stripe's grace while it retries).
-- A monthly quota on a yearly subscription resets every month from the
-- period start; a "total" quota (the trial) runs from the subscription start.
CREATE VIEW user_entitlements AS
SELECT DISTINCT ON (s.user_id)
       s.user_id,
       s.id AS subscription_id,
       s.plan_id,
       s.status,
       s.interval,
       s.status IN ('trialing', 'active', 'past_due') AS live,
       p.features,
       p.api_calls_limit,
       p.api_calls_period,
       p.byok,
       p.seats,
       CASE
           WHEN p.api_calls_period = 'total' THEN s.started_at
           WHEN s.interval = 'year' AND s.current_period_start IS NOT NULL THEN
               s.current_period_start + make_interval(months => greatest(0,
                   (extract(year FROM age(now(), s.current_period_start)) * 12
                    + extract(month FROM age(now(), s.current_period_start)))::int))
           ELSE coalesce(s.current_period_start, s.started_at)
       END AS usage_period_start,
       CASE
           WHEN p.api_calls_period = 'total' THEN NULL
           WHEN s.interval = 'year' AND s.current_period_start IS NOT NULL THEN
               least(s.current_period_end, s.current_period_start + make_interval(months => 1 + greatest(0,
                   (extract(year FROM age(now(), s.current_period_start)) * 12
                    + extract(month FROM age(now(), s.current_period_start)))::int)))
           ELSE s.current_period_end
       END AS usage_period_end,
       s.current_period_end,
       s.cancel_at_period_end,
       s.trial_end,
       s.last_event_created
FROM subscriptions s
JOIN plans p ON p.id = s.plan_id
ORDER BY s.user_id, (s.status IN ('trialing', 'active', 'past_due')) DESC, s.updated_at DESC;
