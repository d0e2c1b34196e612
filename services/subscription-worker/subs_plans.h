/*  subs_plans - the plan catalogue: loaded from the data file into Postgres
 *  at start, served to the gateway as JSON.
 */
#ifndef SUBS_PLANS_H_INCLUDED
#define SUBS_PLANS_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  Registers the catalogue's prepared statements on pg. */
void subs_plans_prepare(ob_pg_t *pg);

/*  Reads and validates the catalogue file (deploy/plans.json format) and
 *  upserts it in one transaction; plans no longer in the file are marked
 *  inactive, never deleted (subscriptions still point at them). Prints one
 *  line per problem to stderr. Returns 0, or -1 (bad file or database). */
int subs_plans_load_file(ob_pg_t *pg, const char *path);

/*  Methods "plans.list" and "plans.get" (state: the subs_state_t). */
void subs_plans_list(void *pg, ob_job_t *job);
void subs_plans_get(void *pg, ob_job_t *job);

/*  Sets job->etag to a strong tag derived from the job's body. */
void subs_plans_set_etag(ob_job_t *job);

#endif
