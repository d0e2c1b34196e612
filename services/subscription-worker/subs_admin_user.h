/*  subs_admin_user - method "admin.user.get": a user's whole billing
 *  picture for support, GET /api/v1/admin/users/{id} (admin token).
 *
 *  200 {"user_id",
 *       "customer": {user_id, email, stripe_customer_id, created_at} | null,
 *       "subscriptions": [newest first, at most 10],
 *       "entitlements": the status.get answer without "usage",
 *       "usage": {"api_calls": {used, limit, remaining, resets_at}}  (this window),
 *       "recent_usage": [the ledger's latest 20 events],
 *       "recent_events": [the latest 20 Stripe webhook events about the user],
 *       "notifications": [the latest 20 notifications, without payloads]}
 *  A user nobody knows gets 404.
 *
 *  Table ownership: this service answers from its own tables (customers,
 *  subscriptions, the entitlement) and reads every other part through the
 *  owner's published read-only function, never the owner's table:
 *  usage_used() and usage_recent() (lago-worker, migrations 022 and 023),
 *  stripe_events_for_user() (stripe-worker, 013), notifications_for_user()
 *  (notifier, 004). One query, one snapshot of the database.
 */
#ifndef SUBS_ADMIN_USER_H_INCLUDED
#define SUBS_ADMIN_USER_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  Registers the statement on pg. */
void subs_admin_user_prepare(ob_pg_t *pg);

/*  Method "admin.user.get" (state: the subs_state_t). */
void subs_admin_user_get(void *state, ob_job_t *job);

#endif
