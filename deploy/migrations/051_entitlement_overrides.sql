-- Per-customer overrides of plan entitlements, granted by operators (issue 18).
-- Owner: subscription-worker (entitlements). Each row is also the audit record:
-- who granted what, why, when, until when; rows are never deleted (revoked_at
-- ends one early).
--   kind 'feature': grants feature on top of the plan's
--   kind 'quota':   adds calls to the API-call limit; recurring: in every
--                   window until it expires (a raised quota, a recurring
--                   top-up); not recurring: a one-time top-up, only in the
--                   window that was current when it was granted (window_start)
CREATE TABLE entitlement_overrides (
    id           bigserial PRIMARY KEY,
    user_id      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('feature', 'quota')),
    feature      text CHECK (feature ~ '^[a-z0-9_.-]{1,64}$'),
    calls        bigint CHECK (calls > 0 AND calls <= 1000000000),
    recurring    boolean NOT NULL DEFAULT true,
    window_start timestamptz,
    expires_at   timestamptz NOT NULL,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    granted_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CHECK ((kind = 'feature' AND feature IS NOT NULL AND calls IS NULL)
        OR (kind = 'quota' AND calls IS NOT NULL AND feature IS NULL))
);
CREATE INDEX entitlement_overrides_user_idx ON entitlement_overrides (user_id, expires_at);

CREATE FUNCTION entitlement_overrides_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM entitlement_bump(NEW.user_id);
    RETURN NULL;
END $$;

CREATE TRIGGER entitlement_overrides_bump AFTER INSERT OR UPDATE ON entitlement_overrides
    FOR EACH ROW EXECUTE FUNCTION entitlement_overrides_bump();
