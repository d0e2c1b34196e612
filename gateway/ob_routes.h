/*  ob_routes - the gateway's route table: which HTTP call goes to which
 *  service method, and how its caller is authenticated.
 *
 *  Patterns are literal paths in which "{}" stands for exactly one non-empty
 *  path segment, captured as the call's path parameter.
 */
#ifndef OB_ROUTES_H_INCLUDED
#define OB_ROUTES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "proto/ob_proto.h"

typedef enum {
    OB_AUTH_PUBLIC,           /* anyone */
    OB_AUTH_USER,             /* a user's JWT (Bearer or cookie) */
    OB_AUTH_SERVICE,          /* an internal service token */
    OB_AUTH_ADMIN,            /* the operator's ADMIN_TOKEN */
    OB_AUTH_STRIPE_SIGNATURE, /* Stripe-Signature over the raw body */
    OB_AUTH_LAGO_SIGNATURE,   /* X-Lago-Signature over the raw body */
    OB_AUTH_METRICS           /* METRICS_TOKEN as a bearer token when it is set, else anyone */
} ob_auth_kind_t;

/*  The service of a route the broker answers itself (/metrics). */
#define OB_ROUTE_SERVICE_BROKER 0xFF

typedef struct {
    const char *method;  /* "GET", "POST" */
    const char *pattern; /* "/api/v1/subscriptions/plans/{}" */
    ob_auth_kind_t auth;
    int service;     /* OB_SERVICE_* (proto/ob_wire.h) or OB_ROUTE_SERVICE_BROKER */
    const char *rpc; /* the worker's method name, e.g. "plans.get" */
    bool cacheable;  /* answers carry an ETag; If-None-Match gives 304 */
} ob_route_t;

typedef enum { OB_ROUTE_FOUND, OB_ROUTE_NO_PATH, OB_ROUTE_WRONG_METHOD } ob_route_match_t;

/*  Finds the route for method and path (no query string). On FOUND, *route
 *  is set and *param holds the captured segment (a view into path, empty if
 *  none). On WRONG_METHOD, allow (cap bytes) gets the allowed methods,
 *  comma-separated, for the Allow header. */
ob_route_match_t ob_routes_match(const char *method, size_t method_len, const char *path, size_t path_len, const ob_route_t **route,
                                 ob_bytes_t *param, char *allow, size_t cap);

/*  The table's size, its i-th row, and a row's index (for per-route
 *  metrics: gateway/ob_http_metrics.h). */
size_t ob_routes_count(void);
const ob_route_t *ob_routes_at(size_t i);
size_t ob_routes_index(const ob_route_t *route);

#endif
