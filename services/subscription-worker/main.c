/*  subscription-worker - owns customers, subscriptions, the plan catalogue
 *  and entitlements; answers catalogue and status queries. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_worker.h"
#include "services/subscription-worker/subs_plans.h"

static const ob_config_spec_t s_settings[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true, 0, 0},
    {"REDIS_URL", OB_CONFIG_REDIS_URL, false, 0, 0},
    {"BROKER_ENDPOINT", OB_CONFIG_ENDPOINT, false, 0, 0},
    {"HEARTBEAT_MS", OB_CONFIG_INT, false, 50, 60000},
    {"PLANS_FILE", OB_CONFIG_STRING, false, 0, 0},
};

static const ob_worker_method_t s_methods[] = {
    {"plans.list", subs_plans_list, NULL},
    {"plans.get", subs_plans_get, NULL},
};

int
main(void)
{
    ob_log_init("subscription-worker");
    if (ob_config_load() != 0 || ob_config_validate(s_settings, sizeof s_settings / sizeof s_settings[0], stderr) != 0)
        return 2;
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "subscription-worker");
    if (!pg)
        return 1;
    subs_plans_prepare(pg);
    /* The catalogue must be in place before the first request: retry while Postgres starts. */
    const char *plans_file = ob_config_str("PLANS_FILE", "deploy/plans.json");
    for (int attempt = 0; subs_plans_load_file(pg, plans_file) != 0; attempt++) {
        if (attempt >= 30 || ob_pg_ensure(pg) == 0) {
            ob_pg_destroy(&pg);
            return 1;
        }
        ob_log_warn("Postgres is not reachable yet; retrying");
        sleep(1);
    }
    ob_worker_config_t config = {
        .service = "subscription",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = pg,
        .credit = 64,
    };
    int rc = ob_worker_run(&config);
    ob_pg_destroy(&pg);
    return rc;
}
