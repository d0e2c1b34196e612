/*  lago_sync - keeps Lago's customers and subscriptions in step with ours.
 *
 *  lago_subscription_sync holds what Lago was last told about each
 *  subscription. A subscription is due when it is live (trialing, active,
 *  past_due) and Lago does not have it active on its plan, or it is not live
 *  and Lago has it active. Syncing one: lock its row (SKIP LOCKED: one worker
 *  at a time), upsert the Lago customer (external id = user id) and create /
 *  change the Lago subscription (external id = our subscription id, plan code
 *  = plan id), or terminate it; mark it synced in the same transaction once
 *  Lago said OK, or back off (2^attempts s, at most 5 min). Every Lago call
 *  is idempotent, so a crash between the call and the commit only repeats it.
 */
#ifndef LAGO_SYNC_H_INCLUDED
#define LAGO_SYNC_H_INCLUDED

#include "common/ob_pg.h"
#include "clients/lago_api.h"

void lago_sync_prepare(ob_pg_t *pg);

/*  Syncs every due subscription of user_id (after a NOTIFY). Returns how
 *  many were synced, -1 on a database failure. */
int lago_sync_user(ob_pg_t *pg, lago_api_t *api, const char *user_id);

/*  Syncs up to a batch of due subscriptions (the reconcile scan). Same return. */
int lago_sync_due(ob_pg_t *pg, lago_api_t *api);

#endif
