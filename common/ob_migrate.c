/*  ob_migrate - applies versioned SQL files, each exactly once. */
#include "common/ob_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/ob_log.h"

#define S_LOCK_SQL "SELECT pg_advisory_xact_lock($1::bigint)"

static void s_say(FILE *stream, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
s_say(FILE *stream, const char *fmt, ...)
{
    if (!stream)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stream, fmt, ap);
    va_end(ap);
    fflush(stream);
}

static int
s_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
s_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/*  The *.sql regular files of dir, sorted byte-wise (not by locale). */
static int
s_list(const char *dir, char ***names_out, size_t *count_out, FILE *err)
{
    DIR *handle = opendir(dir);
    if (!handle) {
        s_say(err, "migrate: cannot read directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *entry;
    int rc = 0;
    while ((entry = readdir(handle))) {
        size_t len = strlen(entry->d_name);
        if (entry->d_name[0] == '.' || len <= 4 || strcmp(entry->d_name + len - 4, ".sql") != 0)
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
        }
        if (!(names[count] = strdup(entry->d_name))) {
            rc = -1;
            break;
        }
        count++;
    }
    closedir(handle);
    if (rc != 0) {
        s_say(err, "migrate: out of memory\n");
        s_free_names(names, count);
        return -1;
    }
    if (count)
        qsort(names, count, sizeof *names, s_compare_names);
    *names_out = names;
    *count_out = count;
    return 0;
}

static char *
s_read_file(const char *path, FILE *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        s_say(err, "migrate: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[65536];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof buf, file)) > 0)
        fwrite(buf, 1, n, mem);
    bool failed = ferror(file) || !mem;
    fclose(file);
    if (mem)
        fclose(mem);
    if (failed || memchr(text, '\0', len)) {
        s_say(err, "migrate: cannot read %s (or it holds a NUL byte)\n", path);
        free(text);
        return NULL;
    }
    return text;
}

/*  The line of a 1-based character position in sql, for error messages. */
static int
s_line_of(const char *sql, const char *position)
{
    long pos = position ? atol(position) : 0;
    int line = 1;
    for (long i = 0; i + 1 < pos && sql[i]; i++)
        line += sql[i] == '\n';
    return line;
}

/*  Runs one statement inside the current transaction; 0 when it succeeded. */
static int
s_step(ob_pg_t *pg, const char *sql, int nparams, const char *const *values, PGresult **out, FILE *err, const char *what)
{
    PGresult *r = ob_pg_exec_sql(pg, sql, nparams, values, NULL, NULL);
    if (ob_pg_classify(pg, r) != OB_OK) {
        s_say(err, "migrate: %s failed: %s\n", what, r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "connection lost");
        PQclear(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/*  BEGIN, no statement timeout (migrations may be slow), then the lock. */
static int
s_begin_locked(ob_pg_t *pg, FILE *err)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", OB_MIGRATE_LOCK_KEY);
    const char *values[] = {key};
    if (ob_pg_begin(pg) != OB_OK) {
        s_say(err, "migrate: cannot begin a transaction on %s\n", ob_pg_describe(pg));
        return -1;
    }
    if (s_step(pg, "SET LOCAL statement_timeout = 0", 0, NULL, NULL, err, "SET statement_timeout") != 0 ||
        s_step(pg, S_LOCK_SQL, 1, values, NULL, err, "taking the migration lock") != 0) {
        ob_pg_rollback(pg);
        return -1;
    }
    return 0;
}

/*  Applies one file under the lock unless it is recorded already.
 *  Returns 1 applied, 0 already there, -1 failed. */
static int
s_apply_one(ob_pg_t *pg, const char *dir, const char *name, FILE *out, FILE *err)
{
    char version[1024];
    snprintf(version, sizeof version, "%.*s", (int)(strlen(name) - 4), name);
    const char *values[] = {version};

    if (s_begin_locked(pg, err) != 0)
        return -1;
    PGresult *r = NULL;
    if (s_step(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, values, &r, err, "reading schema_migrations") != 0) {
        ob_pg_rollback(pg);
        return -1;
    }
    bool done = PQntuples(r) > 0;
    PQclear(r);
    if (done) {
        ob_pg_rollback(pg);
        return 0;
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = s_read_file(path, err);
    if (!sql) {
        ob_pg_rollback(pg);
        return -1;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);

    /* A file may hold many statements: only the simple protocol runs them.
     * Never on a session other than the one holding our transaction. */
    unsigned generation = ob_pg_generation(pg);
    PGconn *conn = ob_pg_conn(pg);
    if (!conn || ob_pg_generation(pg) != generation || PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        s_say(err, "migrate: %s: connection lost\n", name);
        free(sql);
        ob_pg_rollback(pg);
        return -1;
    }
    r = PQexec(conn, sql);
    if (ob_pg_classify(pg, r) != OB_OK) {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        const char *message = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        s_say(err, "migrate: %s failed at line %d: %s (SQLSTATE %s)\n", name,
              s_line_of(sql, r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL), message ? message : "connection lost",
              state ? state : "none");
        PQclear(r);
        free(sql);
        ob_pg_rollback(pg);
        return -1;
    }
    PQclear(r);
    free(sql);
    if (ob_pg_conn(pg) != conn || PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        s_say(err, "migrate: %s ended the transaction itself (remove BEGIN/COMMIT from the file); not recorded\n", name);
        ob_pg_rollback(pg);
        return -1;
    }
    if (s_step(pg, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", 1, values, NULL, err,
               "recording the version") != 0) {
        ob_pg_rollback(pg);
        return -1;
    }
    ob_err_t committed = ob_pg_commit(pg);
    if (committed != OB_OK) {
        s_say(err, "migrate: %s: commit failed (%s)\n", name, ob_err_name(committed));
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    s_say(out, "migrate: applied %s (%ld ms)\n", version, ms);
    return 1;
}

int
ob_migrate_apply(ob_pg_t *pg, const char *dir, FILE *out, FILE *err, ob_migrate_result_t *result)
{
    ob_migrate_result_t local = {0};
    if (!result)
        result = &local;
    *result = local;

    char **names = NULL;
    size_t count = 0;
    if (s_list(dir, &names, &count, err) != 0)
        return -1;
    if (ob_pg_ensure(pg) != 0) {
        s_say(err, "migrate: cannot connect to %s\n", ob_pg_describe(pg));
        s_free_names(names, count);
        return -1;
    }

    /* Under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still collide. */
    int rc = s_begin_locked(pg, err);
    if (rc == 0 && s_step(pg,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version text PRIMARY KEY,"
                          " applied_at timestamptz NOT NULL DEFAULT now())",
                          0, NULL, NULL, err, "creating schema_migrations") != 0)
        rc = -1;
    if (rc == 0 && ob_pg_commit(pg) != OB_OK) {
        s_say(err, "migrate: cannot create schema_migrations\n");
        rc = -1;
    }
    if (rc != 0)
        ob_pg_rollback(pg);

    for (size_t i = 0; rc == 0 && i < count; i++) {
        int applied = s_apply_one(pg, dir, names[i], out, err);
        if (applied < 0)
            rc = -1;
        else if (applied > 0)
            result->applied++;
        else
            result->skipped++;
    }
    s_free_names(names, count);
    ob_log_info("migrate: %d applied, %d already applied on %s", result->applied, result->skipped, ob_pg_describe(pg));
    return rc;
}
