/*  ob_pg - one Postgres session that survives server restarts.
 *
 *  An ob_pg_t owns one PGconn (libpq connections are not thread-safe: one
 *  ob_pg_t per thread). It connects lazily and reconnects after any loss with
 *  bounded exponential back-off, so callers never block for longer than the
 *  connect timeout and never sleep: while backing off every call fails fast
 *  with a result that ob_pg_classify() maps to OB_ERR_TRANSIENT.
 *
 *  Prepared statements and LISTEN channels are registered once and re-issued
 *  on every (re)connect; an optional on_connect hook runs after that, which is
 *  where a LISTEN consumer does its catch-up scan (notifications sent while
 *  disconnected are lost).
 *
 *  A transaction never silently continues on a new session: if the connection
 *  drops between ob_pg_begin() and ob_pg_commit()/ob_pg_rollback(), every exec
 *  in between fails as transient and commit reports OB_ERR_TRANSIENT.
 *
 *  The conninfo holds a password, so it is never logged; log lines name
 *  host:port/dbname only.
 */
#ifndef OB_PG_H_INCLUDED
#define OB_PG_H_INCLUDED

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/ob_err.h"

typedef struct _ob_pg_t ob_pg_t;

/*  Called for each notification; channel and payload are valid during the call only. */
typedef void(ob_pg_notify_fn)(void *arg, const char *channel, const char *payload);

/*  Called after each successful (re)connect, once statements are prepared and
 *  channels listened to. */
typedef void(ob_pg_connect_fn)(void *arg, ob_pg_t *pg);

/*  A session for conninfo (a postgres:// URL or a key=value string). Adds
 *  connect_timeout=3, keepalives and application_name unless conninfo sets
 *  them. Does not connect: the first ob_pg_ensure (or exec) does. NULL when
 *  conninfo cannot be parsed or memory runs out. */
ob_pg_t *ob_pg_new(const char *conninfo, const char *application_name);

/*  Closes the connection and frees everything. NULL-safe; nulls *self_p. */
void ob_pg_destroy(ob_pg_t **self_p);

/*  Back-off between failed connect attempts: starts at base_ms, doubles up to
 *  max_ms, with +-20% jitter (defaults 100 ms and 5000 ms). */
void ob_pg_set_backoff(ob_pg_t *self, int base_ms, int max_ms);

/*  Hook run after every successful (re)connect (NULL to remove). */
void ob_pg_set_on_connect(ob_pg_t *self, ob_pg_connect_fn *fn, void *arg);

/*  Returns 0 when connected (connecting first if needed), -1 otherwise. Makes
 *  at most one attempt, bounded by the connect timeout; while a back-off delay
 *  is running it returns -1 at once without trying. Never sleeps. */
int ob_pg_ensure(ob_pg_t *self);

/*  Milliseconds until the next connect attempt is allowed (0 = now). */
int ob_pg_retry_in_ms(const ob_pg_t *self);

/*  "host:port/dbname", for log lines. Borrowed; lives as long as self. */
const char *ob_pg_describe(const ob_pg_t *self);

/*  Registers a named statement ($1..$nparams, types inferred by the server).
 *  Registering the same name with the same SQL again is a no-op. Prepared at
 *  once when connected, and on every reconnect. Returns -1 when the name is
 *  taken by other SQL, or when the server rejects the SQL right now (the
 *  statement stays registered and ob_pg_exec reports the server's error). */
int ob_pg_prepare(ob_pg_t *self, const char *name, const char *sql, int nparams);

/*  Executes a registered statement. values/lengths/formats are as for
 *  PQexecPrepared (lengths and formats may be NULL for text). Results are in
 *  text format. Returns the result (caller PQclear()s it), or NULL when there
 *  is no connection or it broke (classify says OB_ERR_TRANSIENT). Check the
 *  status with ob_pg_classify(). */
PGresult *ob_pg_exec(ob_pg_t *self, const char *name, int nparams, const char *const *values, const int *lengths,
                     const int *formats);

/*  Executes one parameterised SQL statement without preparing it (for rare
 *  statements). Same contract as ob_pg_exec. */
PGresult *ob_pg_exec_sql(ob_pg_t *self, const char *sql, int nparams, const char *const *values, const int *lengths,
                         const int *formats);

