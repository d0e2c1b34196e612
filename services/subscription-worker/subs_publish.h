/*  subs_publish - the owner's side of the Redis copy of entitlements
 *  (common/ob_entitlements.h): it is never stale for long, whatever crashed.
 *
 *  entitlement_versions (migration 050) has a row per user whose
 *  entitlements changed; triggers raise its version in the transaction of
 *  the change. A publish owed (published_version < version: the worker died
 *  after the COMMIT, Redis refused or was down) stays owed in that row, not
 *  in a log line, and is retried with back-off until it lands. Every copy is
 *  also rebuilt from Postgres once ENTITLEMENTS_TTL_S / 3 has passed since its
 *  last publish, well before it expires: trial (total-period) copies, whose
 *  window never ends, are refreshed like the rest, and a Redis restored from
 *  an old snapshot is corrected within that time (or the stale copy expires).
 */
#ifndef SUBS_PUBLISH_H_INCLUDED
#define SUBS_PUBLISH_H_INCLUDED

#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"

void subs_publish_prepare(ob_pg_t *pg);

/*  Loads the user's entitlements, publishes them (version compared) and
 *  records the outcome on the user's row (published, or owed with its
 *  error and next attempt). Outside any transaction. OB_OK when the copy in
 *  Redis is now at least this version. */
ob_err_t subs_publish_user(ob_pg_t *pg, ob_redis_t *redis, const char *user_id);

/*  Publishes what is owed and refreshes copies near their TTL, up to a
 *  bounded batch. Returns > 0 when a full batch was done (call again), 0
 *  when caught up, -1 when Postgres is unavailable. */
int subs_publish_run(ob_pg_t *pg, ob_redis_t *redis);

#endif
