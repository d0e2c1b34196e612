/*  subs_overrides - operators' overrides and top-ups. */
#include "services/subscription-worker/subs_overrides.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_json.h"
#include "common/ob_log.h"
#include "services/subscription-worker/subs_publish.h"
#include "services/subscription-worker/subs_state.h"

#define S_ID_MAX 255
#define S_MAX_LIFETIME_S (5LL * 366 * 86400)

void
subs_overrides_prepare(ob_pg_t *pg)
{
    subs_publish_prepare(pg);
    /* A per-user transaction lock keeps the "at most N in force" count exact. */
    ob_pg_prepare(pg, "overrides_lock", "SELECT pg_advisory_xact_lock(hashtext('ob:overrides:' || $1))", 1);
    ob_pg_prepare(pg, "overrides_in_force",
                  "SELECT count(*) FROM entitlement_overrides WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()", 1);
    /* A one-time top-up belongs to the window current now. */
    ob_pg_prepare(pg, "overrides_insert",
                  "INSERT INTO entitlement_overrides (user_id, kind, feature, calls, recurring, window_start, expires_at, reason,"
                  " granted_by)"
                  " SELECT $1, $2, nullif($3, ''), nullif($4, '')::bigint, $5::boolean,"
                  "  CASE WHEN $2 = 'quota' AND NOT $5::boolean THEN"
                  "   (SELECT usage_period_start FROM user_entitlements WHERE user_id = $1) END,"
                  "  to_timestamp($6::bigint), $7, $8"
                  " RETURNING id, window_start IS NOT NULL OR $2 <> 'quota' OR $5::boolean",
                  8);
    ob_pg_prepare(pg, "overrides_list",
                  "SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind, 'feature', feature, 'calls', calls,"
                  " 'recurring', recurring, 'window_start', window_start, 'expires_at', expires_at, 'reason', reason,"
                  " 'granted_by', granted_by, 'created_at', created_at, 'revoked_at', revoked_at,"
                  " 'revoked_by', revoked_by, 'revoke_reason', revoke_reason,"
                  " 'in_force', revoked_at IS NULL AND expires_at > now()) ORDER BY id), '[]')::text"
                  " FROM entitlement_overrides WHERE user_id = $1",
                  1);
    /* Revoked once: a second revoke finds no row in force and says so. */
    ob_pg_prepare(pg, "overrides_revoke",
                  "UPDATE entitlement_overrides SET revoked_at = now(), revoked_by = $2, revoke_reason = $3"
                  " WHERE id = $1::bigint AND revoked_at IS NULL"
                  " RETURNING user_id, kind, coalesce(feature, ''), coalesce(calls::text, ''), expires_at > revoked_at,"
                  " floor(extract(epoch FROM revoked_at))::bigint",
                  3);
    ob_pg_prepare(pg, "overrides_exists", "SELECT revoked_at IS NOT NULL FROM entitlement_overrides WHERE id = $1::bigint", 1);
}

static bool
s_admin_user(ob_job_t *job, ob_call_t *call, char *user_id)
{
    if (!ob_bytes_eq(call->role, "admin")) {
        ob_job_reply_error(job, 403, "not_an_operator", "this endpoint needs the admin token");
        return false;
    }
    ob_bytes_t who = call->path_param;
    if (!who.ptr || who.len == 0 || who.len > S_ID_MAX || memchr(who.ptr, '\0', who.len)) {
        ob_job_reply_error(job, 400, "invalid_user_id", "no valid user id for this request");
        return false;
    }
    memcpy(user_id, who.ptr, who.len);
    user_id[who.len] = '\0';
    return true;
}

/*  The operator's name for the audit (the admin principal), at most 63 bytes. */
static void
s_operator(const ob_call_t *call, char *by, size_t cap)
{
    snprintf(by, cap, "%.*s", (int)(call->principal.len < cap - 1 ? call->principal.len : cap - 1),
             call->principal.ptr ? call->principal.ptr : "");
}

