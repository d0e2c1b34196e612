/*  usage_daily - method "usage.daily" (GET /api/v1/usage/me/daily): the
 *  user's API calls per day in the current quota window, from the ledger
 *  (usage_events), for the billing page's chart.
 *
 *  200 {"code":"api_calls","period":{"kind","start","end"},"limit","used",
 *  "days":[{"date":"2026-12-01","calls":12},...]}: one entry per UTC day
 *  from the window's first day to today (or the window's last day, if it
 *  has ended), days without calls included as 0, at most
 *  USAGE_DAILY_MAX_DAYS (the newest). limit is null when unlimited. A user
 *  without a subscription gets period null and no days.
 */
#ifndef USAGE_DAILY_H_INCLUDED
#define USAGE_DAILY_H_INCLUDED

#include <stdint.h>

#include "common/ob_pg.h"
#include "common/ob_worker.h"

#define USAGE_DAILY_MAX_DAYS 400

/*  Registers the statement (once per connection, at start). */
void usage_daily_prepare(ob_pg_t *pg);

/*  handle method; state is the worker's usage_state_t. */
void usage_daily_get(void *state, ob_job_t *job);

/*  The first and last UTC day numbers (Unix seconds / 86400) of the chart for
 *  a window [start, end) (end 0 = open) seen at now. Pure. */
void usage_daily_span(int64_t start, int64_t end, int64_t now, int64_t *first_day, int64_t *last_day);

#endif
