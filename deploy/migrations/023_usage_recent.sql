-- The usage ledger's published reading of a user's latest events. Owner:
-- lago-worker (like usage_used(), migration 022).
CREATE FUNCTION usage_recent(p_user_id text, p_limit int)
RETURNS TABLE (transaction_id text, code text, quantity bigint, occurred_at timestamptz, source text,
               forwarded_at timestamptz, last_error text)
LANGUAGE sql STABLE AS $$
    SELECT e.transaction_id, e.code, e.quantity, e.occurred_at, e.source, e.forwarded_at, e.last_error
    FROM usage_events e
    WHERE e.user_id = p_user_id
    ORDER BY e.occurred_at DESC
    LIMIT least(greatest(p_limit, 0), 500)
$$;
