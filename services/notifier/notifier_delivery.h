/*  notifier_delivery - the delivery loop: one thread, many transfers.
 *
 *  Its own Postgres session LISTENs on "notifications" (a trigger on the
 *  table fires at every insert's commit) and scans every NOTIFIER_POLL_MS
 *  anyway. Each turn: fan out new requests into webhook messages, claim due
 *  e-mails and webhook messages up to the free slots (NOTIFIER_MAX_IN_FLIGHT,
 *  NOTIFIER_ENDPOINT_IN_FLIGHT per endpoint), run every transfer at once on
 *  one curl multi handle, and record each outcome as it finishes. A slow
 *  endpoint holds only its own slots; nothing here blocks on one transfer.
 *  Without SMTP_URL e-mails are not claimed: they stay pending. */
#ifndef NOTIFIER_DELIVERY_H_INCLUDED
#define NOTIFIER_DELIVERY_H_INCLUDED

#include "services/notifier/notifier_settings.h"

typedef struct _notifier_delivery_t notifier_delivery_t;

/*  A loop on its own session to conninfo; settings are borrowed and must
 *  outlive it. NULL on failure. Call curl_global_init first. */
notifier_delivery_t *notifier_delivery_new(const char *conninfo, const notifier_settings_t *settings);

/*  Starts the thread (signals blocked in it). 0, or -1. */
int notifier_delivery_start(notifier_delivery_t *self);

/*  One turn without waiting (tests and the thread). Returns > 0 when it did
 *  something, 0 when idle, -1 when the database is unavailable. */
int notifier_delivery_run_once(notifier_delivery_t *self);

/*  Stops claiming, lets transfers in flight finish for up to 5 s, stops
 *  the thread, frees everything. Unfinished ones are delivered again after
 *  their lease. NULL-safe; nulls *self_p. */
void notifier_delivery_destroy(notifier_delivery_t **self_p);

#endif
