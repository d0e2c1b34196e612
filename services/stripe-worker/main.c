/*  stripe-worker - everything that speaks Stripe: the webhook inbox
 *  (group-committed ingest on the main thread), its processing (a
 *  background thread with its own Postgres session), the operators'
 *  list/replay and the user-facing billing methods (docs/billing-api.md),
 *  which share the main thread's session and its Redis connection. */
#include <stdio.h>
#include <stdlib.h>

#include "clients/stripe_admin.h"
#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "common/ob_worker.h"
#include "services/stripe-worker/billing_methods.h"
#include "services/stripe-worker/stripe_admin_methods.h"
#include "services/stripe-worker/stripe_inbox.h"
#include "services/stripe-worker/stripe_metrics.h"
#include "services/stripe-worker/stripe_processor.h"
#include "services/stripe-worker/stripe_state.h"

static const ob_config_spec_t s_settings[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true, 0, 0},
    {"STRIPE_SECRET_KEY", OB_CONFIG_SECRET, false, 0, 0},
    OB_WORKER_SETTINGS,
    {"HEARTBEAT_MS", OB_CONFIG_INT, false, 50, 60000},
    {"STRIPE_WORKER_CREDIT", OB_CONFIG_INT, false, 1, 4096},
    {"STRIPE_EVENT_PROCESSING", OB_CONFIG_BOOL, false, 0, 0},
    {"STRIPE_EVENT_MAX_ATTEMPTS", OB_CONFIG_INT, false, 1, 1000},
    {"STRIPE_EVENT_RETRY_BASE_MS", OB_CONFIG_INT, false, 1, 86400000},
    {"STRIPE_EVENT_RETRY_MAX_MS", OB_CONFIG_INT, false, 1, 604800000},
    {"STRIPE_EVENT_LEASE_S", OB_CONFIG_INT, false, 1, 86400},
};

static const ob_worker_method_t s_methods[] = {
    {"webhook.ingest", NULL, stripe_inbox_ingest},
    {"admin.events.list", stripe_admin_events_list, NULL},
    {"admin.events.replay", stripe_admin_events_replay, NULL},
    {"checkout.create", billing_checkout_create, NULL},
    {"portal.create", billing_portal_create, NULL},
    {"payment_methods.list", billing_payment_methods_list, NULL},
    {"subscription.cancel", billing_subscription_cancel, NULL},
    {"subscription.upgrade", billing_subscription_upgrade, NULL},
    {"subscription.resume", billing_subscription_resume, NULL},
    {"admin.trial.extend", billing_subscription_extend_trial, NULL},
    {"invoices.list", billing_invoices_list, NULL},
};

/*  The billing methods' context on the main thread's connections, from the
 *  environment. NULL (logged) when it cannot be made: the billing methods
 *  then answer 503 while the webhook inbox keeps working. */
static billing_context_t *
s_billing_new(const stripe_state_t *state)
{
    billing_context_t *billing = NULL;
    if (ob_http_global_init() == 0)
        billing = billing_context_new(state->pg, state->redis, ob_config_get("STRIPE_API_BASE"), ob_config_get("STRIPE_SECRET_KEY"),
                                      ob_config_get("STRIPE_SUCCESS_URL"), ob_config_get("STRIPE_CANCEL_URL"),
                                      ob_config_get("STRIPE_PORTAL_RETURN_URL"));
    if (!billing)
        ob_log_error("billing: cannot set up (check REDIS_URL, STRIPE_API_BASE)");
    return billing;
}

static void
s_state_destroy(stripe_state_t *state)
{
    billing_context_destroy(&state->billing);
    ob_redis_destroy(&state->redis);
    ob_pg_destroy(&state->pg);
}

int
main(void)
{
    ob_log_init("stripe-worker");
    if (ob_config_load() != 0 || ob_config_validate(s_settings, sizeof s_settings / sizeof s_settings[0], stderr) != 0)
        return 2;
    const char *database_url = ob_config_get("DATABASE_URL");
    const char *redis_url = ob_config_get("REDIS_URL");
    stripe_state_t state = {
        .pg = ob_pg_new(database_url, "stripe-worker"),
        .redis = ob_redis_new(redis_url ? redis_url : "redis://127.0.0.1:6379"),
    };
    if (!state.pg) {
        s_state_destroy(&state);
        return 1;
    }
    state.mode = stripe_key_mode(ob_config_get("STRIPE_SECRET_KEY"));
    if (state.mode == STRIPE_MODE_UNKNOWN)
        ob_log_warn("STRIPE_SECRET_KEY is not an sk_/rk_ live or test key: webhook events' livemode cannot be checked");
    stripe_inbox_prepare(state.pg);
    stripe_admin_prepare(state.pg);
    stripe_metrics_prepare(state.pg);
    state.billing = s_billing_new(&state);

    stripe_processor_t *processor = NULL;
    if (ob_config_bool("STRIPE_EVENT_PROCESSING", true)) {
        stripe_processor_config_t pconfig = {
            .max_attempts = (int)ob_config_int("STRIPE_EVENT_MAX_ATTEMPTS", 8),
            .retry_base_ms = ob_config_int("STRIPE_EVENT_RETRY_BASE_MS", 1000),
            .retry_max_ms = ob_config_int("STRIPE_EVENT_RETRY_MAX_MS", 3600000),
            .lease_s = (int)ob_config_int("STRIPE_EVENT_LEASE_S", 60),
            .mode = state.mode,
        };
        processor = stripe_processor_new(database_url, &pconfig);
        if (!processor || stripe_processor_start(processor) != 0) {
            stripe_processor_destroy(&processor);
            s_state_destroy(&state);
            return 1;
        }
        state.wake = stripe_processor_wake;
        state.wake_arg = processor;
    } else {
        ob_log_warn("STRIPE_EVENT_PROCESSING is off: events are recorded, not processed");
    }

    ob_worker_config_t config = {
        .service = "stripe",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = &state,
        /* Many webhooks in flight at once is what makes group commit pay. */
        .credit = (int)ob_config_int("STRIPE_WORKER_CREDIT", 512),
        .on_metrics = stripe_metrics_refresh,
    };
    int rc = ob_worker_run(&config);
    stripe_processor_destroy(&processor);
    s_state_destroy(&state);
    return rc;
}
