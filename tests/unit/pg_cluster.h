/*  pg_cluster - a throwaway Postgres cluster for unit tests (header-only).
 *
 *  Start it once per test binary from a criterion ReportHook(PRE_ALL), which
 *  runs in the runner process before the per-test forks; the connection
 *  string goes into $OB_TEST_PG so every test process sees it. Tests
 *  cr_fail() when pg_cluster_error() is set, and cr_skip_test() when
 *  pg_cluster_conninfo() is NULL (no server binaries, or no unprivileged
 *  user to run them as root).
 *
 *  The cluster runs initdb into a fresh /tmp directory, listens on 127.0.0.1
 *  at a free port with trust authentication, fsync off; as root it runs as
 *  the `postgres` system user, since postgres refuses to run as root.
 */
#ifndef OB_TEST_PG_CLUSTER_H_INCLUDED
#define OB_TEST_PG_CLUSTER_H_INCLUDED

#include <arpa/inet.h>
#include <glob.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    char dir[64]; /* the temporary directory, "" when not started */
    char bindir[256];
    char as_user[96]; /* "runuser -u postgres -- " or "" */
    int port;
} pg_cluster_t;

/*  A port nobody listens on right now (racy, good enough for tests). */
static inline int
pg_cluster_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 && getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static inline int
pg_cluster_find_bindir(char *out, size_t cap)
{
    const char *env = getenv("OB_PG_BINDIR");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return 0;
    }
    glob_t found;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &found) == 0 && found.gl_pathc > 0) {
        /* glob sorts; the last one is the newest major version. */
        snprintf(out, cap, "%s", found.gl_pathv[found.gl_pathc - 1]);
        globfree(&found);
        char *slash = strrchr(out, '/');
        *slash = '\0';
        return 0;
    }
    globfree(&found);
    return -1;
}

/*  Runs a shell command, returning 0 when it exited 0. */
static inline int pg_cluster_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int
pg_cluster_run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd) == 0 ? 0 : -1;
}

/*  Starts a cluster. 0 on success; -1 when there is nothing to run it with
 *  (tests skip); -2 when the binaries are there but it did not start, which
 *  sets $OB_TEST_PG_ERROR so the tests fail instead of hiding behind a skip.
 *  Leaves nothing behind on failure. */
static inline int
pg_cluster_start(pg_cluster_t *self)
{
    memset(self, 0, sizeof *self);
    if (pg_cluster_find_bindir(self->bindir, sizeof self->bindir) != 0)
        return -1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw)
            return -1;
        /* runuser lives in sbin, which a CI PATH may lack. */
        snprintf(self->as_user, sizeof self->as_user, "PATH=\"$PATH:/usr/sbin:/sbin\" runuser -u postgres -- ");
        snprintf(self->dir, sizeof self->dir, "/tmp/ob-test-pg-XXXXXX");
        if (!mkdtemp(self->dir) || chown(self->dir, pw->pw_uid, pw->pw_gid) != 0)
            goto failed;
    } else {
        snprintf(self->dir, sizeof self->dir, "/tmp/ob-test-pg-XXXXXX");
        if (!mkdtemp(self->dir))
            goto failed;
    }
    if (pg_cluster_run("cd /tmp && %s%s/initdb -D %s/data -U postgres -A trust -E UTF8 --no-sync >%s/initdb.log 2>&1",
                       self->as_user, self->bindir, self->dir, self->dir) != 0) {
        pg_cluster_run("cat %s/initdb.log >&2", self->dir);
        goto failed;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        self->port = pg_cluster_free_port();
        if (pg_cluster_run("cd /tmp && %s%s/pg_ctl -D %s/data -l %s/server.log -w -t 30 -o \"-p %d -k %s "
                           "-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                           "-c synchronous_commit=off\" start >/dev/null 2>&1",
                           self->as_user, self->bindir, self->dir, self->dir, self->port, self->dir) == 0) {
            char conninfo[256];
            snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=postgres dbname=postgres", self->port);
            setenv("OB_TEST_PG", conninfo, 1);
            return 0;
        }
    }
    pg_cluster_run("tail -n 20 %s/server.log >&2", self->dir);
failed:
    setenv("OB_TEST_PG_ERROR", "the test Postgres cluster did not start (see the runner's stderr)", 1);
    if (self->dir[0] && strchr(self->dir, 'X') == NULL)
        pg_cluster_run("rm -rf %s", self->dir);
    self->dir[0] = '\0';
    return -2;
}

static inline void
pg_cluster_stop(pg_cluster_t *self)
{
    if (!self->dir[0])
        return;
    pg_cluster_run("cd /tmp && %s%s/pg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1", self->as_user, self->bindir,
                   self->dir);
    pg_cluster_run("rm -rf %s", self->dir);
    self->dir[0] = '\0';
}

/*  Why the cluster failed to start, or NULL (started, or nothing to start). */
static inline const char *
pg_cluster_error(void)
{
    const char *error = getenv("OB_TEST_PG_ERROR");
    return error && *error ? error : NULL;
}

/*  The cluster's conninfo for a test process, or NULL when there is none. */
static inline const char *
pg_cluster_conninfo(void)
{
    const char *conninfo = getenv("OB_TEST_PG");
    return conninfo && *conninfo ? conninfo : NULL;
}

/*  Creates database <prefix>_<pid> for the calling test (each criterion test
 *  is a process) and writes its conninfo to out. 0, or -1 with no cluster. */
static inline int
pg_cluster_fresh_db(const char *prefix, char *out, size_t cap)
{
    const char *cluster = pg_cluster_conninfo();
    if (!cluster)
        return -1;
    char name[64], sql[128];
    snprintf(name, sizeof name, "%s_%d", prefix, (int)getpid());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGconn *conn = PQconnectdb(cluster);
    PGresult *r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql) : NULL;
    int rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "pg_cluster: %s", PQerrorMessage(conn));
    PQclear(r);
    PQfinish(conn);
    const char *db = strstr(cluster, "dbname=");
    snprintf(out, cap, "%.*sdbname=%s", db ? (int)(db - cluster) : (int)strlen(cluster), cluster, name);
    return rc;
}

#endif
