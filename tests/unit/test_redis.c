/*  ob_redis against a real redis-server started by this binary (skipped without one). */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/new/assert.h>

#include "common/ob_redis.h"
#include "tests/unit/redis_server.h"

static redis_server_t s_server;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_redis: no redis-server in PATH; server tests are skipped\n");
    } else if (redis_server_start(&s_server, NULL) == 0) {
        char port[16];
        snprintf(port, sizeof port, "%d", s_server.port);
        setenv("OB_TEST_REDIS_PORT", port, 1);
    } else {
        /* Installed but not starting: fail rather than hide behind a skip. */
        setenv("OB_TEST_REDIS_ERROR", "redis-server is installed but did not start", 1);
    }
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    redis_server_stop(&s_server);
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ob_redis_t *s_redis;

static ob_redis_t *
s_connect_db(int db)
{
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/%d", redis_server_port(), db);
    ob_redis_t *redis = ob_redis_new(url);
    cr_assert(redis != NULL);
    return redis;
}

static void
s_setup(void)
{
    if (getenv("OB_TEST_REDIS_ERROR"))
        cr_fail("%s", getenv("OB_TEST_REDIS_ERROR"));
    if (!redis_server_port())
        cr_skip_test("no redis-server");
    /* Parallel tests share the server: each uses its own db and key prefix. */
    s_redis = s_connect_db(getpid() % 16);
}

static void
s_teardown(void)
{
    ob_redis_destroy(&s_redis);
}

/*  Runs a command given as NUL-terminated words. */
static redisReply *
s_cmd(ob_redis_t *redis, const char *first, ...)
{
    const char *argv[16] = {first};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    const char *word;
    while (argc < 16 && (word = va_arg(ap, const char *)))
        argv[argc++] = word;
    va_end(ap);
    return ob_redis_command_argv(redis, argc, argv, NULL);
}

static void
s_key(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "test:%d:%s", (int)getpid(), name);
}

