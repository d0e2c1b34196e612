/*  quota - quota counters in Redis. */
#include "services/lago-worker/quota.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/ob_log.h"

/*  KEYS: answer key, entitlement key, epoch key.
 *  ARGV: counter prefix, quantity, now, answer TTL, quota 0|1, allow_ended 0|1,
 *  code, the account whose shared lock the caller holds ('' none).
 *  A team member's copy names the team as account: the counter is the
 *  team's, one for every member, and is only touched under the team's lock
 *  (else 'account': the caller takes it and retries).
 *  Counter keys are derived inside (the window comes from the entitlement):
 *  one Redis, not a cluster. */
static const char s_authorize_lua[] =
    "local a = redis.call('GET', KEYS[1])\n"
    "if a then return {'dup', a} end\n"
    "local e = redis.call('HMGET', KEYS[2], 'live', 'limit', 'period_start', 'period_end', 'subscription', 'plan',"
    " 'access_until', 'account')\n"
    "if not e[1] then return {'miss'} end\n"
    "if e[1] ~= '1' or not e[6] or e[6] == '' then return {'nosub'} end\n"
    "local au = tonumber(e[7]) or 0\n"
    "if au > 0 and tonumber(ARGV[3]) >= au then return {'nosub'} end\n"
    "local limit = tonumber(e[2]) or 0\n"
    "local ps = e[3] or '0'\n"
    "local pe = tonumber(e[4]) or 0\n"
    "local q = tonumber(ARGV[2])\n"
    "if pe > 0 and tonumber(ARGV[3]) >= pe and ARGV[6] ~= '1' then return {'stale'} end\n"
    "local sub = e[5] or ''\n"
    "local ans\n"
    "if ARGV[5] ~= '1' then\n"
    "  ans = '1|0|-1|' .. string.format('%d', pe)\n"
    "  redis.call('SET', KEYS[1], ans, 'EX', ARGV[4])\n"
    "  return {'ok', ans, '', sub, '', '0'}\n"
    "end\n"
    "local acct = e[8] or ''\n"
    "if acct ~= '' and acct ~= ARGV[8] then return {'account', acct} end\n"
    "local prefix = ARGV[1]\n"
    "if acct ~= '' then prefix = 'ob:quota:' .. acct .. ':' .. ARGV[7] .. ':' end\n"
    "local ck = prefix .. ps .. ':' .. (redis.call('GET', KEYS[3]) or '0')\n"
    "local c = redis.call('HMGET', ck, 'n', 'g')\n"
    "if not c[1] then return {'rebuild', ck, ps, string.format('%d', pe), acct} end\n"
    "local used = tonumber(c[1])\n"
    "local counted = '0'\n"
    "if limit >= 0 and used + q > limit then\n"
    "  ans = '0|'\n"
    "else\n"
    "  used = redis.call('HINCRBY', ck, 'n', q)\n"
    "  counted = '1'\n"
    "  ans = '1|'\n"
    "end\n"
    "ans = ans .. string.format('%d|%d|%d', used, limit, pe)\n"
    "redis.call('SET', KEYS[1], ans, 'EX', ARGV[4])\n"
    "return {'ok', ans, c[2] or '', sub, ck, counted, acct}\n";

/*  KEYS: counter, answer. ARGV: generation, quantity, forget answer 0|1. */
static const char s_give_back_lua[] = "if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end\n"
                                      "if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'g') == ARGV[1] then\n"
                                      "  return redis.call('HINCRBY', KEYS[1], 'n', -tonumber(ARGV[2]))\n"
                                      "end\n"
                                      "return -1\n";

/*  KEYS: counter. ARGV: used, generation, expire_at (0 = 90 days). */
static const char s_set_counter_lua[] = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
                                        "redis.call('HSET', KEYS[1], 'n', ARGV[1], 'g', ARGV[2])\n"
                                        "if tonumber(ARGV[3]) > 0 then redis.call('EXPIREAT', KEYS[1], ARGV[3])\n"
                                        "else redis.call('EXPIRE', KEYS[1], 7776000) end\n"
                                        "return 1\n";

/*  KEYS: epoch. ARGV: groups of user, code, k, then k (occurred, quantity)
 *  pairs. Returns six strings per group: generation, counter key, added,
 *  the counter after the increment ('' when there is no counter, or when
 *  the copy names a team account: the ledger decides then), and the
 *  window's start and end from the copy ('' when the copy is not live). */
