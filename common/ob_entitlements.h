/*  ob_entitlements - what a user's subscription entitles them to, as the
 *  hot paths read it.
 *
 *  Postgres is the truth (the user_entitlements view, migration 002); Redis
 *  holds a copy so authorize and the entitlement checks never need Postgres.
 *  The copy is never stale for long (migration 050):
 *   - it carries the version (entitlement_versions.version, raised in the
 *     transaction of every change) it was built from, read in the same
 *     statement as the state; a publish overwrites only a copy of a lower or
 *     equal version (one Lua script), so a late or slow writer never lands
 *     over newer state;
 *   - it expires after ENTITLEMENTS_TTL_S (default 300): a copy nobody
 *     refreshes (a lost publish, a Redis restored from an old snapshot)
 *     disappears, and the next reader rebuilds it from Postgres;
 *   - its owner, the subscription-worker, publishes after every commit,
 *     retries a failed publish from the durable row, and rebuilds every copy
 *     well before its TTL (services/subscription-worker/subs_publish.h).
 *  A reader that finds no copy loads from Postgres and publishes it itself.
 *
 *  Redis layout (a hash per user, read by Lua scripts too):
 *    ob:ent:{user_id}  live 0|1, plan, status, interval, subscription,
 *                      limit (-1 = unlimited), period (total|month),
 *                      period_start, period_end (Unix s; 0 = open-ended),
 *                      current_period_end, cancel_at_period_end, trial_end,
 *                      past_due_since, access_until (Unix s; 0 = none: after
 *                      it a live copy no longer authorizes: the end of a
 *                      past_due grace or of a period canceled at its end),
 *                      byok 0|1, seats, features (JSON array, with granted
 *                      ones), overrides (JSON array), account ("" or the
 *                      team whose quota counter is shared), version (the
 *                      Stripe event time of the state, informational)
 *    ob:entv:{user_id} the copy's version (entitlement_versions.version),
 *                      compared on publish; same TTL
 *  A user with no subscription is published as live 0, plan "", so a miss
 *  is told apart from "known to have nothing".
 */
#ifndef OB_ENTITLEMENTS_H_INCLUDED
#define OB_ENTITLEMENTS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"

#define OB_ENTITLEMENT_KEY_PREFIX "ob:ent:"
#define OB_ENTITLEMENT_VERSION_KEY_PREFIX "ob:entv:"

typedef struct {
    char user_id[256];
    bool live; /* trialing, active or past_due */
    char subscription_id[128];
    char plan_id[65];
    char status[24];
    char interval[8];
    int64_t limit;        /* API calls in the window; -1 = unlimited */
    char period[8];       /* "total" or "month" */
    int64_t period_start; /* the quota window, Unix seconds */
    int64_t period_end;   /* 0 = open-ended */
    int64_t current_period_end;
    bool cancel_at_period_end;
    int64_t trial_end;      /* 0 = none */
    int64_t past_due_since; /* 0 = not past_due */
    int64_t access_until;   /* see the layout above; 0 = none */
    bool byok;
    int64_t seats;
    char features[1024];        /* JSON array text */
    int64_t version;            /* entitlement_versions.version; 0 = never changed */
    char overrides[2048];       /* the overrides in force, a JSON array (already folded into features and limit) */
    int64_t last_event_created; /* the Stripe event time of the state (field "version", for operators) */
    char account[256];          /* "" personal; else the team (org_...) whose subscription and shared quota these are */
    int64_t overrides_until;    /* when the first of them expires (the copy's TTL ends by then); 0 = none */
} ob_entitlement_t;

/*  ENTITLEMENTS_TTL_S (default 300, at least 2): how long a copy lives. */
int64_t ob_entitlements_ttl_s(void);

/*  PAST_DUE_GRACE_S (default 259200: 3 days): how long a past_due
 *  subscription keeps its paid features. */
int64_t ob_entitlements_grace_s(void);

/*  Registers the statement ob_entitlements_load uses. */
void ob_entitlements_prepare(ob_pg_t *pg);

/*  Reads the user's entitlement from Postgres. OB_OK (out filled; live may
 *  be false), OB_ERR_NOT_FOUND (no subscription ever: out is the "nothing"
 *  entitlement), or OB_ERR_TRANSIENT. */
ob_err_t ob_entitlements_load(ob_pg_t *pg, const char *user_id, ob_entitlement_t *out);

/*  Writes the copy in Redis with the TTL, unless Redis holds a newer version
 *  (or, if_missing, any copy). Returns 1 written, 0 kept (a newer or, with
 *  if_missing, an existing copy is there), -1 Redis failed. */
int ob_entitlements_publish(ob_redis_t *redis, const ob_entitlement_t *entitlement, bool if_missing);

/*  Reads the copy from Redis: OB_OK, OB_ERR_NOT_FOUND (no copy), or
 *  OB_ERR_TRANSIENT (Redis down). */
ob_err_t ob_entitlements_fetch(ob_redis_t *redis, const char *user_id, ob_entitlement_t *out);

/*  Redis first; on a miss Postgres, then publishes what it found. */
ob_err_t ob_entitlements_get(ob_redis_t *redis, ob_pg_t *pg, const char *user_id, ob_entitlement_t *out);

/*  Loads from Postgres and publishes: what a writer calls after a change. */
ob_err_t ob_entitlements_refresh(ob_redis_t *redis, ob_pg_t *pg, const char *user_id);

/*  The Redis key for a user, written into key (cap bytes). */
void ob_entitlements_key(const char *user_id, char *key, size_t cap);

#endif