Test(redis_url, parses_valid_urls_and_rejects_the_rest)
{
    static const struct {
        const char *url;
        const char *describe; /* NULL: rejected */
    } cases[] = {
        {"redis://127.0.0.1", "127.0.0.1:6379/0"},
        {"redis://cache:7000/3", "cache:7000/3"},
        {"redis://:s3cret@cache:7000", "cache:7000/0"},
        {"redis://user:p%40ss@[::1]:6380/2", "::1:6380/2"},
        {"redis://cache/", "cache:6379/0"},
        {"http://cache:6379", NULL},
        {"redis://", NULL},
        {"redis://cache:0", NULL},
        {"redis://cache:99999", NULL},
        {"redis://cache/abc", NULL},
        {"redis://cache/-1", NULL},
        {"cache:6379", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ob_redis_t *redis = ob_redis_new(cases[i].url);
        if (!cases[i].describe) {
            cr_assert(redis == NULL, "%s should be rejected", cases[i].url);
            continue;
        }
        cr_assert(redis != NULL, "%s should parse", cases[i].url);
        cr_assert(eq(str, (char *)ob_redis_describe(redis), (char *)cases[i].describe));
        ob_redis_destroy(&redis);
        cr_assert(redis == NULL);
    }
}

Test(redis_script, sha1_is_the_one_redis_computes)
{
    /* redis-cli SCRIPT LOAD "return 1" answers e0e1f9fabfc9d4800c877a703b823ac0578ff8db. */
    ob_redis_script_t *script = ob_redis_script_new("return 1");
    cr_assert(eq(str, (char *)ob_redis_script_sha1(script), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"));
    ob_redis_script_destroy(&script);
    cr_assert(script == NULL);
}

TestSuite(redis, .init = s_setup, .fini = s_teardown, .timeout = 20);

Test(redis, values_are_binary_safe)
{
    char key[64];
    s_key(key, sizeof key, "bin");
    const char value[] = {'a', '\0', 'b', (char)0xff};
    const char *argv[] = {"SET", key, value};
    const size_t lens[] = {3, strlen(key), sizeof value};
    redisReply *r = ob_redis_command_argv(s_redis, 3, argv, lens);
    cr_assert(eq(int, r->type, REDIS_REPLY_STATUS));
    freeReplyObject(r);
    r = s_cmd(s_redis, "GET", key, NULL);
    cr_assert(eq(int, r->type, REDIS_REPLY_STRING));
    cr_assert(eq(sz, r->len, sizeof value));
    cr_assert(eq(int, memcmp(r->str, value, sizeof value), 0));
    freeReplyObject(r);
}

Test(redis, an_error_reply_is_an_answer_not_a_broken_connection)
{
    char key[64];
    s_key(key, sizeof key, "text");
    freeReplyObject(s_cmd(s_redis, "SET", key, "not a number", NULL));
    redisReply *r = s_cmd(s_redis, "INCR", key, NULL);
    cr_assert(eq(int, r->type, REDIS_REPLY_ERROR));
    freeReplyObject(r);
    r = s_cmd(s_redis, "PING", NULL);
    cr_assert(eq(str, r->str, "PONG"));
    freeReplyObject(r);
}

Test(redis, pipelines_many_commands)
{
    char key[64];
    s_key(key, sizeof key, "counter");
    for (int i = 0; i < 100; i++) {
        const char *argv[] = {"INCR", key};
        cr_assert(eq(int, ob_redis_append_argv(s_redis, 2, argv, NULL), 0));
    }
    cr_assert(eq(int, ob_redis_pending(s_redis), 100));
    long long last = 0;
    for (int i = 0; i < 100; i++) {
        redisReply *r = ob_redis_get_reply(s_redis);
        cr_assert(eq(int, r->type, REDIS_REPLY_INTEGER));
        last = r->integer;
        freeReplyObject(r);
    }
    cr_assert(eq(i64, last, 100));
    cr_assert(eq(int, ob_redis_pending(s_redis), 0));
    cr_assert(ob_redis_get_reply(s_redis) == NULL, "nothing pending");
}

Test(redis, scripts_fall_back_to_eval_when_the_cache_is_empty)
{
    static const char quota[] = "local n = redis.call('INCR', KEYS[1]) "
                                "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
                                "if n > tonumber(ARGV[1]) then return 0 end return 1";
    char key[64];
    s_key(key, sizeof key, "quota");
    ob_redis_script_t *script = ob_redis_script_new(quota);
    redisReply *r = s_cmd(s_redis, "SCRIPT", "LOAD", quota, NULL);
    cr_assert(eq(str, r->str, (char *)ob_redis_script_sha1(script)));
    freeReplyObject(r);
    freeReplyObject(s_cmd(s_redis, "SCRIPT", "FLUSH", NULL));

    long long answers[4];
    for (int i = 0; i < 4; i++) {
        const char *argv[] = {key, "3", "60000"};
        r = ob_redis_script_run(script, s_redis, 1, 3, argv, NULL);
        cr_assert(eq(int, r->type, REDIS_REPLY_INTEGER), "%s", r->type == REDIS_REPLY_ERROR ? r->str : "");
        answers[i] = r->integer;
        freeReplyObject(r);
    }
    cr_assert(eq(i64, answers[0], 1));
    cr_assert(eq(i64, answers[2], 1));
    cr_assert(eq(i64, answers[3], 0), "the fourth call is over the limit of 3");
    ob_redis_script_destroy(&script);
}

Test(redis, reconnects_after_the_connection_is_killed)
{
    redisReply *r = s_cmd(s_redis, "CLIENT", "ID", NULL);
    char id[32];
    snprintf(id, sizeof id, "%lld", r->integer);
    freeReplyObject(r);
    ob_redis_t *admin = s_connect_db(0);
    r = s_cmd(admin, "CLIENT", "KILL", "ID", id, NULL);
    cr_assert(eq(i64, r->integer, 1));
    freeReplyObject(r);
    ob_redis_destroy(&admin);

    cr_assert(s_cmd(s_redis, "PING", NULL) == NULL, "the dead connection reports an I/O error");
    r = s_cmd(s_redis, "PING", NULL);
    cr_assert(r != NULL, "the next command reconnects at once");
    cr_assert(eq(str, r->str, "PONG"));
    freeReplyObject(r);
}

Test(redis, a_slow_reply_times_out_and_the_next_command_reconnects)
{
    char key[64];
    s_key(key, sizeof key, "empty-list");
    ob_redis_set_timeouts(s_redis, 1000, 200);
    int64_t start = s_now_ms();
    cr_assert(s_cmd(s_redis, "BLPOP", key, "2", NULL) == NULL);
    int64_t took = s_now_ms() - start;
    cr_assert(ge(i64, took, 150));
    cr_assert(lt(i64, took, 1000));
    redisReply *r = s_cmd(s_redis, "PING", NULL);
    cr_assert(r != NULL);
    freeReplyObject(r);
}

Test(redis, selects_the_database_of_the_url)
{
    ob_redis_t *db5 = s_connect_db(5);
    redisReply *r = s_cmd(db5, "CLIENT", "INFO", NULL);
    cr_assert(strstr(r->str, " db=5 ") != NULL, "%s", r->str);
    freeReplyObject(r);
    ob_redis_destroy(&db5);
}

Test(redis_auth, authenticates_with_the_url_password, .timeout = 20)
{
    const char *extra[] = {"--requirepass", "s3cret", NULL};
    redis_server_t server;
    if (!redis_server_port() && !getenv("OB_TEST_REDIS_ERROR"))
        cr_skip_test("no redis-server");
    cr_assert(eq(int, redis_server_start(&server, extra), 0), "a second redis-server did not start");
    char url[128];
    snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d/1", server.port);
    ob_redis_t *good = ob_redis_new(url);
    snprintf(url, sizeof url, "redis://default:s3cret@127.0.0.1:%d", server.port);
    ob_redis_t *acl = ob_redis_new(url);
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d", server.port);
    ob_redis_t *bad = ob_redis_new(url);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", server.port);
    ob_redis_t *none = ob_redis_new(url);

    redisReply *r = s_cmd(good, "PING", NULL);
    cr_assert(r != NULL);
    cr_assert(eq(str, r->str, "PONG"));
    freeReplyObject(r);
    r = s_cmd(acl, "PING", NULL);
    cr_assert(r != NULL);
    cr_assert(eq(str, r->str, "PONG"));
    freeReplyObject(r);
    cr_assert(eq(int, ob_redis_ensure(bad), -1));
    cr_assert(s_cmd(bad, "PING", NULL) == NULL);
    r = s_cmd(none, "GET", "x", NULL);
    cr_assert(r != NULL);
    cr_assert(eq(int, r->type, REDIS_REPLY_ERROR), "NOAUTH is an answer");
    freeReplyObject(r);

    ob_redis_destroy(&good);
    ob_redis_destroy(&acl);
    ob_redis_destroy(&bad);
    ob_redis_destroy(&none);
    redis_server_stop(&server);
}

Test(redis_offline, a_down_server_fails_fast_and_backs_off)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", redis_server_free_port());
    ob_redis_t *redis = ob_redis_new(url);
    ob_redis_set_backoff(redis, 500, 2000);
    int64_t start = s_now_ms();
    cr_assert(eq(int, ob_redis_ensure(redis), -1));
    cr_assert(s_cmd(redis, "PING", NULL) == NULL);
    const char *argv[] = {"PING"};
    cr_assert(eq(int, ob_redis_append_argv(redis, 1, argv, NULL), -1));
    cr_assert(ob_redis_get_reply(redis) == NULL);
    cr_assert(lt(i64, s_now_ms() - start, 300), "one refused attempt, then back-off without trying");
    ob_redis_destroy(&redis);
}
