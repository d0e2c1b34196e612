-- The stripe-worker's published reading of the webhook events about a user.
-- Owner: stripe-worker.
--
-- An event is about the user when its object is one of the user's Stripe
-- customers or belongs to one (data.object.customer), or names the user
-- (client_reference_id, metadata.user_id). Only the newest p_scan events are
-- looked at, so the operators' view stays cheap on a large inbox.
CREATE FUNCTION stripe_events_for_user(p_user_id text, p_limit int, p_scan int DEFAULT 5000)
RETURNS TABLE (id text, type text, status text, created bigint, received_at timestamptz, attempts integer,
               last_error text)
LANGUAGE sql STABLE AS $$
    WITH ids AS (
        SELECT stripe_customer_id AS cid FROM customers WHERE user_id = p_user_id AND stripe_customer_id IS NOT NULL
        UNION SELECT stripe_customer_id FROM subscriptions WHERE user_id = p_user_id AND stripe_customer_id IS NOT NULL
    ), recent AS (
        SELECT e.*, e.payload::jsonb #> '{data,object}' AS obj
        FROM stripe_events e ORDER BY e.received_at DESC LIMIT greatest(p_scan, 0)
    )
    SELECT r.id, r.type, r.status, r.created, r.received_at, r.attempts, r.last_error
    FROM recent r
    WHERE r.obj ->> 'customer' IN (SELECT cid FROM ids)
       OR (r.obj ->> 'object' = 'customer' AND r.obj ->> 'id' IN (SELECT cid FROM ids))
       OR r.obj ->> 'client_reference_id' = p_user_id
       OR r.obj #>> '{metadata,user_id}' = p_user_id
    ORDER BY r.created DESC, r.id DESC
    LIMIT least(greatest(p_limit, 0), 500)
$$;
