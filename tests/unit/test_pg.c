/*  ob_pg against a real Postgres started by this binary (skipped without one). */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/new/assert.h>
#include <poll.h>
#include <time.h>

#include "common/ob_pg.h"
#include "tests/unit/pg_cluster.h"

static pg_cluster_t s_cluster;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    int rc = pg_cluster_start(&s_cluster);
    if (rc == -1)
        fprintf(stderr, "test_pg: no Postgres server binaries (or no postgres user); database tests are skipped\n");
    else if (rc != 0)
        fprintf(stderr, "test_pg: %s\n", pg_cluster_error());
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    pg_cluster_stop(&s_cluster);
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  A database of its own for the calling test (each test is a process). */
static char s_conninfo[256];
static PGconn *s_admin; /* a second session, to poke at the first */

static void
s_fresh_db(void)
{
    if (pg_cluster_error())
        cr_fail("%s", pg_cluster_error());
    if (!pg_cluster_conninfo())
        cr_skip_test("no Postgres server binaries");
    cr_assert(eq(int, pg_cluster_fresh_db("t_pg", s_conninfo, sizeof s_conninfo), 0));
    s_admin = PQconnectdb(s_conninfo);
    cr_assert(eq(int, PQstatus(s_admin), CONNECTION_OK));
}

static void
s_admin_exec(const char *sql)
{
    PGresult *r = PQexec(s_admin, sql);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
              PQerrorMessage(s_admin));
    PQclear(r);
}

static long
s_admin_count(const char *sql)
{
    PGresult *r = PQexec(s_admin, sql);
    cr_assert(eq(int, PQresultStatus(r), PGRES_TUPLES_OK), "%s", PQerrorMessage(s_admin));
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void
s_teardown(void)
{
    if (s_admin)
        PQfinish(s_admin);
    s_admin = NULL;
}

/*  Kills the backend serving pg, as a crash or a failover would. */
static void
s_kill_backend(ob_pg_t *pg)
{
    PGresult *r = ob_pg_exec_sql(pg, "SELECT pg_backend_pid()", 0, NULL, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK));
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%s)", PQgetvalue(r, 0, 0));
    PQclear(r);
    s_admin_exec(sql);
    usleep(50 * 1000);
}

static ob_err_t
s_exec_class(ob_pg_t *pg, const char *sql)
{
    PGresult *r = ob_pg_exec_sql(pg, sql, 0, NULL, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    PQclear(r);
    return err;
}

TestSuite(pg, .init = s_fresh_db, .fini = s_teardown, .timeout = 30);

Test(pg, classify_maps_sqlstates)
{
    static const struct {
        const char *sqlstate;
        ob_err_t expected;
    } cases[] = {
        {"23505", OB_ERR_CONFLICT},  {"40001", OB_ERR_TRANSIENT}, {"40P01", OB_ERR_TRANSIENT},
        {"57014", OB_ERR_TRANSIENT}, {"08006", OB_ERR_TRANSIENT}, {"08001", OB_ERR_TRANSIENT},
        {"22P02", OB_ERR_INTERNAL},  {"42P01", OB_ERR_INTERNAL},  {"23503", OB_ERR_INTERNAL},
    };
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int,
                 s_exec_class(pg, "CREATE FUNCTION raise_state(code text) RETURNS void LANGUAGE plpgsql "
                                  "AS $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = code; END $$"),
                 OB_OK));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *values[] = {cases[i].sqlstate};
        PGresult *r = ob_pg_exec_sql(pg, "SELECT raise_state($1)", 1, values, NULL, NULL);
        cr_assert(eq(str, PQresultErrorField(r, PG_DIAG_SQLSTATE), (char *)cases[i].sqlstate));
        cr_assert(eq(int, ob_pg_classify(pg, r), cases[i].expected), "sqlstate %s", cases[i].sqlstate);
        PQclear(r);
    }
    cr_assert(eq(int, ob_pg_classify(pg, NULL), OB_ERR_TRANSIENT));
    cr_assert(eq(int, s_exec_class(pg, "SELECT 1"), OB_OK));
    ob_pg_destroy(&pg);
    cr_assert(pg == NULL);
}

Test(pg, unique_violation_is_a_conflict)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, s_exec_class(pg, "CREATE TABLE events (id text PRIMARY KEY)"), OB_OK));
    cr_assert(eq(int, ob_pg_prepare(pg, "event_insert", "INSERT INTO events (id) VALUES ($1)", 1), 0));
    const char *values[] = {"evt_1"};
    PGresult *r = ob_pg_exec(pg, "event_insert", 1, values, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK));
    PQclear(r);
    r = ob_pg_exec(pg, "event_insert", 1, values, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_ERR_CONFLICT));
    PQclear(r);
    ob_pg_destroy(&pg);
}

