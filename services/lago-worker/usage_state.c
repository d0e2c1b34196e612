/*  usage_state - what the usage service's methods share. */
#include "services/lago-worker/usage_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_clock.h"
#include "common/ob_entitlements.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "services/lago-worker/quota_notify.h"
#include "services/lago-worker/usage_ledger.h"
#include "services/lago-worker/usage_read.h"

double
usage_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
usage_iso8601(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
usage_state_init(usage_state_t *self, ob_pg_t *pg, ob_redis_t *redis, const usage_metrics_t *metrics, bool fail_open)
{
    memset(self, 0, sizeof *self);
    self->pg = pg;
    self->redis = redis;
    self->metrics = *metrics;
    self->fail_open = fail_open;
    self->redis_warned_at = -100000;
    self->quota = quota_new();
    usage_ledger_prepare(pg);
    quota_notify_prepare(pg);
    ob_entitlements_prepare(pg);
    usage_read_prepare(pg);
    return self->quota ? 0 : -1;
}

void
usage_state_release(usage_state_t *self)
{
    quota_destroy(&self->quota);
}

void
usage_state_redis_down(usage_state_t *self)
{
    int64_t now = ob_clock_mono_ms();
    if (now - self->redis_warned_at < 10000)
        return;
    self->redis_warned_at = now;
    ob_log_error("Redis at %s is unreachable: quota checks %s (AUTHORIZE_REDIS_FAILURE_POLICY=%s)", ob_redis_describe(self->redis),
                 self->fail_open ? "are skipped and calls allowed as degraded" : "fail with 503 quota_unavailable",
                 self->fail_open ? "open" : "closed");
}

void
usage_state_settle_dirty(usage_state_t *self)
{
    if (self->counters_dirty && quota_bump_epoch(self->redis) == 0) {
        self->counters_dirty = false;
        ob_log_warn("quota counters invalidated: usage was recorded while Redis was unreachable");
    }
}

char *
usage_json_take_text(json_t *value)
{
    char *text = ob_json_dump(value, NULL);
    json_decref(value);
    return text;
}
