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

/*  The ledger rows of one group commit. */
typedef struct {
    ob_pgarray_text_t tx, user, code, quantity, occurred, properties, subscription, account;
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

/*  Rebuilds the counter of user/code for the window starting at
 *  period_start: its own transaction, exclusive lock, sum of the ledger,
 *  quota_set_counter. Must run outside any transaction. For a team account
 *  (org_...) user_id is the account: its rows are those counted against it
 *  (account_id); a user's own counter sums their rows of no account. */
ob_err_t usage_ledger_rebuild(ob_pg_t *pg, ob_redis_t *redis, quota_t *quota, const char *user_id, const char *code,
                              int64_t period_start, int64_t period_end, const char *counter_key);

/*  Known metric codes from usage_metrics into out. */
ob_err_t usage_ledger_load_metrics(ob_pg_t *pg, usage_metrics_t *out);

#endif
