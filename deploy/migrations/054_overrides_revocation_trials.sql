-- Issue 18: operators revoke an override early over HTTP, and extend a trial.
-- Who revoked an override and why stay on its row (the audit; owner:
-- subscription-worker). An override on a team reaches every member: the
-- trigger raises the versions of the whole account, not only the row's id.
ALTER TABLE entitlement_overrides
    ADD COLUMN revoked_by    text,
    ADD COLUMN revoke_reason text CHECK (revoke_reason IS NULL OR length(revoke_reason) BETWEEN 1 AND 500);

CREATE OR REPLACE FUNCTION entitlement_overrides_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM entitlement_bump_account(NEW.user_id);
    RETURN NULL;
END $$;

-- Trial extensions made at Stripe (owner: stripe-worker, which owns the Stripe
-- API): the audit of who moved whose trial end, from when to when, and why.
-- The subscription itself changes through the owner's subscription_updates.
CREATE TABLE trial_extensions (
    id              bigserial PRIMARY KEY,
    user_id         text NOT NULL,
    subscription_id text NOT NULL,
    from_trial_end  timestamptz,
    to_trial_end    timestamptz NOT NULL,
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    granted_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trial_extensions_user_idx ON trial_extensions (user_id, created_at);