/*  What a result means for the caller: OB_OK for a successful command or
 *  query; 23505 -> OB_ERR_CONFLICT; 40001, 40P01, 57014, 57P01-57P03
 *  (server shutting down), class 08, a NULL result or a broken connection ->
 *  OB_ERR_TRANSIENT (and the next call reconnects); anything else ->
 *  OB_ERR_INTERNAL. Logs the SQLSTATE of
 *  failures at debug level (never parameters). */
ob_err_t ob_pg_classify(ob_pg_t *self, const PGresult *r);

/*  ob_pg_exec with text parameters, classified (ob_pg_classify). On OB_OK
 *  with result not NULL, *result gets the result (the caller PQclear()s
 *  it); otherwise the result is cleared here. */
ob_err_t ob_pg_run(ob_pg_t *self, const char *name, int nparams, const char *const *values, PGresult **result);

/*  BEGIN. Connects first if needed. */
ob_err_t ob_pg_begin(ob_pg_t *self);

/*  COMMIT. OB_OK only when the server confirmed the commit. If a statement
 *  failed inside the transaction, it rolls back and returns that failure's
 *  class. OB_ERR_TRANSIENT when the connection broke; if it broke during the
 *  COMMIT itself the outcome is unknown, so make the work idempotent. */
ob_err_t ob_pg_commit(ob_pg_t *self);

/*  ROLLBACK, and forgets the transaction whatever happens. */
ob_err_t ob_pg_rollback(ob_pg_t *self);

/*  One statement of a pipeline: a registered statement and its parameters
 *  as for ob_pg_exec. result is set by ob_pg_pipeline (NULL when it never
 *  arrived; PGRES_PIPELINE_ABORTED when skipped after an earlier failure);
 *  the caller PQclear()s it. */
typedef struct {
    const char *name;
    int nparams;
    const char *const *values;
    const int *lengths;
    const int *formats;
    PGresult *result;
} ob_pg_step_t;

#define OB_PG_PIPE_BEGIN 1  /* open the transaction first (as ob_pg_begin) */
#define OB_PG_PIPE_COMMIT 2 /* then end it (as ob_pg_commit) */

/*  Runs the steps in order in ONE round trip (libpq pipeline mode): with
 *  OB_PG_PIPE_BEGIN a BEGIN goes first, with OB_PG_PIPE_COMMIT a COMMIT
 *  last, in the same round trip; without either the steps run inside the
 *  transaction the caller opened. Returns OB_OK when every statement
 *  succeeded (and, with COMMIT, the server confirmed the commit), else the
 *  class of the first failure (ob_pg_classify); the statements after it are
 *  skipped, and with COMMIT the transaction is rolled back. With COMMIT,
 *  *commit_unknown (may be NULL) is set when the connection broke before
 *  the COMMIT's answer arrived: it may have committed. */
ob_err_t ob_pg_pipeline(ob_pg_t *self, int flags, ob_pg_step_t *steps, size_t n, bool *commit_unknown);

/*  True between ob_pg_begin and ob_pg_commit/ob_pg_rollback. */
bool ob_pg_in_transaction(const ob_pg_t *self);

/*  LISTENs to channel now if connected, and after every reconnect. Returns -1
 *  when the LISTEN failed now (it stays registered) or memory runs out. */
int ob_pg_listen(ob_pg_t *self, const char *channel);

/*  The connection's socket for poll/zloop, or -1 when disconnected. It changes
 *  after a reconnect: re-register when ob_pg_generation() changes. */
int ob_pg_socket(ob_pg_t *self);

/*  Counts successful connects; a change means a new session. */
unsigned ob_pg_generation(const ob_pg_t *self);

/*  Reads what arrived on the socket and calls cb for each notification.
 *  Returns how many were delivered, or -1 when the connection broke (it will
 *  reconnect on the next ensure; run a catch-up scan in on_connect). */
int ob_pg_consume_notifies(ob_pg_t *self, ob_pg_notify_fn *cb, void *arg);

/*  The raw connection (for pipeline mode or COPY), or NULL when disconnected.
 *  Borrowed: valid until the next call on self. Leave it idle, out of pipeline
 *  mode and outside any transaction you started yourself; a connection left
 *  CONNECTION_BAD is noticed and replaced by the next ensure. */
PGconn *ob_pg_conn(ob_pg_t *self);

#endif
