/*  ob_pg - one Postgres session that survives server restarts. */
#include "common/ob_pg.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ob_backoff.h"
#include "common/ob_clock.h"
#include "common/ob_log.h"
#include "common/ob_metrics.h"

#define S_DEFAULT_CONNECT_TIMEOUT_S 3

typedef struct {
    char *name;
    char *sql;
    int nparams;
    unsigned prepared_gen; /* the session it is prepared on; 0 = none */
} s_stmt_t;

struct _ob_pg_t {
    const char **keywords; /* connection parameters, NULL-terminated, owned */
    const char **values;
    char describe[256]; /* host:port/dbname, safe to log */
    int connect_timeout_ms;

    PGconn *conn;        /* NULL while disconnected */
    unsigned generation; /* successful connects so far */
    ob_backoff_t backoff;
    int64_t next_attempt_ms;

    s_stmt_t *stmts;
    size_t nstmts, stmts_cap;
    char **channels;
    size_t nchannels, channels_cap;

    ob_pg_connect_fn *on_connect;
    void *on_connect_arg;

    bool in_tx;
    unsigned tx_generation; /* the session the transaction lives on */
    ob_err_t tx_err;        /* the first failure inside the transaction */
};

static void
s_on_notice(void *arg, const char *message)
{
    (void)arg;
    /* libpq's default prints to stderr, which would break our JSON log lines. */
    size_t len = strlen(message);
    while (len && message[len - 1] == '\n')
        len--;
    ob_log_debug("pg: %.*s", (int)len, message);
}

/*  Copies the explicitly given parameters and adds our defaults for the rest. */
static int
s_build_params(ob_pg_t *self, PQconninfoOption *opts, const char *application_name)
{
    static const struct {
        const char *keyword, *value;
    } defaults[] = {
        {"connect_timeout", "3"},      {"keepalives", "1"},       {"keepalives_idle", "30"},
        {"keepalives_interval", "10"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "10000"},
    };
    size_t ndefaults = sizeof defaults / sizeof defaults[0];
    size_t count = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        count++;
    size_t cap = count + ndefaults + 2;
    self->keywords = calloc(cap, sizeof *self->keywords);
    self->values = calloc(cap, sizeof *self->values);
    if (!self->keywords || !self->values)
        return -1;

    size_t n = 0;
    const char *host = NULL, *port = NULL, *dbname = NULL, *user = NULL, *timeout = NULL;
    bool has_app = false;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        self->keywords[n] = strdup(o->keyword);
        self->values[n] = strdup(o->val);
        if (!self->keywords[n] || !self->values[n])
            return -1;
        n++;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0 && !host)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            dbname = o->val;
        else if (strcmp(o->keyword, "user") == 0)
            user = o->val;
        else if (strcmp(o->keyword, "connect_timeout") == 0)
            timeout = o->val;
        else if (strcmp(o->keyword, "application_name") == 0)
            has_app = true;
    }
    for (size_t i = 0; i < ndefaults; i++) {
        bool given = false;
        for (size_t j = 0; j < n; j++)
            given = given || strcmp(self->keywords[j], defaults[i].keyword) == 0;
        if (given)
            continue;
        self->keywords[n] = strdup(defaults[i].keyword);
        self->values[n] = strdup(defaults[i].value);
        if (!self->keywords[n] || !self->values[n])
            return -1;
        n++;
    }
    if (!has_app && application_name && *application_name) {
        self->keywords[n] = strdup("application_name");
        self->values[n] = strdup(application_name);
        if (!self->keywords[n] || !self->values[n])
            return -1;
        n++;
    }

    /* Our own deadline replaces libpq's (PQconnectPoll ignores connect_timeout). */
    int seconds = timeout ? atoi(timeout) : S_DEFAULT_CONNECT_TIMEOUT_S;
    self->connect_timeout_ms = (seconds > 0 ? seconds : S_DEFAULT_CONNECT_TIMEOUT_S) * 1000;
    snprintf(self->describe, sizeof self->describe, "%s:%s/%s", host ? host : "localhost", port ? port : "5432",
             dbname ? dbname
             : user ? user
                    : "(default)");
    return 0;
}

