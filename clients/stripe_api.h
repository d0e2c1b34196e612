/*  stripe_api - the Stripe REST calls the billing services make.
 *
 *  A thin client over ob_http: form-encoded requests (stripe_form), JSON
 *  answers (jansson), `Authorization: Bearer <secret key>`, a pinned
 *  `Stripe-Version: 2024-06-20`, and an Idempotency-Key on every POST. The
 *  caller supplies that key and derives it from the operation (for example
 *  "checkout:<user>:<plan>:<interval>:<nonce>") so that a retry, by ob_http
 *  or by a redelivered message, cannot create a second object. Stripe keeps
 *  keys for 24 hours and answers 400 idempotency_error when one is reused
 *  with different parameters.
 *
 *  Every call returns an ob_err_t. On OB_OK *result (when result is not
 *  NULL) is the parsed JSON object, owned by the caller (json_decref). On
 *  any error *result is NULL and *error (when not NULL) says what Stripe
 *  said. Only the method, path, status, Stripe's type/code and its
 *  Request-Id are logged: never the key, a body or a query string.
 *
 *  One stripe_api_t per thread (it owns one ob_http_t); ob_http_global_init
 *  must have run.
 */
#ifndef STRIPE_API_H_INCLUDED
#define STRIPE_API_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "clients/stripe_form.h"
#include "common/ob_err.h"

#define STRIPE_API_VERSION "2024-06-20"

typedef struct _stripe_api_t stripe_api_t;

/*  What went wrong, for logs and for the caller's own answer. Strings are
 *  "" when absent (and truncated to fit). */
typedef struct {
    long http_status;      /* 0 when no response arrived */
    char type[48];         /* card_error, invalid_request_error, api_error, idempotency_error */
    char code[64];         /* e.g. resource_missing, card_declined */
    char decline_code[64]; /* card errors: the issuer's reason */
    char param[128];       /* the parameter at fault */
    char message[256];     /* Stripe's text; for card errors fit to show users */
    char request_id[128];  /* Stripe's Request-Id, to quote to Stripe support */
} stripe_error_t;

/*  The mode of a secret key: sk_live_ / rk_live_ -> LIVE, sk_test_ /
 *  rk_test_ -> TEST, anything else (NULL, "") -> UNKNOWN. Events carry
 *  `livemode`, which must match the mode of the key the service runs with. */
typedef enum { STRIPE_MODE_UNKNOWN = 0, STRIPE_MODE_TEST, STRIPE_MODE_LIVE } stripe_mode_t;
stripe_mode_t stripe_key_mode(const char *secret_key);

/*  "livemode true" / "livemode false": why an event of the other mode is refused. */
bool stripe_mode_matches(stripe_mode_t mode, bool livemode);

/*  A client for base_url (e.g. "https://api.stripe.com" or a loopback
 *  stand-in; a trailing '/' is ignored) and secret_key (sk_... or rk_...).
 *  Both are copied. NULL when either is missing or malformed (not
 *  http(s)://, CR/LF in the key) or when out of memory. */
stripe_api_t *stripe_api_new(const char *base_url, const char *secret_key);

/*  NULL-safe; nulls the pointer and wipes the key from memory. */
void stripe_api_destroy(stripe_api_t **self_p);

/*  Per-attempt timeout, attempts per call, back-off base (0 = ob_http's
 *  defaults: 10 s, 3, 200 ms). A worker serving a gateway deadline keeps
 *  timeout_ms * max_attempts under it. */
void stripe_api_set_limits(stripe_api_t *self, long timeout_ms, int max_attempts, long backoff_base_ms);

/*  What the last call's answer said about itself (false / 0 before any
 *  answer and after a call that got none):
 *    replayed: Stripe answered `Idempotent-Replayed: true`, i.e. the key
 *      was used before and this is the stored first answer; nothing was
 *      done now and the object may have changed since.
 *    date: Stripe's Date header (Unix s), Stripe's clock when it answered;
 *      the version of the answer's state on the same clock as the
 *      `created` of Stripe's events, so a local clock never outranks them. */
bool stripe_api_last_replayed(const stripe_api_t *self);
long long stripe_api_last_date(const stripe_api_t *self);