static const char s_count_lua[] =
    "local epoch = redis.call('GET', KEYS[1]) or '0'\n"
    "local out = {}\n"
    "local i = 1\n"
    "while i <= #ARGV do\n"
    "  local user, code, k = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])\n"
    "  i = i + 3\n"
    "  local g, ck, add, n, ps, pe = '', '', 0, '', '', ''\n"
    "  local e = redis.call('HMGET', 'ob:ent:' .. user, 'live', 'period_start', 'period_end', 'account')\n"
    "  if e[1] == '1' and e[2] then\n"
    "    ps, pe = e[2], e[3] or '0'\n"
    "    ck = 'ob:quota:' .. user .. ':' .. code .. ':' .. e[2] .. ':' .. epoch\n"
    "    g = redis.call('HGET', ck, 'g')\n"
    "    if g then\n"
    "      local start = tonumber(e[2])\n"
    "      for j = 0, k - 1 do\n"
    "        if tonumber(ARGV[i + 2 * j]) >= start then add = add + tonumber(ARGV[i + 2 * j + 1]) end\n"
    "      end\n"
    "      if add > 0 then n = redis.call('HINCRBY', ck, 'n', add)\n"
    "      else n = tonumber(redis.call('HGET', ck, 'n')) or '' end\n"
    "      if n ~= '' then n = string.format('%d', n) end\n"
    "      if (e[4] or '') ~= '' then n = '' end\n"
    "    else g = '' end\n"
    "  end\n"
    "  i = i + 2 * k\n"
    "  out[#out + 1] = g\n"
    "  out[#out + 1] = ck\n"
    "  out[#out + 1] = string.format('%d', add)\n"
    "  out[#out + 1] = n\n"
    "  out[#out + 1] = ps\n"
    "  out[#out + 1] = pe\n"
    "end\n"
    "return out\n";

#define S_EPOCH_KEY "ob:quota:epoch"
#define S_ANSWER_TTL "172800" /* two days; the ledger catches older repeats */

struct _quota_t {
    ob_redis_script_t *authorize;
    ob_redis_script_t *give_back;
    ob_redis_script_t *set_counter;
    ob_redis_script_t *count;
    unsigned sequence;
};

quota_t *
quota_new(void)
{
    quota_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->authorize = ob_redis_script_new(s_authorize_lua);
    self->give_back = ob_redis_script_new(s_give_back_lua);
    self->set_counter = ob_redis_script_new(s_set_counter_lua);
    self->count = ob_redis_script_new(s_count_lua);
    if (!self->authorize || !self->give_back || !self->set_counter || !self->count)
        quota_destroy(&self);
    return self;
}

void
quota_destroy(quota_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    quota_t *self = *self_p;
    ob_redis_script_destroy(&self->authorize);
    ob_redis_script_destroy(&self->give_back);
    ob_redis_script_destroy(&self->set_counter);
    ob_redis_script_destroy(&self->count);
    free(self);
    *self_p = NULL;
}

int
quota_answer_parse(const char *text, quota_answer_t *out)
{
    memset(out, 0, sizeof *out);
    int allowed;
    long long used, limit, resets;
    char tail;
    if (!text || sscanf(text, "%d|%lld|%lld|%lld%c", &allowed, &used, &limit, &resets, &tail) != 4 ||
        (allowed != 0 && allowed != 1))
        return -1;
    out->allowed = allowed == 1;
    out->used = used;
    out->limit = limit;
    out->resets_at = resets;
    return 0;
}

static void
s_counter_prefix(char *buf, size_t cap, const char *user_id, const char *code)
{
    snprintf(buf, cap, "ob:quota:%s:%s:", user_id, code);
}

