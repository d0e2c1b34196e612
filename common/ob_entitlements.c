/*  ob_entitlements - a user's entitlements: Postgres truth, Redis copy. */
#include "common/ob_entitlements.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_config.h"
#include "common/ob_entitlement_check.h"
#include "common/ob_log.h"

int64_t
ob_entitlements_ttl_s(void)
{
    long ttl = ob_config_int("ENTITLEMENTS_TTL_S", 300);
    return ttl < 2 ? 2 : ttl;
}

int64_t
ob_entitlements_grace_s(void)
{
    long grace = ob_config_int("PAST_DUE_GRACE_S", 259200);
    return grace < 0 ? 0 : grace;
}

void
ob_entitlements_prepare(ob_pg_t *pg)
{
    /* One statement, one snapshot: the version is the one of this state. The
     * user may have no subscription left (version known, no state). A team
     * member or owner gets the better of the personal and the team's
     * subscription (live first, then the dearer plan); on the team's, the
     * copy names the team as the account whose quota is shared. */
    /* Overrides in force (migration 051) of the subscription's holder (the
     * user, or for a member on the team's plan the team) are folded in: granted features
     * join the plan's, quota calls raise the limit (a one-time top-up only in
     * the window it was granted in), and the copy expires when the first of
     * them does, so the next reader rebuilds without it. */
    ob_pg_prepare(pg, "entitlements_load",
                  "SELECT e.subscription_id, coalesce(e.plan_id, ''), e.status, coalesce(e.interval, ''), e.live,"
                  " coalesce(e.api_calls_limit + ov.calls, -1), e.api_calls_period,"
                  " coalesce(extract(epoch FROM e.usage_period_start)::bigint, 0),"
                  " coalesce(extract(epoch FROM e.usage_period_end)::bigint, 0),"
                  " coalesce(extract(epoch FROM e.current_period_end)::bigint, 0), e.cancel_at_period_end,"
                  " coalesce(extract(epoch FROM e.trial_end)::bigint, 0),"
                  " (e.features || coalesce((SELECT jsonb_agg(f) FROM jsonb_array_elements_text(ov.features) f"
                  "   WHERE NOT e.features ? f), '[]'::jsonb))::text,"
                  " coalesce(extract(epoch FROM e.past_due_since)::bigint, 0), e.byok, e.seats,"
                  " coalesce(v.version, 0), ov.list::text, coalesce(floor(extract(epoch FROM ov.until))::bigint, 0),"
                  " CASE WHEN e.user_id <> q.user_id THEN e.user_id ELSE '' END, coalesce(e.last_event_created, 0)"
                  " FROM (SELECT $1::text AS user_id) q"
                  " LEFT JOIN LATERAL (SELECT x.* FROM user_entitlements x JOIN plans p ON p.id = x.plan_id"
                  "  WHERE x.user_id = q.user_id"
                  "   OR x.user_id IN (SELECT team_id FROM team_members WHERE user_id = q.user_id"
                  "                    UNION SELECT id FROM teams WHERE owner_user_id = q.user_id)"
                  "  ORDER BY x.live DESC, p.price_monthly_cents DESC, (x.user_id = q.user_id) DESC LIMIT 1) e ON true"
                  " LEFT JOIN entitlement_versions v ON v.user_id = q.user_id"
                  " LEFT JOIN LATERAL ("
                  "  SELECT coalesce(sum(o.calls), 0) AS calls,"
                  "   coalesce(jsonb_agg(DISTINCT o.feature) FILTER (WHERE o.kind = 'feature'), '[]'::jsonb) AS features,"
                  "   min(o.expires_at) AS until,"
                  "   coalesce(jsonb_agg(jsonb_build_object('id', o.id, 'kind', o.kind, 'feature', o.feature, 'calls', o.calls,"
                  "    'recurring', o.recurring, 'expires_at', floor(extract(epoch FROM o.expires_at))::bigint,"
                  "    'reason', o.reason) ORDER BY o.id), '[]'::jsonb) AS list"
                  "  FROM entitlement_overrides o"
                  "  WHERE o.user_id = coalesce(e.user_id, q.user_id) AND o.revoked_at IS NULL AND o.expires_at > now()"
                  "   AND (o.kind <> 'quota' OR o.recurring OR o.window_start = e.usage_period_start)) ov ON true",
                  1);
}

