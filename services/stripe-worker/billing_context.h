/*  billing_context - what the user-facing billing methods of the stripe-worker
 *  share: their Postgres session, Redis connection, Stripe client and
 *  settings, plus the small helpers every method uses (Stripe error replies,
 *  stable idempotency keys, per-request Stripe time limits, customer and
 *  live-subscription lookups).
 *
 *  The context is part of the worker's state (stripe_state.h): main.c makes
 *  it from the environment (STRIPE_SECRET_KEY, STRIPE_API_BASE,
 *  STRIPE_SUCCESS_URL, STRIPE_CANCEL_URL, STRIPE_PORTAL_RETURN_URL) on the
 *  main thread's Postgres session and Redis connection, which it borrows.
 *  Workers call methods on one thread, which is all the context supports.
 */
#ifndef BILLING_CONTEXT_H_INCLUDED
#define BILLING_CONTEXT_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "common/ob_worker.h"
#include "clients/billing_prices.h"
#include "clients/stripe_api.h"

typedef struct {
    ob_pg_t *pg;          /* borrowed */
    ob_redis_t *redis;    /* borrowed */
    stripe_api_t *stripe; /* NULL when no Stripe key is configured */
    char *success_url;    /* NULL when unset */
    char *cancel_url;
    char *portal_return_url;
} billing_context_t;

/*  A context on pg and redis (borrowed: both must outlive it) from explicit
 *  settings (any string may be NULL). Registers the billing statements on
 *  pg. NULL when pg or redis is NULL, or on OOM. */
billing_context_t *billing_context_new(ob_pg_t *pg, ob_redis_t *redis, const char *stripe_base, const char *stripe_key,
                                       const char *success_url, const char *cancel_url, const char *portal_return_url);

/*  NULL-safe; nulls *self_p. Leaves the borrowed session and connection. */
void billing_context_destroy(billing_context_t **self_p);

/*  What a user-facing billing method starts from: the caller and its call. */
typedef struct {
    ob_call_t call;    /* views into the job's message (valid while the job is) */
    char user_id[256]; /* the signed-in user, or the team its owner acts for */
    char email[321];   /* the user's email, "" when absent or unusable */
    bool team;         /* user_id is a team ("team_id" given by its owner) */
} billing_request_t;

/*  Starts a billing method: unpacks the job's call into req, checks that
 *  the caller is a user and that self (the worker's context, may be NULL)
 *  and Stripe are there, and fits Stripe's time limits to the job's
 *  deadline. With body non-NULL, also parses the request body into *body
 *  (a JSON object the caller decrefs). A "team_id" (body, or query when
 *  body is NULL) of a team the caller owns makes the team the customer
 *  (req->user_id; 404 team_not_found, 403 not_the_owner). Returns self, or
 *  NULL after answering the job itself. */
billing_context_t *billing_context_begin(billing_context_t *self, ob_job_t *job, billing_request_t *req, json_t **body);

/*  Like billing_context_begin for an operator's method (admin token): the
 *  customer is the path's user id (a user, or a team "org_..."). */
billing_context_t *billing_context_begin_operator(billing_context_t *self, ob_job_t *job, billing_request_t *req, json_t **body);

/*  Reads "plan_id" (required) and "interval" (string or null) from a
 *  request body; *interval is NULL when absent or null. false after
 *  answering the job with 400. */
bool billing_plan_request(ob_job_t *job, const json_t *body, const char **plan_id, const char **interval);

/*  billing_price_spec for the requested plan and interval; false after
 *  answering the job (400 for an unknown plan or interval, else the
 *  database failure). */
bool billing_plan_spec(billing_context_t *self, ob_job_t *job, const char *plan_id, const char *interval,
                       billing_price_spec_t *spec);

/*  Fits the Stripe client's time limits into what is left of the job's
 *  deadline (a few attempts of a share of it each). */
void billing_context_limit_to_deadline(billing_context_t *self, const ob_job_t *job);

/*  Answers a failed Stripe call with a clear API error: a declined card 402
 *  (Stripe's message, which is meant for users), a rejected request 400, a
 *  missing object 404, a reused idempotency key 409, Stripe unreachable or
 *  overloaded 503, any other Stripe failure 502. Logs the operation and
 *  Stripe's request id. */
void billing_reply_stripe_error(ob_job_t *job, const char *operation, ob_err_t err, const stripe_error_t *error);

/*  The user's Stripe customer id from the customers table: OB_OK,
 *  OB_ERR_NOT_FOUND (no customer yet), or a database failure. */
ob_err_t billing_customer_find(billing_context_t *self, const char *user_id, char *customer_id, size_t cap);

/*  Records the link user -> Stripe customer by asking its owner, the
 *  subscription-worker (a customer.add request row, billing_owner.h), and
 *  waiting up to wait_ms for its answer: it only ever adds this link, never
 *  changes an existing one. Writes the customer id that is now on record
 *  into stored (the first writer wins a race). OB_ERR_TRANSIENT when the
 *  owner did not answer in time (the request stays and will apply). */
ob_err_t billing_customer_link(billing_context_t *self, const char *user_id, const char *email, const char *customer_id,
                               int wait_ms, char *stored, size_t cap);

/*  How long a method may wait for the subscription-worker: what is left of
 *  the job's deadline less a margin, at most BILLING_OWNER_WAIT_MS. */
int billing_context_wait_ms(const ob_job_t *job);

/*  The user's live (trialing, active, past_due) subscription, newest first. */
typedef struct {
    char id[128];
    char plan_id[65];
    char interval[8];
    char status[24];
    char customer_id[128];
} billing_live_subscription_t;

/*  OB_OK (out filled), OB_ERR_NOT_FOUND (none live), or a database failure. */
ob_err_t billing_live_subscription(billing_context_t *self, const char *user_id, billing_live_subscription_t *out);

#endif