/*  Validates the body; fills the statement's text values. NULL or the problem. */
static const char *
s_read(const json_t *body, int64_t now, char *kind, char *feature, char *calls, bool *recurring, int64_t *expires,
       const char **reason)
{
    const char *k = ob_json_str(body, "kind");
    if (!k || (strcmp(k, "feature") != 0 && strcmp(k, "quota") != 0))
        return "kind must be \"feature\" or \"quota\"";
    snprintf(kind, 16, "%s", k);
    feature[0] = calls[0] = '\0';
    if (strcmp(k, "feature") == 0) {
        const char *f = ob_json_str(body, "feature");
        size_t len = f ? strlen(f) : 0;
        if (!f || len == 0 || len > 64 || strspn(f, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
            return "feature must be 1 to 64 characters of a-z, 0-9, _ . -";
        snprintf(feature, 65, "%s", f);
        if (json_object_get(body, "calls") || json_object_get(body, "recurring"))
            return "a feature override takes no calls or recurring";
    } else {
        json_t *n = json_object_get(body, "calls");
        if (!json_is_integer(n) || json_integer_value(n) <= 0 || json_integer_value(n) > 1000000000)
            return "calls must be an integer from 1 to 1000000000";
        snprintf(calls, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
        json_t *r = json_object_get(body, "recurring");
        if (r && !json_is_boolean(r))
            return "recurring must be true or false";
        *recurring = !r || json_is_true(r);
    }
    json_t *at = json_object_get(body, "expires_at"), *in = json_object_get(body, "expires_in_s");
    if ((at != NULL) == (in != NULL))
        return "give exactly one of expires_at or expires_in_s";
    if (at)
        *expires = ob_json_utc(at);
    else
        *expires = json_is_integer(in) && json_integer_value(in) > 0 && json_integer_value(in) <= S_MAX_LIFETIME_S
                       ? now + json_integer_value(in)
                       : -1;
    if (*expires <= now || *expires > now + S_MAX_LIFETIME_S)
        return "the expiry must be in the future, within five years (expires_at as 2027-01-31T00:00:00Z)";
    *reason = ob_json_reason(body);
    return *reason ? NULL : "reason must be 1 to 500 characters (it is audited)";
}

void
subs_overrides_create(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char user_id[S_ID_MAX + 1];
    if (ob_job_call(job, &call) != 0 || !s_admin_user(job, &call, user_id))
        return;
    json_t *body = ob_job_body_object(job, &call);
    if (!body)
        return;
    char kind[16], feature[65], calls[24], expires[24];
    bool recurring = true;
    int64_t expires_at = 0, now = (int64_t)time(NULL);
    const char *reason = NULL;
    const char *problem = s_read(body, now, kind, feature, calls, &recurring, &expires_at, &reason);
    if (problem) {
        ob_job_reply_error(job, 400, "invalid_override", problem);
        json_decref(body);
        return;
    }
    snprintf(expires, sizeof expires, "%" PRId64, expires_at);
    char by[64];
    s_operator(&call, by, sizeof by);
    const char *lock[] = {user_id};
    const char *values[] = {user_id, kind, feature, calls, recurring ? "true" : "false", expires, reason, by};
    PGresult *r = NULL;
    int64_t id = 0;
    ob_err_t err = ob_pg_begin(self->pg);
    if (err == OB_OK)
        err = ob_pg_run(self->pg, "overrides_lock", 1, lock, NULL);
    if (err == OB_OK)
        err = ob_pg_run(self->pg, "overrides_in_force", 1, lock, &r);
    bool full = err == OB_OK && strtoll(PQgetvalue(r, 0, 0), NULL, 10) >= SUBS_OVERRIDES_MAX;
    PQclear(r);
    r = NULL;
    bool windowless = false;
    if (err == OB_OK && !full)
        err = ob_pg_run(self->pg, "overrides_insert", 8, values, &r);
    if (err == OB_OK && !full && PQntuples(r) == 1) {
        id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        windowless = PQgetvalue(r, 0, 1)[0] != 't';
    }
    PQclear(r);
    if (err == OB_OK && !full && !windowless)
        err = ob_pg_commit(self->pg);
    else if (ob_pg_in_transaction(self->pg))
        ob_pg_rollback(self->pg);
    if (err != OB_OK)
        ob_job_reply_err(job, err, "overrides_unavailable", "the override cannot be recorded now; retry");
    else if (full)
        ob_job_reply_error(job, 409, "too_many_overrides", "this customer has the most overrides in force already");
    else if (windowless)
        ob_job_reply_error(job, 409, "no_current_window", "a one-time top-up needs a subscription with a current window");
    if (err != OB_OK || full || windowless) {
        json_decref(body);
        return;
    }
    /* Audited: the row, and this line (no secrets: ids, kind and amounts). */
    ob_log_info("override %" PRId64 " granted to a customer: kind %s%s%s%s%s by %s", id, kind, feature[0] ? " feature " : "",
                feature, calls[0] ? " calls " : "", calls, by);
    /* At once: the copy is republished now (an owed publish otherwise, retried). */
    subs_publish_user(self->pg, self->redis, user_id);
    json_t *answer = json_pack("{s:I,s:s,s:s,s:o,s:b,s:o,s:s}", "id", (json_int_t)id, "user_id", user_id, "kind", kind, "feature",
                               feature[0] ? json_string(feature) : json_null(), "recurring", recurring, "expires_at",
                               ob_json_time(expires_at), "reason", reason);
    json_object_set_new(answer, "calls", calls[0] ? json_integer(strtoll(calls, NULL, 10)) : json_null());
    ob_job_reply_json(job, 201, answer);
    json_decref(body);
}

void
subs_overrides_list(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char user_id[S_ID_MAX + 1];
    if (ob_job_call(job, &call) != 0 || !s_admin_user(job, &call, user_id))
        return;
    const char *values[] = {user_id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "overrides_list", 1, values, &r);
    if (err != OB_OK || PQntuples(r) != 1) {
        PQclear(r);
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, "overrides_unavailable", "the overrides cannot be read now");
        return;
    }
    json_t *list = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    ob_job_reply_json(job, 200, json_pack("{s:s,s:o}", "user_id", user_id, "overrides", list ? list : json_array()));
}

/*  The override id of the path: 1 to 18 digits. */
static bool
s_override_id(ob_job_t *job, const ob_call_t *call, char *id)
{
    ob_bytes_t p = call->path_param;
    bool ok = p.ptr && p.len > 0 && p.len <= 18;
    for (size_t i = 0; ok && i < p.len; i++)
        ok = p.ptr[i] >= '0' && p.ptr[i] <= '9';
    if (!ok) {
        ob_job_reply_error(job, 400, "invalid_override_id", "the override id must be a positive integer");
        return false;
    }
    memcpy(id, p.ptr, p.len);
    id[p.len] = '\0';
    return true;
}

void
subs_overrides_revoke(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char id[20];
    if (ob_job_call(job, &call) != 0)
        return;
    if (!ob_bytes_eq(call.role, "admin")) {
        ob_job_reply_error(job, 403, "not_an_operator", "this endpoint needs the admin token");
        return;
    }
    if (!s_override_id(job, &call, id))
        return;
    json_t *body = ob_job_body_object(job, &call);
    if (!body)
        return;
    const char *reason = ob_json_reason(body);
    if (!reason) {
        ob_job_reply_error(job, 400, "invalid_override", "reason must be 1 to 500 characters (it is audited)");
        json_decref(body);
        return;
    }
    char by[64];
    s_operator(&call, by, sizeof by);
    const char *values[] = {id, by, reason};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "overrides_revoke", 3, values, &r);
    if (err != OB_OK) {
        PQclear(r);
        json_decref(body);
        ob_job_reply_err(job, err, "overrides_unavailable", "the override cannot be revoked now; retry");
        return;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        r = NULL;
        const char *key[] = {id};
        err = ob_pg_run(self->pg, "overrides_exists", 1, key, &r);
        if (err != OB_OK)
            ob_job_reply_err(job, err, "overrides_unavailable", "the override cannot be read now; retry");
        else if (PQntuples(r) == 0)
            ob_job_reply_error(job, 404, "override_not_found", "no override has this id");
        else
            ob_job_reply_error(job, 409, "already_revoked", "this override was revoked already");
        PQclear(r);
        json_decref(body);
        return;
    }
    char user_id[S_ID_MAX + 1];
    snprintf(user_id, sizeof user_id, "%s", PQgetvalue(r, 0, 0));
    json_t *answer = json_pack("{s:I,s:s,s:s,s:b,s:o,s:s,s:s}", "id", (json_int_t)strtoll(id, NULL, 10), "user_id", user_id, "kind",
                               PQgetvalue(r, 0, 1), "was_in_force", PQgetvalue(r, 0, 4)[0] == 't', "revoked_at",
                               ob_json_time(strtoll(PQgetvalue(r, 0, 5), NULL, 10)), "revoked_by", by, "revoke_reason", reason);
    json_object_set_new(answer, "feature", PQgetvalue(r, 0, 2)[0] ? json_string(PQgetvalue(r, 0, 2)) : json_null());
    json_object_set_new(answer, "calls",
                        PQgetvalue(r, 0, 3)[0] ? json_integer(strtoll(PQgetvalue(r, 0, 3), NULL, 10)) : json_null());
    json_object_set_new(answer, "in_force", json_false());
    PQclear(r);
    ob_log_info("override %s revoked by %s", id, by);
    /* At once, like a grant: the copy is rebuilt without it now (an owed
     * publish otherwise, retried on the owner's tick; team members too). */
    subs_publish_user(self->pg, self->redis, user_id);
    ob_job_reply_json(job, 200, answer);
    json_decref(body);
}
