/*  notifier_outbox - the notifier's SQL. */
#include "services/notifier/notifier_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_log.h"
#include "services/notifier/notifier_kinds.h"

/*  The kind -> event table as two Postgres text[] literals, from the one C
 *  table (notifier_kinds), so the SQL never keeps its own copy. */
static char s_kinds_array[1024], s_events_array[1024];

static void
s_build_arrays(void)
{
    size_t count;
    const notifier_kind_t *kinds = notifier_kind_all(&count);
    size_t a = 0, b = 0;
    s_kinds_array[a++] = '{';
    s_events_array[b++] = '{';
    for (size_t i = 0; i < count; i++) {
        if (!kinds[i].event_type)
            continue;
        a += (size_t)snprintf(s_kinds_array + a, sizeof s_kinds_array - a, "%s\"%s\"", a > 1 ? "," : "", kinds[i].kind);
        b += (size_t)snprintf(s_events_array + b, sizeof s_events_array - b, "%s\"%s\"", b > 1 ? "," : "", kinds[i].event_type);
    }
    snprintf(s_kinds_array + a, sizeof s_kinds_array - a, "}");
    snprintf(s_events_array + b, sizeof s_events_array - b, "}");
}

void
notifier_outbox_prepare(ob_pg_t *pg)
{
    s_build_arrays();
    /* The body's data: the request's payload (minus the e-mail address) over
     * the user's current subscription (plan, status, period), so a trigger
     * that names them wins. */
    ob_pg_prepare(
        pg, "outbox_fan_out",
        "WITH picked AS (SELECT id FROM notifications WHERE fanned_out_at IS NULL ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED),"
        " marked AS (UPDATE notifications n SET fanned_out_at = now() FROM picked WHERE n.id = picked.id"
        "   RETURNING n.id, n.kind, n.user_id, n.payload, n.created_at),"
        " k AS (SELECT * FROM unnest($1::text[], $2::text[]) AS k(kind, event_type)),"
        " ins AS (INSERT INTO webhook_messages (id, notification_id, endpoint_id, event_type, body)"
        "   SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), m.id, e.id, k.event_type,"
        "     json_build_object('type', k.event_type,"
        "       'timestamp', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
        "       'data', jsonb_strip_nulls(jsonb_build_object('user_id', m.user_id, 'notification_id', m.id, 'plan', s.plan_id,"
        "         'status', s.status, 'interval', s.interval, 'current_period_start', s.current_period_start,"
        "         'current_period_end', s.current_period_end, 'cancel_at_period_end', s.cancel_at_period_end))"
        "         || (m.payload - 'email'))::text"
        "   FROM marked m JOIN k ON k.kind = m.kind"
        "   JOIN webhook_endpoints e ON e.enabled AND (k.event_type = ANY (e.events) OR '*' = ANY (e.events))"
        "   LEFT JOIN LATERAL (SELECT plan_id, status, interval, current_period_start, current_period_end, cancel_at_period_end"
        "     FROM subscriptions WHERE user_id = m.user_id"
        "     ORDER BY status IN ('trialing', 'active', 'past_due') DESC, updated_at DESC LIMIT 1) s ON true"
        "   ON CONFLICT (notification_id, endpoint_id) DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM ins)",
        2);
    ob_pg_prepare(
        pg, "outbox_claim_emails",
        "UPDATE notifications n SET locked_until = now() + make_interval(secs => $2::int), attempts = n.attempts + 1"
        " FROM (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= now()"
        "   AND (locked_until IS NULL OR locked_until < now())"
        "   ORDER BY next_attempt_at LIMIT $1::int FOR UPDATE SKIP LOCKED) c"
        " WHERE n.id = c.id RETURNING n.id, n.kind, n.user_id, n.payload::text, n.attempts, n.dedupe_key,"
        " coalesce((SELECT email FROM customers WHERE user_id = n.user_id), n.payload->>'email'),"
        " coalesce((SELECT unsubscribed_at IS NOT NULL FROM notification_preferences p WHERE p.user_id = n.user_id), false),"
        " n.channel",
        2);
    ob_pg_prepare(pg, "outbox_take_cap",
                  "INSERT INTO email_daily_caps (user_id, cap, day, notification_id)"
                  " SELECT $1, $2, (created_at AT TIME ZONE 'UTC')::date, id FROM notifications WHERE id = $3::bigint"
                  " ON CONFLICT (user_id, cap, day) DO UPDATE SET notification_id = email_daily_caps.notification_id"
                  " RETURNING notification_id = $3::bigint",
                  3);
    ob_pg_prepare(pg, "outbox_skip_email",
                  "UPDATE notifications SET status = 'skipped', last_error = $2, locked_until = NULL"
                  " WHERE id = $1::bigint AND status = 'pending'",
                  2);
    ob_pg_prepare(pg, "outbox_defer_email",
                  "UPDATE notifications SET last_error = $2, locked_until = NULL,"
                  " next_attempt_at = now() + make_interval(secs => $3::float8 / 1000.0)"
                  " WHERE id = $1::bigint AND status = 'pending'",
                  3);
    ob_pg_prepare(pg, "outbox_record_email",
                  "WITH a AS (INSERT INTO delivery_attempts (notification_id, channel, attempt, ok, status_code, duration_ms,"
                  "   response, error) VALUES ($1::bigint, 'email', $2::int, $3::boolean, $4::int, $5::int, $6, $7))"
                  " UPDATE notifications SET status = $8, locked_until = NULL, last_error = $7,"
                  " next_attempt_at = now() + make_interval(secs => $9::float8 / 1000.0),"
                  " sent_at = CASE WHEN $8 = 'sent' THEN now() END, email_to = $10, message_id = $11"
                  " WHERE id = $1::bigint AND status = 'pending'",
                  11);
    ob_pg_prepare(pg, "outbox_claim_webhooks",
                  "UPDATE webhook_messages m SET locked_until = now() + make_interval(secs => $2::int), attempts = m.attempts + 1"
                  " FROM (SELECT id FROM webhook_messages WHERE status = 'pending' AND next_attempt_at <= now()"
                  "   AND (locked_until IS NULL OR locked_until < now()) AND id IN ("
                  "     SELECT ranked.id FROM (SELECT w.id, w.endpoint_id,"
                  "       row_number() OVER (PARTITION BY w.endpoint_id ORDER BY w.next_attempt_at) AS rn"
                  "       FROM webhook_messages w JOIN webhook_endpoints e ON e.id = w.endpoint_id"
                  "       WHERE w.status = 'pending' AND w.next_attempt_at <= now()"
                  "         AND (w.locked_until IS NULL OR w.locked_until < now()) AND e.enabled"
                  "         AND NOT (w.endpoint_id = ANY ($3::text[]))) AS ranked"
                  /* What every notifier has in flight to the endpoint (leased rows), so the
                   * per-endpoint limit holds for all of them together, not per process. */
                  "     LEFT JOIN (SELECT endpoint_id, count(*) AS n FROM webhook_messages"
                  "       WHERE status = 'pending' AND locked_until >= now() GROUP BY endpoint_id) AS leased"
                  "       ON leased.endpoint_id = ranked.endpoint_id"
                  "     WHERE ranked.rn <= $4::int - coalesce(leased.n, 0))"
                  "   ORDER BY next_attempt_at LIMIT $1::int FOR UPDATE SKIP LOCKED) c, webhook_endpoints e"
                  " WHERE m.id = c.id AND e.id = m.endpoint_id"
                  " RETURNING m.id, m.endpoint_id, m.attempts, m.body, e.url, e.secret,"
                  " CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END",
                  4);
    ob_pg_prepare(pg, "outbox_attempt_webhook",
                  "INSERT INTO delivery_attempts (notification_id, message_id, channel, attempt, ok, status_code, duration_ms,"
                  " response, error) SELECT notification_id, id, 'webhook', $2::int, $3::boolean, $4::int, $5::int, $6, $7"
                  " FROM webhook_messages WHERE id = $1",
                  7);
    ob_pg_prepare(pg, "outbox_outcome_webhook",
                  "UPDATE webhook_messages SET status = $2, last_status = $3::int, last_error = $4, locked_until = NULL,"
                  " next_attempt_at = now() + make_interval(secs => $5::float8 / 1000.0),"
                  " sent_at = CASE WHEN $2 = 'sent' THEN now() END"
                  " WHERE id = $1 AND status = 'pending'",
                  5);
    /* $2: ok | gone | fail. RETURNING sees the new row: disabled_at = now() means by this transaction. */
    ob_pg_prepare(
        pg, "outbox_endpoint_health",
        "UPDATE webhook_endpoints e SET"
        " failing_since = CASE WHEN $2 = 'ok' THEN NULL ELSE coalesce(e.failing_since, now()) END,"
        " enabled = CASE WHEN e.enabled AND ($2 = 'gone' OR ($2 = 'fail'"
        "   AND e.failing_since < now() - make_interval(secs => $3::int))) THEN false ELSE e.enabled END,"
        " disabled_at = CASE WHEN e.enabled AND ($2 = 'gone' OR ($2 = 'fail'"
        "   AND e.failing_since < now() - make_interval(secs => $3::int))) THEN now() ELSE e.disabled_at END,"
        " disabled_reason = CASE WHEN e.enabled AND $2 = 'gone' THEN 'the endpoint answered 410 Gone'"
        "   WHEN e.enabled AND $2 = 'fail' AND e.failing_since < now() - make_interval(secs => $3::int)"
        "   THEN 'every attempt failed since ' || to_char(e.failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        "   ELSE e.disabled_reason END,"
        " updated_at = now()"
        " WHERE e.id = $1 RETURNING NOT e.enabled AND e.disabled_at = now(), e.disabled_reason, e.url",
        3);
    ob_pg_prepare(pg, "outbox_endpoint_disabled",
                  "INSERT INTO notifications (dedupe_key, kind, channel, payload)"
                  " VALUES ('webhook_endpoint_disabled:' || $1 || ':' || extract(epoch FROM now())::bigint,"
                  " 'webhook_endpoint_disabled', 'webhook', json_build_object('audience', 'operators', 'endpoint_id', $1::text,"
                  " 'url', $2::text, 'reason', $3::text)::jsonb) ON CONFLICT (dedupe_key) DO NOTHING",
                  3);
}

