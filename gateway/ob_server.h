/*  ob_server - the gateway's HTTP edge: h2o loop threads that turn each
 *  request into one message to the broker and the reply back into HTTP.
 *
 *  Each loop thread owns an h2o context, its own SO_REUSEPORT listener and a
 *  DEALER to the broker's inproc frontend, watched by the event loop. No loop
 *  thread ever blocks: sends use ZMQ_DONTWAIT and a full pipe is a 503.
 *  Every deferred request has its own deadline (504 when it passes).
 */
#ifndef OB_SERVER_H_INCLUDED
#define OB_SERVER_H_INCLUDED

#include <stddef.h>

#include "gateway/ob_broker.h"
#include "gateway/ob_edge_auth.h"
#include "gateway/ob_static.h"

typedef struct _ob_server_t ob_server_t;

typedef struct {
    const char *host; /* listen address, "0.0.0.0" */
    int port;
    int threads;
    size_t max_body;                 /* larger bodies get 413 */
    int request_timeout_ms;          /* deadline of each request */
    void *zmq_ctx;                   /* borrowed; shared with the broker (inproc) */
    const char *broker_frontend;     /* the broker's inproc endpoint */
    ob_broker_t *broker;             /* borrowed: live-worker counts for /ready */
    ob_http_metrics_t *http_metrics; /* borrowed, may be NULL: every answer is counted here */
    ob_edge_auth_config_t auth;      /* borrowed secrets and verifiers */
    const ob_static_t *web;          /* borrowed; NULL: no pages (ob_static.h) */
} ob_server_config_t;

/*  Binds the listeners (so a busy port fails here) and prepares the threads.
 *  NULL on failure (logged). */
ob_server_t *ob_server_new(const ob_server_config_t *config);

/*  Starts the loop threads. 0 or -1. */
int ob_server_start(ob_server_t *self);

/*  Stops accepting, lets in-flight requests finish (each within its
 *  deadline), then joins the threads. */
void ob_server_shutdown(ob_server_t *self);

void ob_server_destroy(ob_server_t **self_p);

#endif
