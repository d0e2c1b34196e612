/*  notifier - owns notifications: delivers each request other services
 *  store as e-mail (SMTP) and as signed outgoing webhooks (Standard
 *  Webhooks), and serves the operators' endpoints and delivery log and the
 *  users' unsubscribe link. Delivery runs on its own thread
 *  (notifier_delivery); the worker runtime answers the API. */
#include <curl/curl.h>
#include <stdio.h>

#include "common/ob_config.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_worker.h"
#include "services/notifier/notifier_admin.h"
#include "services/notifier/notifier_delivery.h"
#include "services/notifier/notifier_endpoints.h"
#include "services/notifier/notifier_messages.h"
#include "services/notifier/notifier_settings.h"
#include "services/notifier/notifier_state.h"
#include "services/notifier/notifier_unsubscribe.h"

static const ob_worker_method_t s_methods[] = {
    /* operators: requests, endpoints, messages */
    {"admin.notifications.list", notifier_admin_list, NULL},
    {"admin.endpoints.create", notifier_endpoints_create, NULL},
    {"admin.endpoints.list", notifier_endpoints_list, NULL},
    {"admin.endpoints.get", notifier_endpoints_get, NULL},
    {"admin.endpoints.update", notifier_endpoints_update, NULL},
    {"admin.endpoints.delete", notifier_endpoints_delete, NULL},
    {"admin.endpoints.rotate", notifier_endpoints_rotate, NULL},
    {"admin.endpoints.recover", notifier_endpoints_recover, NULL},
    {"admin.messages.list", notifier_messages_list, NULL},
    {"admin.messages.attempts", notifier_messages_attempts, NULL},
    {"admin.messages.replay", notifier_messages_replay, NULL},
    /* users: the signed unsubscribe link */
    {"unsubscribe.check", notifier_unsubscribe_check, NULL},
    {"unsubscribe.apply", notifier_unsubscribe_apply, NULL},
};

int
main(void)
{
    ob_log_init("notifier");
    notifier_settings_t settings;
    if (ob_config_load() != 0 || notifier_settings_load(&settings, stderr) != 0)
        return 2;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (!settings.smtp_url)
        ob_log_warn("notifier: SMTP_URL is not set: e-mail stays pending until it is");
    if (!settings.unsubscribe_secret)
        ob_log_warn("notifier: UNSUBSCRIBE_SECRET is not set: mail goes out without an unsubscribe link");
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "notifier");
    notifier_delivery_t *delivery = pg ? notifier_delivery_new(ob_config_get("DATABASE_URL"), &settings) : NULL;
    if (!delivery || notifier_delivery_start(delivery) != 0) {
        notifier_delivery_destroy(&delivery);
        ob_pg_destroy(&pg);
        return 1;
    }
    notifier_admin_prepare(pg);
    notifier_endpoints_prepare(pg);
    notifier_messages_prepare(pg);
    notifier_unsubscribe_prepare(pg);
    notifier_state_t state = {.pg = pg, .settings = &settings};
    ob_worker_config_t config = {
        .service = "notifier",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = &state,
        .credit = 16,
    };
    int rc = ob_worker_run(&config);
    notifier_delivery_destroy(&delivery);
    ob_pg_destroy(&pg);
    curl_global_cleanup();
    return rc;
}
