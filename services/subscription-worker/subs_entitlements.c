/*  subs_entitlements - entitlement checks for internal services and the pages. */
#include "services/subscription-worker/subs_entitlements.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_entitlement_check.h"
#include "common/ob_entitlements.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_redis.h"
#include "services/subscription-worker/subs_state.h"

#define S_ID_MAX 255
#define S_FEATURE_MAX 64

void
subs_entitlements_prepare(ob_pg_t *pg)
{
    ob_entitlements_prepare(pg);
}

const char *
subs_entitlements_upgrade_to(const json_t *catalogue, const char *feature, const char *current_plan)
{
    const char *best = NULL;
    json_int_t best_price = 0;
    size_t i, j;
    json_t *plan, *item;
    json_array_foreach(json_object_get(catalogue, "plans"), i, plan)
    {
        const char *id = json_string_value(json_object_get(plan, "id"));
        json_int_t price = json_integer_value(json_object_get(plan, "price_monthly_cents"));
        if (!id || (current_plan && strcmp(id, current_plan) == 0) || json_integer_value(json_object_get(plan, "trial_days")) > 0)
            continue;
        bool has = false;
        json_array_foreach(json_object_get(plan, "features"), j,
                           item) if (json_is_string(item) && strcmp(json_string_value(item), feature) == 0) has = true;
        if (has && (!best || price < best_price)) {
            best = id;
            best_price = price;
        }
    }
    return best;
}

/*  A user id from bytes: non-empty, bounded, no NUL. */
static bool
s_user_id(ob_bytes_t who, char *out)
{
    if (!who.ptr || who.len == 0 || who.len > S_ID_MAX || memchr(who.ptr, '\0', who.len))
        return false;
    memcpy(out, who.ptr, who.len);
    out[who.len] = '\0';
    return true;
}

/*  The copy (or a rebuild of it). OB_OK, or an error answered already. */
static ob_err_t
s_load(subs_state_t *self, ob_job_t *job, const char *user_id, ob_entitlement_t *e)
{
    ob_err_t err = ob_entitlements_get(self->redis, self->pg, user_id, e);
    if (err == OB_ERR_NOT_FOUND)
        return OB_OK; /* e is the "nothing" entitlement */
    if (err != OB_OK)
        ob_job_reply_err(job, err, "entitlements_unavailable", "the entitlements cannot be read right now; retry");
    return err;
}

static json_t *
s_answer(subs_state_t *self, const ob_entitlement_t *e, const char *feature, int64_t now)
{
    ob_entitled_t verdict = ob_entitlement_check(e, feature, now);
    if (verdict == OB_ENTITLED)
        return json_pack("{s:b}", "allowed", 1);
    json_t *answer = json_pack("{s:b,s:s}", "allowed", 0, "reason", ob_entitled_reason(verdict));
    /* Paying again (past_due) or renewing (ended) restores a plan that has it;
     * otherwise the cheapest plan that has it is the way there. */
    const char *current = verdict == OB_NOT_ENTITLED_FEATURE ? e->plan_id : NULL;
    const char *upgrade = NULL;
    if (verdict == OB_NOT_ENTITLED_FEATURE || verdict == OB_NOT_ENTITLED_NONE || !ob_entitlement_has_feature(e, feature))
        upgrade = subs_entitlements_upgrade_to(self->catalogue, feature, current);
    json_object_set_new(answer, "upgrade_to", upgrade ? json_string(upgrade) : json_null());
    return answer;
}

/*  The API calls used in the current window, from the usage owner's counter
 *  (read only); null when it has none yet (nothing counted this window). */
static json_t *
s_used(subs_state_t *self, const ob_entitlement_t *e)
{
    char key[600];
    const char *epoch_argv[] = {"GET", "ob:quota:epoch"};
    redisReply *epoch = ob_redis_command_argv(self->redis, 2, epoch_argv, NULL);
    /* A team member's calls count on the team's one counter. */
    snprintf(key, sizeof key, "ob:quota:%s:api_calls:%" PRId64 ":%s", e->account[0] ? e->account : e->user_id, e->period_start,
             epoch && epoch->type == REDIS_REPLY_STRING ? epoch->str : "0");
    if (epoch)
        freeReplyObject(epoch);
    const char *argv[] = {"HGET", key, "n"};
    redisReply *reply = ob_redis_command_argv(self->redis, 3, argv, NULL);
    json_t *used = reply && reply->type == REDIS_REPLY_STRING ? json_integer(strtoll(reply->str, NULL, 10)) : json_null();
    if (reply)
        freeReplyObject(reply);
    return used;
}

