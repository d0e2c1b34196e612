/*  ob_migrate against a real Postgres started by this binary (skipped without one). */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/new/assert.h>
#include <sys/wait.h>

#include "common/ob_migrate.h"
#include "common/ob_pg.h"
#include "tests/unit/pg_cluster.h"

static pg_cluster_t s_cluster;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    int rc = pg_cluster_start(&s_cluster);
    if (rc == -1)
        fprintf(stderr, "test_migrate: no Postgres server binaries (or no postgres user); database tests are skipped\n");
    else if (rc != 0)
        fprintf(stderr, "test_migrate: %s\n", pg_cluster_error());
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    pg_cluster_stop(&s_cluster);
}

static char s_conninfo[256];
static char s_dir[64]; /* this test's migrations directory */
static ob_pg_t *s_pg;

static void
s_setup(void)
{
    if (pg_cluster_error())
        cr_fail("%s", pg_cluster_error());
    if (!pg_cluster_conninfo())
        cr_skip_test("no Postgres server binaries");
    cr_assert(eq(int, pg_cluster_fresh_db("t_migrate", s_conninfo, sizeof s_conninfo), 0));
    snprintf(s_dir, sizeof s_dir, "/tmp/ob-test-migrations-XXXXXX");
    cr_assert(mkdtemp(s_dir) != NULL);
    s_pg = ob_pg_new(s_conninfo, "test_migrate");
    cr_assert(s_pg != NULL);
}

static void
s_teardown(void)
{
    ob_pg_destroy(&s_pg);
    if (s_dir[0])
        pg_cluster_run("rm -rf %s", s_dir);
}

static void
s_write(const char *name, const char *sql)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL);
    fputs(sql, file);
    fclose(file);
}

/*  The first column of every row of sql, joined by ",". */
static char *
s_query(const char *sql)
{
    static char joined[1024];
    PGresult *r = ob_pg_exec_sql(s_pg, sql, 0, NULL, NULL, NULL);
    cr_assert(eq(int, ob_pg_classify(s_pg, r), OB_OK), "%s", sql);
    joined[0] = '\0';
    for (int i = 0; i < PQntuples(r); i++) {
        if (i)
            strcat(joined, ",");
        strcat(joined, PQgetvalue(r, i, 0));
    }
    PQclear(r);
    return joined;
}

/*  Runs ob_migrate_apply, capturing what it prints. */
typedef struct {
    int rc;
    ob_migrate_result_t result;
    char out[2048], err[2048];
} s_run_t;

static s_run_t
s_migrate(void)
{
    s_run_t run;
    char *out_text = NULL, *err_text = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *out = open_memstream(&out_text, &out_len), *err = open_memstream(&err_text, &err_len);
    run.rc = ob_migrate_apply(s_pg, s_dir, out, err, &run.result);
    fclose(out);
    fclose(err);
    snprintf(run.out, sizeof run.out, "%s", out_text);
    snprintf(run.err, sizeof run.err, "%s", err_text);
    free(out_text);
    free(err_text);
    return run;
}

TestSuite(migrate, .init = s_setup, .fini = s_teardown, .timeout = 60);

Test(migrate, applies_files_in_lexical_order_once)
{
    s_write("010_c.sql", "ALTER TABLE b ADD COLUMN note text;");
    s_write("002_b.sql", "CREATE TABLE b (a_id int REFERENCES a (id));\nINSERT INTO a VALUES (1);");
    s_write("001_a.sql", "CREATE TABLE a (id int PRIMARY KEY);");
    s_write("README.md", "not SQL");
    s_write(".hidden.sql", "SELECT broken");

    s_run_t first = s_migrate();
    cr_assert(eq(int, first.rc, 0), "%s", first.err);
    cr_assert(eq(int, first.result.applied, 3));
    cr_assert(eq(int, first.result.skipped, 0));
    cr_assert(strstr(first.out, "applied 001_a") < strstr(first.out, "applied 002_b"));
    cr_assert(strstr(first.out, "applied 002_b") < strstr(first.out, "applied 010_c"));
    cr_assert(eq(str, s_query("SELECT version FROM schema_migrations ORDER BY applied_at, version"), "001_a,002_b,010_c"));
    cr_assert(eq(str, s_query("SELECT count(*) FROM schema_migrations WHERE applied_at IS NOT NULL"), "3"));

    s_run_t second = s_migrate();
    cr_assert(eq(int, second.rc, 0));
    cr_assert(eq(int, second.result.applied, 0));
    cr_assert(eq(int, second.result.skipped, 3));
    cr_assert(eq(str, second.out, ""));
    cr_assert(eq(str, s_query("SELECT count(*) FROM a"), "1"), "002 ran once");

    s_write("011_d.sql", "INSERT INTO a VALUES (2);");
    s_run_t third = s_migrate();
    cr_assert(eq(int, third.result.applied, 1));
    cr_assert(strstr(third.out, "applied 011_d") != NULL);
}

