-- Stripe's side of the plan catalogue. Owner: stripe-worker (written by
-- `billing-admin setup-stripe`, and by checkout when it has to look a price up
-- at Stripe by lookup key). docs/billing-api.md explains the choices.

-- One Stripe product per plan (metadata.plan_id = plan id). Kept apart from
-- prices so a product created by an interrupted setup run is found again.
CREATE TABLE stripe_products (
    plan_id    text PRIMARY KEY,
    product_id text NOT NULL UNIQUE,                     -- prod_...
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The price a plan is sold at, per billing interval. lookup_key is
-- <plan>_monthly / <plan>_yearly; the trial is sold as a recurring $1 weekly
-- price (trial_weekly), since one Stripe subscription item cannot be billed
-- "once for seven days".
CREATE TABLE stripe_prices (
    plan_id     text NOT NULL,
    interval    text NOT NULL CHECK (interval IN ('week', 'month', 'year')),
    lookup_key  text NOT NULL UNIQUE,
    price_id    text NOT NULL,                           -- price_...
    product_id  text,                                    -- prod_...
    unit_amount bigint CHECK (unit_amount >= 0),         -- smallest currency unit
    currency    text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, interval)
);
