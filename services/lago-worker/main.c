/*  lago-worker - owns the usage ledger and quota consumption, forwards usage
 *  to Lago, keeps Lago's customers and subscriptions in step and takes Lago's
 *  webhooks (docs/usage.md).
 *
 *  The main thread serves the broker's "usage" service (usage.*, group-
 *  committed); a second runtime serves "lago" (lago_webhook.ingest,
 *  lago_service.c); a background thread (lago_background) does every Lago
 *  call, the reconcile scans and the webhook processing, on its own
 *  connection. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "common/ob_worker.h"
#include "services/lago-worker/lago_background.h"
#include "services/lago-worker/lago_gauges.h"
#include "services/lago-worker/lago_service.h"
#include "services/lago-worker/usage_authorize.h"
#include "services/lago-worker/usage_daily.h"
#include "services/lago-worker/usage_ingest.h"
#include "services/lago-worker/usage_ledger.h"
#include "services/lago-worker/usage_read.h"
#include "services/lago-worker/usage_state.h"

static const ob_config_spec_t s_settings[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true, 0, 0},
    {"REDIS_URL", OB_CONFIG_REDIS_URL, false, 0, 0},
    OB_WORKER_SETTINGS,
    {"HEARTBEAT_MS", OB_CONFIG_INT, false, 50, 60000},
    {"LAGO_API_URL", OB_CONFIG_URL, false, 0, 0},
    {"LAGO_API_KEY", OB_CONFIG_SECRET, false, 0, 0},
    {"AUTHORIZE_REDIS_FAILURE_POLICY", OB_CONFIG_STRING, false, 0, 0},
    {"LAGO_WORKER_CREDIT", OB_CONFIG_INT, false, 1, 4096},
    {"LAGO_FORWARD_MAX_BACKOFF_S", OB_CONFIG_INT, false, 1, 3600},
    {"LAGO_SYNC_INTERVAL_MS", OB_CONFIG_INT, false, 50, 3600000},
};

static const ob_worker_method_t s_methods[] = {
    {"usage.ingest", NULL, usage_ingest},
    {"usage.authorize", NULL, usage_authorize},
    {"usage.get", usage_read, NULL},
    {"usage.daily", usage_daily_get, NULL},
};

int
main(void)
{
    ob_log_init("lago-worker");
    if (ob_config_load() != 0 || ob_config_validate(s_settings, sizeof s_settings / sizeof s_settings[0], stderr) != 0)
        return 2;
    const char *policy = ob_config_str("AUTHORIZE_REDIS_FAILURE_POLICY", "closed");
    if (strcmp(policy, "open") != 0 && strcmp(policy, "closed") != 0) {
        fprintf(stderr, "config: AUTHORIZE_REDIS_FAILURE_POLICY: must be \"open\" or \"closed\"\n");
        return 2;
    }
    if (ob_http_global_init() != 0)
        return 1;
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "lago-worker");
    ob_redis_t *redis = ob_redis_new(ob_config_str("REDIS_URL", "redis://127.0.0.1:6379"));
    if (!pg || !redis)
        return 1;
    /* The hot path must not hang on a dead Redis: fail fast, the policy decides. */
    ob_redis_set_timeouts(redis, 300, 1000);
    ob_redis_set_backoff(redis, 50, 1000);
    usage_ledger_prepare(pg);
    lago_gauges_prepare(pg);
    usage_daily_prepare(pg);

    /* The metric catalogue must be known before the first request. */
    usage_metrics_t metrics;
    for (int attempt = 0; usage_ledger_load_metrics(pg, &metrics) != OB_OK; attempt++) {
        if (attempt >= 30) {
            ob_log_error("cannot read usage_metrics from %s (migrations applied?)", ob_pg_describe(pg));
            ob_pg_destroy(&pg);
            ob_redis_destroy(&redis);
            return 1;
        }
        ob_log_warn("Postgres is not ready yet; retrying");
        sleep(1);
    }
    usage_state_t usage;
    if (usage_state_init(&usage, pg, redis, &metrics, strcmp(policy, "open") == 0) != 0)
        return 1;

    lago_background_config_t background_config = {
        .database_url = ob_config_get("DATABASE_URL"),
        .lago_api_url = ob_config_get("LAGO_API_URL"),
        .lago_api_key = ob_config_get("LAGO_API_KEY"),
        .sync_interval_ms = (int)ob_config_int("LAGO_SYNC_INTERVAL_MS", 5000),
        .forward_max_backoff_s = (int)ob_config_int("LAGO_FORWARD_MAX_BACKOFF_S", 60),
    };
    lago_background_t *background = lago_background_start(&background_config);
    if (!background) {
        usage_state_release(&usage);
        return 1;
    }
    /* Before the second runtime's thread exists: czmq's set-up is not thread-safe. */
    zsys_init();
    lago_service_t *webhooks = lago_service_start(ob_config_get("DATABASE_URL"), 64);
    if (!webhooks) {
        lago_background_stop(&background);
        usage_state_release(&usage);
        return 1;
    }
    ob_worker_config_t config = {
        .service = "usage",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = &usage,
        .credit = (int)ob_config_int("LAGO_WORKER_CREDIT", 512),
        .on_metrics = lago_gauges_refresh,
    };
    int rc = ob_worker_run(&config);
    lago_service_stop(&webhooks);
    lago_background_stop(&background);
    usage_state_release(&usage);
    ob_pg_destroy(&pg);
    ob_redis_destroy(&redis);
    return rc;
}
