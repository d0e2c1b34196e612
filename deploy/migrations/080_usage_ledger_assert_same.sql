-- The check that lets an authorize round send its ledger rows and its COMMIT
-- in one round trip (issue 15). Owner: lago-worker.
--
-- A transaction_id names one request for good. An authorize round inserts
-- its rows with ON CONFLICT DO NOTHING; a row skipped because a concurrent
-- round committed the same id meanwhile must be the same request (user, code,
-- quantity), else the round must not commit. Run after the INSERT in the same
-- transaction (a new statement: it sees what the conflict waited for), it
-- raises SQLSTATE OB409 when any id of the round names another request, which
-- aborts the transaction and turns the COMMIT sent behind it into a rollback.
CREATE FUNCTION usage_ledger_assert_same(p_tx text[], p_user text[], p_code text[], p_quantity int8[])
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1
                 FROM unnest(p_tx, p_user, p_code, p_quantity) AS x(t, u, c, q)
                 JOIN usage_events e ON e.transaction_id = x.t
                WHERE NOT (e.user_id = x.u AND e.code = x.c AND e.quantity = x.q)) THEN
        RAISE EXCEPTION 'a transaction_id of this round names another request' USING ERRCODE = 'OB409';
    END IF;
    RETURN cardinality(p_tx);
END
$$;