Test(pg, statement_timeout_is_transient_and_the_session_survives)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, s_exec_class(pg, "SET statement_timeout = 50"), OB_OK));
    cr_assert(eq(int, s_exec_class(pg, "SELECT pg_sleep(2)"), OB_ERR_TRANSIENT));
    cr_assert(eq(int, s_exec_class(pg, "SELECT 1"), OB_OK));
    cr_assert(eq(int, ob_pg_generation(pg), 1));
    ob_pg_destroy(&pg);
}

Test(pg, prepared_statements_are_registered_once_and_checked)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    /* Before any connection: recorded, prepared on connect. */
    cr_assert(eq(int, ob_pg_prepare(pg, "add", "SELECT $1::int + $2::int", 2), 0));
    cr_assert(eq(int, ob_pg_prepare(pg, "add", "SELECT $1::int + $2::int", 2), 0));
    cr_assert(eq(int, ob_pg_prepare(pg, "add", "SELECT $1::int - $2::int", 2), -1));
    cr_assert(eq(int, ob_pg_ensure(pg), 0));
    const char *values[] = {"40", "2"};
    PGresult *r = ob_pg_exec(pg, "add", 2, values, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK));
    cr_assert(eq(str, PQgetvalue(r, 0, 0), "42"));
    PQclear(r);
    /* Bad SQL while connected: -1 now, and exec reports the server's error. */
    cr_assert(eq(int, ob_pg_prepare(pg, "broken", "SELECT * FROM no_such_table", 0), -1));
    r = ob_pg_exec(pg, "broken", 0, NULL, NULL, NULL);
    cr_assert(r != NULL);
    cr_assert(eq(str, PQresultErrorField(r, PG_DIAG_SQLSTATE), "42P01"));
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_ERR_INTERNAL));
    PQclear(r);
    /* Once the table exists, the same registration works. */
    cr_assert(eq(int, s_exec_class(pg, "CREATE TABLE no_such_table (x int)"), OB_OK));
    r = ob_pg_exec(pg, "broken", 0, NULL, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK));
    PQclear(r);
    ob_pg_destroy(&pg);
}

Test(pg, binary_parameters_round_trip)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, ob_pg_prepare(pg, "echo", "SELECT length($1::bytea), encode($1::bytea, 'hex')", 1), 0));
    const char bytes[] = {'a', 0, (char)0xff};
    const char *values[] = {bytes};
    const int lengths[] = {3}, formats[] = {1};
    PGresult *r = ob_pg_exec(pg, "echo", 1, values, lengths, formats);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK));
    cr_assert(eq(str, PQgetvalue(r, 0, 0), "3"));
    cr_assert(eq(str, PQgetvalue(r, 0, 1), "6100ff"));
    PQclear(r);
    ob_pg_destroy(&pg);
}

Test(pg, reconnects_and_re_prepares_after_the_backend_dies)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, ob_pg_prepare(pg, "one", "SELECT 1", 0), 0));
    PGresult *r = ob_pg_exec(pg, "one", 0, NULL, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK));
    PQclear(r);
    s_kill_backend(pg);

    r = ob_pg_exec(pg, "one", 0, NULL, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_ERR_TRANSIENT), "a dead session is transient");
    PQclear(r);
    r = ob_pg_exec(pg, "one", 0, NULL, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK), "the next call reconnects and re-prepares");
    cr_assert(eq(str, PQgetvalue(r, 0, 0), "1"));
    PQclear(r);
    cr_assert(eq(int, ob_pg_generation(pg), 2));
    ob_pg_destroy(&pg);
}

typedef struct {
    int connects;
    int notes;
    char payload[64];
} s_listener_t;

static void
s_on_connect(void *arg, ob_pg_t *pg)
{
    (void)pg;
    ((s_listener_t *)arg)->connects++;
}

static void
s_on_notify(void *arg, const char *channel, const char *payload)
{
    s_listener_t *listener = arg;
    cr_assert(eq(str, (char *)channel, "jobs ready"));
    listener->notes++;
    snprintf(listener->payload, sizeof listener->payload, "%s", payload);
}

