/*  lago_ledger - the usage ledger in Postgres (usage_events): the truth that
 *  quotas are rebuilt from and that is forwarded to Lago.
 *
 *  Locking (docs/usage.md): a batch that counts usage in Redis holds the
 *  shared advisory lock of each of its users from before the Redis increment
 *  until its ledger rows are committed; rebuilding a user's counter holds the
 *  exclusive one while it sums the ledger and creates the counter. So a sum
 *  never misses a row whose increment was lost with a flushed counter.
 */
#ifndef LAGO_LEDGER_H_INCLUDED
#define LAGO_LEDGER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "services/lago-worker/lago_events.h"
#include "services/lago-worker/lago_quota.h"
#include "services/lago-worker/lago_strset.h"

/*  Registers the statements below on pg. */
void lago_ledger_prepare(ob_pg_t *pg);

/*  Inside a transaction: takes the shared advisory lock of every user in
 *  users_json (a JSON array of user ids), in a fixed order. */
ob_err_t lago_ledger_lock_users(ob_pg_t *pg, const char *users_json);

/*  A growing Postgres array literal ({"a","b",NULL}): rows travel to the
 *  server as array parameters, unnested there (much cheaper for the server
 *  than a JSON document of rows). */
typedef struct {
    char *data;
    size_t len, cap;
    size_t count;
    bool failed; /* out of memory */
} lago_pgarray_t;

/*  Appends one element (NULL = SQL NULL), quoted and escaped. */
void lago_pgarray_add(lago_pgarray_t *self, const char *value);
/*  The literal, NUL-terminated (borrowed), or NULL after OOM. */
const char *lago_pgarray_text(lago_pgarray_t *self);
void lago_pgarray_release(lago_pgarray_t *self);

/*  The ledger rows of one group commit. */
typedef struct {
    lago_pgarray_t tx, user, code, quantity, occurred, properties, subscription;
    size_t count;
} lago_ledger_rows_t;

/*  Adds an event (its subscription may be NULL or ""). */
void lago_ledger_rows_add(lago_ledger_rows_t *self, const lago_usage_event_t *event, const char *subscription);
void lago_ledger_rows_release(lago_ledger_rows_t *self);

/*  Inside a transaction: inserts rows, skipping transaction_ids already in
 *  the ledger. Adds every transaction_id actually inserted to inserted
 *  (strings owned by *result_out, which the caller PQclear()s after use). */
ob_err_t lago_ledger_insert(ob_pg_t *pg, lago_ledger_rows_t *rows, const char *source, lago_strset_t *inserted,
                            PGresult **result_out);

/*  Rebuilds the counter of user/code for the window starting at
 *  period_start: its own transaction, exclusive lock, sum of the ledger,
 *  lago_quota_set_counter. Must run outside any transaction. */
ob_err_t lago_ledger_rebuild(ob_pg_t *pg, ob_redis_t *redis, lago_quota_t *quota, const char *user_id, const char *code,
                             int64_t period_start, int64_t period_end, const char *counter_key);

/*  Known metric codes from usage_metrics into out. */
ob_err_t lago_ledger_load_metrics(ob_pg_t *pg, lago_metrics_t *out);

#endif
