/*  subs_publish - owed and periodic publishes of the entitlement copies. */
#include "services/subscription-worker/subs_publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/ob_entitlements.h"
#include "common/ob_log.h"
#include "common/ob_worker.h"

#define S_BATCH 100

void
subs_publish_prepare(ob_pg_t *pg)
{
    ob_entitlements_prepare(pg);
    ob_pg_prepare(pg, "publish_due",
                  "(SELECT user_id FROM entitlement_versions WHERE published_version < version AND next_attempt_at <= now()"
                  "  ORDER BY next_attempt_at LIMIT $1)"
                  " UNION"
                  " (SELECT user_id FROM entitlement_versions WHERE published_at < now() - make_interval(secs => $2::int)"
                  "  AND next_attempt_at <= now() ORDER BY published_at LIMIT $1)",
                  2);
    ob_pg_prepare(pg, "publish_done",
                  "UPDATE entitlement_versions SET published_version = greatest(published_version, $2::bigint),"
                  " published_at = now(), attempts = 0, next_attempt_at = '-infinity', last_error = NULL WHERE user_id = $1",
                  2);
    ob_pg_prepare(pg, "publish_failed",
                  "UPDATE entitlement_versions SET attempts = attempts + 1, last_error = $2,"
                  " next_attempt_at = now() + make_interval(secs => least(30, power(2, least(attempts, 5)))::int)"
                  " WHERE user_id = $1",
                  2);
}

ob_err_t
subs_publish_user(ob_pg_t *pg, ob_redis_t *redis, const char *user_id)
{
    ob_entitlement_t e;
    ob_err_t err = ob_entitlements_load(pg, user_id, &e);
    if (err != OB_OK && err != OB_ERR_NOT_FOUND)
        return err;
    /* 0 (kept) is fine: Redis holds this version or a newer one. */
    if (ob_entitlements_publish(redis, &e, false) < 0) {
        const char *values[] = {user_id, "redis: publish failed"};
        ob_pg_run(pg, "publish_failed", 2, values, NULL);
        return OB_ERR_TRANSIENT;
    }
    char version[24];
    snprintf(version, sizeof version, "%" PRId64, e.version);
    const char *values[] = {user_id, version};
    return ob_pg_run(pg, "publish_done", 2, values, NULL);
}

int
subs_publish_run(ob_pg_t *pg, ob_redis_t *redis)
{
    char limit[16], age[24];
    snprintf(limit, sizeof limit, "%d", S_BATCH);
    snprintf(age, sizeof age, "%" PRId64, ob_entitlements_ttl_s() / 3);
    const char *values[] = {limit, age};
    PGresult *r = NULL;
    if (ob_pg_run(pg, "publish_due", 2, values, &r) != OB_OK) {
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r), failed = 0;
    for (int i = 0; i < n; i++) {
        if (subs_publish_user(pg, redis, PQgetvalue(r, i, 0)) != OB_OK)
            failed++;
        ob_worker_keepalive(); /* as the applier: a long batch is no dead worker */
    }
    PQclear(r);
    if (failed)
        ob_log_warn("entitlements: %d of %d copies not published (Redis unavailable); retried from entitlement_versions", failed,
                    n);
    return n >= S_BATCH && failed == 0 ? 1 : 0;
}
