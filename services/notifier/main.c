/*  notifier - owns the notification requests other services store. This
 *  release lists them for operators; delivery (SMTP, signed webhooks) is the
 *  next issue and will run in this process's tick. */
#include <stdio.h>

#include "common/ob_config.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_worker.h"
#include "services/notifier/notifier_admin.h"
#include "services/notifier/notifier_state.h"

static const ob_config_spec_t s_settings[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true, 0, 0},
    {"BROKER_ENDPOINT", OB_CONFIG_ENDPOINT, false, 0, 0},
    {"HEARTBEAT_MS", OB_CONFIG_INT, false, 50, 60000},
};

static const ob_worker_method_t s_methods[] = {
    {"admin.notifications.list", notifier_admin_list, NULL},
};

int
main(void)
{
    ob_log_init("notifier");
    if (ob_config_load() != 0 || ob_config_validate(s_settings, sizeof s_settings / sizeof s_settings[0], stderr) != 0)
        return 2;
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "notifier");
    if (!pg)
        return 1;
    notifier_admin_prepare(pg);
    notifier_state_t state = {.pg = pg};
    ob_worker_config_t config = {
        .service = "notifier",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = &state,
        .credit = 16,
    };
    int rc = ob_worker_run(&config);
    ob_pg_destroy(&pg);
    return rc;
}
