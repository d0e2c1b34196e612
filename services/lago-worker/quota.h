/*  quota - the quota counters in Redis (atomic Lua scripts).
 *
 *  Keys (all owned by the lago-worker):
 *    ob:quota:epoch                        bumped to invalidate every counter
 *    ob:quota:{user}:{code}:{start}:{epoch} hash {n: used, g: generation}
 *    ob:quota:tx:{transaction_id}          the first answer, "allowed|used|limit|resets_at"
 *  The counter of a window is created only by quota_rebuild, from the
 *  ledger, under the user's exclusive advisory lock; every increment happens
 *  under the shared one, before the ledger row commits (docs/usage.md). The
 *  generation g tells a rebuilt counter apart from the one an increment went
 *  to, so giving quota back never lands on a counter that did not count it.
 */
#ifndef QUOTA_H_INCLUDED
#define QUOTA_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/ob_redis.h"

typedef struct _quota_t quota_t;

typedef enum {
    QUOTA_REDIS_DOWN, /* no answer from Redis */
    QUOTA_NOSCRIPT,   /* Redis lost the script: quota_load_scripts, then retry */
    QUOTA_DUP,        /* this transaction_id was answered before: answer holds it */
    QUOTA_MISS,       /* no entitlement copy in Redis: load it, then retry */
    QUOTA_STALE,      /* the copy's window has ended: refresh it, then retry */
    QUOTA_REBUILD,    /* no counter for the window: rebuild it from the ledger, then retry */
    QUOTA_NO_SUB,     /* the user has no live subscription */
    QUOTA_ACCOUNT,    /* the copy names a team account whose lock the caller does not hold: take it, then retry */
    QUOTA_ANSWERED    /* a fresh answer (allowed or not) */
} quota_kind_t;

/*  A decoded answer. */
typedef struct {
    bool allowed;
    int64_t used;
    int64_t limit;     /* -1 = unlimited */
    int64_t resets_at; /* Unix s; 0 = never (a total quota) */
} quota_answer_t;

typedef struct {
    quota_kind_t kind;
    quota_answer_t answer;
    bool counted;          /* the counter was incremented by quantity (give it back on failure) */
    char counter_key[600]; /* for give-back and rebuild */
    char generation[64];
    char subscription[128];
    char account[256];    /* "" personal; else the team whose shared counter this is (ACCOUNT: the lock to take) */
    int64_t period_start; /* for REBUILD */
    int64_t period_end;   /* for REBUILD: the counter expires a day after it (0 = open-ended) */
} quota_result_t;

quota_t *quota_new(void);
void quota_destroy(quota_t **self_p);

/*  Caches the authorize script in Redis (SCRIPT LOAD): pipelined EVALSHA
 *  cannot fall back to EVAL reply by reply. 0 or -1. */
int quota_load_scripts(quota_t *self, ob_redis_t *redis);

/*  Decodes "allowed|used|limit|resets_at". 0 or -1. Pure; exposed for tests. */
int quota_answer_parse(const char *text, quota_answer_t *out);

/*  Queues the authorize script for one request (see the module comment).
 *  quota: the metric has a limit (else no counter is touched). allow_ended:
 *  count against the copy's window even if it has ended (after a refresh
 *  found nothing newer). locked_account: the team account whose shared
 *  ledger lock the caller holds (NULL or "" none). -1 when Redis is not connected. */
int quota_append_authorize(quota_t *self, ob_redis_t *redis, const char *user_id, const char *code, const char *transaction_id,
                           int64_t quantity, int64_t now, bool quota, bool allow_ended, const char *locked_account);

/*  Reads the reply of one queued authorize into out. */
void quota_read_authorize(ob_redis_t *redis, const char *user_id, const char *code, quota_result_t *out);

/*  Gives quantity back to the counter it was taken from (if that counter still
 *  exists with that generation) and, when forget_answer, deletes the stored
 *  answer of transaction_id so a retry is decided afresh. 0 or -1. */
int quota_give_back(quota_t *self, ob_redis_t *redis, const quota_result_t *taken, int64_t quantity, const char *transaction_id,
                    bool forget_answer);

/*  Creates the counter with used (if it does not exist), expiring at
 *  expire_at (Unix s; 0 = in 90 days). The caller holds the user's exclusive
 *  advisory lock and has summed the ledger. 0 or -1. */
int quota_set_counter(quota_t *self, ob_redis_t *redis, const char *counter_key, int64_t used, int64_t expire_at);

/*  One user and code of a batch of ingested events, and how many of the
 *  (occurred, quantity) pairs are theirs (consecutive, in group order). */
typedef struct {
    const char *user_id;
    const char *code;
    size_t count;
} quota_group_t;

/*  Adds what ingested events add to the live counters, in one script call for
 *  every group: only to counters that exist, only events at or after the
 *  window start. On return taken[g] has each group's counter key, generation
 *  and counted (for a give-back), answer.used the counter after the batch
 *  (-1 when there is no counter, or the copy names a team account),
 *  period_start/period_end the window of the live copy (period_start -1
 *  when none), added[g] the amount. A live copy with a counter key but no
 *  generation means the counter is missing (usage_ledger_rebuild_many). 0 or -1. */
int quota_count_ingested(quota_t *self, ob_redis_t *redis, const quota_group_t *groups, size_t n_groups, const int64_t *occurred,
                         const int64_t *quantity, quota_result_t *taken, int64_t *added);

/*  INCR ob:quota:epoch: every counter is rebuilt from the ledger on next use.
 *  Used after ledger writes that Redis could not count. 0 or -1. */
int quota_bump_epoch(ob_redis_t *redis);

#endif
