/*  notifier_settings - the notifier's settings, read once at start-up.
 *
 *  Every delay is a setting so that tests (and staging) need not wait for
 *  the production schedule; the defaults follow docs/notifications.md. */
#ifndef NOTIFIER_SETTINGS_H_INCLUDED
#define NOTIFIER_SETTINGS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/ob_pg.h"
#include "services/notifier/notifier_retry.h"

typedef struct {
    /* e-mail */
    const char *smtp_url;      /* smtp://host:port or smtps://...; NULL: mail stays pending */
    const char *smtp_user;     /* optional */
    const char *smtp_password; /* optional */
    const char *smtp_from;     /* "Name <addr>" */
    long smtp_timeout_ms;
    const char *public_base_url; /* for links in mail */
    const char *portal_url;      /* where a user fixes the card */
    const char *templates_dir;
    const char *unsubscribe_secret; /* signs unsubscribe links; NULL: no link */
    notifier_retry_t email_retry;
    /* webhooks */
    notifier_retry_t webhook_retry;
    long webhook_timeout_ms;
    bool allow_private_targets;
    long disable_after_s;    /* an endpoint failing every attempt for this long is disabled */
    long rotation_overlap_s; /* a rotated-out secret still signs this long */
    int max_in_flight;       /* deliveries at once, per process */
    int endpoint_in_flight;  /* deliveries at once, per endpoint and process */
    /* the outbox */
    long lease_s;
    long poll_ms; /* the scan period when nothing wakes the notifier */
} notifier_settings_t;

/*  Fills settings from the environment (ob_config). Prints one line per
 *  problem to err and returns their count (0 = usable). */
int notifier_settings_load(notifier_settings_t *settings, FILE *err);

#endif