static void
s_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void
s_nothing(const char *user_id, ob_entitlement_t *out)
{
    memset(out, 0, sizeof *out);
    s_copy(out->user_id, sizeof out->user_id, user_id);
    s_copy(out->features, sizeof out->features, "[]");
    s_copy(out->overrides, sizeof out->overrides, "[]");
    s_copy(out->period, sizeof out->period, "month");
}

ob_err_t
ob_entitlements_load(ob_pg_t *pg, const char *user_id, ob_entitlement_t *out)
{
    s_nothing(user_id, out);
    const char *values[] = {user_id};
    PGresult *result = ob_pg_exec(pg, "entitlements_load", 1, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, result);
    if (err == OB_OK && PQntuples(result) == 1)
        out->version = strtoll(PQgetvalue(result, 0, 16), NULL, 10);
    if (err == OB_OK && (PQntuples(result) == 0 || PQgetisnull(result, 0, 0)))
        err = OB_ERR_NOT_FOUND;
    if (err == OB_OK) {
        s_copy(out->subscription_id, sizeof out->subscription_id, PQgetvalue(result, 0, 0));
        s_copy(out->plan_id, sizeof out->plan_id, PQgetvalue(result, 0, 1));
        s_copy(out->status, sizeof out->status, PQgetvalue(result, 0, 2));
        s_copy(out->interval, sizeof out->interval, PQgetvalue(result, 0, 3));
        out->live = PQgetvalue(result, 0, 4)[0] == 't';
        out->limit = strtoll(PQgetvalue(result, 0, 5), NULL, 10);
        s_copy(out->period, sizeof out->period, PQgetvalue(result, 0, 6));
        out->period_start = strtoll(PQgetvalue(result, 0, 7), NULL, 10);
        out->period_end = strtoll(PQgetvalue(result, 0, 8), NULL, 10);
        out->current_period_end = strtoll(PQgetvalue(result, 0, 9), NULL, 10);
        out->cancel_at_period_end = PQgetvalue(result, 0, 10)[0] == 't';
        out->trial_end = strtoll(PQgetvalue(result, 0, 11), NULL, 10);
        s_copy(out->features, sizeof out->features, PQgetvalue(result, 0, 12));
        out->past_due_since = strtoll(PQgetvalue(result, 0, 13), NULL, 10);
        out->byok = PQgetvalue(result, 0, 14)[0] == 't';
        out->seats = strtoll(PQgetvalue(result, 0, 15), NULL, 10);
        out->access_until = ob_entitlement_access_until(out, ob_entitlements_grace_s());
        s_copy(out->overrides, sizeof out->overrides, PQgetvalue(result, 0, 17));
        out->overrides_until = strtoll(PQgetvalue(result, 0, 18), NULL, 10);
        s_copy(out->account, sizeof out->account, PQgetvalue(result, 0, 19));
        out->last_event_created = strtoll(PQgetvalue(result, 0, 20), NULL, 10);
    }
    PQclear(result);
    return err;
}

void
ob_entitlements_key(const char *user_id, char *key, size_t cap)
{
    snprintf(key, cap, OB_ENTITLEMENT_KEY_PREFIX "%s", user_id);
}

/*  KEYS: the copy, its version key. ARGV: if_missing 0|1, version, TTL, then
 *  field/value pairs. The version lives beside the hash, not in it, so two
 *  copies of one state are equal field for field whatever path led there. A
 *  copy without a version key (older code, a restore) is always replaced. */
