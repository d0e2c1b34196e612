/*  reconcile_usage - the usage ledger against what Lago received.
 *
 *  The ledger (usage_events, the lago-worker's) is grouped per subscription,
 *  customer (user) and calendar month (UTC, by the event time the forwarder
 *  sends: occurred_at to the second); only events Lago acknowledged
 *  (forwarded_at set) count, since the rest is the forwarder's backlog, not
 *  drift (ob_lago_forward_backlog_events shows it). For each group Lago is
 *  asked how many events it holds for that subscription in that window
 *  (GET /api/v1/events, per_page=1: its meta.total_count), so a group in step
 *  costs one call; only when Lago holds fewer are its events listed to find
 *  which transaction_ids it lacks. since (Unix seconds, 0 = the whole
 *  ledger) cuts the window.
 *
 *  A drift row: {"kind": "usage_not_forwarded", "subscription_id",
 *  "user_id", "period": "YYYY-MM", "local": "<n> events in YYYY-MM",
 *  "remote": "<m> events", "missing": <count>, "transaction_ids": [...], "fixable": true}.
 *
 *  Fixing goes through the owner: usage_reforward(text[]) (the lago-worker's
 *  function, migration 070) puts those events back in its forwarding queue
 *  (forwarded_at cleared, due now), and the lago-worker's forwarder sends
 *  them again with the same transaction_ids, so Lago, which deduplicates by
 *  transaction_id, can never count one twice.
 */
#ifndef RECONCILE_USAGE_H_INCLUDED
#define RECONCILE_USAGE_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#include "clients/lago_api.h"
#include "common/ob_pg.h"

/*  The usage drift (above), a new array; NULL on failure, error says why. */
json_t *reconcile_usage(ob_pg_t *pg, lago_api_t *lago, long long since, char *error, size_t cap);

/*  Puts every missing transaction_id of the drift back in the lago-worker's
 *  forwarding queue; appends them to ids. Returns how many were queued, -1
 *  when Postgres refused. */
int reconcile_usage_reforward(ob_pg_t *pg, const json_t *drift, json_t *ids);

/*  Waits up to wait_s seconds until Lago acknowledged every one of ids again. */
void reconcile_usage_wait(ob_pg_t *pg, const json_t *ids, int wait_s);

#endif
