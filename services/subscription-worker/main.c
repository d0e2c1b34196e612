/*  subscription-worker - owns customers, subscriptions, the plan catalogue
 *  and entitlements; answers catalogue and status queries, and applies the
 *  domain messages other services leave in subscription_updates (subs_apply). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "common/ob_worker.h"
#include "clients/ob_catalogue.h"
#include "services/subscription-worker/subs_admin_user.h"
#include "services/subscription-worker/subs_apply.h"
#include "services/subscription-worker/subs_entitlements.h"
#include "services/subscription-worker/subs_overrides.h"
#include "services/subscription-worker/subs_plans.h"
#include "services/subscription-worker/subs_publish.h"
#include "services/subscription-worker/subs_state.h"
#include "services/subscription-worker/subs_status.h"
#include "services/subscription-worker/subs_teams.h"

static const ob_config_spec_t s_settings[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true, 0, 0},
    {"REDIS_URL", OB_CONFIG_REDIS_URL, false, 0, 0},
    OB_WORKER_SETTINGS,
    {"HEARTBEAT_MS", OB_CONFIG_INT, false, 50, 60000},
    {"PLANS_FILE", OB_CONFIG_STRING, false, 0, 0},
    {"SUBSCRIPTION_UPDATE_MAX_ATTEMPTS", OB_CONFIG_INT, false, 1, 1000},
    {"ENTITLEMENTS_TTL_S", OB_CONFIG_INT, false, 2, 86400},
    {"PAST_DUE_GRACE_S", OB_CONFIG_INT, false, 0, 31536000},
};

static const ob_worker_method_t s_methods[] = {
    {"plans.list", subs_plans_list, NULL},
    {"plans.get", subs_plans_get, NULL},
    {"status.get", subs_status_get, NULL},
    {"entitlements.get", subs_entitlements_get, NULL},
    {"entitlements.me", subs_entitlements_me, NULL},
    {"entitlements.check", subs_entitlements_check, NULL},
    {"overrides.create", subs_overrides_create, NULL},
    {"overrides.list", subs_overrides_list, NULL},
    {"overrides.revoke", subs_overrides_revoke, NULL},
    {"teams.create", subs_teams_create, NULL},
    {"teams.get", subs_teams_get, NULL},
    {"teams.members.add", subs_teams_members_add, NULL},
    {"teams.members.list", subs_teams_members_list, NULL},
    {"teams.members.remove", subs_teams_members_remove, NULL},
    {"admin.user.get", subs_admin_user_get, NULL},
};

static int
s_on_tick(void *state)
{
    subs_state_t *self = state;
    int applied = subs_applier_run(self->applier);
    int published = subs_publish_run(self->pg, self->redis);
    return applied > 0 || published > 0;
}

static int
s_watch_fd(void *state)
{
    return subs_applier_fd(((subs_state_t *)state)->applier);
}

static void
s_on_fd(void *state)
{
    subs_applier_on_fd(((subs_state_t *)state)->applier);
}

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
    subs_state_t state = {
        .pg = pg,
        .redis = ob_redis_new(ob_config_str("REDIS_URL", "redis://127.0.0.1:6379")),
        .catalogue = ob_catalogue_read_file(plans_file),
        .applier = subs_applier_new(ob_config_get("DATABASE_URL"), ob_config_str("REDIS_URL", "redis://127.0.0.1:6379"),
                                    (int)ob_config_int("SUBSCRIPTION_UPDATE_MAX_ATTEMPTS", 10)),
    };
    if (!state.redis || !state.applier || !state.catalogue) {
        json_decref(state.catalogue);
        subs_applier_destroy(&state.applier);
        ob_redis_destroy(&state.redis);
        ob_pg_destroy(&pg);
        return 1;
    }
    subs_status_prepare(pg);
    subs_entitlements_prepare(pg);
    subs_overrides_prepare(pg);
    subs_teams_prepare(pg);
    subs_publish_prepare(pg);
    subs_admin_user_prepare(pg);
    ob_worker_config_t config = {
        .service = "subscription",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = &state,
        .credit = 64,
        .on_tick = s_on_tick,
        .watch_fd = s_watch_fd,
        .on_fd = s_on_fd,
    };
    int rc = ob_worker_run(&config);
    json_decref(state.catalogue);
    subs_applier_destroy(&state.applier);
    ob_redis_destroy(&state.redis);
    ob_pg_destroy(&pg);
    return rc;
}
