/*  ob_worker - the runtime every worker process runs on.
 *
 *  Connects a DEALER to the gateway's broker (BROKER_ENDPOINT), says READY
 *  for its service with a credit (how many requests it holds at once), and
 *  then loops: take every request waiting (up to the credit), hand them to
 *  the service's methods, send the replies, exchange heartbeats, run the
 *  service's background tick. When the broker goes silent it reconnects
 *  with a fresh socket; on SIGTERM it says DISCONNECT, finishes what it
 *  holds, and returns 0.
 *
 *  A method either handles one job at a time (handle) or every waiting job
 *  of that method at once (handle_batch): the latter is how a service group-
 *  commits, one transaction for many requests, each answered only after
 *  the commit. Batch methods run first, then the one-at-a-time handlers,
 *  and answers are sent after each call, so a fast answer never waits
 *  behind a slow one. A handler calling an outside API through ob_http
 *  keeps heartbeating meanwhile (ob_http calls ob_worker_keepalive).
 */
#ifndef OB_WORKER_H_INCLUDED
#define OB_WORKER_H_INCLUDED

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"
#include "proto/ob_proto.h"

/*  One request and its answer. The envelope's views (and the payload's, once
 *  unpacked) stay valid until the job is answered and released by the
 *  runtime, i.e. for the whole handler call. */
typedef struct {
    ob_envelope_t envelope;
    int status; /* the answer's HTTP status; 0 = not answered yet */
    char *body; /* the answer's JSON body (malloc'd, owned by the job) */
    size_t body_len;
    char etag[80]; /* optional ETag for cacheable answers */
    void *_frames; /* private: the received message, which owns the bytes */
} ob_job_t;

/*  Answers with a JSON value; steals the reference. */
void ob_job_reply_json(ob_job_t *job, int status, json_t *body);

/*  Answers with JSON text built elsewhere (e.g. by Postgres'
 *  json_build_object, which puts spaces around every colon), re-written
 *  compact like every other answer; 500 when text is not JSON. Borrows text. */
void ob_job_reply_text(ob_job_t *job, int status, const char *text);

/*  Answers {"error":{"code","message"}} with the given status. */
void ob_job_reply_error(ob_job_t *job, int status, const char *code, const char *message);

/*  Answers an error by outcome; the status comes from ob_err_http_status. */
void ob_job_reply_err(ob_job_t *job, ob_err_t err, const char *code, const char *message);

/*  Unpacks the job's payload as an ob_call (the generic API call). Answers
 *  400 itself and returns -1 when it is malformed. */
int ob_job_call(ob_job_t *job, ob_call_t *call);

/*  Parses the call's body as a JSON object; answers 400 and returns NULL
 *  when it is not one. An empty body gives an empty object. */
json_t *ob_job_body_object(ob_job_t *job, const ob_call_t *call);

typedef void(ob_worker_handle_fn)(void *state, ob_job_t *job);
typedef void(ob_worker_batch_fn)(void *state, ob_job_t **jobs, size_t count);

typedef struct {
    const char *name;                 /* "plans.list" */
    ob_worker_handle_fn *handle;      /* one job at a time, or */
    ob_worker_batch_fn *handle_batch; /* all waiting jobs of this method at once */
} ob_worker_method_t;

typedef struct {
    const char *service; /* "subscription": must be a broker service name */
    const ob_worker_method_t *methods;
    size_t method_count;
    void *state; /* passed to every callback */
    int credit;  /* requests held at once (default 64) */
    int tick_ms; /* background tick period (default 250) */
    /*  Background work (outboxes, retries). Returns > 0 when it did work and
     *  has more, so the runtime calls it again without waiting. */
    int (*on_tick)(void *state);
    /*  An extra fd to watch (e.g. a LISTEN connection), -1 for none; asked
     *  every turn since it can change after a reconnect. */
    int (*watch_fd)(void *state);
    void (*on_fd)(void *state);
    /*  Optional: called once, when READY has gone to every gateway listed
     *  (each broker takes it before anything this worker sends later). */
    void (*on_ready)(void *state);
    /*  Optional: called on the worker's thread before each metrics snapshot
     *  is sent (every METRICS_INTERVAL_MS, default 5000): the place for the
     *  cheap periodic queries behind backlog gauges (common/ob_metrics.h). */
    void (*on_metrics)(void *state);
} ob_worker_config_t;

/*  The settings the runtime reads, as rows for a worker's ob_config_spec_t
 *  table (validated, and secret files loaded, before any thread starts):
 *  BROKER_ENDPOINT, one gateway's broker or a comma list; CURVE with
 *  BROKER_SERVER_PUBLIC_KEY and BROKER_CLIENT_SECRET_KEY (or
 *  BROKER_CLIENT_SECRET_KEY_FILE), BROKER_CLIENT_PUBLIC_KEY optional (it
 *  follows from the secret; when set it must match). */
#define OB_WORKER_SETTINGS                                                                                                         \
    {"BROKER_ENDPOINT", OB_CONFIG_ENDPOINTS, false, 0, 0}, {"BROKER_SERVER_PUBLIC_KEY", OB_CONFIG_CURVE_KEY, false, 0, 0},         \
        {"BROKER_CLIENT_SECRET_KEY", OB_CONFIG_CURVE_SECRET, false, 0, 0},                                                         \
    {                                                                                                                              \
        "BROKER_CLIENT_PUBLIC_KEY", OB_CONFIG_CURVE_KEY, false, 0, 0                                                               \
    }

/*  Runs the worker until SIGTERM or SIGINT. Reads OB_WORKER_SETTINGS,
 *  HEARTBEAT_MS and METRICS_INTERVAL_MS; every gateway listed is served
 *  over its own connection, with CURVE when its keys are set. Returns the
 *  process exit code (0 after a clean goodbye, 2 for settings that cannot
 *  work). */
int ob_worker_run(const ob_worker_config_t *config);

/*  For a handler that must wait (e.g. for another service's request row to
 *  be applied): sends the broker the heartbeat that is due, so a bounded
 *  wait is not taken for a dead worker. Call it from the handler's thread
 *  between short sleeps; a no-op outside a running worker. */
void ob_worker_keepalive(void);

/*  Asks a running worker to stop as on SIGTERM (for tests). */
void ob_worker_request_stop(void);

#endif
