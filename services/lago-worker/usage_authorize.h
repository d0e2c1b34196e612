/*  usage_authorize - the usage.authorize method: check one call against the quota
 *  and record it. Rounds of a group commit (shared locks, Redis scripts, the
 *  ledger rows, commit, answers); what each answer leads to is decided in
 *  quota_rules.c.
 */
#ifndef USAGE_AUTHORIZE_H_INCLUDED
#define USAGE_AUTHORIZE_H_INCLUDED

#include <stddef.h>

#include "common/ob_worker.h"

/*  POST /api/v1/usage/authorize (handle_batch; state is a usage_state_t). */
void usage_authorize(void *state, ob_job_t **jobs, size_t count);

#endif
