/*  lago_sync - subscriptions -> Lago. */
#include "services/lago-worker/lago_sync.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_log.h"

#define S_LIVE "('trialing', 'active', 'past_due')"
#define S_DUE                                                                                                                      \
    "((s.status IN " S_LIVE " AND s.plan_id IS NOT NULL AND (l.subscription_id IS NULL OR l.synced_status IS DISTINCT FROM "       \
    "'active' OR l.synced_plan_id IS DISTINCT FROM s.plan_id)) OR (s.status NOT IN " S_LIVE " AND l.synced_status = 'active'))"

void
lago_sync_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "sync_due",
                  "SELECT s.id FROM subscriptions s LEFT JOIN lago_subscription_sync l ON l.subscription_id = s.id"
                  " WHERE " S_DUE " AND coalesce(l.next_attempt_at, '-infinity') <= now() ORDER BY s.updated_at LIMIT 20",
                  0);
    ob_pg_prepare(pg, "sync_user",
                  "SELECT s.id FROM subscriptions s LEFT JOIN lago_subscription_sync l ON l.subscription_id = s.id"
                  " WHERE s.user_id = $1 AND " S_DUE " ORDER BY s.updated_at",
                  1);
    ob_pg_prepare(pg, "sync_seed",
                  "INSERT INTO lago_subscription_sync (subscription_id, user_id) SELECT id, user_id FROM subscriptions"
                  " WHERE id = $1 ON CONFLICT (subscription_id) DO NOTHING",
                  1);
    ob_pg_prepare(pg, "sync_lock",
                  "SELECT s.user_id, coalesce(s.plan_id, ''), s.status IN " S_LIVE ", coalesce(l.synced_plan_id, ''),"
                  " coalesce(l.synced_status, ''), coalesce(c.email, '')"
                  " FROM lago_subscription_sync l JOIN subscriptions s ON s.id = l.subscription_id"
                  " LEFT JOIN customers c ON c.user_id = s.user_id"
                  " WHERE l.subscription_id = $1 FOR UPDATE OF l SKIP LOCKED",
                  1);
    ob_pg_prepare(pg, "sync_ok",
                  "UPDATE lago_subscription_sync SET synced_plan_id = $2, synced_status = $3, synced_at = now(),"
                  " attempts = 0, last_error = NULL, next_attempt_at = now() WHERE subscription_id = $1",
                  3);
    ob_pg_prepare(pg, "sync_fail",
                  "UPDATE lago_subscription_sync SET attempts = attempts + 1, last_error = $2,"
                  " next_attempt_at = now() + make_interval(secs => least(300, power(2, attempts)))"
                  " WHERE subscription_id = $1",
                  2);
    /* Events that waited for a subscription can go now. */
    ob_pg_prepare(pg, "sync_wake_events",
                  "UPDATE usage_events SET next_forward_at = now() WHERE user_id = $1 AND forwarded_at IS NULL"
                  " AND subscription_id IS NULL AND next_forward_at > now()",
                  1);
}

/*  1 synced, 0 nothing to do (or another worker has it), -1 database failure. */
static int
s_sync_one(ob_pg_t *pg, lago_api_t *api, const char *subscription_id)
{
    const char *id[] = {subscription_id};
    if (ob_pg_run(pg, "sync_seed", 1, id, NULL) != OB_OK || ob_pg_begin(pg) != OB_OK)
        return -1;
    PGresult *row = ob_pg_exec(pg, "sync_lock", 1, id, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, row);
    if (err != OB_OK || PQntuples(row) != 1) {
        PQclear(row);
        ob_pg_rollback(pg);
        return err == OB_OK ? 0 : -1;
    }
    const char *user_id = PQgetvalue(row, 0, 0), *plan = PQgetvalue(row, 0, 1);
    bool live = PQgetvalue(row, 0, 2)[0] == 't';
    const char *synced_plan = PQgetvalue(row, 0, 3), *synced_status = PQgetvalue(row, 0, 4);
    const char *email = PQgetvalue(row, 0, 5);
    bool is_active = strcmp(synced_status, "active") == 0;
    lago_api_error_t error = {0};
    ob_err_t lago = OB_OK;
    const char *new_status = NULL, *new_plan = NULL, *what = "";
    if (live && plan[0] && (!is_active || strcmp(plan, synced_plan) != 0)) {
        what = is_active ? "change" : "create";
        lago = lago_api_upsert_customer(api, user_id, email[0] ? email : NULL, NULL, &error);
        if (lago == OB_OK)
            lago = lago_api_create_subscription(api, user_id, subscription_id, plan, NULL, NULL, &error);
        new_status = "active";
        new_plan = plan;
    } else if (!live && is_active) {
        what = "terminate";
        lago = lago_api_terminate_subscription(api, subscription_id, &error);
        new_status = "terminated";
        new_plan = synced_plan;
    }
    int rc = 0;
    if (new_status && lago == OB_OK) {
        const char *values[] = {subscription_id, new_plan, new_status};
        err = ob_pg_run(pg, "sync_ok", 3, values, NULL);
        const char *user[] = {user_id};
        if (err == OB_OK && live)
            err = ob_pg_run(pg, "sync_wake_events", 1, user, NULL);
        rc = 1;
        ob_log_info("lago: subscription %s synced (%s, plan %s)", subscription_id, what, new_plan);
    } else if (new_status) {
        char why[200];
        snprintf(why, sizeof why, "%s %s: %ld %s", what, ob_err_name(lago), error.status, error.code);
        const char *values[] = {subscription_id, why};
        err = ob_pg_run(pg, "sync_fail", 2, values, NULL);
        ob_log_warn("lago: subscription %s not synced (%s); will retry", subscription_id, why);
    }
    PQclear(row);
    err = err == OB_OK ? ob_pg_commit(pg) : (ob_pg_rollback(pg), err);
    return err == OB_OK ? rc : -1;
}

static int
s_sync_list(ob_pg_t *pg, lago_api_t *api, const char *statement, int n, const char *const *values)
{
    PGresult *due = ob_pg_exec(pg, statement, n, values, NULL, NULL);
    if (ob_pg_classify(pg, due) != OB_OK) {
        PQclear(due);
        return -1;
    }
    int synced = 0;
    for (int i = 0; i < PQntuples(due); i++) {
        int rc = s_sync_one(pg, api, PQgetvalue(due, i, 0));
        if (rc < 0) {
            synced = -1;
            break;
        }
        synced += rc;
    }
    PQclear(due);
    return synced;
}

int
lago_sync_user(ob_pg_t *pg, lago_api_t *api, const char *user_id)
{
    const char *values[] = {user_id};
    return s_sync_list(pg, api, "sync_user", 1, values);
}

int
lago_sync_due(ob_pg_t *pg, lago_api_t *api)
{
    return s_sync_list(pg, api, "sync_due", 0, NULL);
}