int
notifier_outbox_fan_out(ob_pg_t *pg)
{
    const char *values[] = {s_kinds_array, s_events_array};
    PGresult *r = NULL;
    if (ob_pg_run(pg, "outbox_fan_out", 2, values, &r) != OB_OK)
        return -1;
    int done = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    int messages = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 1)) : 0;
    PQclear(r);
    if (messages > 0)
        ob_log_debug("notifier: %d webhook messages for %d notifications", messages, done);
    return done;
}

PGresult *
notifier_outbox_claim_emails(ob_pg_t *pg, int limit, long lease_s)
{
    char l[16], s[24];
    snprintf(l, sizeof l, "%d", limit);
    snprintf(s, sizeof s, "%ld", lease_s);
    const char *values[] = {l, s};
    PGresult *r = NULL;
    return ob_pg_run(pg, "outbox_claim_emails", 2, values, &r) == OB_OK ? r : NULL;
}

ob_err_t
notifier_outbox_take_cap(ob_pg_t *pg, const char *user_id, const char *cap, const char *notification_id, bool *ours)
{
    const char *values[] = {user_id, cap, notification_id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "outbox_take_cap", 3, values, &r);
    if (err == OB_OK)
        *ours = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return err;
}

ob_err_t
notifier_outbox_skip_email(ob_pg_t *pg, const char *id, const char *reason)
{
    const char *values[] = {id, reason};
    return ob_pg_run(pg, "outbox_skip_email", 2, values, NULL);
}

