/*  lago_inbox - Lago's webhooks. */
#include "services/lago-worker/lago_inbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_strset.h"

#define S_BATCH 50

void
lago_inbox_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "inbox_insert",
                  "INSERT INTO lago_webhooks (unique_key, webhook_type, payload)"
                  " SELECT k, t, p FROM json_to_recordset($1::json) AS x(k text, t text, p jsonb)"
                  " ON CONFLICT (unique_key) DO NOTHING RETURNING unique_key",
                  1);
    ob_pg_prepare(pg, "inbox_claim",
                  "SELECT unique_key, payload::text FROM lago_webhooks WHERE status = 'pending'"
                  " ORDER BY received_at LIMIT 50 FOR UPDATE SKIP LOCKED",
                  0);
    ob_pg_prepare(pg, "inbox_notify",
                  "INSERT INTO notifications (dedupe_key, kind, user_id, channel, payload)"
                  " VALUES ($1, $2, $3, 'email', $4::jsonb) ON CONFLICT (dedupe_key) DO NOTHING",
                  4);
    ob_pg_prepare(pg, "inbox_done",
                  "UPDATE lago_webhooks SET status = $2, attempts = attempts + 1, processed_at = now() WHERE unique_key = $1", 2);
}

static const json_t *
s_path(const json_t *value, const char *a, const char *b)
{
    value = json_object_get(value, a);
    return b ? json_object_get(value, b) : value;
}

void
lago_inbox_decide(const json_t *webhook, lago_inbox_action_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = "";
    const char *type = ob_json_str(webhook, "webhook_type");
    if (!type)
        return;
    if (strcmp(type, "invoice.created") == 0) {
        const json_t *invoice = json_object_get(webhook, "invoice");
        out->kind = "invoice_created";
        out->user_id = json_string_value(s_path(invoice, "customer", "external_id"));
        if (!out->user_id)
            out->user_id = ob_json_str(invoice, "external_customer_id");
        out->payload = json_pack("{s:s,s:O?,s:O?,s:O?,s:O?}", "source", "lago", "invoice_id", json_object_get(invoice, "lago_id"),
                                 "number", json_object_get(invoice, "number"), "total_amount_cents",
                                 json_object_get(invoice, "total_amount_cents"), "currency", json_object_get(invoice, "currency"));
    } else if (strcmp(type, "invoice.payment_failure") == 0) {
        const json_t *error = json_object_get(webhook, "payment_provider_invoice_payment_error");
        out->kind = "payment_failed";
        out->user_id = ob_json_str(error, "external_customer_id");
        out->payload = json_pack("{s:s,s:O?}", "source", "lago", "invoice_id", json_object_get(error, "lago_invoice_id"));
    } else if (strcmp(type, "subscription.terminated") == 0) {
        const json_t *subscription = json_object_get(webhook, "subscription");
        out->kind = "subscription_terminated";
        out->user_id = ob_json_str(subscription, "external_customer_id");
        out->payload =
            json_pack("{s:s,s:O?,s:O?}", "source", "lago", "subscription_id", json_object_get(subscription, "external_id"),
                      "plan_code", json_object_get(subscription, "plan_code"));
    } else if (strcmp(type, "event.error") == 0 || strcmp(type, "events.errors") == 0) {
        out->kind = "usage_event_error";
        const json_t *detail = json_object_get(webhook, "event_error");
        if (!detail)
            detail = json_object_get(webhook, "events_errors");
        out->payload =
            json_pack("{s:s,s:s,s:s,s:O?}", "source", "lago", "audience", "operators", "webhook_type", type, "detail", detail);
    }
}

static void
s_reply_all(ob_job_t **jobs, size_t count, const bool *pending, int status, const char *code, const char *message)
{
    for (size_t i = 0; i < count; i++)
        if (pending[i])
            ob_job_reply_error(jobs[i], status, code, message);
}

