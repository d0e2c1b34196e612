/*  lago_api - a client for Lago's REST API (https://docs.getlago.com/api-reference).
 *
 *  Every call is one logical request over ob_http (which retries network
 *  errors, 409, 429 and 5xx with back-off) carrying
 *  "Authorization: Bearer <api key>". Each call is safe to repeat, so a
 *  worker may retry any of them after a crash or a lost response:
 *    - events are deduplicated by Lago on transaction_id;
 *    - customers are upserted by external_id;
 *    - a subscription create with an existing external_id and the same plan
 *      returns it unchanged, with another plan it is Lago's upgrade/downgrade;
 *    - terminating an unknown or already terminated subscription is OB_OK;
 *    - creating an existing billable metric or plan is OB_ERR_CONFLICT.
 *
 *  Outcomes (lago_api_error_from_response):
 *    2xx                        OB_OK
 *    no response, 429, 5xx      OB_ERR_TRANSIENT  (retry later)
 *    400, 422                   OB_ERR_INVALID    (our request is wrong: do not retry)
 *    422 "value_already_exist"  OB_ERR_CONFLICT   (already exists: setup treats it as done)
 *    409                        OB_ERR_CONFLICT
 *    404                        OB_ERR_NOT_FOUND
 *    401, 403, other            OB_ERR_UPSTREAM   (bad API key, premium-only feature, ...)
 *
 *  One lago_api_t per thread (it owns an ob_http_t). Nothing it logs carries
 *  the API key or a body: only the operation, the status and Lago's error code.
 */
#ifndef LAGO_API_H_INCLUDED
#define LAGO_API_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"

/*  Lago refuses a batch of more than this many events (too_many_events). */
#define LAGO_API_BATCH_MAX 100

typedef struct _lago_api_t lago_api_t;

/*  Why a call failed. Reset by every call; on OB_OK only status may be set. It
 *  never holds the API key; message may quote Lago's words about our request. */
typedef struct {
    long status;         /* HTTP status; 0 when no response arrived (or the call was refused locally) */
    char code[64];       /* Lago's "code" ("validation_errors", "plan_not_found", ...) or "" */
    char message[256];   /* Lago's "error" plus a summary of error_details ("code: value_already_exist"),
                            the transport error, or the local reason */
    bool already_exists; /* a 422 whose error_details contain "value_already_exist" */
} lago_api_error_t;

/*  One usage event. Strings are borrowed for the duration of the call. */
typedef struct {
    const char *transaction_id;           /* required: Lago's idempotency key */
    const char *external_subscription_id; /* required */
    const char *code;                     /* required: the billable metric code */
    int64_t timestamp;                    /* Unix seconds; 0 = let Lago use the reception time */
    const char *properties_json;          /* a JSON object ("{\"quantity\":3}"), or NULL for {} */
} lago_event_t;

/*  How a billable metric aggregates its events. */
typedef enum {
    LAGO_AGG_SUM,  /* sum_agg of properties.quantity: the default, a count is quantity 1 */
    LAGO_AGG_COUNT /* count_agg: one unit per event, properties ignored */
} lago_aggregation_t;

/*  The field LAGO_AGG_SUM metrics add up. */
#define LAGO_API_QUANTITY_FIELD "quantity"

typedef struct {
    char lago_id[64];
    char code[128];
    char name[128];
    char aggregation_type[32]; /* "sum_agg", "count_agg", ... */
    char field_name[64];       /* "" for count_agg */
} lago_billable_metric_t;

/*  A usage charge on a plan: the standard charge model, a price per unit. */
typedef struct {
    const char *metric_code; /* resolved to Lago's billable_metric_id by lago_api_create_plan */
    const char *unit_amount; /* decimal string in the plan's currency, e.g. "0.002" */
} lago_charge_t;

typedef struct {
    const char *code;
    const char *name;
    const char *interval; /* "weekly", "monthly", "quarterly", "yearly" */
    int64_t amount_cents; /* the subscription fee */
    const char *currency; /* ISO 4217, e.g. "EUR" */
    bool pay_in_advance;  /* the fee is billed at the start of the period */
    const lago_charge_t *charges;
    size_t charges_count;
} lago_plan_spec_t;

typedef struct {
    char lago_id[64];
    char code[128];
    char name[128];
    char interval[16];
    int64_t amount_cents;
    char currency[8];
    size_t charges_count;
} lago_plan_t;

typedef struct {
    char lago_id[64];
    char external_id[128];
    char plan_code[128];
    char status[16];          /* "active", "pending", "terminated", "canceled" */
    char next_plan_code[128]; /* set while a downgrade waits for the period end */
} lago_subscription_t;

/*  A client for api_url (e.g. "https://api.getlago.com", no /api/v1) with
 *  api_key; both are copied. NULL on failure or when either is empty.
 *  ob_http_global_init() must have run. */
lago_api_t *lago_api_new(const char *api_url, const char *api_key);

/*  NULL-safe; wipes the key and nulls *self_p. */
void lago_api_destroy(lago_api_t **self_p);

/*  Tunes the ob_http retry policy for every later call (0 keeps ob_http's
 *  default: 10 s per attempt, 3 attempts, 200 ms back-off base). */
void lago_api_set_retry(lago_api_t *self, long timeout_ms, int max_attempts, long backoff_base_ms);

/*  POST /api/v1/events/batch with 1..LAGO_API_BATCH_MAX events (more, none,
 *  a missing required field or properties that are not a JSON object:
 *  OB_ERR_INVALID without a request). A batch that Lago rejects only because
 *  some transaction_ids already exist (422 value_already_exist, older Lago)
 *  counts as delivered: the other events are sent again once and the
 *  duplicates dropped, so a batch replayed after a lost response is OB_OK. */
