/*  lago_background - the lago-worker's thread for everything that talks to
 *  Lago or runs on a timer, so slow Lago calls never hold up the hot paths
 *  (usage.ingest / usage.authorize on the main thread).
 *
 *  It owns its own Postgres session and Lago client; it LISTENs on
 *  subscription_changed (payload: a user id) to sync that user's
 *  subscriptions at once, reconciles every sync_interval_ms anyway (NOTIFY
 *  only wakes; the scan is the guarantee), forwards the ledger to Lago and
 *  processes the Lago webhook inbox, and takes its turn at the daily usage
 *  reconcile (lago_reconcile.h; a run delays forwarding while it lasts).
 */
#ifndef LAGO_BACKGROUND_H_INCLUDED
#define LAGO_BACKGROUND_H_INCLUDED

#include <stdbool.h>

typedef struct _lago_background_t lago_background_t;

typedef struct {
    const char *database_url;
    const char *lago_api_url; /* NULL: forwarding and sync are off (logged) */
    const char *lago_api_key;
    int tick_ms;               /* idle wait (default 250) */
    int sync_interval_ms;      /* reconcile scan period (default 5000) */
    int forward_max_backoff_s; /* cap of the forwarding back-off (default 60) */
    long reconcile_interval_s; /* the daily usage reconcile (lago_reconcile.h); 0: off */
    long reconcile_lease_s;
    long reconcile_window_s;
    bool reconcile_fix;
} lago_background_config_t;

/*  Starts the thread (strings are copied). NULL on failure. */
lago_background_t *lago_background_start(const lago_background_config_t *config);

/*  Stops and joins the thread, frees everything. NULL-safe; nulls *self_p. */
void lago_background_stop(lago_background_t **self_p);

#endif
