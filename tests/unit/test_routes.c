/*  routes: the table answers found / no path / wrong method, and captures. */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/ob_routes.h"
#include "proto/ob_wire.h"

struct route_case {
    const char *method, *path;
    ob_route_match_t expected;
    const char *rpc;   /* when found */
    const char *param; /* when found */
    const char *allow; /* when wrong method */
};

static const struct route_case s_cases[] = {
    {"GET", "/api/v1/subscriptions/plans", OB_ROUTE_FOUND, "plans.list", "", NULL},
    {"GET", "/api/v1/subscriptions/plans/", OB_ROUTE_FOUND, "plans.list", "", NULL},
    {"GET", "/api/v1/subscriptions/plans/starter", OB_ROUTE_FOUND, "plans.get", "starter", NULL},
    {"GET", "/api/v1/subscriptions/plans/starter/x", OB_ROUTE_NO_PATH, NULL, NULL, NULL},
    {"POST", "/api/v1/subscriptions/plans", OB_ROUTE_WRONG_METHOD, NULL, NULL, "GET"},
    {"POST", "/api/v1/billing/webhooks/stripe", OB_ROUTE_FOUND, "webhook.ingest", "", NULL},
    {"GET", "/api/v1/billing/webhooks/stripe", OB_ROUTE_WRONG_METHOD, NULL, NULL, "POST"},
    {"POST", "/api/v1/admin/webhook-events/evt_123/replay", OB_ROUTE_FOUND, "admin.events.replay", "evt_123", NULL},
    {"POST", "/api/v1/admin/webhook-events//replay", OB_ROUTE_NO_PATH, NULL, NULL, NULL},
    {"GET", "/api/v1/usage/me", OB_ROUTE_FOUND, "usage.get", "", NULL},
    {"GET", "/api/v1/usage/user_42", OB_ROUTE_FOUND, "usage.get", "user_42", NULL},
    {"GET", "/api/v1/usage/me/daily", OB_ROUTE_FOUND, "usage.daily", "", NULL},
    {"GET", "/api/v1/billing/invoices", OB_ROUTE_FOUND, "invoices.list", "", NULL},
    {"POST", "/api/v1/billing/invoices", OB_ROUTE_WRONG_METHOD, NULL, NULL, "GET"},
    {"POST", "/api/v1/billing/subscription/resume", OB_ROUTE_FOUND, "subscription.resume", "", NULL},
    {"GET", "/nope", OB_ROUTE_NO_PATH, NULL, NULL, NULL},
    {"GET", "", OB_ROUTE_NO_PATH, NULL, NULL, NULL},
};

Test(routes, table)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const struct route_case *c = &s_cases[i];
        const ob_route_t *route = NULL;
        ob_bytes_t param;
        char allow[64];
        ob_route_match_t got =
            ob_routes_match(c->method, strlen(c->method), c->path, strlen(c->path), &route, &param, allow, sizeof allow);
        cr_expect_eq(got, c->expected, "%s %s", c->method, c->path);
        if (got == OB_ROUTE_FOUND && c->rpc) {
            cr_expect_str_eq(route->rpc, c->rpc, "%s %s", c->method, c->path);
            cr_expect(ob_bytes_eq(param, c->param), "%s %s: param", c->method, c->path);
        }
        if (got == OB_ROUTE_WRONG_METHOD && c->allow)
            cr_expect_str_eq(allow, c->allow, "%s %s", c->method, c->path);
    }
}

Test(routes, user_routes_are_authenticated)
{
    const ob_route_t *route;
    ob_bytes_t param;
    char allow[64];
    const char *path = "/api/v1/billing/checkout/create";
    cr_assert_eq(ob_routes_match("POST", 4, path, strlen(path), &route, &param, allow, sizeof allow), OB_ROUTE_FOUND);
    cr_assert_eq(route->auth, OB_AUTH_USER);
    cr_assert_eq(route->service, OB_SERVICE_STRIPE);
}