int
quota_append_authorize(quota_t *self, ob_redis_t *redis, const char *user_id, const char *code, const char *transaction_id,
                       int64_t quantity, int64_t now, bool quota, bool allow_ended, const char *locked_account)
{
    char answer_key[300], ent_key[300], prefix[600], q[24], t[24];
    snprintf(answer_key, sizeof answer_key, "ob:quota:tx:%s", transaction_id);
    snprintf(ent_key, sizeof ent_key, "ob:ent:%s", user_id);
    s_counter_prefix(prefix, sizeof prefix, user_id, code);
    snprintf(q, sizeof q, "%" PRId64, quantity);
    snprintf(t, sizeof t, "%" PRId64, now);
    /* EVALSHA only: pipelined replies cannot fall back to EVAL one by one, so
     * the caller loads the script first (quota_read_authorize sees NOSCRIPT). */
    const char *argv[] = {"EVALSHA",
                          ob_redis_script_sha1(self->authorize),
                          "3",
                          answer_key,
                          ent_key,
                          S_EPOCH_KEY,
                          prefix,
                          q,
                          t,
                          S_ANSWER_TTL,
                          quota ? "1" : "0",
                          allow_ended ? "1" : "0",
                          code,
                          locked_account ? locked_account : ""};
    return ob_redis_append_argv(redis, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
}

static const char *
s_elem(const redisReply *reply, size_t i)
{
    return reply->type == REDIS_REPLY_ARRAY && i < reply->elements && reply->element[i]->type == REDIS_REPLY_STRING
               ? reply->element[i]->str
               : "";
}

void
quota_read_authorize(ob_redis_t *redis, const char *user_id, const char *code, quota_result_t *out)
{
    (void)user_id;
    (void)code;
    memset(out, 0, sizeof *out);
    out->kind = QUOTA_REDIS_DOWN;
    redisReply *reply = ob_redis_get_reply(redis);
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* NOSCRIPT (flushed script cache) or a script error: the caller loads and retries. */
        out->kind = strncmp(reply->str, "NOSCRIPT", 8) == 0 ? QUOTA_NOSCRIPT : QUOTA_REDIS_DOWN;
        if (out->kind == QUOTA_REDIS_DOWN)
            ob_log_error("quota script failed: %.200s", reply->str);
        freeReplyObject(reply);
        return;
    }
    const char *kind = s_elem(reply, 0);
    if (strcmp(kind, "dup") == 0 && quota_answer_parse(s_elem(reply, 1), &out->answer) == 0) {
        out->kind = QUOTA_DUP;
    } else if (strcmp(kind, "miss") == 0) {
        out->kind = QUOTA_MISS;
    } else if (strcmp(kind, "nosub") == 0) {
        out->kind = QUOTA_NO_SUB;
    } else if (strcmp(kind, "stale") == 0) {
        out->kind = QUOTA_STALE;
    } else if (strcmp(kind, "rebuild") == 0) {
        out->kind = QUOTA_REBUILD;
        snprintf(out->counter_key, sizeof out->counter_key, "%s", s_elem(reply, 1));
        out->period_start = strtoll(s_elem(reply, 2), NULL, 10);
        out->period_end = strtoll(s_elem(reply, 3), NULL, 10);
        snprintf(out->account, sizeof out->account, "%s", s_elem(reply, 4));
    } else if (strcmp(kind, "account") == 0) {
        out->kind = QUOTA_ACCOUNT;
        snprintf(out->account, sizeof out->account, "%s", s_elem(reply, 1));
    } else if (strcmp(kind, "ok") == 0 && quota_answer_parse(s_elem(reply, 1), &out->answer) == 0) {
        out->kind = QUOTA_ANSWERED;
        snprintf(out->generation, sizeof out->generation, "%s", s_elem(reply, 2));
        snprintf(out->subscription, sizeof out->subscription, "%s", s_elem(reply, 3));
        snprintf(out->counter_key, sizeof out->counter_key, "%s", s_elem(reply, 4));
        out->counted = strcmp(s_elem(reply, 5), "1") == 0;
        snprintf(out->account, sizeof out->account, "%s", s_elem(reply, 6));
    } else {
        ob_log_error("unexpected reply from the quota script");
    }
    freeReplyObject(reply);
}

