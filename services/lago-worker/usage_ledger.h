/*  usage_ledger - the usage ledger in Postgres (usage_events): the truth that
 *  quotas are rebuilt from and that is forwarded to Lago.
 *
 *  Locking (docs/usage.md): a batch that counts usage in Redis holds the
 *  shared advisory lock of each of its users from before the Redis increment
 *  until its ledger rows are committed; rebuilding a user's counter holds the
 *  exclusive one while it sums the ledger and creates the counter. So a sum
 *  never misses a row whose increment was lost with a flushed counter.
 */
#ifndef USAGE_LEDGER_H_INCLUDED
#define USAGE_LEDGER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_pgarray.h"
#include "common/ob_redis.h"
#include "common/ob_strset.h"
#include "services/lago-worker/quota.h"
#include "services/lago-worker/usage_events.h"

/*  Registers the statements below on pg. */
void usage_ledger_prepare(ob_pg_t *pg);

/*  Inside a transaction: takes the shared advisory lock of every user in
 *  users_json (a JSON array of user ids), in a fixed order. */
ob_err_t usage_ledger_lock_users(ob_pg_t *pg, const char *users_json);

/*  The ledger rows of one group commit, as binary array parameters (the
 *  server reads them without parsing text; occurred in microseconds, ""
 *  for no properties, subscription or account). Zero-initialise. */
typedef struct {
    ob_pgarray_t tx, user, code, quantity, occurred, properties, subscription, account;
    size_t count;
} usage_ledger_rows_t;

/*  Adds an event (its subscription may be NULL or ""; account: the team whose
 *  shared quota counted it, NULL or "" for none). */
void usage_ledger_rows_add(usage_ledger_rows_t *self, const usage_event_t *event, const char *subscription, const char *account);
void usage_ledger_rows_release(usage_ledger_rows_t *self);

/*  Inside a transaction: inserts rows, skipping transaction_ids already in
 *  the ledger. Adds every transaction_id actually inserted to inserted
 *  (strings owned by *result_out, which the caller PQclear()s after use). */
ob_err_t usage_ledger_insert(ob_pg_t *pg, usage_ledger_rows_t *rows, const char *source, ob_strset_t *inserted,
                             PGresult **result_out);

/*  What the ledger holds for a row's transaction_id. */
typedef enum {
    USAGE_LEDGER_ABSENT = 0, /* not in the ledger */
    USAGE_LEDGER_SAME,       /* the same request (user, code, quantity): a repeat */
    USAGE_LEDGER_OTHER       /* another request: the id is reused, refused (409 transaction_id_reused) */
} usage_ledger_match_t;

/*  A transaction_id names one request for good: fills match[i] (rows->count
 *  entries) for each row (only tx, user, code and quantity are read). In
 *  or out of a transaction; inside one, after an INSERT ... ON CONFLICT, it
 *  sees the rows a concurrent transaction committed meanwhile. */
ob_err_t usage_ledger_match(ob_pg_t *pg, usage_ledger_rows_t *rows, usage_ledger_match_t *match);

/*  The same statements as pipeline steps (common/ob_pg.h ob_pg_pipeline), so
 *  a round puts several in one round trip. params is the caller's storage
 *  and, like rows and users_json, must live until the pipeline has run (one
 *  params per step). The _step functions return -1 when rows is empty or a
 *  row array could not be built (out of memory). */
typedef struct {
    const char *values[9];
    int lengths[9];
    int formats[9];
} usage_ledger_params_t;
void usage_ledger_lock_step(const char *users_json, usage_ledger_params_t *params, ob_pg_step_t *step);
int usage_ledger_match_step(usage_ledger_rows_t *rows, usage_ledger_params_t *params, ob_pg_step_t *step);
/*  Fills match[count] from a ledger_match step's result (OB_OK result). */
void usage_ledger_match_read(const PGresult *result, size_t count, usage_ledger_match_t *match);
int usage_ledger_insert_step(usage_ledger_rows_t *rows, const char *source, usage_ledger_params_t *params, ob_pg_step_t *step);
/*  Adds the transaction_ids an insert step inserted to inserted (strings
 *  owned by result). */
ob_err_t usage_ledger_inserted(const PGresult *result, ob_strset_t *inserted);
/*  After the insert, in its transaction: fails, aborting the transaction,
 *  when a row's transaction_id names another request in the ledger (one a
 *  concurrent transaction committed meanwhile); usage_ledger_is_reused
 *  tells that failure from others. */
int usage_ledger_assert_same_step(usage_ledger_rows_t *rows, usage_ledger_params_t *params, ob_pg_step_t *step);
bool usage_ledger_is_reused(const PGresult *result);

/*  Rebuilds the counter of user/code for the window starting at
 *  period_start: its own transaction, exclusive lock, sum of the ledger,
 *  quota_set_counter. Must run outside any transaction. For a team account
 *  (org_...) user_id is the account: its rows are those counted against it
 *  (account_id); a user's own counter sums their rows of no account. */
ob_err_t usage_ledger_rebuild(ob_pg_t *pg, ob_redis_t *redis, quota_t *quota, const char *user_id, const char *code,
                              int64_t period_start, int64_t period_end, const char *counter_key);

/*  A missing counter an ingest batch met (user_id's own, for code). */
typedef struct {
    const char *user_id;
    const char *code;
    const char *counter_key;
    int64_t period_start;
    int64_t period_end;
} usage_ledger_counter_t;

/*  usage_ledger_rebuild for many counters at once: one transaction (it
 *  writes nothing, so its COMMIT waits for no disk), the exclusive locks of
 *  every bucket involved (in order), one statement summing the ledger for
 *  each counter, then quota_set_counter for each. Must run outside any
 *  transaction. Counters are never those of a team account. */
ob_err_t usage_ledger_rebuild_many(ob_pg_t *pg, ob_redis_t *redis, quota_t *quota, const usage_ledger_counter_t *counters,
                                   size_t count);

/*  Known metric codes from usage_metrics into out. */
ob_err_t usage_ledger_load_metrics(ob_pg_t *pg, usage_metrics_t *out);

#endif