ob_err_t lago_api_send_events_batch(lago_api_t *self, const lago_event_t *events, size_t n, lago_api_error_t *err);

/*  POST /api/v1/customers: creates or updates the customer external_id.
 *  email and name may be NULL (left out). */
ob_err_t lago_api_upsert_customer(lago_api_t *self, const char *external_id, const char *email, const char *name,
                                  lago_api_error_t *err);

/*  POST /api/v1/subscriptions. A new external_id starts plan_code for the
 *  customer (created on the fly by Lago if unknown); an active one on another
 *  plan is changed to it (upgrades at once, downgrades at the period end);
 *  the same plan is a no-op. billing_time is "calendar", "anniversary" or
 *  NULL (Lago's default, calendar). OB_ERR_NOT_FOUND: no such plan;
 *  OB_ERR_CONFLICT: external_id is active for another customer. out may be NULL. */
ob_err_t lago_api_create_subscription(lago_api_t *self, const char *external_customer_id, const char *external_id,
                                      const char *plan_code, const char *billing_time, lago_subscription_t *out,
                                      lago_api_error_t *err);

/*  DELETE /api/v1/subscriptions/:external_id. A 404 (never existed or already
 *  terminated) is OB_OK: the subscription is gone either way. */
ob_err_t lago_api_terminate_subscription(lago_api_t *self, const char *external_id, lago_api_error_t *err);

/*  POST /api/v1/billable_metrics. OB_ERR_CONFLICT (err->already_exists) when
 *  code exists: compare with lago_api_get_billable_metric if it matters. */
ob_err_t lago_api_create_billable_metric(lago_api_t *self, const char *code, const char *name, lago_aggregation_t aggregation,
                                         lago_api_error_t *err);

/*  GET /api/v1/billable_metrics/:code into out. OB_ERR_NOT_FOUND if absent. */
ob_err_t lago_api_get_billable_metric(lago_api_t *self, const char *code, lago_billable_metric_t *out, lago_api_error_t *err);

/*  POST /api/v1/plans. Looks up each charge's metric first (OB_ERR_NOT_FOUND
 *  when one is missing). OB_ERR_CONFLICT (err->already_exists) when the plan
 *  code exists. */
ob_err_t lago_api_create_plan(lago_api_t *self, const lago_plan_spec_t *plan, lago_api_error_t *err);

/*  One page (up to 100) of Lago's subscriptions, active and terminated
 *  (status[]), page from 1. *result is Lago's answer: "subscriptions" and
 *  "meta" (next_page null on the last page); the caller decrefs it. */
ob_err_t lago_api_list_subscriptions(lago_api_t *self, int page, json_t **result, lago_api_error_t *err);

/*  GET /api/v1/events: one page (page from 1, per_page 1..100) of the events
 *  Lago holds for the subscription external_subscription_id whose timestamp
 *  lies in [from, to] (Unix seconds, sent as ISO 8601 timestamp_from /
 *  timestamp_to). *result is Lago's answer: "events" and "meta"
 *  (total_count, next_page null on the last page); the caller decrefs it. */
ob_err_t lago_api_list_events(lago_api_t *self, const char *external_subscription_id, long long from, long long to, int page,
                              int per_page, json_t **result, lago_api_error_t *err);

/*  GET /api/v1/plans/:code into out. OB_ERR_NOT_FOUND if absent. */
ob_err_t lago_api_get_plan(lago_api_t *self, const char *code, lago_plan_t *out, lago_api_error_t *err);

/*  PUT /api/v1/plans/:code with the same body as lago_api_create_plan: the
 *  plan takes the spec's name, interval, amount and charges.
 *  OB_ERR_NOT_FOUND when the code does not exist. */
ob_err_t lago_api_update_plan(lago_api_t *self, const lago_plan_spec_t *plan, lago_api_error_t *err);

/*  GET /api/v1/plans/:code: the raw {"plan": {...}} answer (caller decrefs),
 *  for comparing charges. */
ob_err_t lago_api_get_plan_json(lago_api_t *self, const char *code, json_t **reply, lago_api_error_t *err);

/*  GET /api/v1/webhook_endpoints (first page, 100): the raw answer
 *  {"webhook_endpoints": [{"lago_id","webhook_url","signature_algo",...}]}. */
ob_err_t lago_api_list_webhook_endpoints(lago_api_t *self, json_t **reply, lago_api_error_t *err);

/*  POST /api/v1/webhook_endpoints, or PUT /api/v1/webhook_endpoints/:lago_id
 *  when lago_id is not NULL: webhook_url, signature_algo ("jwt" or "hmac"). */
ob_err_t lago_api_save_webhook_endpoint(lago_api_t *self, const char *lago_id, const char *url, const char *signature_algo,
                                        lago_api_error_t *err);

/*  GET /api/v1/webhooks/json_public_key: the RSA key Lago signs JWT
 *  webhooks with, base64 of a PEM, into out. */
ob_err_t lago_api_get_webhook_public_key(lago_api_t *self, char *out, size_t cap, lago_api_error_t *err);

/*  Pure helpers, exposed for tests. */

/*  The body of a batch: {"events":[{"transaction_id",...},...]} as a new
 *  malloc'd string (caller frees), or NULL when n is 0 or above
 *  LAGO_API_BATCH_MAX, an event lacks a required field, or its properties
 *  are not a JSON object. */
char *lago_api_events_batch_json(const lago_event_t *events, size_t n);

/*  Maps a response (status 0 = none arrived) and its body (may be NULL) to an
 *  outcome, filling err from Lago's error JSON when there is one. */
ob_err_t lago_api_error_from_response(long status, const char *body, lago_api_error_t *err);

#endif