static json_t *
s_document(subs_state_t *self, const ob_entitlement_t *e, int64_t now)
{
    ob_entitled_t standing = ob_entitlement_standing(e, now);
    bool entitled = standing == OB_ENTITLED;
    json_t *features = entitled ? json_loads(e->features, 0, NULL) : NULL;
    if (!json_is_array(features)) {
        json_decref(features);
        features = json_array();
    }
    bool subscribed = e->plan_id[0] != '\0';
    json_t *doc = json_pack("{s:s,s:o,s:s,s:b,s:o,s:b,s:I}", "user_id", e->user_id, "plan",
                            subscribed ? json_string(e->plan_id) : json_null(), "status", subscribed ? e->status : "none",
                            "entitled", entitled, "reason", entitled ? json_null() : json_string(ob_entitled_reason(standing)),
                            "byok", entitled && e->byok, "seats", (json_int_t)(subscribed ? e->seats : 0));
    json_object_set_new(doc, "team", e->account[0] ? json_string(e->account) : json_null());
    json_object_set_new(doc, "features", features);
    json_t *quota = json_pack("{s:o,s:s,s:o,s:o,s:o}", "limit", e->limit >= 0 && subscribed ? json_integer(e->limit) : json_null(),
                              "period", e->period, "period_start", ob_json_time(e->period_start), "resets_at",
                              strcmp(e->period, "total") != 0 ? ob_json_time(e->period_end) : json_null(), "used",
                              subscribed ? s_used(self, e) : json_null());
    if (!subscribed)
        json_object_set_new(quota, "limit", json_integer(0));
    json_object_set_new(doc, "quota", quota);
    json_t *overrides = json_loads(e->overrides, 0, NULL);
    json_object_set_new(doc, "overrides", json_is_array(overrides) ? overrides : json_array());
    if (!json_is_array(overrides))
        json_decref(overrides);
    /* valid_until: the answer holds until this instant unless something changes first. */
    int64_t until = e->access_until;
    if (e->period_end > 0 && (until == 0 || e->period_end < until))
        until = e->period_end;
    if (e->overrides_until > 0 && (until == 0 || e->overrides_until < until))
        until = e->overrides_until;
    json_object_set_new(doc, "valid_until", entitled && until > 0 ? ob_json_time(until) : json_null());
    json_object_set_new(doc, "current_period_end", ob_json_time(e->current_period_end));
    json_object_set_new(doc, "cancel_at_period_end", json_boolean(subscribed && e->cancel_at_period_end));
    json_object_set_new(doc, "past_due_since", ob_json_time(e->past_due_since));
    return doc;
}

static void
s_get_for(subs_state_t *self, ob_job_t *job, ob_bytes_t who)
{
    char user_id[S_ID_MAX + 1];
    if (!s_user_id(who, user_id)) {
        ob_job_reply_error(job, 400, "invalid_user_id", "no valid user id for this request");
        return;
    }
    ob_entitlement_t e;
    if (s_load(self, job, user_id, &e) != OB_OK)
        return;
    ob_job_reply_json(job, 200, s_document(self, &e, (int64_t)time(NULL)));
}

void
subs_entitlements_get(void *state, ob_job_t *job)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    if (!ob_bytes_eq(call.role, "service")) {
        ob_job_reply_error(job, 403, "not_a_service", "this endpoint needs a service token");
        return;
    }
    s_get_for(state, job, call.path_param);
}

void
subs_entitlements_me(void *state, ob_job_t *job)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    if (!ob_bytes_eq(call.role, "user")) {
        ob_job_reply_error(job, 401, "not_a_user", "this endpoint needs a signed-in user");
        return;
    }
    s_get_for(state, job, call.principal);
}

static bool
s_valid_feature(const json_t *value)
{
    const char *s = json_string_value(value);
    size_t len = s ? json_string_length(value) : 0;
    return s && len > 0 && len <= S_FEATURE_MAX && strlen(s) == len;
}

void
subs_entitlements_check(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    if (!ob_bytes_eq(call.role, "service")) {
        ob_job_reply_error(job, 403, "not_a_service", "this endpoint needs a service token");
        return;
    }
    json_t *body = ob_job_body_object(job, &call);
    if (!body)
        return;
    json_t *user = json_object_get(body, "user_id");
    json_t *feature = json_object_get(body, "feature"), *features = json_object_get(body, "features");
    char user_id[S_ID_MAX + 1];
    if (!json_is_string(user) || !s_user_id((ob_bytes_t){json_string_value(user), json_string_length(user)}, user_id)) {
        ob_job_reply_error(job, 400, "invalid_user_id", "user_id must be a non-empty string of at most 255 bytes");
        goto done;
    }
    if ((feature != NULL) == (features != NULL)) {
        ob_job_reply_error(job, 400, "invalid_feature", "give exactly one of feature or features");
        goto done;
    }
    if (feature && !s_valid_feature(feature)) {
        ob_job_reply_error(job, 400, "invalid_feature", "feature must be a non-empty string of at most 64 bytes");
        goto done;
    }
    if (features) {
        size_t i;
        json_t *item;
        bool ok =
            json_is_array(features) && json_array_size(features) > 0 && json_array_size(features) <= SUBS_ENTITLEMENTS_BATCH_MAX;
        if (ok)
            json_array_foreach(features, i, item) ok = ok && s_valid_feature(item);
        if (!ok) {
            ob_job_reply_error(job, 400, "invalid_features", "features must be 1 to 64 non-empty strings of at most 64 bytes");
            goto done;
        }
    }
    ob_entitlement_t e;
    if (s_load(self, job, user_id, &e) != OB_OK)
        goto done;
    int64_t now = (int64_t)time(NULL);
    if (feature) {
        ob_job_reply_json(job, 200, s_answer(self, &e, json_string_value(feature), now));
    } else {
        json_t *results = json_object();
        size_t i;
        json_t *item;
        json_array_foreach(features, i, item)
            json_object_set_new(results, json_string_value(item), s_answer(self, &e, json_string_value(item), now));
        ob_job_reply_json(job, 200, json_pack("{s:s,s:o}", "user_id", user_id, "results", results));
    }
done:
    json_decref(body);
}
