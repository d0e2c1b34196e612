/*  ob_http_metrics - the gateway's request counts and latencies by route. */
#include "gateway/ob_http_metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static const double s_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define BUCKETS (sizeof s_bounds / sizeof s_bounds[0])
#define STATUSES 500 /* 100..599 */

typedef struct {
    atomic_uint_fast64_t by_status[STATUSES];
    atomic_uint_fast64_t buckets[BUCKETS]; /* not cumulative: one per bound */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
} slot_t;

struct _ob_http_metrics_t {
    size_t slots;
    slot_t slot[];
};

static const char *const s_extra_names[] = {"/health", "/ready", "unmatched"};

ob_http_metrics_t *
ob_http_metrics_new(void)
{
    size_t slots = ob_routes_count() + OB_HTTP_SLOT_EXTRA;
    ob_http_metrics_t *self = calloc(1, sizeof *self + slots * sizeof(slot_t));
    if (self)
        self->slots = slots;
    return self;
}

void
ob_http_metrics_destroy(ob_http_metrics_t **self_p)
{
    free(*self_p);
    *self_p = NULL;
}

int
ob_http_metrics_route_slot(const ob_route_t *route)
{
    return (int)ob_routes_index(route);
}

int
ob_http_metrics_extra_slot(ob_http_slot_extra_t extra)
{
    return (int)ob_routes_count() + (int)extra;
}

void
ob_http_metrics_observe(ob_http_metrics_t *self, int slot, int status, double seconds)
{
    if (!self || slot < 0 || (size_t)slot >= self->slots || status < 100 || status > 599)
        return;
    slot_t *s = &self->slot[slot];
    atomic_fetch_add_explicit(&s->by_status[status - 100], 1, memory_order_relaxed);
    size_t bucket = 0;
    while (bucket < BUCKETS && seconds > s_bounds[bucket])
        bucket++;
    if (bucket < BUCKETS)
        atomic_fetch_add_explicit(&s->buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (uint64_t)(seconds > 0 ? seconds * 1e6 : 0), memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

static void
s_slot_labels(size_t slot, const char **method, const char **route)
{
    size_t routes = ob_routes_count();
    if (slot < routes) {
        *method = ob_routes_at(slot)->method;
        *route = ob_routes_at(slot)->pattern;
    } else {
        *method = slot - routes == OB_HTTP_SLOT_UNMATCHED ? "other" : "GET";
        *route = s_extra_names[slot - routes];
    }
}

void
ob_http_metrics_render(ob_http_metrics_t *self, ob_expo_t *expo)
{
    static const char requests_help[] = "HTTP requests answered by the gateway, by route pattern and status.";
    static const char duration_help[] = "Time from the request's arrival to its answer, by route pattern.";
    for (size_t i = 0; i < self->slots; i++) {
        slot_t *s = &self->slot[i];
        uint64_t count = atomic_load_explicit(&s->count, memory_order_relaxed);
        const char *method, *route;
        s_slot_labels(i, &method, &route);
        for (int status = 0; status < STATUSES; status++) {
            uint64_t n = atomic_load_explicit(&s->by_status[status], memory_order_relaxed);
            if (!n)
                continue;
            char code[8];
            snprintf(code, sizeof code, "%d", status + 100);
            ob_expo_label_t labels[] = {{"method", method}, {"route", route}, {"status", code}};
            ob_expo_add(expo, "ob_http_requests_total", "counter", requests_help, "", labels, 3, (double)n);
        }
        /* Every route gets its histogram, seen or not, so rates and alerts
         * have a series to read from the start. */
        uint64_t cumulative = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            cumulative += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
            char le[24];
            snprintf(le, sizeof le, "%g", s_bounds[b]);
            ob_expo_label_t labels[] = {{"method", method}, {"route", route}, {"le", le}};
            ob_expo_add(expo, "ob_http_request_duration_seconds", "histogram", duration_help, "_bucket", labels, 3,
                        (double)cumulative);
        }
        /* +Inf is the total count: read once so the buckets never exceed it. */
        if (cumulative > count)
            count = cumulative;
        ob_expo_label_t inf[] = {{"method", method}, {"route", route}, {"le", "+Inf"}};
        ob_expo_add(expo, "ob_http_request_duration_seconds", "histogram", duration_help, "_bucket", inf, 3, (double)count);
        ob_expo_label_t labels[] = {{"method", method}, {"route", route}};
        ob_expo_add(expo, "ob_http_request_duration_seconds", "histogram", duration_help, "_sum", labels, 2,
                    (double)atomic_load_explicit(&s->sum_us, memory_order_relaxed) / 1e6);
        ob_expo_add(expo, "ob_http_request_duration_seconds", "histogram", duration_help, "_count", labels, 2, (double)count);
    }
}
