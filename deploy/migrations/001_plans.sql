-- The plan catalogue. Owner: subscription-worker (loaded from PLANS_FILE at start).
CREATE TABLE plans (
    id                  text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,64}$'),
    name                text NOT NULL,
    description         text NOT NULL DEFAULT '',
    currency            text NOT NULL DEFAULT 'usd',
    price_monthly_cents integer NOT NULL CHECK (price_monthly_cents >= 0),
    price_yearly_cents  integer CHECK (price_yearly_cents >= 0),
    trial_days          integer NOT NULL DEFAULT 0 CHECK (trial_days >= 0),
    api_calls_limit     bigint CHECK (api_calls_limit >= 0),          -- NULL: unlimited
    api_calls_period    text NOT NULL CHECK (api_calls_period IN ('total', 'month')),
    byok                boolean NOT NULL DEFAULT false,
    seats               integer NOT NULL DEFAULT 1 CHECK (seats >= 1),
    features            jsonb NOT NULL DEFAULT '[]',
    sort_order          integer NOT NULL DEFAULT 0,
    active              boolean NOT NULL DEFAULT true,                -- false once removed from the file
    updated_at          timestamptz NOT NULL DEFAULT now()
);
