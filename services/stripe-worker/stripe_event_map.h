/*  stripe_event_map - what a Stripe event means for us (pure: JSON in, plain
 *  structs out; no database, table-tested).
 *
 *  An event becomes at most one domain message for the subscription-worker
 *  (a row in subscription_updates) and at most one notification request.
 *  Both API shapes Stripe has used are read: period dates on the
 *  subscription or on its items (2025-03-31 moved them), and an invoice's
 *  subscription at `subscription` or `parent.subscription_details`.
 *
 *  Domain message (a JSON object; absent values are null):
 *    kind             customer.link | subscription.snapshot | subscription.deleted |
 *                     invoice.paid | invoice.payment_failed
 *    event_id, event_created
 *    subscription_id, customer_id, user_id, email
 *    snapshot/deleted: status, plan_candidates [..], interval, price_id, item_id,
 *                      cancel_at_period_end, trial_end, canceled_at, start_date,
 *                      current_period_start, current_period_end
 *    invoice.*:        current_period_start, current_period_end (the subscription
 *                      line's period), billing_reason, amount
 *  The processor replaces plan_candidates with plan_id (the first candidate
 *  the plans table knows).
 */
#ifndef STRIPE_EVENT_MAP_H_INCLUDED
#define STRIPE_EVENT_MAP_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/ob_bounds.h"
#include "common/ob_err.h"

/*  The fields the ingest path needs, borrowed from the parsed event. */
typedef struct {
    const char *id;
    const char *type;
    int64_t created;
    bool livemode;
} stripe_event_head_t;

/*  Reads id, type, created, livemode. Returns -1 (and a reason, static)
 *  when the event lacks them or they are malformed. */
int stripe_event_head(const json_t *event, stripe_event_head_t *head, const char **reason);

typedef struct {
    bool ignored;   /* recorded only: nothing to do for this type */
    json_t *update; /* the domain message, or NULL (owned) */
    const char *update_kind;
    char notify_kind[32];                  /* "" = no notification */
    char notify_user[OB_BOUND_ID_MAX + 1]; /* the platform user when the event names one, else "" */
    char notify_customer[OB_BOUND_ID_MAX + 1];
    json_t *notify_payload; /* owned */
    char note[160];         /* why ignored, for last_error */
    bool _overflow;         /* a value did not fit its field */
} stripe_effect_t;

/*  True for the event types that have an effect (the rest is only recorded). */
bool stripe_event_is_handled(const char *type);

/*  Works out the effect of one event. OB_OK (out filled; release with
 *  stripe_effect_clear), or OB_ERR_INVALID with a reason in error when the
 *  event is of a handled type but its object is unusable, or when any id,
 *  key or time it carries is past its bound (common/ob_bounds.h): such an
 *  event can never apply, whenever it is tried. */
ob_err_t stripe_event_map(const json_t *event, stripe_effect_t *out, char *error, size_t cap);

void stripe_effect_clear(stripe_effect_t *effect);

/*  The subscription.snapshot (or, deleted, subscription.deleted) message for
 *  a Stripe subscription object as of (event_id, created): what an event
 *  about it means, and what the billing API records from Stripe's answer to
 *  its own change (event_id "api:<ms>:<request id>"). NULL, with a reason in
 *  error, when the object has no id or an unknown status. */
json_t *stripe_event_subscription_message(const json_t *subscription, const char *event_id, int64_t created, bool deleted,
                                          char *error, size_t cap);

/*  "starter_monthly" -> "starter" (into plan, cap bytes); 0, or -1 when the
 *  key does not end in _monthly or _yearly. */
int stripe_event_plan_from_lookup_key(const char *lookup_key, char *plan, size_t cap);

#endif
