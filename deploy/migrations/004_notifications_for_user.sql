-- The notifier's published reading of a user's notifications. Owner: notifier.
--
-- The operators' user view (GET /api/v1/admin/users/{id}, answered by the
-- subscription-worker) reads other owners' tables only through functions
-- like this one, so the owner alone decides what is shown (never the
-- payload: it may carry addresses and links meant for the user only).
CREATE FUNCTION notifications_for_user(p_user_id text, p_limit int)
RETURNS TABLE (id bigint, kind text, channel text, status text, attempts integer, last_error text,
               created_at timestamptz, sent_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT n.id, n.kind, n.channel, n.status, n.attempts, n.last_error, n.created_at, n.sent_at
    FROM notifications n
    WHERE n.user_id = p_user_id
    ORDER BY n.id DESC
    LIMIT least(greatest(p_limit, 0), 500)
$$;