int
quota_load_scripts(quota_t *self, ob_redis_t *redis)
{
    (void)self;
    const char *argv[] = {"SCRIPT", "LOAD", s_authorize_lua};
    redisReply *reply = ob_redis_command_argv(redis, 3, argv, NULL);
    int rc = reply && reply->type == REDIS_REPLY_STRING ? 0 : -1;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

static int
s_run(ob_redis_script_t *script, ob_redis_t *redis, int numkeys, int argc, const char **argv, long long *integer)
{
    redisReply *reply = ob_redis_script_run(script, redis, numkeys, argc, argv, NULL);
    int rc = reply && reply->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        ob_log_error("quota script failed: %.200s", reply->str);
    if (integer && reply && reply->type == REDIS_REPLY_INTEGER)
        *integer = reply->integer;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int
quota_give_back(quota_t *self, ob_redis_t *redis, const quota_result_t *taken, int64_t quantity, const char *transaction_id,
                bool forget_answer)
{
    char answer_key[300], q[24];
    snprintf(answer_key, sizeof answer_key, "ob:quota:tx:%s", transaction_id ? transaction_id : "");
    snprintf(q, sizeof q, "%" PRId64, taken->counted ? quantity : 0);
    const char *argv[] = {taken->counter_key[0] ? taken->counter_key : "ob:quota:none", answer_key, taken->generation, q,
                          forget_answer && transaction_id ? "1" : "0"};
    return s_run(self->give_back, redis, 2, 5, argv, NULL);
}

int
quota_set_counter(quota_t *self, ob_redis_t *redis, const char *counter_key, int64_t used, int64_t expire_at)
{
    char n[24], generation[64], at[24];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    snprintf(n, sizeof n, "%" PRId64, used);
    snprintf(generation, sizeof generation, "%d.%lld.%06ld.%u", (int)getpid(), (long long)tv.tv_sec, (long)tv.tv_usec,
             ++self->sequence);
    snprintf(at, sizeof at, "%" PRId64, expire_at);
    const char *argv[] = {counter_key, n, generation, at};
    return s_run(self->set_counter, redis, 1, 4, argv, NULL);
}

/*  "%" PRId64 without printf (two per event of a batch). */
static void
s_int64(char *out, int64_t value)
{
    char digits[24];
    size_t n = 0;
    uint64_t u = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (value < 0)
        *out++ = '-';
    while (n)
        *out++ = digits[--n];
    *out = '\0';
}

int
quota_count_ingested(quota_t *self, ob_redis_t *redis, const quota_group_t *groups, size_t n_groups, const int64_t *occurred,
                     const int64_t *quantity, quota_result_t *taken, int64_t *added)
{
    size_t n_events = 0;
    for (size_t g = 0; g < n_groups; g++)
        n_events += groups[g].count;
    size_t argc = 2 + 3 * n_groups + 2 * n_events;
    const char **argv = calloc(argc, sizeof *argv);
    char(*numbers)[24] = calloc(n_groups + 2 * n_events, sizeof *numbers);
    int rc = -1;
    if (argv && numbers) {
        size_t a = 0, k = 0, e = 0;
        argv[a++] = S_EPOCH_KEY;
        for (size_t g = 0; g < n_groups; g++) {
            argv[a++] = groups[g].user_id;
            argv[a++] = groups[g].code;
            snprintf(numbers[k], sizeof numbers[0], "%zu", groups[g].count);
            argv[a++] = numbers[k++];
            for (size_t j = 0; j < groups[g].count; j++, e++) {
                s_int64(numbers[k], occurred[e]);
                argv[a++] = numbers[k++];
                s_int64(numbers[k], quantity[e]);
                argv[a++] = numbers[k++];
            }
        }
        redisReply *reply = ob_redis_script_run(self->count, redis, 1, (int)a, argv, NULL);
        if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 6 * n_groups) {
            for (size_t g = 0; g < n_groups; g++) {
                memset(&taken[g], 0, sizeof taken[g]);
                snprintf(taken[g].generation, sizeof taken[g].generation, "%s", s_elem(reply, 6 * g));
                snprintf(taken[g].counter_key, sizeof taken[g].counter_key, "%s", s_elem(reply, 6 * g + 1));
                added[g] = strtoll(s_elem(reply, 6 * g + 2), NULL, 10);
                taken[g].counted = added[g] > 0;
                const char *used = s_elem(reply, 6 * g + 3);
                taken[g].answer.used = used[0] ? strtoll(used, NULL, 10) : -1;
                const char *start = s_elem(reply, 6 * g + 4);
                taken[g].period_start = start[0] ? strtoll(start, NULL, 10) : -1;
                taken[g].period_end = strtoll(s_elem(reply, 6 * g + 5), NULL, 10);
            }
            rc = 0;
        } else if (reply && reply->type == REDIS_REPLY_ERROR) {
            ob_log_error("quota count script failed: %.200s", reply->str);
        }
        if (reply)
            freeReplyObject(reply);
    }
    free(argv);
    free(numbers);
    return rc;
}

int
quota_bump_epoch(ob_redis_t *redis)
{
    const char *argv[] = {"INCR", S_EPOCH_KEY};
    redisReply *reply = ob_redis_command_argv(redis, 2, argv, NULL);
    int rc = reply && reply->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (reply)
        freeReplyObject(reply);
    return rc;
}