/*  The outcome for a Stripe answer (pure, table-tested):
 *    no response, 429, 5xx, 409 other than idempotency_error -> OB_ERR_TRANSIENT
 *    2xx -> OB_OK
 *    401, 403 (our key is bad or lacks rights: our config) -> OB_ERR_UPSTREAM
 *    402 or type card_error -> OB_ERR_PAYMENT
 *    404 or code resource_missing (also a 400 naming a missing id) -> OB_ERR_NOT_FOUND
 *    type idempotency_error (a key reused with other parameters) -> OB_ERR_CONFLICT
 *    400 or type invalid_request_error -> OB_ERR_INVALID
 *    anything else -> OB_ERR_UPSTREAM
 *  type and code may be NULL or "". */
ob_err_t stripe_api_map_error(long http_status, const char *type, const char *code);

/*  Every POST below takes idempotency_key (non-empty, at most 255 bytes);
 *  without one it returns OB_ERR_INVALID before sending. Object ids must be
 *  non-empty [A-Za-z0-9_] (OB_ERR_INVALID otherwise), so they cannot escape
 *  their path segment. */

/*  POST /v1/customers: email, metadata[user_id]. */
ob_err_t stripe_api_create_customer(stripe_api_t *self, const char *idempotency_key, const char *email, const char *user_id,
                                    json_t **result, stripe_error_t *error);

/*  GET /v1/customers/:id (invoice_settings.default_payment_method is an id). */
ob_err_t stripe_api_retrieve_customer(stripe_api_t *self, const char *customer_id, json_t **result, stripe_error_t *error);

typedef struct {
    const char *customer;            /* cus_... (required) */
    const char *price_id;            /* price_... (required), quantity 1 */
    const char *client_reference_id; /* our user id (optional) */
    const char *success_url;         /* required; may hold {CHECKOUT_SESSION_ID} */
    const char *cancel_url;          /* optional */
    const char *user_id;             /* metadata[user_id] (optional) */
    const char *plan_id;             /* metadata[plan_id] (optional) */
} stripe_checkout_params_t;

/*  POST /v1/checkout/sessions, mode=subscription. user_id and plan_id go
 *  into the session's metadata and into subscription_data[metadata], so the
 *  subscription's own webhooks carry them too. */
ob_err_t stripe_api_create_checkout_session(stripe_api_t *self, const char *idempotency_key, const stripe_checkout_params_t *params,
                                            json_t **result, stripe_error_t *error);

/*  The portal configuration (bpc_...) every later portal session names;
 *  NULL or "" = none (Stripe then uses the account's default configuration).
 *  Returns 0, or -1 for a malformed id (the setting is left as it was). */
int stripe_api_set_portal_configuration(stripe_api_t *self, const char *configuration_id);

/*  POST /v1/billing_portal/sessions: customer, configuration (when set with
 *  stripe_api_set_portal_configuration), return_url (optional). */
ob_err_t stripe_api_create_portal_session(stripe_api_t *self, const char *idempotency_key, const char *customer_id,
                                          const char *return_url, json_t **result, stripe_error_t *error);

/*  GET /v1/payment_methods?customer=...&type=card (first 100). */
ob_err_t stripe_api_list_payment_methods(stripe_api_t *self, const char *customer_id, json_t **result, stripe_error_t *error);

/*  GET /v1/subscriptions/:id. */
/*  One page (up to 100, newest first) of every subscription, canceled ones
 *  included (status=all), after starting_after (NULL: the first page).
 *  *result is Stripe's list object: "data", "has_more". */
ob_err_t stripe_api_list_subscriptions(stripe_api_t *self, const char *starting_after, json_t **result, stripe_error_t *error);

ob_err_t stripe_api_retrieve_subscription(stripe_api_t *self, const char *subscription_id, json_t **result, stripe_error_t *error);

/*  POST /v1/subscriptions/:id cancel_at_period_end=true|false. */
ob_err_t stripe_api_update_subscription_cancel_at_period_end(stripe_api_t *self, const char *idempotency_key,
                                                             const char *subscription_id, bool cancel_at_period_end,
                                                             json_t **result, stripe_error_t *error);

/*  DELETE /v1/subscriptions/:id: ends it now. DELETE is idempotent by
 *  nature, so no key is sent (Stripe ignores keys on DELETE). */
ob_err_t stripe_api_cancel_subscription_now(stripe_api_t *self, const char *subscription_id, json_t **result,
                                            stripe_error_t *error);

/*  POST /v1/subscriptions/:id items[0][id]=item_id, items[0][price]=new_price_id,
 *  proration_behavior=create_prorations. */