Test(migrate, a_failing_file_is_rolled_back_and_stops_the_run)
{
    s_write("001_ok.sql", "CREATE TABLE ok (id int);");
    s_write("002_bad.sql", "CREATE TABLE half (id int);\nINSERT INTO ok VALUES (1);\nSELEC 1;\n");
    s_write("003_later.sql", "CREATE TABLE later (id int);");

    s_run_t run = s_migrate();
    cr_assert(eq(int, run.rc, -1));
    cr_assert(eq(int, run.result.applied, 1));
    cr_assert(strstr(run.err, "002_bad.sql failed at line 3") != NULL, "%s", run.err);
    cr_assert(strstr(run.err, "SQLSTATE 42601") != NULL, "%s", run.err);
    cr_assert(eq(str, s_query("SELECT version FROM schema_migrations ORDER BY version"), "001_ok"));
    cr_assert(eq(str, s_query("SELECT count(*) FROM pg_tables WHERE tablename IN ('half', 'later')"), "0"));
    cr_assert(eq(str, s_query("SELECT count(*) FROM ok"), "0"));

    s_write("002_bad.sql", "CREATE TABLE half (id int);\nINSERT INTO ok VALUES (1);\n");
    run = s_migrate();
    cr_assert(eq(int, run.rc, 0), "%s", run.err);
    cr_assert(eq(int, run.result.applied, 2));
    cr_assert(eq(int, run.result.skipped, 1));
    cr_assert(eq(str, s_query("SELECT count(*) FROM ok"), "1"));
}

Test(migrate, concurrent_runs_apply_each_file_once)
{
    enum { RUNNERS = 6, FILES = 5 };
    s_write("001_log.sql", "CREATE TABLE applied_log (version text); INSERT INTO applied_log VALUES ('001');");
    for (int i = 2; i <= FILES; i++) {
        char name[32], sql[128];
        snprintf(name, sizeof name, "%03d_step.sql", i);
        snprintf(sql, sizeof sql, "SELECT pg_sleep(0.05); INSERT INTO applied_log VALUES ('%03d');", i);
        s_write(name, sql);
    }
    pid_t children[RUNNERS];
    for (int i = 0; i < RUNNERS; i++) {
        children[i] = fork();
        cr_assert(children[i] >= 0);
        if (children[i] == 0) {
            ob_pg_t *pg = ob_pg_new(s_conninfo, "test_migrate_child");
            ob_migrate_result_t result = {0};
            int rc = ob_migrate_apply(pg, s_dir, NULL, stderr, &result);
            ob_pg_destroy(&pg);
            _exit(rc == 0 ? result.applied : 100);
        }
    }
    int applied = 0;
    for (int i = 0; i < RUNNERS; i++) {
        int status;
        cr_assert(eq(int, waitpid(children[i], &status, 0), children[i]));
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
        cr_assert(lt(int, code, 100), "a runner failed");
        applied += code;
    }
    cr_assert(eq(int, applied, FILES));
    cr_assert(eq(str, s_query("SELECT count(*) FROM applied_log"), "5"));
    cr_assert(eq(str, s_query("SELECT count(DISTINCT version) FROM applied_log"), "5"));
    cr_assert(eq(str, s_query("SELECT count(*) FROM schema_migrations"), "5"));
}

Test(migrate, a_file_that_commits_by_itself_is_not_recorded)
{
    s_write("001_commits.sql", "CREATE TABLE x (id int); COMMIT;");
    s_run_t run = s_migrate();
    cr_assert(eq(int, run.rc, -1));
    cr_assert(strstr(run.err, "ended the transaction itself") != NULL, "%s", run.err);
    cr_assert(eq(str, s_query("SELECT count(*) FROM schema_migrations"), "0"));
}

Test(migrate, an_empty_or_missing_directory)
{
    s_run_t run = s_migrate();
    cr_assert(eq(int, run.rc, 0));
    cr_assert(eq(int, run.result.applied, 0));
    cr_assert(eq(str, s_query("SELECT count(*) FROM schema_migrations"), "0"), "the table exists");

    pg_cluster_run("rm -rf %s", s_dir);
    run = s_migrate();
    cr_assert(eq(int, run.rc, -1));
    cr_assert(strstr(run.err, "cannot read directory") != NULL, "%s", run.err);
    s_dir[0] = '\0';
}