/*  Waits up to 2 s for a notification on pg's socket. */
static void
s_wait_notify(ob_pg_t *pg, s_listener_t *listener, int want)
{
    int64_t deadline = s_now_ms() + 2000;
    while (listener->notes < want && s_now_ms() < deadline) {
        struct pollfd pfd = {.fd = ob_pg_socket(pg), .events = POLLIN};
        cr_assert(pfd.fd >= 0);
        poll(&pfd, 1, 100);
        cr_assert(ob_pg_consume_notifies(pg, s_on_notify, listener) >= 0);
    }
    cr_assert(eq(int, listener->notes, want));
}

Test(pg, listen_survives_a_reconnect)
{
    s_listener_t listener = {0};
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    ob_pg_set_on_connect(pg, s_on_connect, &listener);
    cr_assert(eq(int, ob_pg_listen(pg, "jobs ready"), 0), "recorded before connecting");
    cr_assert(eq(int, ob_pg_ensure(pg), 0));
    cr_assert(eq(int, listener.connects, 1));

    s_admin_exec("NOTIFY \"jobs ready\", 'first'");
    s_wait_notify(pg, &listener, 1);
    cr_assert(eq(str, listener.payload, "first"));

    s_kill_backend(pg);
    int rc = 0;
    for (int64_t deadline = s_now_ms() + 2000; rc >= 0 && s_now_ms() < deadline;) {
        struct pollfd pfd = {.fd = ob_pg_socket(pg), .events = POLLIN};
        poll(&pfd, 1, 100);
        rc = ob_pg_consume_notifies(pg, s_on_notify, &listener);
    }
    cr_assert(eq(int, rc, -1), "the broken session is noticed");
    cr_assert(eq(int, ob_pg_socket(pg), -1));
    cr_assert(eq(int, ob_pg_ensure(pg), 0));
    cr_assert(eq(int, listener.connects, 2), "on_connect runs again, for a catch-up scan");

    s_admin_exec("NOTIFY \"jobs ready\", 'second'");
    s_wait_notify(pg, &listener, 2);
    cr_assert(eq(str, listener.payload, "second"));
    ob_pg_destroy(&pg);
}

Test(pg, transactions_commit_roll_back_and_report_failures)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, s_exec_class(pg, "CREATE TABLE t (id int PRIMARY KEY)"), OB_OK));
    cr_assert(eq(int, ob_pg_prepare(pg, "ins", "INSERT INTO t VALUES ($1::int)", 1), 0));
    const char *one[] = {"1"}, *two[] = {"2"};

    cr_assert(eq(int, ob_pg_begin(pg), OB_OK));
    cr_assert(ob_pg_in_transaction(pg));
    PQclear(ob_pg_exec(pg, "ins", 1, one, NULL, NULL));
    cr_assert(eq(int, ob_pg_rollback(pg), OB_OK));
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 0L));

    cr_assert(eq(int, ob_pg_begin(pg), OB_OK));
    PQclear(ob_pg_exec(pg, "ins", 1, one, NULL, NULL));
    cr_assert(eq(int, ob_pg_commit(pg), OB_OK));
    cr_assert(not(ob_pg_in_transaction(pg)));
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 1L));

    /* A failed statement inside: commit rolls back and says why. */
    cr_assert(eq(int, ob_pg_begin(pg), OB_OK));
    PQclear(ob_pg_exec(pg, "ins", 1, two, NULL, NULL));
    PQclear(ob_pg_exec(pg, "ins", 1, one, NULL, NULL));
    cr_assert(eq(int, ob_pg_commit(pg), OB_ERR_CONFLICT));
    cr_assert(not(ob_pg_in_transaction(pg)));
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 1L));
    cr_assert(eq(int, s_exec_class(pg, "SELECT 1"), OB_OK), "the session is usable again");
    ob_pg_destroy(&pg);
}

Test(pg, a_transaction_never_continues_on_a_new_session)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, s_exec_class(pg, "CREATE TABLE t (id int)"), OB_OK));
    cr_assert(eq(int, ob_pg_prepare(pg, "ins", "INSERT INTO t VALUES ($1::int)", 1), 0));
    const char *one[] = {"1"};
    cr_assert(eq(int, ob_pg_begin(pg), OB_OK));
    PQclear(ob_pg_exec(pg, "ins", 1, one, NULL, NULL));
    s_kill_backend(pg);

    /* The first call meets the dead session; later ones must not open a new one. */
    for (int i = 0; i < 3; i++) {
        PGresult *r = ob_pg_exec(pg, "ins", 1, one, NULL, NULL);
        cr_assert(eq(int, ob_pg_classify(pg, r), OB_ERR_TRANSIENT));
        cr_assert(i == 0 || r == NULL, "no autocommitted half of a transaction");
        PQclear(r);
    }
    cr_assert(ob_pg_in_transaction(pg));
    cr_assert(eq(int, ob_pg_commit(pg), OB_ERR_TRANSIENT));
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 0L));
    PGresult *r = ob_pg_exec(pg, "ins", 1, one, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK), "outside a transaction it reconnects");
    PQclear(r);
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 1L));
    ob_pg_destroy(&pg);
}