static const char s_publish_lua[] = "if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
                                    "local v = tonumber(redis.call('GET', KEYS[2]))\n"
                                    "if v and v > tonumber(ARGV[2]) then return 0 end\n"
                                    "redis.call('DEL', KEYS[1])\n"
                                    "redis.call('HSET', KEYS[1], unpack(ARGV, 4))\n"
                                    "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
                                    "redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])\n"
                                    "return 1\n";

int
ob_entitlements_publish(ob_redis_t *redis, const ob_entitlement_t *e, bool if_missing)
{
    char key[300], limit[24], start[24], end[24], version[24], current_end[24], trial_end[24], past_due[24], until[24], seats[24],
        ttl[24];
    ob_entitlements_key(e->user_id, key, sizeof key);
    char version_key[300];
    snprintf(version_key, sizeof version_key, OB_ENTITLEMENT_VERSION_KEY_PREFIX "%s", e->user_id);
    snprintf(limit, sizeof limit, "%" PRId64, e->limit);
    snprintf(start, sizeof start, "%" PRId64, e->period_start);
    snprintf(end, sizeof end, "%" PRId64, e->period_end);
    snprintf(current_end, sizeof current_end, "%" PRId64, e->current_period_end);
    snprintf(trial_end, sizeof trial_end, "%" PRId64, e->trial_end);
    snprintf(past_due, sizeof past_due, "%" PRId64, e->past_due_since);
    snprintf(until, sizeof until, "%" PRId64, e->access_until);
    snprintf(seats, sizeof seats, "%" PRId64, e->seats);
    snprintf(version, sizeof version, "%" PRId64, e->version);
    int64_t lifetime = ob_entitlements_ttl_s(), now = (int64_t)time(NULL);
    if (e->overrides_until > 0 && e->overrides_until - now < lifetime)
        lifetime = e->overrides_until > now ? e->overrides_until - now : 1;
    snprintf(ttl, sizeof ttl, "%" PRId64, lifetime);
    char overrides_until[24], event_version[24];
    snprintf(event_version, sizeof event_version, "%" PRId64, e->last_event_created);
    snprintf(overrides_until, sizeof overrides_until, "%" PRId64, e->overrides_until);
    const char *argv[] = {"EVAL",
                          s_publish_lua,
                          "2",
                          key,
                          version_key,
                          if_missing ? "1" : "0",
                          version,
                          ttl,
                          "live",
                          e->live ? "1" : "0",
                          "plan",
                          e->plan_id,
                          "status",
                          e->status,
                          "interval",
                          e->interval,
                          "subscription",
                          e->subscription_id,
                          "limit",
                          limit,
                          "period",
                          e->period,
                          "period_start",
                          start,
                          "period_end",
                          end,
                          "current_period_end",
                          current_end,
                          "cancel_at_period_end",
                          e->cancel_at_period_end ? "1" : "0",
                          "trial_end",
                          trial_end,
                          "past_due_since",
                          past_due,
                          "access_until",
                          until,
                          "byok",
                          e->byok ? "1" : "0",
                          "seats",
                          seats,
                          "features",
                          e->features,
                          "overrides",
                          e->overrides,
                          "overrides_until",
                          overrides_until,
                          "account",
                          e->account,
                          "version",
                          event_version};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    redisReply *reply = ob_redis_command_argv(redis, argc, argv, NULL);
    int rc = reply && reply->type == REDIS_REPLY_INTEGER ? (int)reply->integer : -1;
    if (rc < 0)
        ob_log_warn("cannot publish entitlements to Redis");
    if (reply)
        freeReplyObject(reply);
    return rc;
}

static const char *
s_field(const redisReply *reply, const char *name)
{
    for (size_t i = 0; i + 1 < reply->elements; i += 2)
        if (reply->element[i]->type == REDIS_REPLY_STRING && strcmp(reply->element[i]->str, name) == 0 &&
            reply->element[i + 1]->type == REDIS_REPLY_STRING)
            return reply->element[i + 1]->str;
    return NULL;
}

