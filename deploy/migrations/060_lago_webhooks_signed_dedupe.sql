-- Lago webhooks are deduplicated by what their signature covers (issue 12.5).
-- Owner: lago-worker.
--
-- X-Lago-Unique-Key is not signed: keyed by it, a captured webhook replayed
-- under a new key acted again, and a key sent first by someone else made
-- Lago's real webhook with that key a "duplicate". The inbox is now keyed by
-- the SHA-256 of the raw body the gateway verified (hex); the unique key is
-- kept as information only. Rows from before keep a key-derived value (their
-- raw body was not stored), so they stay distinct.
ALTER TABLE lago_webhooks ADD COLUMN body_sha256 text;
UPDATE lago_webhooks SET body_sha256 = 'key:' || unique_key WHERE body_sha256 IS NULL;
ALTER TABLE lago_webhooks ALTER COLUMN body_sha256 SET NOT NULL;
ALTER TABLE lago_webhooks DROP CONSTRAINT lago_webhooks_pkey;
ALTER TABLE lago_webhooks ADD PRIMARY KEY (body_sha256);
CREATE INDEX lago_webhooks_unique_key_idx ON lago_webhooks (unique_key);