Test(pg, the_raw_connection_does_pipelines)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    PGconn *conn = ob_pg_conn(pg);
    cr_assert(conn != NULL);
    cr_assert(eq(int, PQenterPipelineMode(conn), 1));
    for (int i = 0; i < 3; i++) {
        char value[8];
        snprintf(value, sizeof value, "%d", i);
        const char *values[] = {value};
        cr_assert(eq(int, PQsendQueryParams(conn, "SELECT $1::int * 10", 1, NULL, values, NULL, NULL, 0), 1));
    }
    cr_assert(eq(int, PQpipelineSync(conn), 1));
    int rows = 0;
    for (int i = 0; i < 3; i++) {
        PGresult *r = PQgetResult(conn);
        cr_assert(eq(int, ob_pg_classify(pg, r), OB_OK));
        rows += atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        cr_assert(PQgetResult(conn) == NULL);
    }
    PGresult *sync = PQgetResult(conn);
    cr_assert(eq(int, PQresultStatus(sync), PGRES_PIPELINE_SYNC));
    PQclear(sync);
    cr_assert(eq(int, PQexitPipelineMode(conn), 1));
    cr_assert(eq(int, rows, 30));
    ob_pg_destroy(&pg);
}

Test(pg, a_pipeline_opens_runs_and_commits_in_one_round_trip)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, s_exec_class(pg, "CREATE TABLE t (id int PRIMARY KEY)"), OB_OK));
    cr_assert(eq(int, ob_pg_prepare(pg, "ins", "INSERT INTO t VALUES ($1::int) RETURNING id * 10", 1), 0));
    const char *one[] = {"1"}, *two[] = {"2"};

    /* BEGIN + two statements, the transaction stays open; then the rest and COMMIT. */
    ob_pg_step_t steps[] = {{"ins", 1, one, NULL, NULL, NULL}, {"ins", 1, two, NULL, NULL, NULL}};
    cr_assert(eq(int, ob_pg_pipeline(pg, OB_PG_PIPE_BEGIN, steps, 2, NULL), OB_OK));
    cr_assert(ob_pg_in_transaction(pg));
    cr_assert(eq(str, PQgetvalue(steps[1].result, 0, 0), "20"));
    PQclear(steps[0].result);
    PQclear(steps[1].result);
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 0L), "nothing visible before the commit");
    bool unknown = true;
    cr_assert(eq(int, ob_pg_pipeline(pg, OB_PG_PIPE_COMMIT, NULL, 0, &unknown), OB_OK));
    cr_assert(not(unknown));
    cr_assert(not(ob_pg_in_transaction(pg)));
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 2L));

    /* A failing statement: the rest is skipped, nothing commits, the session is usable. */
    const char *three[] = {"3"};
    ob_pg_step_t bad[] = {
        {"ins", 1, three, NULL, NULL, NULL}, {"ins", 1, one, NULL, NULL, NULL}, {"ins", 1, two, NULL, NULL, NULL}};
    cr_assert(eq(int, ob_pg_pipeline(pg, OB_PG_PIPE_BEGIN | OB_PG_PIPE_COMMIT, bad, 3, &unknown), OB_ERR_CONFLICT));
    cr_assert(not(unknown));
    cr_assert(eq(int, PQresultStatus(bad[2].result), PGRES_PIPELINE_ABORTED));
    for (int i = 0; i < 3; i++)
        PQclear(bad[i].result);
    cr_assert(not(ob_pg_in_transaction(pg)));
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 2L), "3 rolled back with the rest");
    cr_assert(eq(int, s_exec_class(pg, "SELECT 1"), OB_OK), "the session is usable again");

    /* Misuse is refused: a BEGIN inside a transaction, steps outside one. */
    cr_assert(eq(int, ob_pg_pipeline(pg, OB_PG_PIPE_COMMIT, NULL, 0, NULL), OB_ERR_INTERNAL));
    ob_pg_destroy(&pg);
}

