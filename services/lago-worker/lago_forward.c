/*  lago_forward - usage ledger -> Lago. */
#include "services/lago-worker/lago_forward.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_json.h"
#include "common/ob_log.h"

#define S_LIVE "('trialing', 'active', 'past_due')"
#define S_NO_SUBSCRIPTION_RETRY_S 300

void
lago_forward_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "forward_claim",
                  "WITH c AS (SELECT transaction_id FROM usage_events WHERE forwarded_at IS NULL AND next_forward_at <= now()"
                  " ORDER BY next_forward_at LIMIT 100 FOR UPDATE SKIP LOCKED)"
                  " UPDATE usage_events e SET next_forward_at = now() + interval '60 seconds',"
                  " forward_attempts = e.forward_attempts + 1,"
                  " subscription_id = coalesce(e.subscription_id, (SELECT s.id FROM subscriptions s WHERE s.user_id = e.user_id"
                  " ORDER BY (s.started_at <= e.occurred_at) DESC, (s.status IN " S_LIVE ") DESC, s.updated_at DESC LIMIT 1))"
                  " FROM c WHERE e.transaction_id = c.transaction_id"
                  " RETURNING e.transaction_id, coalesce(e.subscription_id, ''), e.code,"
                  " extract(epoch FROM e.occurred_at)::bigint,"
                  " (e.properties || jsonb_build_object('quantity', e.quantity))::text, e.forward_attempts",
                  0);
    ob_pg_prepare(pg, "forward_done",
                  "UPDATE usage_events SET forwarded_at = now(), last_error = NULL"
                  " WHERE transaction_id IN (SELECT json_array_elements_text($1::json))",
                  1);
    ob_pg_prepare(pg, "forward_retry",
                  "UPDATE usage_events SET next_forward_at = now() + make_interval(secs => $2::int), last_error = $3"
                  " WHERE transaction_id IN (SELECT json_array_elements_text($1::json)) AND forwarded_at IS NULL",
                  3);
}

int
lago_forward_backoff_s(int attempts, int max_backoff_s)
{
    if (max_backoff_s < 1)
        max_backoff_s = 1;
    int delay = 1;
    for (int i = 1; i < attempts && delay < max_backoff_s; i++)
        delay *= 2;
    return delay < max_backoff_s ? delay : max_backoff_s;
}

static ob_err_t
s_mark(ob_pg_t *pg, const char *name, json_t *ids, int delay_s, const char *error)
{
    if (json_array_size(ids) == 0)
        return OB_OK;
    char *text = ob_json_dump(ids, NULL);
    char delay[16];
    snprintf(delay, sizeof delay, "%d", delay_s);
    const char *values[] = {text, delay, error};
    PGresult *result = text ? ob_pg_exec(pg, name, strcmp(name, "forward_done") == 0 ? 1 : 3, values, NULL, NULL) : NULL;
    ob_err_t err = text ? ob_pg_classify(pg, result) : OB_ERR_INTERNAL;
    PQclear(result);
    free(text);
    return err;
}

int
lago_forward_step(ob_pg_t *pg, lago_api_t *api, int max_backoff_s)
{
    PGresult *claim = ob_pg_exec(pg, "forward_claim", 0, NULL, NULL, NULL);
    if (ob_pg_classify(pg, claim) != OB_OK) {
        PQclear(claim);
        return -1;
    }
    int n = PQntuples(claim);
    lago_event_t events[LAGO_API_BATCH_MAX];
    json_t *sent = json_array(), *orphans = json_array();
    size_t m = 0;
    int attempts = 0;
    for (int i = 0; i < n && i < LAGO_API_BATCH_MAX; i++) {
        const char *tx = PQgetvalue(claim, i, 0);
        const char *subscription = PQgetvalue(claim, i, 1);
        if (!subscription[0]) {
            json_array_append_new(orphans, json_string(tx));
            continue;
        }
        events[m] = (lago_event_t){
            .transaction_id = tx,
            .external_subscription_id = subscription,
            .code = PQgetvalue(claim, i, 2),
            .timestamp = strtoll(PQgetvalue(claim, i, 3), NULL, 10),
            .properties_json = PQgetvalue(claim, i, 4),
        };
        int a = atoi(PQgetvalue(claim, i, 5));
        attempts = a > attempts ? a : attempts;
        json_array_append_new(sent, json_string(tx));
        m++;
    }
    int rc = (int)m;
    if (json_array_size(orphans) > 0)
        s_mark(pg, "forward_retry", orphans, S_NO_SUBSCRIPTION_RETRY_S, "no_subscription");
    if (m > 0) {
        lago_api_error_t error;
        ob_err_t err = lago_api_send_events_batch(api, events, m, &error);
        if (err == OB_ERR_INVALID && m > 1) {
            /* Lago refused the batch for some event: send them one by one, so
             * one bad event holds back only itself. */
            json_t *good = json_array(), *bad = json_array();
            for (size_t i = 0; i < m; i++) {
                bool ok = lago_api_send_events_batch(api, &events[i], 1, &error) == OB_OK;
                json_array_append_new(ok ? good : bad, json_string(events[i].transaction_id));
            }
            s_mark(pg, "forward_done", good, 0, NULL);
            rc = (int)json_array_size(good);
            json_decref(sent);
            sent = bad;
            m = json_array_size(bad);
            err = m == 0 ? OB_OK : OB_ERR_INVALID;
            if (err == OB_OK) {
                json_decref(sent);
                sent = json_array();
            }
        }
        if (err == OB_OK) {
            if (s_mark(pg, "forward_done", sent, 0, NULL) != OB_OK)
                rc = -1; /* the lease expires and the batch is sent again: Lago keeps one copy */
        } else {
            int delay = lago_forward_backoff_s(attempts, max_backoff_s);
            char why[160];
            snprintf(why, sizeof why, "%s: %ld %s", ob_err_name(err), error.status, error.code);
            ob_log_warn("lago: forwarding %zu events failed (%s); retrying in %d s", m, why, delay);
            s_mark(pg, "forward_retry", sent, delay, why);
            rc = -1;
        }
    }
    json_decref(sent);
    json_decref(orphans);
    PQclear(claim);
    return rc;
}
