/*  notifier_endpoints - the webhook endpoints admin API. */
#include "services/notifier/notifier_endpoints.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_json.h"
#include "services/notifier/notifier_kinds.h"
#include "services/notifier/notifier_reply.h"
#include "services/notifier/notifier_state.h"
#include "services/notifier/notifier_sign.h"
#include "services/notifier/notifier_ssrf.h"

/* The public view of an endpoint (never the secret). */
#define S_VIEW                                                                                                                     \
    "json_build_object('id', id, 'url', url, 'events', to_json(events), 'description', description, 'enabled', enabled,"           \
    " 'failing_since', failing_since, 'disabled_at', disabled_at, 'disabled_reason', disabled_reason,"                             \
    " 'previous_secret_expires_at', CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END,"             \
    " 'created_at', created_at, 'updated_at', updated_at)"

void
notifier_endpoints_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "endpoints_insert",
                  "INSERT INTO webhook_endpoints (id, url, events, description, secret)"
                  " SELECT $1, $2, array(SELECT json_array_elements_text($3::json)), $4, $5"
                  " RETURNING (" S_VIEW "::jsonb || jsonb_build_object('secret', secret))::text",
                  5);
    ob_pg_prepare(pg, "endpoints_list",
                  "SELECT json_build_object('endpoints', coalesce(json_agg(" S_VIEW " ORDER BY created_at, id), '[]'))::text"
                  " FROM webhook_endpoints",
                  0);
    ob_pg_prepare(pg, "endpoints_get", "SELECT " S_VIEW "::text FROM webhook_endpoints WHERE id = $1", 1);
    ob_pg_prepare(pg, "endpoints_update",
                  "UPDATE webhook_endpoints SET url = coalesce($2, url),"
                  " events = CASE WHEN $3::json IS NULL THEN events ELSE array(SELECT json_array_elements_text($3::json)) END,"
                  " description = coalesce($4, description), enabled = coalesce($5::boolean, enabled),"
                  " failing_since = CASE WHEN $5::boolean THEN NULL ELSE failing_since END,"
                  " disabled_at = CASE WHEN $5::boolean THEN NULL WHEN $5::boolean = false THEN coalesce(disabled_at, now())"
                  "   ELSE disabled_at END,"
                  " disabled_reason = CASE WHEN $5::boolean THEN NULL WHEN $5::boolean = false THEN 'disabled by an operator'"
                  "   ELSE disabled_reason END,"
                  " updated_at = now() WHERE id = $1 RETURNING " S_VIEW "::text",
                  5);
    ob_pg_prepare(pg, "endpoints_delete",
                  "WITH gone AS (DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id)"
                  " SELECT json_build_object('id', id, 'deleted', true)::text FROM gone",
                  1);
    ob_pg_prepare(pg, "endpoints_rotate",
                  "UPDATE webhook_endpoints SET previous_secret = secret, secret = $2,"
                  " previous_secret_expires_at = now() + make_interval(secs => $3::int), updated_at = now()"
                  " WHERE id = $1 RETURNING json_build_object('id', id, 'secret', secret,"
                  " 'previous_secret_expires_at', previous_secret_expires_at)::text",
                  3);
    ob_pg_prepare(pg, "endpoints_recover",
                  "WITH e AS (SELECT id FROM webhook_endpoints WHERE id = $1),"
                  " r AS (UPDATE webhook_messages m SET status = 'pending', attempts = 0, next_attempt_at = now(),"
                  "   locked_until = NULL FROM e WHERE m.endpoint_id = e.id AND m.status = 'failed'"
                  "   AND m.created_at >= $2::timestamptz RETURNING m.id)"
                  " SELECT json_build_object('id', e.id, 'requeued', (SELECT count(*) FROM r))::text FROM e",
                  2);
}

static char *
s_param(ob_job_t *job, const ob_call_t *call)
{
    char *id = strndup(call->path_param.ptr ? call->path_param.ptr : "", call->path_param.len);
    if (!id || !id[0] || strlen(id) > 64) {
        ob_job_reply_error(job, 400, "invalid_id", "the endpoint id is malformed");
        free(id);
        return NULL;
    }
    return id;
}

/*  Checks the writable fields present in body; answers 400 itself and
 *  returns -1 on the first bad one. *events_json gets the events as JSON
 *  (malloc'd) when present. */
