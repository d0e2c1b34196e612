-- Re-forwarding on request. Owner: lago-worker.
--
-- What reconcile calls when Lago lacks events the ledger says it acknowledged
-- ("usage not forwarded"): those events go back into the forwarder's queue
-- (forwarded_at cleared, due now, attempts and error reset), and the
-- lago-worker's forwarder sends them again with the same transaction_ids, so
-- Lago (which deduplicates by transaction_id) never counts one twice. The
-- owner alone decides what re-forwarding means; callers never touch
-- usage_events. Events not yet forwarded are left alone (already queued).
-- Returns how many events were queued again.
CREATE FUNCTION usage_reforward(p_transaction_ids text[])
RETURNS integer
LANGUAGE sql VOLATILE AS $$
    WITH r AS (
        UPDATE usage_events
        SET forwarded_at = NULL, next_forward_at = now(), forward_attempts = 0, last_error = NULL
        WHERE transaction_id = ANY (p_transaction_ids) AND forwarded_at IS NOT NULL
        RETURNING 1)
    SELECT count(*)::integer FROM r
$$;