static void s_count_init(void);

ob_pg_t *
ob_pg_new(const char *conninfo, const char *application_name)
{
    assert(conninfo);
    s_count_init();
    char *error = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &error);
    if (!opts) {
        /* libpq's message may quote part of the string, password included. */
        ob_log_error("pg: the connection string cannot be parsed");
        PQfreemem(error);
        return NULL;
    }
    ob_pg_t *self = calloc(1, sizeof *self);
    if (!self || s_build_params(self, opts, application_name) != 0) {
        PQconninfoFree(opts);
        ob_pg_destroy(&self);
        return NULL;
    }
    PQconninfoFree(opts);
    ob_backoff_init(&self->backoff, 100, 5000, (uint32_t)ob_clock_mono_ms() ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)self);
    return self;
}

void
ob_pg_destroy(ob_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_pg_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    for (size_t i = 0; self->keywords && self->keywords[i]; i++) {
        free((char *)self->keywords[i]);
        free((char *)self->values[i]);
    }
    free(self->keywords);
    free(self->values);
    for (size_t i = 0; i < self->nstmts; i++) {
        free(self->stmts[i].name);
        free(self->stmts[i].sql);
    }
    free(self->stmts);
    for (size_t i = 0; i < self->nchannels; i++)
        free(self->channels[i]);
    free(self->channels);
    free(self);
    *self_p = NULL;
}

void
ob_pg_set_backoff(ob_pg_t *self, int base_ms, int max_ms)
{
    ob_backoff_set(&self->backoff, base_ms, max_ms);
}

void
ob_pg_set_on_connect(ob_pg_t *self, ob_pg_connect_fn *fn, void *arg)
{
    self->on_connect = fn;
    self->on_connect_arg = arg;
}

const char *
ob_pg_describe(const ob_pg_t *self)
{
    return self->describe;
}

unsigned
ob_pg_generation(const ob_pg_t *self)
{
    return self->generation;
}

bool
ob_pg_in_transaction(const ob_pg_t *self)
{
    return self->in_tx;
}

int
ob_pg_retry_in_ms(const ob_pg_t *self)
{
    int64_t left = self->next_attempt_ms - ob_clock_mono_ms();
    return left > 0 ? (int)left : 0;
}

#define ERRORS_HELP "Postgres errors: failed connects, lost connections, failed statements."
#define RECONNECTS_HELP "Postgres sessions opened again after the first."

static void
s_count_error(const char *kind)
{
    ob_metrics_count("ob_postgres_errors_total", ERRORS_HELP, "kind", kind, 1);
}

/*  Every series at 0 from the start, so rates and alerts have one to read. */
static void
s_count_init(void)
{
    static const char *const kinds[] = {"connect", "connection_lost", "statement"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        ob_metrics_count("ob_postgres_errors_total", ERRORS_HELP, "kind", kinds[i], 0);
    ob_metrics_count("ob_postgres_reconnects_total", RECONNECTS_HELP, NULL, NULL, 0);
}

/*  Forgets the session. The next ensure may try again at once: a lost
 *  connection is retried immediately, failed attempts back off. */
static void
s_drop(ob_pg_t *self)
{
    if (self->conn) {
        PQfinish(self->conn);
        self->conn = NULL;
    }
}

static void
s_schedule_retry(ob_pg_t *self)
{
    self->next_attempt_ms = ob_clock_mono_ms() + ob_backoff_next(&self->backoff);
}

/*  Notices a broken session after any libpq call. */
static void
s_check_conn(ob_pg_t *self, const PGresult *r)
{
    if (!self->conn)
        return;
    if (!r || PQstatus(self->conn) == CONNECTION_BAD) {
        ob_log_warn("pg: connection to %s lost", self->describe);
        s_count_error("connection_lost");
        s_drop(self);
    }
}

static const char *
s_sqlstate(const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return state ? state : "";
}

static bool
s_result_ok(const PGresult *r)
{
    if (!r)
        return false;
    switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
    case PGRES_EMPTY_QUERY:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
    case PGRES_PIPELINE_SYNC:
        return true;
    default:
        return false;
    }
}