/*  Moves a trialing subscription's trial end (Unix s) with no proration. */
ob_err_t stripe_api_update_subscription_trial_end(stripe_api_t *self, const char *idempotency_key, const char *subscription_id,
                                                  int64_t trial_end, json_t **result, stripe_error_t *error);

ob_err_t stripe_api_update_subscription_price(stripe_api_t *self, const char *idempotency_key, const char *subscription_id,
                                              const char *item_id, const char *new_price_id, json_t **result,
                                              stripe_error_t *error);

/*  GET /v1/prices?lookup_keys[0]=...&limit=100: 1..10 keys (Stripe's limit,
 *  else OB_ERR_INVALID); any printable text is fine in a key. */
ob_err_t stripe_api_list_prices_by_lookup_keys(stripe_api_t *self, const char *const *lookup_keys, size_t count, json_t **result,
                                               stripe_error_t *error);

/*  POST /v1/products: name, metadata[plan_id] (optional). */
ob_err_t stripe_api_create_product(stripe_api_t *self, const char *idempotency_key, const char *name, const char *plan_id,
                                   json_t **result, stripe_error_t *error);

typedef struct {
    const char *product;    /* prod_... (required) */
    long long unit_amount;  /* in the currency's smallest unit, >= 0 */
    const char *currency;   /* "usd" (required) */
    const char *interval;   /* "day", "week", "month", "year"; NULL = one-time price */
    const char *lookup_key; /* optional; moved here from an older price (transfer_lookup_key) */
    const char *plan_id;    /* metadata[plan_id] (optional) */
} stripe_price_params_t;

/*  POST /v1/prices. */
ob_err_t stripe_api_create_price(stripe_api_t *self, const char *idempotency_key, const stripe_price_params_t *params,
                                 json_t **result, stripe_error_t *error);

/*  POST /v1/prices/:id active=false: archives a price (existing
 *  subscriptions keep it; new checkouts cannot use it). */
ob_err_t stripe_api_archive_price(stripe_api_t *self, const char *idempotency_key, const char *price_id, json_t **result,
                                  stripe_error_t *error);

/*  The event types the project handles (stripe-worker's stripe_event_map),
 *  NULL-terminated: what the webhook endpoint subscribes to. */
extern const char *const stripe_handled_events[];

/*  GET /v1/webhook_endpoints?limit=100. */
ob_err_t stripe_api_list_webhook_endpoints(stripe_api_t *self, json_t **result, stripe_error_t *error);

/*  POST /v1/webhook_endpoints: url, enabled_events[] (NULL-terminated),
 *  api_version=STRIPE_API_VERSION, description. The answer holds the
 *  signing secret (whsec_...), returned by Stripe this once only. */
ob_err_t stripe_api_create_webhook_endpoint(stripe_api_t *self, const char *idempotency_key, const char *url,
                                            const char *const *events, const char *description, json_t **result,
                                            stripe_error_t *error);

/*  POST /v1/webhook_endpoints/:id: url, enabled_events[], disabled=false
 *  (Stripe cannot change an endpoint's api_version). */
ob_err_t stripe_api_update_webhook_endpoint(stripe_api_t *self, const char *idempotency_key, const char *endpoint_id,
                                            const char *url, const char *const *events, json_t **result, stripe_error_t *error);

/*  DELETE /v1/webhook_endpoints/:id (no key: DELETE is idempotent). */
ob_err_t stripe_api_delete_webhook_endpoint(stripe_api_t *self, const char *endpoint_id, stripe_error_t *error);

/*  GET /v1/billing_portal/configurations?active=true&limit=100. */
ob_err_t stripe_api_list_portal_configurations(stripe_api_t *self, json_t **result, stripe_error_t *error);

/*  POST /v1/billing_portal/configurations (configuration_id NULL) or
 *  /v1/billing_portal/configurations/:id with the caller's form (consumed,
 *  also on error). */
ob_err_t stripe_api_save_portal_configuration(stripe_api_t *self, const char *idempotency_key, const char *configuration_id,
                                              stripe_form_t **form_p, json_t **result, stripe_error_t *error);
/*  GET /v1/invoices?customer=...&limit=N (1..100): the customer's invoices,
 *  newest first (Stripe's order), drafts included. */
ob_err_t stripe_api_list_invoices(stripe_api_t *self, const char *customer_id, int limit, json_t **result, stripe_error_t *error);

/*  GET /v1/balance: the cheapest authenticated call, to check a key. */
ob_err_t stripe_api_retrieve_balance(stripe_api_t *self, json_t **result, stripe_error_t *error);

#endif
