-- Team usage (issue 18). Owner: lago-worker.
-- account_id: the team (org_...) whose shared quota an authorized call was
-- counted against, NULL for a personal one. A team's counter is rebuilt
-- from the rows of its account, so one counter serves every member.
ALTER TABLE usage_events ADD COLUMN account_id text;
CREATE INDEX usage_events_account_code_idx ON usage_events (account_id, code, occurred_at) WHERE account_id IS NOT NULL;
