/*  ob_redis - one Redis connection that survives server restarts (hiredis 0.14).
 *
 *  An ob_redis_t owns one redisContext (not thread-safe: one per thread). It
 *  connects lazily with connect and command timeouts, and after any I/O or
 *  protocol error it drops the context (hiredis contexts cannot be reused
 *  after an error) and reconnects on the next command, with bounded
 *  exponential back-off: while backing off, commands fail at once with NULL
 *  instead of blocking. AUTH and SELECT from the URL are sent on every connect.
 *
 *  Replies are hiredis' redisReply: switch on r->type, freeReplyObject(r).
 *  A REDIS_REPLY_ERROR reply is an answer, not an I/O error: the connection
 *  stays up.
 */
#ifndef OB_REDIS_H_INCLUDED
#define OB_REDIS_H_INCLUDED

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _ob_redis_t ob_redis_t;
typedef struct _ob_redis_script_t ob_redis_script_t;

/*  A connection for redis://[[user]:password@]host[:port][/db] (port 6379 and
 *  db 0 by default; user and password are percent-decoded). Does not connect.
 *  NULL when the URL is malformed or memory runs out. */
ob_redis_t *ob_redis_new(const char *redis_url);

/*  Closes and frees. NULL-safe; nulls *self_p. */
void ob_redis_destroy(ob_redis_t **self_p);

/*  Connect timeout and per-command read/write timeout (defaults 2000 ms each). */
void ob_redis_set_timeouts(ob_redis_t *self, int connect_ms, int command_ms);

/*  Back-off between failed connects: base_ms doubling up to max_ms, +-20%
 *  jitter (defaults 100 ms and 5000 ms). */
void ob_redis_set_backoff(ob_redis_t *self, int base_ms, int max_ms);

/*  Returns 0 when connected (connecting first if allowed), -1 otherwise. At
 *  most one attempt, bounded by the connect timeout; during back-off returns
 *  -1 at once. Never sleeps. */
int ob_redis_ensure(ob_redis_t *self);

/*  "host:port/db", for log lines (never the password). Borrowed. */
const char *ob_redis_describe(const ob_redis_t *self);

/*  Sends one command and waits for its reply. lens may be NULL (then argv are
 *  NUL-terminated strings). Returns the reply (caller frees), or NULL on any
 *  I/O error, timeout or when not connected; the next call reconnects. Must
 *  not be called while pipelined replies are pending. */
redisReply *ob_redis_command_argv(ob_redis_t *self, int argc, const char **argv, const size_t *lens);

/*  Queues one command without waiting (connecting first if needed). Returns
 *  0, or -1 when not connected. Read each reply with ob_redis_get_reply. */
int ob_redis_append_argv(ob_redis_t *self, int argc, const char **argv, const size_t *lens);

/*  The next queued reply (flushes queued commands first), or NULL on an I/O
 *  error, after which the remaining replies of the batch are lost and every
 *  further get_reply returns NULL until the next append/command reconnects. */
redisReply *ob_redis_get_reply(ob_redis_t *self);

/*  Replies still to be read with ob_redis_get_reply. */
int ob_redis_pending(const ob_redis_t *self);

/*  A Lua script: keeps the source and its SHA1 (hex). NULL on OOM. */
ob_redis_script_t *ob_redis_script_new(const char *lua_source);
void ob_redis_script_destroy(ob_redis_script_t **self_p);

/*  The 40-hex-digit SHA1 Redis knows the script by. Borrowed. */
const char *ob_redis_script_sha1(const ob_redis_script_t *self);

/*  Runs the script: EVALSHA sha numkeys argv..., and on a NOSCRIPT error
 *  (script cache flushed, server restarted) EVAL with the source, which also
 *  caches it again. argv holds numkeys keys then the arguments; lens may be
 *  NULL. Same contract as ob_redis_command_argv. */
redisReply *ob_redis_script_run(ob_redis_script_t *self, ob_redis_t *redis, int numkeys, int argc, const char **argv,
                                const size_t *lens);

#endif
