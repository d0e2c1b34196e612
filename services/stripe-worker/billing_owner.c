/*  billing_owner - a subscription_updates request and the wait for its outcome. */
#include "services/stripe-worker/billing_owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_clock.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_worker.h"

void
billing_owner_prepare(ob_pg_t *pg)
{
    /* The no-op update makes RETURNING give the id of a repeat too. */
    ob_pg_prepare(pg, "owner_request",
                  "WITH r AS (INSERT INTO subscription_updates (source_event_id, kind, subscription_id, payload)"
                  " VALUES ($1, $2, $3, $4::jsonb)"
                  " ON CONFLICT (source_event_id, kind) DO UPDATE SET source_event_id = EXCLUDED.source_event_id"
                  " RETURNING id)"
                  " SELECT id, pg_notify('subscription_updates', '') FROM r",
                  4);
    ob_pg_prepare(pg, "owner_outcome", "SELECT status, result::text FROM subscription_updates WHERE id = $1", 1);
}

static void
s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

ob_err_t
billing_owner_request(ob_pg_t *pg, const char *source, const char *kind, const char *subscription_id, const json_t *payload,
                      int wait_ms, json_t **outcome)
{
    *outcome = NULL;
    char *payload_text = ob_json_dump(payload, NULL);
    if (!payload_text)
        return OB_ERR_INTERNAL;
    const char *values[] = {source, kind, subscription_id && *subscription_id ? subscription_id : NULL, payload_text};
    PGresult *r = ob_pg_exec(pg, "owner_request", 4, values, NULL, NULL);
    free(payload_text);
    ob_err_t err = ob_pg_classify(pg, r);
    if (err == OB_OK && PQntuples(r) != 1)
        err = OB_ERR_INTERNAL;
    char id[32] = "";
    if (err == OB_OK)
        snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (err != OB_OK)
        return err;

    /* The owner applies a woken request within milliseconds; poll gently. */
    int64_t until = ob_clock_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    int pause_ms = 2;
    for (;;) {
        const char *key[] = {id};
        r = ob_pg_exec(pg, "owner_outcome", 1, key, NULL, NULL);
        err = ob_pg_classify(pg, r);
        if (err == OB_OK && PQntuples(r) == 1) {
            const char *status = PQgetvalue(r, 0, 0);
            if (strcmp(status, "applied") == 0) {
                if (!PQgetisnull(r, 0, 1))
                    *outcome = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
                PQclear(r);
                return OB_OK;
            }
            if (strcmp(status, "failed") == 0) {
                PQclear(r);
                ob_log_warn("billing: the subscription-worker could not apply %s request %s", kind, id);
                return OB_ERR_TRANSIENT;
            }
        }
        PQclear(r);
        if (err != OB_OK && err != OB_ERR_TRANSIENT)
            return err;
        if (ob_clock_mono_ms() + pause_ms > until) {
            ob_log_warn("billing: the subscription-worker has not applied %s request %s yet; it stays queued", kind, id);
            return OB_ERR_TRANSIENT;
        }
        ob_worker_keepalive();
        s_sleep_ms(pause_ms);
        if (pause_ms < 50)
            pause_ms *= 2;
    }
}
