/*  quota_notify - threshold crossings to notification requests. */
#include "services/lago-worker/quota_notify.h"

#include <inttypes.h>
#include <stdio.h>

size_t
quota_notify_crossed(int64_t used_before, int64_t used_after, int64_t limit, bool refused, int *out)
{
    size_t n = 0;
    if (limit <= 0)
        return 0;
    int64_t eighty = (limit * 80 + 99) / 100; /* the first count at or above 80% */
    if (!refused && used_before < eighty && used_after >= eighty && eighty < limit)
        out[n++] = 80;
    if (refused || (used_before < limit && used_after >= limit))
        out[n++] = 100;
    return n;
}

void
quota_notify_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "quota_notify_insert",
                  "INSERT INTO notifications (dedupe_key, kind, user_id, payload)"
                  " SELECT 'quota:' || $1 || ':' || $2 || ':' || $5 || ':' || $6, 'quota_threshold', $1,"
                  " jsonb_build_object('metric', $2::text, 'used', $3::bigint, 'limit', $4::bigint,"
                  "   'window_end', nullif($5::bigint, 0), 'threshold', $6::int,"
                  "   'plan', (SELECT plan_id FROM user_entitlements WHERE user_id = $1))"
                  " ON CONFLICT (dedupe_key) DO NOTHING",
                  6);
    /* One sum per user and metric of the batch that may be at a threshold,
     * and none once the window's 100% is requested. */
    ob_pg_prepare(pg, "quota_notify_ingested",
                  "WITH g AS (SELECT u AS user_id, c AS code, a AS added, h AS hint"
                  "   FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[]) AS x(u, c, a, h)),"
                  " c AS (SELECT g.user_id, g.code, e.api_calls_limit AS lim, e.plan_id, e.usage_period_start,"
                  "   e.usage_period_end, coalesce(extract(epoch FROM e.usage_period_end)::bigint, 0) AS window_end"
                  "   FROM g JOIN user_entitlements e ON e.user_id = g.user_id AND e.live AND e.api_calls_limit > 0"
                  "   WHERE g.added > 0 AND (g.hint IS NULL OR g.hint >= (e.api_calls_limit * 80 + 99) / 100))"
                  " INSERT INTO notifications (dedupe_key, kind, user_id, payload)"
                  " SELECT 'quota:' || c.user_id || ':' || c.code || ':' || c.window_end || ':' || t.threshold,"
                  " 'quota_threshold', c.user_id, jsonb_build_object('metric', c.code, 'used', u.used, 'limit', c.lim,"
                  "   'window_end', nullif(c.window_end, 0), 'threshold', t.threshold, 'plan', c.plan_id)"
                  " FROM c"
                  " CROSS JOIN LATERAL (SELECT f.used FROM usage_used(c.user_id, c.usage_period_start, c.usage_period_end) f"
                  "   WHERE f.code = c.code AND f.quota) u"
                  " CROSS JOIN LATERAL (VALUES (80, (c.lim * 80 + 99) / 100), (100, c.lim)) AS t(threshold, at)"
                  " WHERE NOT EXISTS (SELECT 1 FROM notifications n"
                  "     WHERE n.dedupe_key = 'quota:' || c.user_id || ':' || c.code || ':' || c.window_end || ':100')"
                  "   AND u.used >= t.at AND (t.threshold = 100 OR t.at < c.lim)"
                  " ON CONFLICT (dedupe_key) DO NOTHING",
                  4);
}

ob_err_t
quota_notify_add(ob_pg_t *pg, const char *user_id, const char *metric, int64_t used_before, int64_t used_after, int64_t limit,
                 bool refused, int64_t window_end)
{
    int thresholds[2];
    size_t n = quota_notify_crossed(used_before, used_after, limit, refused, thresholds);
    ob_err_t err = OB_OK;
    for (size_t i = 0; i < n && err == OB_OK; i++) {
        char used[24], lim[24], end[24], threshold[8];
        snprintf(used, sizeof used, "%" PRId64, refused ? used_before : used_after);
        snprintf(lim, sizeof lim, "%" PRId64, limit);
        snprintf(end, sizeof end, "%" PRId64, window_end);
        snprintf(threshold, sizeof threshold, "%d", thresholds[i]);
        const char *values[] = {user_id, metric, used, lim, end, threshold};
        err = ob_pg_run(pg, "quota_notify_insert", 6, values, NULL);
    }
    return err;
}

ob_err_t
quota_notify_ingested(ob_pg_t *pg, const char *users, const char *codes, const char *added, const char *hints)
{
    const char *values[] = {users, codes, added, hints};
    return ob_pg_run(pg, "quota_notify_ingested", 4, values, NULL);
}
