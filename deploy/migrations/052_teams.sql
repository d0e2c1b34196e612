-- Teams (organisations) and seats (issue 18). Owner: subscription-worker.
-- A team is a customer of its own: its subscription's user_id is the team id
-- (org_...), so Lago knows it as a customer with that external id and the
-- team's usage goes to the team's subscription. Its owner adds members up to
-- the plan's seats (the owner takes no seat); members and the owner get the
-- better of their personal plan and the team's, and share the team's quota.
CREATE TABLE teams (
    id            text PRIMARY KEY CHECK (id ~ '^org_[A-Za-z0-9_-]{1,60}$'),
    owner_user_id text NOT NULL,
    name          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_owner_idx ON teams (owner_user_id);

CREATE TABLE team_members (
    team_id  text NOT NULL REFERENCES teams (id),
    user_id  text NOT NULL UNIQUE,                 -- one team per user
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);

-- The people whose entitlements follow an account: itself, and for a team
-- its owner and members.
CREATE FUNCTION entitlement_bump_account(p_account text) RETURNS void LANGUAGE sql AS $$
    SELECT entitlement_bump(u) FROM (
        SELECT p_account AS u
        UNION SELECT user_id FROM team_members WHERE team_id = p_account
        UNION SELECT owner_user_id FROM teams WHERE id = p_account) x
$$;

CREATE OR REPLACE FUNCTION subscriptions_entitlement_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.user_id IS NOT NULL THEN
        PERFORM entitlement_bump_account(OLD.user_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.user_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        PERFORM entitlement_bump_account(NEW.user_id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION plans_entitlement_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.features, NEW.api_calls_limit, NEW.api_calls_period, NEW.byok, NEW.seats)
       IS DISTINCT FROM (OLD.features, OLD.api_calls_limit, OLD.api_calls_period, OLD.byok, OLD.seats) THEN
        PERFORM entitlement_bump_account(u) FROM (SELECT DISTINCT user_id AS u FROM subscriptions
                                                  WHERE plan_id = NEW.id AND user_id IS NOT NULL) s;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION team_members_entitlement_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM entitlement_bump(OLD.user_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM entitlement_bump(NEW.user_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER team_members_entitlement_bump AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION team_members_entitlement_bump();

CREATE FUNCTION teams_entitlement_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM entitlement_bump(NEW.owner_user_id);
    IF TG_OP = 'UPDATE' THEN
        PERFORM entitlement_bump(OLD.owner_user_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER teams_entitlement_bump AFTER INSERT OR UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION teams_entitlement_bump();

-- An override granted to a team (its org_... id) applies to every member on
-- the team's plan: their copies are rebuilt too.
CREATE OR REPLACE FUNCTION entitlement_overrides_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM entitlement_bump_account(NEW.user_id);
    RETURN NULL;
END $$;
