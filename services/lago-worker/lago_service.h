/*  lago_service - the broker service "lago" (Lago's webhooks), served by the
 *  lago-worker process beside "usage".
 *
 *  The worker runtime serves one service per connection, so this one runs
 *  its own runtime (its own DEALER to the broker) on a thread, with its own
 *  Postgres session: the usage hot path and Lago's webhooks never wait for
 *  each other. Both runtimes stop on the same SIGTERM.
 */
#ifndef LAGO_SERVICE_H_INCLUDED
#define LAGO_SERVICE_H_INCLUDED

typedef struct _lago_service_t lago_service_t;

/*  Starts serving "lago" on a thread (credit: requests held at once) and
 *  waits (up to 5 s) until the broker knows it, so "lago" is served before
 *  "usage" is. NULL when the thread or the session cannot be made. */
lago_service_t *lago_service_start(const char *database_url, int credit);

/*  Asks the runtime to stop (as on SIGTERM), waits for it and frees
 *  everything. NULL-safe; nulls *self_p. */
void lago_service_stop(lago_service_t **self_p);

#endif