ob_err_t
ob_entitlements_fetch(ob_redis_t *redis, const char *user_id, ob_entitlement_t *out)
{
    s_nothing(user_id, out);
    char key[300];
    ob_entitlements_key(user_id, key, sizeof key);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = ob_redis_command_argv(redis, 2, argv, NULL);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return OB_ERR_TRANSIENT;
    }
    ob_err_t err = OB_OK;
    const char *live = s_field(reply, "live");
    if (!live) {
        err = OB_ERR_NOT_FOUND;
    } else {
        out->live = strcmp(live, "1") == 0;
        s_copy(out->plan_id, sizeof out->plan_id, s_field(reply, "plan"));
        s_copy(out->status, sizeof out->status, s_field(reply, "status"));
        s_copy(out->interval, sizeof out->interval, s_field(reply, "interval"));
        s_copy(out->subscription_id, sizeof out->subscription_id, s_field(reply, "subscription"));
        const char *limit = s_field(reply, "limit");
        out->limit = limit ? strtoll(limit, NULL, 10) : 0;
        s_copy(out->period, sizeof out->period, s_field(reply, "period"));
        const char *value;
        out->period_start = (value = s_field(reply, "period_start")) ? strtoll(value, NULL, 10) : 0;
        out->period_end = (value = s_field(reply, "period_end")) ? strtoll(value, NULL, 10) : 0;
        out->current_period_end = (value = s_field(reply, "current_period_end")) ? strtoll(value, NULL, 10) : 0;
        out->cancel_at_period_end = (value = s_field(reply, "cancel_at_period_end")) && strcmp(value, "1") == 0;
        out->trial_end = (value = s_field(reply, "trial_end")) ? strtoll(value, NULL, 10) : 0;
        s_copy(out->features, sizeof out->features, (value = s_field(reply, "features")) ? value : "[]");
        out->past_due_since = (value = s_field(reply, "past_due_since")) ? strtoll(value, NULL, 10) : 0;
        out->access_until = (value = s_field(reply, "access_until")) ? strtoll(value, NULL, 10) : 0;
        out->byok = (value = s_field(reply, "byok")) && strcmp(value, "1") == 0;
        out->seats = (value = s_field(reply, "seats")) ? strtoll(value, NULL, 10) : 0;
        s_copy(out->overrides, sizeof out->overrides, (value = s_field(reply, "overrides")) ? value : "[]");
        out->overrides_until = (value = s_field(reply, "overrides_until")) ? strtoll(value, NULL, 10) : 0;
        s_copy(out->account, sizeof out->account, s_field(reply, "account"));
        out->last_event_created = (value = s_field(reply, "version")) ? strtoll(value, NULL, 10) : 0;
        out->version = 0; /* in OB_ENTITLEMENT_VERSION_KEY_PREFIX, read by the publish script only */
    }
    freeReplyObject(reply);
    return err;
}

ob_err_t
ob_entitlements_get(ob_redis_t *redis, ob_pg_t *pg, const char *user_id, ob_entitlement_t *out)
{
    ob_err_t err = redis ? ob_entitlements_fetch(redis, user_id, out) : OB_ERR_NOT_FOUND;
    if (err == OB_OK)
        return out->plan_id[0] ? OB_OK : OB_ERR_NOT_FOUND;
    bool redis_up = err == OB_ERR_NOT_FOUND && redis;
    err = ob_entitlements_load(pg, user_id, out);
    if ((err == OB_OK || err == OB_ERR_NOT_FOUND) && redis_up)
        ob_entitlements_publish(redis, out, true);
    return err;
}

ob_err_t
ob_entitlements_refresh(ob_redis_t *redis, ob_pg_t *pg, const char *user_id)
{
    ob_entitlement_t entitlement;
    ob_err_t err = ob_entitlements_load(pg, user_id, &entitlement);
    if (err != OB_OK && err != OB_ERR_NOT_FOUND)
        return err;
    return ob_entitlements_publish(redis, &entitlement, false) >= 0 ? OB_OK : OB_ERR_TRANSIENT;
}