ob_err_t
notifier_outbox_defer_email(ob_pg_t *pg, const char *id, const char *reason, long retry_in_ms)
{
    char retry[24];
    snprintf(retry, sizeof retry, "%ld", retry_in_ms);
    const char *values[] = {id, reason, retry};
    return ob_pg_run(pg, "outbox_defer_email", 3, values, NULL);
}

ob_err_t
notifier_outbox_record_email(ob_pg_t *pg, const notifier_outcome_t *o, const char *to, const char *message_id)
{
    char attempt[16], code[24], duration[24], retry[24];
    snprintf(attempt, sizeof attempt, "%d", o->attempt);
    snprintf(code, sizeof code, "%ld", o->code);
    snprintf(duration, sizeof duration, "%ld", o->duration_ms);
    snprintf(retry, sizeof retry, "%ld", o->retry_in_ms);
    const char *values[] = {
        o->id, attempt,   o->ok ? "true" : "false", o->code ? code : NULL, duration, o->response, o->error, o->status, retry,
        to,    message_id};
    return ob_pg_run(pg, "outbox_record_email", 11, values, NULL);
}

PGresult *
notifier_outbox_claim_webhooks(ob_pg_t *pg, int limit, long lease_s, const char *busy_endpoints, int per_endpoint)
{
    char l[16], s[24], p[16];
    snprintf(l, sizeof l, "%d", limit);
    snprintf(s, sizeof s, "%ld", lease_s);
    snprintf(p, sizeof p, "%d", per_endpoint);
    const char *values[] = {l, s, busy_endpoints, p};
    PGresult *r = NULL;
    return ob_pg_run(pg, "outbox_claim_webhooks", 4, values, &r) == OB_OK ? r : NULL;
}

