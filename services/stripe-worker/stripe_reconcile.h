/*  stripe_reconcile - the daily reconcile inside the stripe-worker.
 *
 *  Every interval_s (RECONCILE_INTERVAL_S, default 86400; 0 turns it off)
 *  one stripe-worker, whatever number run on whatever hosts, compares every
 *  local subscription with Stripe's (clients/reconcile.h; the Stripe side
 *  only: Lago is the lago-worker's API). The run is taken with a lease on
 *  the one row of stripe_reconcile_runs (migration 071): an UPDATE guarded by
 *  next_run_at <= now() and an expired lease, so two workers never both run
 *  it, and a worker killed mid-run only delays it until lease_s passes.
 *
 *  It reports: the counts per kind and the drift rows go into that row
 *  (every stripe-worker's metrics show them as ob_reconcile_drift{kind}, with
 *  ob_reconcile_last_success_timestamp_seconds; the OpsBillingReconcileDrift
 *  alert is how operators are told) and a warning is logged. With fix
 *  (RECONCILE_FIX=true) it also records Stripe's truth in the inbox like
 *  `billing-admin reconcile --fix` and wakes the processor; by default it
 *  does not, because an unexpected disagreement with the payment system is
 *  for a person to look at first.
 *
 *  Runs on its own thread with its own Postgres session and Stripe client.
 */
#ifndef STRIPE_RECONCILE_H_INCLUDED
#define STRIPE_RECONCILE_H_INCLUDED

#include <stdbool.h>

typedef struct _stripe_reconcile_t stripe_reconcile_t;

typedef struct {
    const char *database_url;
    const char *stripe_api_base; /* NULL: https://api.stripe.com */
    const char *stripe_secret_key;
    long interval_s;         /* between runs (0: off) */
    long lease_s;            /* a run's lease (default 900) */
    bool fix;                /* record Stripe's truth for fixable drift */
    void (*wake)(void *arg); /* wakes the inbox processor after fixes (may be NULL) */
    void *wake_arg;
} stripe_reconcile_config_t;

/*  Starts the thread (strings are copied). NULL when off (interval 0, no
 *  key) or on failure; both are logged. */
stripe_reconcile_t *stripe_reconcile_start(const stripe_reconcile_config_t *config);

/*  Stops and joins the thread, frees everything. NULL-safe; nulls *self_p. */
void stripe_reconcile_stop(stripe_reconcile_t **self_p);

/*  Takes the lease and runs once if due (on the calling thread). 1 ran, 0
 *  not due or another worker holds it, -1 failed (Postgres or Stripe). */
int stripe_reconcile_run_once(stripe_reconcile_t *self);

#endif