/*  Prepares one statement on the current session; returns NULL on success or
 *  the failed result (for the caller to hand back or clear). */
static PGresult *
s_prepare_on_session(ob_pg_t *self, s_stmt_t *stmt)
{
    PGresult *r = PQprepare(self->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
    if (s_result_ok(r)) {
        PQclear(r);
        stmt->prepared_gen = self->generation;
        return NULL;
    }
    ob_log_warn("pg: cannot prepare %s on %s: [%s] %s", stmt->name, self->describe, s_sqlstate(r),
                r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : ""
                  : "no result");
    stmt->prepared_gen = 0;
    s_check_conn(self, r);
    return r;
}

static int
s_listen_on_session(ob_pg_t *self, const char *channel)
{
    char *ident = PQescapeIdentifier(self->conn, channel, strlen(channel));
    if (!ident)
        return -1;
    size_t len = strlen(ident) + sizeof "LISTEN ";
    char *sql = malloc(len);
    if (!sql) {
        PQfreemem(ident);
        return -1;
    }
    snprintf(sql, len, "LISTEN %s", ident);
    PQfreemem(ident);
    PGresult *r = PQexec(self->conn, sql);
    free(sql);
    int rc = s_result_ok(r) ? 0 : -1;
    if (rc != 0)
        ob_log_warn("pg: LISTEN %s failed on %s: [%s]", channel, self->describe, s_sqlstate(r));
    s_check_conn(self, r);
    PQclear(r);
    return rc;
}

/*  Waits for the socket as PQconnectPoll asked, until the deadline. */
static int
s_poll_connect(PGconn *conn, PostgresPollingStatusType want, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - ob_clock_mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = PQsocket(conn), .events = want == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        if (pfd.fd < 0)
            return -1;
        int rc = poll(&pfd, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/*  One connect attempt, bounded by the connect timeout. */
static int
s_connect(ob_pg_t *self)
{
    int64_t deadline = ob_clock_mono_ms() + self->connect_timeout_ms;
    PGconn *conn = PQconnectStartParams(self->keywords, self->values, 0);
    const char *why = "out of memory";
    if (!conn)
        goto failed;
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
        if (state == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD) {
            why = PQerrorMessage(conn);
            goto failed;
        }
        if (s_poll_connect(conn, state, deadline) != 0) {
            why = "timed out";
            goto failed;
        }
        state = PQconnectPoll(conn);
    }
    PQsetNoticeProcessor(conn, s_on_notice, self);
    self->conn = conn;
    self->generation++;
    if (self->generation == 0)
        self->generation = 1; /* 0 means "never prepared" */

    for (size_t i = 0; i < self->nstmts && self->conn; i++)
        PQclear(s_prepare_on_session(self, &self->stmts[i]));
    for (size_t i = 0; i < self->nchannels && self->conn; i++)
        s_listen_on_session(self, self->channels[i]);
    if (!self->conn) {
        why = "the connection broke while preparing statements";
        conn = NULL;
        goto failed;
    }
    ob_backoff_reset(&self->backoff);
    self->next_attempt_ms = 0;
    ob_log_info("pg: connected to %s", self->describe);
    if (self->generation > 1)
        ob_metrics_count("ob_postgres_reconnects_total", RECONNECTS_HELP, NULL, NULL, 1);
    if (self->on_connect)
        self->on_connect(self->on_connect_arg, self);
    return self->conn ? 0 : -1;

failed:
    s_schedule_retry(self);
    s_count_error("connect");
    {
        /* Only the first line: libpq's message names host and port, never the password. */
        size_t len = strcspn(why, "\n");
        ob_log_warn("pg: cannot connect to %s: %.*s; next attempt in %d ms", self->describe, (int)len, why, self->backoff.last_ms);
    }
    if (conn)
        PQfinish(conn);
    return -1;
}

int
ob_pg_ensure(ob_pg_t *self)
{
    if (self->conn) {
        if (PQstatus(self->conn) == CONNECTION_OK)
            return 0;
        ob_log_warn("pg: connection to %s lost", self->describe);
        s_count_error("connection_lost");
        s_drop(self);
    }
    if (ob_clock_mono_ms() < self->next_attempt_ms)
        return -1;
    return s_connect(self);
}

static s_stmt_t *
s_find(ob_pg_t *self, const char *name)
{
    for (size_t i = 0; i < self->nstmts; i++)
        if (strcmp(self->stmts[i].name, name) == 0)
            return &self->stmts[i];
    return NULL;
}

int
ob_pg_prepare(ob_pg_t *self, const char *name, const char *sql, int nparams)
{
    s_stmt_t *stmt = s_find(self, name);
    if (stmt) {
        if (strcmp(stmt->sql, sql) == 0 && stmt->nparams == nparams)
            return 0;
        ob_log_error("pg: statement %s is already registered with other SQL", name);
        return -1;
    }
    if (self->nstmts == self->stmts_cap) {
        size_t cap = self->stmts_cap ? self->stmts_cap * 2 : 16;
        s_stmt_t *grown = realloc(self->stmts, cap * sizeof *grown);
        if (!grown)
            return -1;
        self->stmts = grown;
        self->stmts_cap = cap;
    }
    stmt = &self->stmts[self->nstmts];
    *stmt = (s_stmt_t){.name = strdup(name), .sql = strdup(sql), .nparams = nparams};
    if (!stmt->name || !stmt->sql) {
        free(stmt->name);
        free(stmt->sql);
        return -1;
    }
    self->nstmts++;
    if (!self->conn || PQstatus(self->conn) != CONNECTION_OK)
        return 0;
    PGresult *failed = s_prepare_on_session(self, stmt);
    PQclear(failed);
    return failed ? -1 : 0;
}

/*  A transaction whose session is gone must not continue on a new one. */
static bool
s_tx_lost(const ob_pg_t *self)
{
    return self->in_tx && (!self->conn || self->tx_generation != self->generation);
}

/*  Remembers the first failure inside a transaction, for ob_pg_commit. */
static void
s_note_tx_result(ob_pg_t *self, const PGresult *r)
{
    if (self->in_tx && self->tx_err == OB_OK && !s_result_ok(r))
        self->tx_err = ob_pg_classify(self, r);
}

PGresult *
ob_pg_exec(ob_pg_t *self, const char *name, int nparams, const char *const *values, const int *lengths, const int *formats)
{
    s_stmt_t *stmt = s_find(self, name);
    assert(stmt && "ob_pg_exec: statement not registered with ob_pg_prepare");
    if (!stmt) {
        ob_log_error("pg: statement %s is not registered", name);
        return PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
    }
    if (s_tx_lost(self) || ob_pg_ensure(self) != 0)
        return NULL;
    if (stmt->prepared_gen != self->generation) {
        PGresult *failed = s_prepare_on_session(self, stmt);
        if (failed || !self->conn) {
            s_note_tx_result(self, failed);
            return failed;
        }
    }
    PGresult *r = PQexecPrepared(self->conn, name, nparams, values, lengths, formats, 0);
    /* 26000: the session lost it (DISCARD ALL, a pooler); re-prepare once. */
    if (r && !self->in_tx && strcmp(s_sqlstate(r), "26000") == 0) {
        PQclear(r);
        PGresult *failed = s_prepare_on_session(self, stmt);
        if (failed || !self->conn)
            return failed;
        r = PQexecPrepared(self->conn, name, nparams, values, lengths, formats, 0);
    }
    s_note_tx_result(self, r);
    s_check_conn(self, r);
    return r;
}

PGresult *
ob_pg_exec_sql(ob_pg_t *self, const char *sql, int nparams, const char *const *values, const int *lengths, const int *formats)
{
    if (s_tx_lost(self) || ob_pg_ensure(self) != 0)
        return NULL;
    PGresult *r = PQexecParams(self->conn, sql, nparams, NULL, values, lengths, formats, 0);
    s_note_tx_result(self, r);
    s_check_conn(self, r);
    return r;
}

static bool
s_state_is(const char *state, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(state, *list) == 0)
            return true;
    return false;
}

ob_err_t
ob_pg_classify(ob_pg_t *self, const PGresult *r)
{
    /* Retrying these can succeed: conflicts between transactions, timeouts,
     * and the server or the connection going away. */
    static const char *const transient[] = {"40001", "40P01", "57014", "57P01", "57P02", "57P03", NULL};
    if (self->conn && PQstatus(self->conn) == CONNECTION_BAD) {
        ob_log_warn("pg: connection to %s lost", self->describe);
        s_count_error("connection_lost");
        s_drop(self);
    }
    if (!r)
        return OB_ERR_TRANSIENT;
    ExecStatusType status = PQresultStatus(r);
    if (s_result_ok(r))
        return OB_OK;
    /* Skipped because an earlier statement of the batch failed: that one says why. */
    if (status == PGRES_PIPELINE_ABORTED)
        return OB_ERR_TRANSIENT;
    const char *state = s_sqlstate(r);
    ob_log_debug("pg: statement failed on %s: [%s]", self->describe, state);
    if (strcmp(state, "23505") == 0)
        return OB_ERR_CONFLICT;
    s_count_error("statement");
    if (s_state_is(state, transient) || strncmp(state, "08", 2) == 0)
        return OB_ERR_TRANSIENT;
    if (*state == '\0' && !self->conn)
        return OB_ERR_TRANSIENT;
    return OB_ERR_INTERNAL;
}

ob_err_t
ob_pg_run(ob_pg_t *self, const char *name, int nparams, const char *const *values, PGresult **result)
{
    PGresult *r = ob_pg_exec(self, name, nparams, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(self, r);
    if (result && err == OB_OK)
        *result = r;
    else
        PQclear(r);
    return err;
}

static ob_err_t
s_exec_simple(ob_pg_t *self, const char *sql, PGresult **out)
{
    PGresult *r = PQexec(self->conn, sql);
    s_check_conn(self, r);
    ob_err_t err = ob_pg_classify(self, r);
    if (out)
        *out = r;
    else
        PQclear(r);
    return err;
}

ob_err_t
ob_pg_begin(ob_pg_t *self)
{
    if (self->in_tx) {
        ob_log_error("pg: begin inside a transaction");
        return OB_ERR_INTERNAL;
    }
    if (ob_pg_ensure(self) != 0)
        return OB_ERR_TRANSIENT;
    ob_err_t err = s_exec_simple(self, "BEGIN", NULL);
    if (err == OB_OK) {
        self->in_tx = true;
        self->tx_generation = self->generation;
        self->tx_err = OB_OK;
    }
    return err;
}

ob_err_t
ob_pg_commit(ob_pg_t *self)
{
    if (!self->in_tx) {
        ob_log_error("pg: commit outside a transaction");
        return OB_ERR_INTERNAL;
    }
    if (s_tx_lost(self)) {
        self->in_tx = false;
        return OB_ERR_TRANSIENT;
    }
    ob_err_t failed = self->tx_err != OB_OK ? self->tx_err : OB_ERR_INTERNAL;
    if (PQtransactionStatus(self->conn) == PQTRANS_INERROR) {
        ob_pg_rollback(self);
        return failed;
    }
    PGresult *r = NULL;
    ob_err_t err = s_exec_simple(self, "COMMIT", &r);
    /* COMMIT of a failed transaction "succeeds" with the tag ROLLBACK. */
    if (err == OB_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        err = failed;
    PQclear(r);
    self->in_tx = false;
    return err;
}

/*  Reads one statement's result of a pipeline and the NULL that ends it. */
static PGresult *
s_pipeline_result(PGconn *conn)
{
    PGresult *r = PQgetResult(conn);
    if (!r)
        return NULL;
    PGresult *extra;
    while ((extra = PQgetResult(conn)))
        PQclear(extra);
    return r;
}

/*  Sends the pipeline and collects its results; false when the connection
 *  broke on the way (results not received stay NULL). */
static bool
s_pipeline_run(PGconn *conn, int flags, ob_pg_step_t *steps, size_t n, PGresult **begin_r, PGresult **commit_r)
{
    if (!PQenterPipelineMode(conn))
        return false;
    bool ok = true;
    if (flags & OB_PG_PIPE_BEGIN)
        ok = PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (size_t i = 0; ok && i < n; i++)
        ok = PQsendQueryPrepared(conn, steps[i].name, steps[i].nparams, steps[i].values, steps[i].lengths, steps[i].formats, 0);
    if (ok && (flags & OB_PG_PIPE_COMMIT))
        ok = PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    ok = ok && PQpipelineSync(conn);
    if (ok && (flags & OB_PG_PIPE_BEGIN))
        ok = (*begin_r = s_pipeline_result(conn)) != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = (steps[i].result = s_pipeline_result(conn)) != NULL;
    if (ok && (flags & OB_PG_PIPE_COMMIT))
        ok = (*commit_r = s_pipeline_result(conn)) != NULL;
    if (ok) {
        PGresult *sync = PQgetResult(conn);
        ok = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
        PQclear(sync);
    }
    return PQexitPipelineMode(conn) && ok;
}

ob_err_t
ob_pg_pipeline(ob_pg_t *self, int flags, ob_pg_step_t *steps, size_t n, bool *commit_unknown)
{
    bool begin = flags & OB_PG_PIPE_BEGIN, commit = flags & OB_PG_PIPE_COMMIT;
    if (commit_unknown)
        *commit_unknown = false;
    for (size_t i = 0; i < n; i++)
        steps[i].result = NULL;
    if (begin == self->in_tx) {
        ob_log_error("pg: pipeline %s a transaction", begin ? "with BEGIN inside" : "outside");
        return OB_ERR_INTERNAL;
    }
    if (s_tx_lost(self) || ob_pg_ensure(self) != 0) {
        if (commit)
            self->in_tx = false;
        return OB_ERR_TRANSIENT;
    }
    /* Statements new to this session are prepared first, outside the pipeline. */
    for (size_t i = 0; i < n; i++) {
        s_stmt_t *stmt = s_find(self, steps[i].name);
        assert(stmt && "ob_pg_pipeline: statement not registered with ob_pg_prepare");
        PGresult *failed = !stmt                                    ? PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR)
                           : stmt->prepared_gen != self->generation ? s_prepare_on_session(self, stmt)
                                                                    : NULL;
        if (failed || !self->conn) {
            s_note_tx_result(self, failed);
            ob_err_t err = ob_pg_classify(self, failed);
            PQclear(failed);
            if (commit)
                ob_pg_rollback(self);
            return err != OB_OK ? err : OB_ERR_TRANSIENT;
        }
    }
    if (commit && PQtransactionStatus(self->conn) == PQTRANS_INERROR) {
        ob_err_t failed = self->tx_err != OB_OK ? self->tx_err : OB_ERR_INTERNAL;
        ob_pg_rollback(self);
        return failed;
    }
    PGresult *begin_r = NULL, *commit_r = NULL;
    if (!s_pipeline_run(self->conn, flags, steps, n, &begin_r, &commit_r)) {
        ob_log_warn("pg: connection to %s lost during a pipeline", self->describe);
        s_count_error("connection_lost");
        s_drop(self);
        if (commit_unknown)
            *commit_unknown = commit && (!begin || begin_r) && !commit_r;
        PQclear(begin_r);
        PQclear(commit_r);
        if (commit)
            self->in_tx = false;
        return OB_ERR_TRANSIENT;
    }
    ob_err_t err = OB_OK;
    if (begin) {
        err = ob_pg_classify(self, begin_r);
        self->in_tx = true;
        self->tx_generation = self->generation;
        self->tx_err = err;
    }
    for (size_t i = 0; i < n; i++) {
        s_note_tx_result(self, steps[i].result);
        ob_err_t step_err = ob_pg_classify(self, steps[i].result);
        if (err == OB_OK)
            err = step_err;
    }
    if (commit) {
        /* COMMIT of a failed transaction "succeeds" with the tag ROLLBACK; a skipped one left it failed. */
        bool committed = s_result_ok(commit_r) && strcmp(PQcmdStatus(commit_r), "COMMIT") == 0;
        if (err == OB_OK && !committed && (err = ob_pg_classify(self, commit_r)) == OB_OK)
            err = OB_ERR_INTERNAL;
        if (!committed && self->conn && PQtransactionStatus(self->conn) != PQTRANS_IDLE)
            s_exec_simple(self, "ROLLBACK", NULL);
        self->in_tx = false;
    }
    PQclear(begin_r);
    PQclear(commit_r);
    return err;
}

ob_err_t
ob_pg_rollback(ob_pg_t *self)
{
    bool lost = s_tx_lost(self);
    self->in_tx = false;
    /* A lost session took its transaction with it. */
    if (lost || !self->conn || PQstatus(self->conn) != CONNECTION_OK || PQtransactionStatus(self->conn) == PQTRANS_IDLE)
        return OB_OK;
    return s_exec_simple(self, "ROLLBACK", NULL);
}

int
ob_pg_listen(ob_pg_t *self, const char *channel)
{
    bool known = false;
    for (size_t i = 0; i < self->nchannels; i++)
        known = known || strcmp(self->channels[i], channel) == 0;
    if (!known) {
        if (self->nchannels == self->channels_cap) {
            size_t cap = self->channels_cap ? self->channels_cap * 2 : 4;
            char **grown = realloc(self->channels, cap * sizeof *grown);
            if (!grown)
                return -1;
            self->channels = grown;
            self->channels_cap = cap;
        }
        char *copy = strdup(channel);
        if (!copy)
            return -1;
        self->channels[self->nchannels++] = copy;
    }
    if (!self->conn || PQstatus(self->conn) != CONNECTION_OK)
        return 0;
    return s_listen_on_session(self, channel);
}

int
ob_pg_socket(ob_pg_t *self)
{
    return self->conn ? PQsocket(self->conn) : -1;
}

int
ob_pg_consume_notifies(ob_pg_t *self, ob_pg_notify_fn *cb, void *arg)
{
    if (!self->conn)
        return -1;
    if (!PQconsumeInput(self->conn) || PQstatus(self->conn) == CONNECTION_BAD) {
        ob_log_warn("pg: connection to %s lost while reading notifications", self->describe);
        s_count_error("connection_lost");
        s_drop(self);
        return -1;
    }
    int count = 0;
    unsigned generation = self->generation;
    PGnotify *note;
    /* cb may use self; stop if that replaced the session. */
    while (self->conn && self->generation == generation && (note = PQnotifies(self->conn))) {
        if (cb)
            cb(arg, note->relname, note->extra);
        PQfreemem(note);
        count++;
    }
    return count;
}

PGconn *
ob_pg_conn(ob_pg_t *self)
{
    return ob_pg_ensure(self) == 0 ? self->conn : NULL;
}
