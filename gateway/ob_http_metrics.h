/*  ob_http_metrics - the gateway's request counts and latencies by route.
 *
 *  One slot per route of the route table (gateway/ob_routes.c) and four
 *  more: /health, /ready, /metrics' own refusals never reach here twice,
 *  and "unmatched" for every path or method no route has, so the route
 *  label is always a pattern, never a raw path (low cardinality). Loop
 *  threads observe with relaxed atomics (no lock, no allocation); the broker
 *  thread renders. Statuses are counted per code (100..599).
 */
#ifndef OB_HTTP_METRICS_H_INCLUDED
#define OB_HTTP_METRICS_H_INCLUDED

#include <stdint.h>

#include "gateway/ob_exposition.h"
#include "gateway/ob_routes.h"

typedef struct _ob_http_metrics_t ob_http_metrics_t;

typedef enum { OB_HTTP_SLOT_HEALTH, OB_HTTP_SLOT_READY, OB_HTTP_SLOT_UNMATCHED, OB_HTTP_SLOT_EXTRA } ob_http_slot_extra_t;

ob_http_metrics_t *ob_http_metrics_new(void);
void ob_http_metrics_destroy(ob_http_metrics_t **self_p);

/*  The slot of a route of the table, or of one of the extras. */
int ob_http_metrics_route_slot(const ob_route_t *route);
int ob_http_metrics_extra_slot(ob_http_slot_extra_t extra);

/*  Records one answered request. Any thread. */
void ob_http_metrics_observe(ob_http_metrics_t *self, int slot, int status, double seconds);

/*  Adds ob_http_requests_total and ob_http_request_duration_seconds. */
void ob_http_metrics_render(ob_http_metrics_t *self, ob_expo_t *expo);

#endif
