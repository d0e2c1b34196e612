/*  redis_server - a throwaway redis-server for unit tests (header-only).
 *
 *  Start it from a criterion ReportHook(PRE_ALL) (the runner process); its
 *  port goes into $OB_TEST_REDIS_PORT for the per-test processes. Tests call
 *  redis_server_port() and cr_skip_test() when it returns 0 (no redis-server
 *  in PATH); the runner sets $OB_TEST_REDIS_ERROR when one is installed but
 *  does not start, and tests then fail. No persistence: --save ''
 *  --appendonly no.
 */
#ifndef OB_TEST_REDIS_SERVER_H_INCLUDED
#define OB_TEST_REDIS_SERVER_H_INCLUDED

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
} redis_server_t;

static inline int
redis_server_free_port(void)
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
redis_server_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/*  Starts redis-server with extra arguments (NULL-terminated, may be NULL);
 *  0 once it accepts connections, -1 when it cannot. */
static inline int
redis_server_start(redis_server_t *self, const char *const *extra)
{
    memset(self, 0, sizeof *self);
    for (int attempt = 0; attempt < 3; attempt++) {
        self->port = redis_server_free_port();
        char port[16];
        snprintf(port, sizeof port, "%d", self->port);
        const char *argv[32] = {"redis-server", "--port", port,          "--bind", "127.0.0.1",  "--save", "",
                                "--appendonly", "no",     "--daemonize", "no",     "--loglevel", "warning"};
        int argc = 13;
        for (int i = 0; extra && extra[i] && argc < 31; i++)
            argv[argc++] = extra[i];
        self->pid = fork();
        if (self->pid < 0)
            return -1;
        if (self->pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, STDOUT_FILENO);
            execvp("redis-server", (char *const *)argv);
            _exit(127);
        }
        for (int i = 0; i < 100; i++) {
            if (redis_server_accepts(self->port))
                return 0;
            if (waitpid(self->pid, NULL, WNOHANG) == self->pid)
                break;
            usleep(20 * 1000);
        }
        kill(self->pid, SIGKILL);
        waitpid(self->pid, NULL, 0);
        self->pid = 0;
    }
    return -1;
}

static inline void
redis_server_stop(redis_server_t *self)
{
    if (self->pid <= 0)
        return;
    kill(self->pid, SIGTERM);
    waitpid(self->pid, NULL, 0);
    self->pid = 0;
}

/*  The shared server's port for a test process, or 0 when there is none. */
static inline int
redis_server_port(void)
{
    const char *port = getenv("OB_TEST_REDIS_PORT");
    return port ? atoi(port) : 0;
}

#endif