ob_err_t
notifier_outbox_record_webhook(ob_pg_t *pg, const notifier_outcome_t *o, const char *endpoint_id, bool gone, long disable_after_s,
                               char *disabled_reason, size_t cap)
{
    disabled_reason[0] = '\0';
    char attempt[16], code[24], duration[24], retry[24], after[24];
    snprintf(attempt, sizeof attempt, "%d", o->attempt);
    snprintf(code, sizeof code, "%ld", o->code);
    snprintf(duration, sizeof duration, "%ld", o->duration_ms);
    snprintf(retry, sizeof retry, "%ld", o->retry_in_ms);
    snprintf(after, sizeof after, "%ld", disable_after_s);
    ob_err_t err = ob_pg_begin(pg);
    if (err != OB_OK)
        return err;
    const char *attempt_values[] = {o->id,       attempt, o->ok ? "true" : "false", o->code ? code : NULL, duration,
                                    o->response, o->error};
    err = ob_pg_run(pg, "outbox_attempt_webhook", 7, attempt_values, NULL);
    if (err == OB_OK) {
        const char *values[] = {o->id, o->status, o->code ? code : NULL, o->error, retry};
        err = ob_pg_run(pg, "outbox_outcome_webhook", 5, values, NULL);
    }
    PGresult *r = NULL;
    if (err == OB_OK) {
        const char *values[] = {endpoint_id, o->ok ? "ok" : gone ? "gone" : "fail", after};
        err = ob_pg_run(pg, "outbox_endpoint_health", 3, values, &r);
    }
    if (err == OB_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
        snprintf(disabled_reason, cap, "%s", PQgetvalue(r, 0, 1));
        const char *values[] = {endpoint_id, PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 1)};
        err = ob_pg_run(pg, "outbox_endpoint_disabled", 3, values, NULL);
    }
    PQclear(r);
    if (err != OB_OK) {
        ob_pg_rollback(pg);
        disabled_reason[0] = '\0';
        return err;
    }
    err = ob_pg_commit(pg);
    if (err != OB_OK)
        disabled_reason[0] = '\0';
    return err;
}
