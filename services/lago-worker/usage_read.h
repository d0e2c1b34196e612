/*  usage_read - the usage.get method: usage so far in the current window,
 *  read through the ledger's usage_used() function (migration 022).
 */
#ifndef USAGE_READ_H_INCLUDED
#define USAGE_READ_H_INCLUDED

#include <stddef.h>

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  Registers the statements below on pg. */
void usage_read_prepare(ob_pg_t *pg);

/*  GET /api/v1/usage/me and /api/v1/usage/{user_id} (handle; state is a usage_state_t). */
void usage_read(void *state, ob_job_t *job);

#endif
