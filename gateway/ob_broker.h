/*  ob_broker - the Majordomo-style broker inside the gateway.
 *
 *  Runs in its own thread. Its frontend ROUTER (inproc) takes requests from
 *  the gateway's loop threads; its backend ROUTER (TCP, bound here so any
 *  number of workers can connect) hands each request to a live worker of the
 *  requested service that has credit left, and routes the reply back.
 *  Worker liveness is by heartbeat (proto/ob_wire.h); a worker that goes
 *  silent for three intervals is dropped and every request it held is
 *  answered 503, so no HTTP request ever hangs on a dead worker.
 *
 *  Frontend messages (from a loop thread's DEALER) are single frames, since
 *  every ZeroMQ call costs system calls:
 *      request  [key: 8 bytes][service id: 1 byte][deadline ms: 8 bytes][ob_envelope]
 *      reply    [key: 8 bytes][ob_reply]
 *  The key is the loop thread's own correlation id, returned untouched.
 *  When the broker itself has to refuse (no worker, queue full, worker lost)
 *  it answers with an ob_reply whose status is 503.
 *
 *  /metrics is answered here too (service id OB_ROUTE_SERVICE_BROKER): the
 *  broker thread renders the exposition from its own queues and workers,
 *  the gateway's request counters (config.http_metrics), the process, and
 *  the latest METRICS snapshot of every live worker. So the loop threads
 *  never build it, and a worker that leaves takes its figures with it.
 */
#ifndef OB_BROKER_H_INCLUDED
#define OB_BROKER_H_INCLUDED

#include <stdint.h>

#include "gateway/ob_http_metrics.h"

#define OB_BROKER_REQUEST_HEADER 17 /* key, service id, deadline */

typedef struct _ob_broker_t ob_broker_t;

typedef struct {
    const char *frontend_endpoint;   /* inproc://... for the loop threads */
    const char *backend_endpoint;    /* tcp://... the workers connect to */
    int heartbeat_ms;                /* liveness interval; dead after 3 missed */
    int queue_limit;                 /* per-service waiting requests before 503 */
    ob_http_metrics_t *http_metrics; /* borrowed, may be NULL: rendered into /metrics */
    /*  CURVE (borrowed; NULL = plain TCP): the backend is a CURVE server with
     *  this Z85 secret key, and every worker is checked by the ZAP handler
     *  (gateway/ob_zap.h) that must be bound in the same context first. */
    const char *curve_secret_key;
} ob_broker_config_t;

/*  Creates the broker and binds both sockets in the calling thread, so a busy
 *  port fails here. zmq_ctx is borrowed and must outlive the broker. NULL on
 *  failure (logged). */
ob_broker_t *ob_broker_new(void *zmq_ctx, const ob_broker_config_t *config);

/*  Starts the broker thread. 0 or -1. */
int ob_broker_start(ob_broker_t *self);

/*  Tells every worker goodbye, stops and joins the thread. */
void ob_broker_stop(ob_broker_t *self);

void ob_broker_destroy(ob_broker_t **self_p);

/*  How many live workers serve the service now. Safe from any thread. */
int ob_broker_live_workers(ob_broker_t *self, int service);

/*  How many requests the service's workers hold or wait for now. Any thread. */
int ob_broker_backlog(ob_broker_t *self, int service);

#endif
