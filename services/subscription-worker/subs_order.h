/*  subs_order - the order-proof rule for subscription state (pure).
 *
 *  The one copy of the rule: services/subscription-worker/subs_change.c applies it for the
 *  subscription-worker (webhook path) and for the stripe-worker's immediate
 *  update after a billing API change.
 *
 *  Stripe does not deliver in order, so every change to a subscription's
 *  state carries the key of the event that caused it, (created, status
 *  rank, event id), and the subscription keeps the key of the newest event
 *  applied (last_event_created, last_event_id; the rank is that of the
 *  stored status). An event changes the state only when its key is greater:
 *    1. a later `created` wins;
 *    2. within the same second, the status that comes later in a
 *       subscription's life wins (precedence below);
 *    3. same second, same status: a change made through the billing API
 *       (event id "api:<ms>:<request id>") wins over a Stripe event, since
 *       Stripe's events of that second describe the state before it (or
 *       this very change); then the greater event id wins, which orders two
 *       API changes by their milliseconds and Stripe's events arbitrarily
 *       but totally, so the outcome does not depend on delivery order (the
 *       same events in any order give the same state).
 *  Terminal statuses (canceled, incomplete_expired) never change again, and
 *  a deletion always cancels.
 *
 *  Precedence (same-second ties): incomplete < trialing < active <
 *  past_due < unpaid < paused < incomplete_expired < canceled.
 *
 *  Period dates are not keyed: current_period_start/end move only forward
 *  (the pair with the later end wins), from subscription events and from
 *  paid invoices alike, which is commutative too.
 */
#ifndef SUBS_ORDER_H_INCLUDED
#define SUBS_ORDER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

/*  The status's place in the precedence, or -1 for an unknown status. */
int subs_order_rank(const char *status);

/*  canceled and incomplete_expired: nothing moves a subscription out of them. */
bool subs_order_is_terminal(const char *status);

/*  True when an event (created, status, event_id) may overwrite the state
 *  written by (stored_created, stored_status, stored_event_id). A stored
 *  event id may be NULL or "" (nothing applied yet). */
bool subs_order_supersedes(int64_t created, const char *status, const char *event_id, int64_t stored_created,
                           const char *stored_status, const char *stored_event_id);

#endif