void
lago_inbox_ingest(void *state, ob_job_t **jobs, size_t count)
{
    ob_pg_t *pg = state;
    bool *pending = calloc(count, sizeof *pending);
    char(*keys)[256] = calloc(count, sizeof *keys);
    json_t *rows = json_array();
    ob_strset_t inserted = {0}, claimed = {0};
    if (!pending || !keys || !rows || ob_strset_init(&inserted, count) != 0 || ob_strset_init(&claimed, count) != 0) {
        for (size_t i = 0; i < count; i++)
            ob_job_reply_error(jobs[i], 503, "overloaded", "out of memory; retry");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        ob_lago_webhook_t webhook;
        if (ob_lago_webhook_unpack(&webhook, jobs[i]->envelope.payload.ptr, jobs[i]->envelope.payload.len) != OB_PROTO_OK) {
            ob_job_reply_error(jobs[i], 400, "bad_message", "malformed webhook message");
            continue;
        }
        if (webhook.unique_key.len == 0 || webhook.unique_key.len >= sizeof keys[0] ||
            memchr(webhook.unique_key.ptr, '\0', webhook.unique_key.len)) {
            ob_job_reply_error(jobs[i], 400, "invalid_unique_key", "X-Lago-Unique-Key is required (1-255 bytes)");
            continue;
        }
        const char *reason;
        json_t *body = ob_json_parse_object(webhook.body.ptr, webhook.body.len, &reason);
        if (!body) {
            ob_job_reply_error(jobs[i], 400, "invalid_json", reason);
            continue;
        }
        memcpy(keys[i], webhook.unique_key.ptr, webhook.unique_key.len);
        const char *type = ob_json_str(body, "webhook_type");
        json_array_append_new(rows, json_pack("{s:s,s:s,s:o}", "k", keys[i], "t", type ? type : "", "p", body));
        pending[i] = true;
    }
    if (json_array_size(rows) > 0) {
        char *text = ob_json_dump(rows, NULL);
        const char *values[] = {text};
        PGresult *result = text ? ob_pg_exec(pg, "inbox_insert", 1, values, NULL, NULL) : NULL;
        ob_err_t err = text ? ob_pg_classify(pg, result) : OB_ERR_INTERNAL;
        free(text);
        if (err != OB_OK) {
            ob_log_warn("lago webhook inbox: insert failed (%s)", ob_err_name(err));
            s_reply_all(jobs, count, pending, 503, "inbox_unavailable", "the webhook could not be recorded; retry");
            PQclear(result);
            goto cleanup;
        }
        /* One statement outside a transaction: committed when it returns. */
        for (int r = 0; r < PQntuples(result); r++)
            for (size_t i = 0; i < count; i++)
                if (pending[i] && strcmp(keys[i], PQgetvalue(result, r, 0)) == 0 && ob_strset_add(&claimed, keys[i]) == 1) {
                    ob_job_reply_json(jobs[i], 200, json_pack("{s:b}", "received", 1));
                    pending[i] = false;
                    break;
                }
        PQclear(result);
        for (size_t i = 0; i < count; i++)
            if (pending[i]) {
                ob_job_reply_json(jobs[i], 200, json_pack("{s:b,s:b}", "received", 1, "duplicate", 1));
                pending[i] = false;
            }
    }
cleanup:
    ob_strset_release(&inserted);
    ob_strset_release(&claimed);
    json_decref(rows);
    free(keys);
    free(pending);
}

int
lago_inbox_process(ob_pg_t *pg)
{
    if (ob_pg_begin(pg) != OB_OK)
        return -1;
    PGresult *claim = ob_pg_exec(pg, "inbox_claim", 0, NULL, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, claim);
    int n = err == OB_OK ? PQntuples(claim) : 0;
    for (int i = 0; err == OB_OK && i < n; i++) {
        const char *key = PQgetvalue(claim, i, 0);
        json_t *webhook = json_loads(PQgetvalue(claim, i, 1), 0, NULL);
        lago_inbox_action_t action;
        lago_inbox_decide(webhook, &action);
        const char *status = action.kind[0] ? "processed" : "ignored";
        if (action.kind[0]) {
            char dedupe[400];
            snprintf(dedupe, sizeof dedupe, "lago:%s:%s", key, action.kind);
            char *payload = action.payload ? ob_json_dump(action.payload, NULL) : NULL;
            const char *values[] = {dedupe, action.kind, action.user_id, payload ? payload : "{}"};
            PGresult *result = ob_pg_exec(pg, "inbox_notify", 4, values, NULL, NULL);
            err = ob_pg_classify(pg, result);
            PQclear(result);
            free(payload);
        }
        json_decref(action.payload);
        json_decref(webhook);
        if (err == OB_OK) {
            const char *values[] = {key, status};
            PGresult *result = ob_pg_exec(pg, "inbox_done", 2, values, NULL, NULL);
            err = ob_pg_classify(pg, result);
            PQclear(result);
        }
    }
    PQclear(claim);
    err = err == OB_OK ? ob_pg_commit(pg) : (ob_pg_rollback(pg), err);
    if (err != OB_OK) {
        ob_log_warn("lago webhook processing failed (%s); retrying later", ob_err_name(err));
        return -1;
    }
    return n;
}
