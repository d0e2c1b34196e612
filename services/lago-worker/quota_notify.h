/*  quota_notify - the quota_threshold notification requests: when a call
 *  counted by authorize (or ingest) takes a user's usage of a metric across
 *  80% or 100% of the plan's limit in a window, once per window and
 *  threshold.
 *
 *  The caller passes what the counter said (the usage before and after the
 *  call, the limit, the window's end) inside the transaction that records
 *  the call, so the request commits with the ledger row or not at all. The
 *  dedupe key quota:<user>:<metric>:<window end>:<threshold> makes a repeat
 *  (a retried call, a rebuilt counter, another worker) add nothing. A call
 *  refused for the quota counts as reaching 100%. */
#ifndef QUOTA_NOTIFY_H_INCLUDED
#define QUOTA_NOTIFY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"

/*  The thresholds (80, 100) crossed going from used_before to used_after
 *  against limit (-1 = unlimited: none); refused adds 100. Pure. Returns
 *  how many were written to out (at most 2). */
size_t quota_notify_crossed(int64_t used_before, int64_t used_after, int64_t limit, bool refused, int *out);

void quota_notify_prepare(ob_pg_t *pg);

/*  Inserts the requests for the thresholds crossed (none: nothing). */
ob_err_t quota_notify_add(ob_pg_t *pg, const char *user_id, const char *metric, int64_t used_before, int64_t used_after,
                          int64_t limit, bool refused, int64_t window_end);

/*  After an ingest batch, in its transaction: for each group (user, code,
 *  added: Postgres text[]/text[]/int8[] array literals of the same length,
 *  one entry per user and quota metric), the requests for each threshold
 *  the user's usage in the current window (the ledger, usage_used) is at or
 *  above. Concurrent batches each see only their own rows, so "at or above"
 *  rather than "crossed by this batch" is what keeps a threshold from being
 *  missed; the dedupe key keeps it once. hints (int8[], NULL entries
 *  allowed) is the live counter after the batch where there is one: a
 *  group whose counter is below 80% of the limit is not summed (the ledger
 *  sum per user and batch was most of the ingest's cost in Postgres); a
 *  NULL hint always is. */
ob_err_t quota_notify_ingested(ob_pg_t *pg, const char *users, const char *codes, const char *added, const char *hints);

#endif
