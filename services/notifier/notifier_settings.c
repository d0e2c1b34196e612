/*  notifier_settings - reading and checking the notifier's settings. */
#include "services/notifier/notifier_settings.h"

#include <string.h>

#include "common/ob_config.h"
#include "common/ob_worker.h"

static const ob_config_spec_t s_specs[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true, 0, 0},
    OB_WORKER_SETTINGS,
    {"HEARTBEAT_MS", OB_CONFIG_INT, false, 50, 60000},
    {"SMTP_TIMEOUT_MS", OB_CONFIG_INT, false, 1000, 600000},
    {"PUBLIC_BASE_URL", OB_CONFIG_URL, false, 0, 0},
    {"BILLING_PORTAL_URL", OB_CONFIG_URL, false, 0, 0},
    {"WEBHOOK_TIMEOUT_MS", OB_CONFIG_INT, false, 100, 120000},
    {"WEBHOOK_ALLOW_PRIVATE_TARGETS", OB_CONFIG_BOOL, false, 0, 0},
    {"WEBHOOK_DISABLE_AFTER_S", OB_CONFIG_INT, false, 1, 365L * 86400},
    {"WEBHOOK_SECRET_OVERLAP_S", OB_CONFIG_INT, false, 0, 30L * 86400},
    {"NOTIFIER_MAX_IN_FLIGHT", OB_CONFIG_INT, false, 1, 1024},
    {"NOTIFIER_ENDPOINT_IN_FLIGHT", OB_CONFIG_INT, false, 1, 1024},
    {"NOTIFIER_LEASE_S", OB_CONFIG_INT, false, 5, 86400},
    {"NOTIFIER_POLL_MS", OB_CONFIG_INT, false, 10, 60000},
};

int
notifier_settings_load(notifier_settings_t *s, FILE *err)
{
    memset(s, 0, sizeof *s);
    int problems = ob_config_validate(s_specs, sizeof s_specs / sizeof s_specs[0], err);
    s->smtp_url = ob_config_get("SMTP_URL");
    if (s->smtp_url && strncmp(s->smtp_url, "smtp://", 7) != 0 && strncmp(s->smtp_url, "smtps://", 8) != 0) {
        fprintf(err, "config: SMTP_URL: must start with smtp:// or smtps://\n");
        problems++;
    }
    s->smtp_user = ob_config_get("SMTP_USER");
    s->smtp_password = ob_config_get("SMTP_PASSWORD");
    s->smtp_from = ob_config_str("SMTP_FROM", "Ops Center Billing <billing@localhost>");
    s->smtp_timeout_ms = ob_config_int("SMTP_TIMEOUT_MS", 30000);
    s->public_base_url = ob_config_str("PUBLIC_BASE_URL", "http://localhost:8084");
    s->portal_url = ob_config_get("BILLING_PORTAL_URL");
    s->templates_dir = ob_config_str("TEMPLATES_DIR", "deploy/templates");
    s->unsubscribe_secret = ob_config_get("UNSUBSCRIBE_SECRET");
    if (notifier_retry_parse(&s->email_retry, ob_config_get("EMAIL_RETRY_SCHEDULE")) != 0) {
        fprintf(err, "config: EMAIL_RETRY_SCHEDULE: must be 1-32 comma-separated delays in seconds\n");
        problems++;
    }
    if (notifier_retry_parse(&s->webhook_retry, ob_config_get("WEBHOOK_RETRY_SCHEDULE")) != 0) {
        fprintf(err, "config: WEBHOOK_RETRY_SCHEDULE: must be 1-32 comma-separated delays in seconds\n");
        problems++;
    }
    s->webhook_timeout_ms = ob_config_int("WEBHOOK_TIMEOUT_MS", 15000);
    s->allow_private_targets = ob_config_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", false);
    s->disable_after_s = ob_config_int("WEBHOOK_DISABLE_AFTER_S", 5L * 86400);
    s->rotation_overlap_s = ob_config_int("WEBHOOK_SECRET_OVERLAP_S", 86400);
    s->max_in_flight = (int)ob_config_int("NOTIFIER_MAX_IN_FLIGHT", 64);
    s->endpoint_in_flight = (int)ob_config_int("NOTIFIER_ENDPOINT_IN_FLIGHT", 4);
    s->lease_s = ob_config_int("NOTIFIER_LEASE_S", 120);
    s->poll_ms = ob_config_int("NOTIFIER_POLL_MS", 1000);
    if (s->lease_s * 1000 <= s->webhook_timeout_ms || s->lease_s * 1000 <= s->smtp_timeout_ms) {
        fprintf(err, "config: NOTIFIER_LEASE_S: must be longer than WEBHOOK_TIMEOUT_MS and SMTP_TIMEOUT_MS\n");
        problems++;
    }
    return problems;
}
