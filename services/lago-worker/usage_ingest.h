/*  usage_ingest - the usage.ingest method: a batch of usage events into the ledger,
 *  counted in the live quota counters. A handle_batch method: every waiting
 *  request shares one Postgres transaction (group commit) and is answered
 *  only after it committed.
 */
#ifndef USAGE_INGEST_H_INCLUDED
#define USAGE_INGEST_H_INCLUDED

#include <stddef.h>

#include "common/ob_worker.h"

/*  POST /api/v1/usage/events (handle_batch; state is a usage_state_t). */
void usage_ingest(void *state, ob_job_t **jobs, size_t count);

#endif