Test(pg, a_pipeline_never_continues_on_a_new_session)
{
    ob_pg_t *pg = ob_pg_new(s_conninfo, "test_pg");
    cr_assert(eq(int, s_exec_class(pg, "CREATE TABLE t (id int)"), OB_OK));
    cr_assert(eq(int, ob_pg_prepare(pg, "ins", "INSERT INTO t VALUES ($1::int)", 1), 0));
    const char *one[] = {"1"};
    ob_pg_step_t steps[] = {{"ins", 1, one, NULL, NULL, NULL}};
    cr_assert(eq(int, ob_pg_pipeline(pg, OB_PG_PIPE_BEGIN, steps, 1, NULL), OB_OK));
    PQclear(steps[0].result);
    s_kill_backend(pg);
    bool unknown = false;
    cr_assert(eq(int, ob_pg_pipeline(pg, OB_PG_PIPE_COMMIT, steps, 1, &unknown), OB_ERR_TRANSIENT));
    PQclear(steps[0].result);
    cr_assert(not(ob_pg_in_transaction(pg)));
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 0L));
    cr_assert(eq(int, ob_pg_pipeline(pg, OB_PG_PIPE_BEGIN | OB_PG_PIPE_COMMIT, steps, 1, &unknown), OB_OK),
              "a new transaction on a new session");
    PQclear(steps[0].result);
    cr_assert(eq(long, s_admin_count("SELECT count(*) FROM t"), 1L));
    ob_pg_destroy(&pg);
}

/* Without a server: no database needed. */

Test(pg_offline, parses_urls_and_never_describes_the_password)
{
    ob_pg_t *pg = ob_pg_new("postgres://billing:s3cret@db.internal:6543/billing?sslmode=disable", "svc");
    cr_assert(pg != NULL);
    cr_assert(eq(str, (char *)ob_pg_describe(pg), "db.internal:6543/billing"));
    ob_pg_destroy(&pg);
    pg = ob_pg_new("host=10.0.0.1 dbname=billing password=s3cret", NULL);
    cr_assert(eq(str, (char *)ob_pg_describe(pg), "10.0.0.1:5432/billing"));
    ob_pg_destroy(&pg);
    cr_assert(ob_pg_new("host=x port", "svc") == NULL);
    cr_assert(ob_pg_new("postgres://host/db?no_such_option=1", "svc") == NULL);
    ob_pg_destroy(&pg);
}

Test(pg_offline, a_down_server_fails_fast_and_backs_off)
{
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d dbname=x user=x connect_timeout=2", pg_cluster_free_port());
    ob_pg_t *pg = ob_pg_new(conninfo, "test_pg");
    ob_pg_set_backoff(pg, 300, 1000);
    int64_t start = s_now_ms();
    cr_assert(eq(int, ob_pg_ensure(pg), -1));
    cr_assert(lt(i64, s_now_ms() - start, 1000));
    cr_assert(gt(int, ob_pg_retry_in_ms(pg), 100));

    start = s_now_ms();
    cr_assert(eq(int, ob_pg_ensure(pg), -1), "backing off: no attempt");
    PGresult *r = ob_pg_exec_sql(pg, "SELECT 1", 0, NULL, NULL, NULL);
    cr_assert(r == NULL);
    cr_assert(eq(int, ob_pg_classify(pg, r), OB_ERR_TRANSIENT));
    cr_assert(eq(int, ob_pg_begin(pg), OB_ERR_TRANSIENT));
    cr_assert(lt(i64, s_now_ms() - start, 50));
    cr_assert(ob_pg_conn(pg) == NULL);
    cr_assert(eq(int, ob_pg_socket(pg), -1));
    ob_pg_destroy(&pg);
}

Test(pg_offline, a_silent_server_is_bounded_by_the_connect_timeout, .timeout = 10)
{
    /* Accepts TCP (the kernel does, from the backlog) but never answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&addr, sizeof addr), 0));
    cr_assert(eq(int, listen(fd, 4), 0));
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&addr, &len), 0));
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d dbname=x user=x connect_timeout=1 sslmode=disable",
             ntohs(addr.sin_port));
    ob_pg_t *pg = ob_pg_new(conninfo, "test_pg");
    int64_t start = s_now_ms();
    cr_assert(eq(int, ob_pg_ensure(pg), -1));
    int64_t took = s_now_ms() - start;
    cr_assert(ge(i64, took, 900));
    cr_assert(lt(i64, took, 1500));
    ob_pg_destroy(&pg);
    close(fd);
}
