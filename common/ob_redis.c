/*  ob_redis - one Redis connection that survives server restarts. */
#include "common/ob_redis.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ob_backoff.h"
#include "common/ob_clock.h"
#include "common/ob_log.h"

struct _ob_redis_t {
    char *host;
    int port;
    long db;
    char *user;         /* NULL: AUTH password only (pre-ACL form) */
    char *password;     /* NULL: no AUTH */
    char describe[300]; /* host:port/db, safe to log */
    int connect_ms, command_ms;

    redisContext *ctx; /* NULL while disconnected */
    int pending;       /* appended commands whose replies are unread */
    ob_backoff_t backoff;
    int64_t next_attempt_ms;
};

struct _ob_redis_script_t {
    char *source;
    char sha1[41];
};

static struct timeval
s_timeval(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/*  Fetches one URL part into an owned string; *out stays NULL when absent. */
static int
s_url_part(CURLU *url, CURLUPart part, unsigned flags, char **out)
{
    char *value = NULL;
    CURLUcode rc = curl_url_get(url, part, &value, flags);
    if (rc != CURLUE_OK) {
        *out = NULL;
        return rc == CURLUE_NO_USER || rc == CURLUE_NO_PASSWORD || rc == CURLUE_NO_PORT ? 0 : -1;
    }
    *out = strdup(value);
    curl_free(value);
    return *out ? 0 : -1;
}

/*  Parses the URL with libcurl's parser; fills host, port, db, user, password. */
static int
s_parse_url(ob_redis_t *self, const char *text)
{
    CURLU *url = curl_url();
    if (!url)
        return -1;
    int rc = -1;
    char *scheme = NULL, *port = NULL, *path = NULL;
    if (curl_url_set(url, CURLUPART_URL, text, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        goto done;
    if (s_url_part(url, CURLUPART_SCHEME, 0, &scheme) != 0 || !scheme || strcmp(scheme, "redis") != 0)
        goto done;
    if (s_url_part(url, CURLUPART_HOST, 0, &self->host) != 0 || !self->host || !*self->host)
        goto done;
    size_t len = strlen(self->host);
    if (len > 2 && self->host[0] == '[' && self->host[len - 1] == ']') {
        memmove(self->host, self->host + 1, len - 2);
        self->host[len - 2] = '\0';
    }
    if (s_url_part(url, CURLUPART_USER, CURLU_URLDECODE, &self->user) != 0 ||
        s_url_part(url, CURLUPART_PASSWORD, CURLU_URLDECODE, &self->password) != 0 ||
        s_url_part(url, CURLUPART_PORT, 0, &port) != 0 || s_url_part(url, CURLUPART_PATH, 0, &path) != 0)
        goto done;
    if (self->user && !*self->user) {
        free(self->user);
        self->user = NULL;
    }
    self->port = 6379;
    if (port) {
        char *end;
        long value = strtol(port, &end, 10);
        if (*end || value < 1 || value > 65535)
            goto done;
        self->port = (int)value;
    }
    self->db = 0;
    if (path && strcmp(path, "/") != 0 && *path) {
        char *end;
        errno = 0;
        self->db = strtol(path + 1, &end, 10);
        if (errno || end == path + 1 || *end || self->db < 0 || self->db > 1000000)
            goto done;
    }
    rc = 0;
done:
    free(scheme);
    free(port);
    free(path);
    curl_url_cleanup(url);
    return rc;
}

ob_redis_t *
ob_redis_new(const char *redis_url)
{
    assert(redis_url);
    ob_redis_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (s_parse_url(self, redis_url) != 0) {
        /* The URL may carry a password: say what is wrong, not what it is. */
        ob_log_error("redis: the URL is not redis://[:password@]host[:port][/db]");
        ob_redis_destroy(&self);
        return NULL;
    }
    snprintf(self->describe, sizeof self->describe, "%s:%d/%ld", self->host, self->port, self->db);
    self->connect_ms = 2000;
    self->command_ms = 2000;
    ob_backoff_init(&self->backoff, 100, 5000, (uint32_t)ob_clock_mono_ms() ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)self);
    return self;
}

static void
s_drop(ob_redis_t *self)
{
    if (self->ctx) {
        redisFree(self->ctx);
        self->ctx = NULL;
    }
    self->pending = 0;
}

void
ob_redis_destroy(ob_redis_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_redis_t *self = *self_p;
    s_drop(self);
    free(self->host);
    free(self->user);
    if (self->password) {
        memset(self->password, 0, strlen(self->password));
        free(self->password);
    }
    free(self);
    *self_p = NULL;
}

void
ob_redis_set_timeouts(ob_redis_t *self, int connect_ms, int command_ms)
{
    self->connect_ms = connect_ms > 0 ? connect_ms : 1;
    self->command_ms = command_ms > 0 ? command_ms : 1;
    if (self->ctx)
        redisSetTimeout(self->ctx, s_timeval(self->command_ms));
}

void
ob_redis_set_backoff(ob_redis_t *self, int base_ms, int max_ms)
{
    ob_backoff_set(&self->backoff, base_ms, max_ms);
}

const char *
ob_redis_describe(const ob_redis_t *self)
{
    return self->describe;
}

int
ob_redis_pending(const ob_redis_t *self)
{
    return self->pending;
}

static void
s_schedule_retry(ob_redis_t *self)
{
    self->next_attempt_ms = ob_clock_mono_ms() + ob_backoff_next(&self->backoff);
}

/*  Sends one command during the handshake; 0 when the reply is not an error. */
static int
s_handshake(ob_redis_t *self, int argc, const char **argv, const char **why)
{
    redisReply *reply = redisCommandArgv(self->ctx, argc, argv, NULL);
    int rc = reply && reply->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (rc != 0)
        *why = reply ? (strncmp(reply->str, "WRONGPASS", 9) == 0 || strncmp(reply->str, "NOAUTH", 6) == 0
                            ? "authentication failed"
                            : "the server refused AUTH or SELECT")
                     : self->ctx->errstr;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

static int
s_connect(ob_redis_t *self)
{
    const char *why = "out of memory";
    char why_copy[128];
    self->ctx = redisConnectWithTimeout(self->host, self->port, s_timeval(self->connect_ms));
    if (!self->ctx)
        goto failed;
    if (self->ctx->err) {
        why = self->ctx->errstr;
        goto failed;
    }
    if (redisSetTimeout(self->ctx, s_timeval(self->command_ms)) != REDIS_OK) {
        why = "cannot set the command timeout";
        goto failed;
    }
    redisEnableKeepAlive(self->ctx);
    if (self->password) {
        const char *argv[] = {"AUTH", self->user ? self->user : self->password, self->password};
        if (s_handshake(self, self->user ? 3 : 2, argv, &why) != 0)
            goto failed;
    }
    if (self->db != 0) {
        char db[24];
        snprintf(db, sizeof db, "%ld", self->db);
        const char *argv[] = {"SELECT", db};
        if (s_handshake(self, 2, argv, &why) != 0)
            goto failed;
    }
    ob_backoff_reset(&self->backoff);
    self->next_attempt_ms = 0;
    self->pending = 0;
    ob_log_info("redis: connected to %s", self->describe);
    return 0;

failed:
    /* why may point into the context we are about to free. */
    snprintf(why_copy, sizeof why_copy, "%s", why);
    s_drop(self);
    s_schedule_retry(self);
    ob_log_warn("redis: cannot connect to %s: %s; next attempt in %d ms", self->describe, why_copy, self->backoff.last_ms);
    return -1;
}

int
ob_redis_ensure(ob_redis_t *self)
{
    if (self->ctx) {
        if (!self->ctx->err)
            return 0;
        s_drop(self);
    }
    if (ob_clock_mono_ms() < self->next_attempt_ms)
        return -1;
    return s_connect(self);
}

/*  After an I/O or protocol error the context is unusable (hiredis README). */
static void
s_lost(ob_redis_t *self)
{
    ob_log_warn("redis: connection to %s lost: %s", self->describe, self->ctx ? self->ctx->errstr : "closed");
    s_drop(self);
}

redisReply *
ob_redis_command_argv(ob_redis_t *self, int argc, const char **argv, const size_t *lens)
{
    assert(self->pending == 0 && "ob_redis_command_argv with pipelined replies pending");
    if (self->pending) {
        ob_log_error("redis: command sent while %d pipelined replies are unread", self->pending);
        return NULL;
    }
    if (ob_redis_ensure(self) != 0)
        return NULL;
    redisReply *reply = redisCommandArgv(self->ctx, argc, argv, lens);
    if (!reply)
        s_lost(self);
    return reply;
}

int
ob_redis_append_argv(ob_redis_t *self, int argc, const char **argv, const size_t *lens)
{
    /* Never reconnect under queued commands: their replies would be lost silently. */
    if (self->pending == 0 && ob_redis_ensure(self) != 0)
        return -1;
    if (!self->ctx)
        return -1;
    if (redisAppendCommandArgv(self->ctx, argc, argv, lens) != REDIS_OK) {
        s_lost(self);
        return -1;
    }
    self->pending++;
    return 0;
}

redisReply *
ob_redis_get_reply(ob_redis_t *self)
{
    if (!self->ctx || self->pending == 0)
        return NULL;
    void *reply = NULL;
    if (redisGetReply(self->ctx, &reply) != REDIS_OK || !reply) {
        s_lost(self);
        return NULL;
    }
    self->pending--;
    return reply;
}

ob_redis_script_t *
ob_redis_script_new(const char *lua_source)
{
    ob_redis_script_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->source = strdup(lua_source);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!self->source || !EVP_Digest(lua_source, strlen(lua_source), digest, &len, EVP_sha1(), NULL) || len != 20) {
        ob_redis_script_destroy(&self);
        return NULL;
    }
    for (unsigned i = 0; i < len; i++)
        snprintf(self->sha1 + 2 * i, 3, "%02x", digest[i]);
    return self;
}

void
ob_redis_script_destroy(ob_redis_script_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->source);
    free(*self_p);
    *self_p = NULL;
}

const char *
ob_redis_script_sha1(const ob_redis_script_t *self)
{
    return self->sha1;
}

static redisReply *
s_eval(ob_redis_t *redis, const char *verb, const char *body, int numkeys, int argc, const char **argv, const size_t *lens)
{
    int total = argc + 3;
    const char **args = calloc((size_t)total, sizeof *args);
    size_t *arg_lens = calloc((size_t)total, sizeof *arg_lens);
    if (!args || !arg_lens) {
        free(args);
        free(arg_lens);
        return NULL;
    }
    char nkeys[16];
    snprintf(nkeys, sizeof nkeys, "%d", numkeys);
    args[0] = verb;
    args[1] = body;
    args[2] = nkeys;
    for (int i = 0; i < 3; i++)
        arg_lens[i] = strlen(args[i]);
    for (int i = 0; i < argc; i++) {
        args[3 + i] = argv[i];
        arg_lens[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
    redisReply *reply = ob_redis_command_argv(redis, total, args, arg_lens);
    free(args);
    free(arg_lens);
    return reply;
}

redisReply *
ob_redis_script_run(ob_redis_script_t *self, ob_redis_t *redis, int numkeys, int argc, const char **argv, const size_t *lens)
{
    assert(numkeys >= 0 && numkeys <= argc);
    redisReply *reply = s_eval(redis, "EVALSHA", self->sha1, numkeys, argc, argv, lens);
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(reply);
        reply = s_eval(redis, "EVAL", self->source, numkeys, argc, argv, lens);
    }
    return reply;
}
