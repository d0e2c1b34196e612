-- The Redis copy of entitlements is never stale for long (issue 12, item 3).
-- Owner: subscription-worker (the entitlements' owner).
--
-- entitlement_versions: one row per user whose entitlements ever changed.
-- version rises (one sequence) in the transaction of every change to the
-- user's subscriptions or to a plan they are on (triggers below, so no write
-- path can forget it). The copy in Redis carries the version it was built
-- from, and a publish only overwrites an older copy (Lua compare), so a slow
-- reader's rebuild never lands over a newer one. published_version is what
-- the owner last published: a row with published_version < version is a
-- publish still owed (a crash after COMMIT, Redis down), retried by the
-- owner's tick until it lands; published_at drives the periodic refresh that
-- rebuilds every copy before its TTL runs out (trial copies included).
CREATE SEQUENCE entitlement_version_seq;

CREATE TABLE entitlement_versions (
    user_id           text PRIMARY KEY,
    version           bigint NOT NULL,
    published_version bigint NOT NULL DEFAULT 0,
    published_at      timestamptz NOT NULL DEFAULT '-infinity',
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT '-infinity',
    last_error        text
);
CREATE INDEX entitlement_versions_owed_idx ON entitlement_versions (next_attempt_at)
    WHERE published_version < version;
CREATE INDEX entitlement_versions_published_idx ON entitlement_versions (published_at);

-- When a subscription entered past_due: the grace period runs from here.
ALTER TABLE subscriptions ADD COLUMN past_due_since timestamptz;

CREATE FUNCTION entitlement_bump(p_user text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO entitlement_versions (user_id, version) VALUES (p_user, nextval('entitlement_version_seq'))
    ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, attempts = 0, next_attempt_at = '-infinity'
$$;

CREATE FUNCTION subscriptions_past_due_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'past_due' THEN
        IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'past_due' OR NEW.past_due_since IS NULL THEN
            NEW.past_due_since := coalesce(CASE WHEN TG_OP = 'UPDATE' AND OLD.status = 'past_due'
                                                THEN OLD.past_due_since END, now());
        END IF;
    ELSE
        NEW.past_due_since := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER subscriptions_past_due_since BEFORE INSERT OR UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION subscriptions_past_due_since();

CREATE FUNCTION subscriptions_entitlement_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.user_id IS NOT NULL THEN
        PERFORM entitlement_bump(OLD.user_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.user_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        PERFORM entitlement_bump(NEW.user_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER subscriptions_entitlement_bump AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION subscriptions_entitlement_bump();

-- A plan's features, limits or seats changed (the catalogue file was edited):
-- every subscriber's copy is rebuilt, no migration needed.
CREATE FUNCTION plans_entitlement_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.features, NEW.api_calls_limit, NEW.api_calls_period, NEW.byok, NEW.seats)
       IS DISTINCT FROM (OLD.features, OLD.api_calls_limit, OLD.api_calls_period, OLD.byok, OLD.seats) THEN
        PERFORM entitlement_bump(u) FROM (SELECT DISTINCT user_id AS u FROM subscriptions
                                          WHERE plan_id = NEW.id AND user_id IS NOT NULL) s;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER plans_entitlement_bump AFTER UPDATE ON plans
    FOR EACH ROW EXECUTE FUNCTION plans_entitlement_bump();

-- The view, now with past_due_since (a new last column).
CREATE OR REPLACE VIEW user_entitlements AS
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
       s.last_event_created,
       s.past_due_since
FROM subscriptions s
JOIN plans p ON p.id = s.plan_id
ORDER BY s.user_id, (s.status IN ('trialing', 'active', 'past_due')) DESC, s.updated_at DESC;