static int
s_check_fields(notifier_state_t *api, ob_job_t *job, const json_t *body, bool create, char **events_json)
{
    *events_json = NULL;
    const json_t *url = json_object_get(body, "url");
    const json_t *events = json_object_get(body, "events");
    const json_t *description = json_object_get(body, "description");
    const json_t *enabled = json_object_get(body, "enabled");
    if (create || url) {
        const char *reason = json_is_string(url)
                                 ? notifier_ssrf_check_url(json_string_value(url), api->settings->allow_private_targets)
                                 : "url is required and must be a string";
        if (reason) {
            ob_job_reply_error(job, 400, "invalid_url", reason);
            return -1;
        }
    }
    if (create || events) {
        size_t i;
        const json_t *e;
        bool ok = json_is_array(events) && json_array_size(events) > 0 && json_array_size(events) <= 32;
        json_array_foreach(events, i, e) ok = ok && notifier_kind_event_known(json_string_value(e));
        if (!ok) {
            ob_job_reply_error(job, 400, "invalid_events",
                               "events must be 1-32 of: subscription.activated, subscription.updated, subscription.canceled,"
                               " payment.succeeded, payment.failed, trial.will_end, usage.threshold_reached, or \"*\"");
            return -1;
        }
        *events_json = json_dumps(events, JSON_COMPACT);
        if (!*events_json) {
            ob_job_reply_error(job, 500, "internal", "out of memory");
            return -1;
        }
    }
    if (description && (!json_is_string(description) || strlen(json_string_value(description)) > 500)) {
        ob_job_reply_error(job, 400, "invalid_description", "description must be a string of at most 500 bytes");
    } else if (enabled && !json_is_boolean(enabled)) {
        ob_job_reply_error(job, 400, "invalid_enabled", "enabled must be true or false");
    } else if (create && enabled) {
        ob_job_reply_error(job, 400, "invalid_enabled", "a new endpoint is always enabled");
    } else {
        return 0;
    }
    free(*events_json);
    *events_json = NULL;
    return -1;
}

void
notifier_endpoints_create(void *state, ob_job_t *job)
{
    notifier_state_t *api = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    json_t *body = ob_job_body_object(job, &call);
    if (!body)
        return;
    char *events = NULL;
    if (s_check_fields(api, job, body, true, &events) == 0) {
        char id[32], secret[64];
        if (notifier_sign_new_id("ep_", id, sizeof id) != 0 || notifier_sign_new_secret(secret, sizeof secret) != 0) {
            ob_job_reply_error(job, 500, "internal", "no random bytes available");
        } else {
            const char *description = ob_json_str(body, "description");
            const char *values[] = {id, ob_json_str(body, "url"), events, description ? description : "", secret};
            notifier_reply_query(api->pg, job, 201, "endpoints_insert", 5, values, "not stored");
        }
    }
    free(events);
    json_decref(body);
}

void
notifier_endpoints_list(void *state, ob_job_t *job)
{
    notifier_state_t *api = state;
    notifier_reply_query(api->pg, job, 200, "endpoints_list", 0, NULL, "none");
}

/*  The handlers that take only the id. */
static void
s_by_id(notifier_state_t *api, ob_job_t *job, const char *statement)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char *id = s_param(job, &call);
    if (!id)
        return;
    const char *values[] = {id};
    notifier_reply_query(api->pg, job, 200, statement, 1, values, "no such webhook endpoint");
    free(id);
}

void
notifier_endpoints_get(void *api, ob_job_t *job)
{
    s_by_id(api, job, "endpoints_get");
}

void
notifier_endpoints_delete(void *api, ob_job_t *job)
{
    s_by_id(api, job, "endpoints_delete");
}

void
notifier_endpoints_update(void *state, ob_job_t *job)
{
    notifier_state_t *api = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char *id = s_param(job, &call);
    json_t *body = id ? ob_job_body_object(job, &call) : NULL;
    char *events = NULL;
    if (body && s_check_fields(api, job, body, false, &events) == 0) {
        const json_t *enabled = json_object_get(body, "enabled");
        const char *values[] = {id, ob_json_str(body, "url"), events, ob_json_str(body, "description"),
                                enabled ? (json_is_true(enabled) ? "true" : "false") : NULL};
        notifier_reply_query(api->pg, job, 200, "endpoints_update", 5, values, "no such webhook endpoint");
    }
    free(events);
    json_decref(body);
    free(id);
}

void
notifier_endpoints_rotate(void *state, ob_job_t *job)
{
    notifier_state_t *api = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char *id = s_param(job, &call);
    if (!id)
        return;
    char secret[64], overlap[24];
    if (notifier_sign_new_secret(secret, sizeof secret) != 0) {
        ob_job_reply_error(job, 500, "internal", "no random bytes available");
    } else {
        snprintf(overlap, sizeof overlap, "%ld", api->settings->rotation_overlap_s);
        const char *values[] = {id, secret, overlap};
        notifier_reply_query(api->pg, job, 200, "endpoints_rotate", 3, values, "no such webhook endpoint");
    }
    free(id);
}

void
notifier_endpoints_recover(void *state, ob_job_t *job)
{
    notifier_state_t *api = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char *id = s_param(job, &call);
    json_t *body = id ? ob_job_body_object(job, &call) : NULL;
    if (body) {
        const char *since = ob_json_str(body, "since");
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = since ? strptime(since, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
        if (end && *end == '.')
            for (end++; *end >= '0' && *end <= '9'; end++)
                ;
        bool zone = end && (strcmp(end, "Z") == 0 || *end == '\0' ||
                            ((end[0] == '+' || end[0] == '-') && strlen(end) == 6 && end[3] == ':'));
        if (!zone || strlen(since) > 40) {
            ob_job_reply_error(job, 400, "invalid_since", "since must be an ISO 8601 time such as 2026-01-31T00:00:00Z");
        } else {
            const char *values[] = {id, since};
            notifier_reply_query(api->pg, job, 202, "endpoints_recover", 2, values, "no such webhook endpoint");
        }
    }
    json_decref(body);
    free(id);
}
