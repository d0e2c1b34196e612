-- The usage ledger's published reading. Owner: lago-worker.
--
-- Other services never sum usage_events themselves: they call this function,
-- so the ledger's owner alone decides what "used in a window" means (today:
-- every event of the code at or after window_start and, when window_end is
-- not NULL, before it). One row per known metric code.
CREATE FUNCTION usage_used(p_user_id text, window_start timestamptz, window_end timestamptz)
RETURNS TABLE (code text, quota boolean, used bigint)
LANGUAGE sql STABLE AS $$
    SELECT m.code, m.quota, coalesce(sum(e.quantity), 0)::bigint
    FROM usage_metrics m
    LEFT JOIN usage_events e ON e.code = m.code AND e.user_id = p_user_id
         AND e.occurred_at >= window_start AND (window_end IS NULL OR e.occurred_at < window_end)
    GROUP BY m.code, m.quota
    ORDER BY m.code
$$;
