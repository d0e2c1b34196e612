/*  ob_routes - the gateway's route table. One row per endpoint; the first
 *  match wins, so literal paths come before patterns that could shadow them. */
#include "gateway/ob_routes.h"

#include <string.h>

#include "proto/ob_wire.h"

static const ob_route_t s_routes[] = {
    /* plans catalogue */
    {"GET", "/api/v1/subscriptions/plans", OB_AUTH_PUBLIC, OB_SERVICE_SUBSCRIPTION, "plans.list", true},
    {"GET", "/api/v1/subscriptions/plans/{}", OB_AUTH_PUBLIC, OB_SERVICE_SUBSCRIPTION, "plans.get", true},
    /* Stripe */
    {"POST", "/api/v1/billing/webhooks/stripe", OB_AUTH_STRIPE_SIGNATURE, OB_SERVICE_STRIPE, "webhook.ingest", false},
    {"POST", "/api/v1/billing/checkout/create", OB_AUTH_USER, OB_SERVICE_STRIPE, "checkout.create", false},
    {"POST", "/api/v1/billing/portal/create", OB_AUTH_USER, OB_SERVICE_STRIPE, "portal.create", false},
    {"GET", "/api/v1/billing/payment-methods", OB_AUTH_USER, OB_SERVICE_STRIPE, "payment_methods.list", false},
    {"POST", "/api/v1/billing/subscription/cancel", OB_AUTH_USER, OB_SERVICE_STRIPE, "subscription.cancel", false},
    {"POST", "/api/v1/billing/subscription/upgrade", OB_AUTH_USER, OB_SERVICE_STRIPE, "subscription.upgrade", false},
    {"POST", "/api/v1/billing/subscription/resume", OB_AUTH_USER, OB_SERVICE_STRIPE, "subscription.resume", false},
    {"GET", "/api/v1/billing/invoices", OB_AUTH_USER, OB_SERVICE_STRIPE, "invoices.list", false},
    {"GET", "/api/v1/billing/subscription-status", OB_AUTH_USER, OB_SERVICE_SUBSCRIPTION, "status.get", false},
    /* entitlements (internal services; the pages use /me) */
    {"GET", "/api/v1/entitlements/me", OB_AUTH_USER, OB_SERVICE_SUBSCRIPTION, "entitlements.me", false},
    {"POST", "/api/v1/entitlements/check", OB_AUTH_SERVICE, OB_SERVICE_SUBSCRIPTION, "entitlements.check", false},
    {"GET", "/api/v1/entitlements/{}", OB_AUTH_SERVICE, OB_SERVICE_SUBSCRIPTION, "entitlements.get", false},
    /* teams (the owner's JWT; a member may read the team) */
    {"POST", "/api/v1/teams", OB_AUTH_USER, OB_SERVICE_SUBSCRIPTION, "teams.create", false},
    {"POST", "/api/v1/teams/{}/members", OB_AUTH_USER, OB_SERVICE_SUBSCRIPTION, "teams.members.add", false},
    {"GET", "/api/v1/teams/{}/members", OB_AUTH_USER, OB_SERVICE_SUBSCRIPTION, "teams.members.list", false},
    {"DELETE", "/api/v1/teams/{}/members", OB_AUTH_USER, OB_SERVICE_SUBSCRIPTION, "teams.members.remove", false},
    {"GET", "/api/v1/teams/{}", OB_AUTH_USER, OB_SERVICE_SUBSCRIPTION, "teams.get", false},
    /* operators */
    {"GET", "/api/v1/admin/webhook-events", OB_AUTH_ADMIN, OB_SERVICE_STRIPE, "admin.events.list", false},
    {"POST", "/api/v1/admin/webhook-events/{}/replay", OB_AUTH_ADMIN, OB_SERVICE_STRIPE, "admin.events.replay", false},
    {"POST", "/api/v1/admin/users/{}/overrides", OB_AUTH_ADMIN, OB_SERVICE_SUBSCRIPTION, "overrides.create", false},
    {"GET", "/api/v1/admin/users/{}/overrides", OB_AUTH_ADMIN, OB_SERVICE_SUBSCRIPTION, "overrides.list", false},
    {"POST", "/api/v1/admin/overrides/{}/revoke", OB_AUTH_ADMIN, OB_SERVICE_SUBSCRIPTION, "overrides.revoke", false},
    {"POST", "/api/v1/admin/users/{}/trial-extension", OB_AUTH_ADMIN, OB_SERVICE_STRIPE, "admin.trial.extend", false},
    {"GET", "/api/v1/admin/notifications", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.notifications.list", false},
    /* outgoing webhooks (operators) and the users' unsubscribe link */
    {"POST", "/api/v1/admin/webhook-endpoints", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.endpoints.create", false},
    {"GET", "/api/v1/admin/webhook-endpoints", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.endpoints.list", false},
    {"GET", "/api/v1/admin/webhook-endpoints/{}", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.endpoints.get", false},
    {"PATCH", "/api/v1/admin/webhook-endpoints/{}", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.endpoints.update", false},
    {"DELETE", "/api/v1/admin/webhook-endpoints/{}", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.endpoints.delete", false},
    {"POST", "/api/v1/admin/webhook-endpoints/{}/rotate-secret", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.endpoints.rotate",
     false},
    {"POST", "/api/v1/admin/webhook-endpoints/{}/recover", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.endpoints.recover", false},
    {"GET", "/api/v1/admin/webhook-messages", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.messages.list", false},
    {"GET", "/api/v1/admin/webhook-messages/{}/attempts", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.messages.attempts", false},
    {"POST", "/api/v1/admin/webhook-messages/{}/replay", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.messages.replay", false},
    {"GET", "/api/v1/notifications/unsubscribe", OB_AUTH_PUBLIC, OB_SERVICE_NOTIFIER, "unsubscribe.check", false},
    {"POST", "/api/v1/notifications/unsubscribe", OB_AUTH_PUBLIC, OB_SERVICE_NOTIFIER, "unsubscribe.apply", false},
    {"POST", "/api/v1/admin/notifications/{}/replay", OB_AUTH_ADMIN, OB_SERVICE_NOTIFIER, "admin.notifications.replay", false},
    {"GET", "/api/v1/admin/users/{}", OB_AUTH_ADMIN, OB_SERVICE_SUBSCRIPTION, "admin.user.get", false},
    {"GET", "/api/v1/admin/usage-forwarding", OB_AUTH_ADMIN, OB_SERVICE_LAGO, "admin.forwarding.list", false},
    {"POST", "/api/v1/admin/usage-forwarding/retry", OB_AUTH_ADMIN, OB_SERVICE_LAGO, "admin.forwarding.retry_all", false},
    {"POST", "/api/v1/admin/usage-forwarding/{}/retry", OB_AUTH_ADMIN, OB_SERVICE_LAGO, "admin.forwarding.retry", false},
    {"GET", "/metrics", OB_AUTH_METRICS, OB_ROUTE_SERVICE_BROKER, "metrics", false},
    /* usage (metering and quota) and Lago */
    {"POST", "/api/v1/usage/events", OB_AUTH_SERVICE, OB_SERVICE_USAGE, "usage.ingest", false},
    {"POST", "/api/v1/usage/authorize", OB_AUTH_SERVICE, OB_SERVICE_USAGE, "usage.authorize", false},
    {"GET", "/api/v1/usage/me", OB_AUTH_USER, OB_SERVICE_USAGE, "usage.get", false},
    {"GET", "/api/v1/usage/me/daily", OB_AUTH_USER, OB_SERVICE_USAGE, "usage.daily", false},
    {"GET", "/api/v1/usage/{}", OB_AUTH_SERVICE, OB_SERVICE_USAGE, "usage.get", false},
    {"POST", "/api/v1/webhooks/lago", OB_AUTH_LAGO_SIGNATURE, OB_SERVICE_LAGO, "lago_webhook.ingest", false},
};

/*  Matches path against pattern; captures the "{}" segment. */
static bool
s_path_matches(const char *pattern, const char *path, size_t path_len, ob_bytes_t *param)
{
    const char *p = path, *end = path + path_len;
    param->ptr = NULL;
    param->len = 0;
    while (*pattern) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *segment = p;
            while (p < end && *p != '/')
                p++;
            if (p == segment)
                return false;
            param->ptr = segment;
            param->len = (size_t)(p - segment);
            pattern += 2;
        } else {
            if (p >= end || *p != *pattern)
                return false;
            p++;
            pattern++;
        }
    }
    /* A single trailing slash is forgiven. */
    return p == end || (p + 1 == end && *p == '/');
}

ob_route_match_t
ob_routes_match(const char *method, size_t method_len, const char *path, size_t path_len, const ob_route_t **route,
                ob_bytes_t *param, char *allow, size_t cap)
{
    bool path_seen = false;
    size_t allow_len = 0;
    if (cap)
        allow[0] = '\0';
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        ob_bytes_t captured;
        if (!s_path_matches(s_routes[i].pattern, path, path_len, &captured))
            continue;
        if (strlen(s_routes[i].method) == method_len && memcmp(s_routes[i].method, method, method_len) == 0) {
            *route = &s_routes[i];
            *param = captured;
            return OB_ROUTE_FOUND;
        }
        path_seen = true;
        size_t len = strlen(s_routes[i].method);
        if (allow_len + len + 3 < cap && !strstr(allow, s_routes[i].method)) {
            if (allow_len) {
                memcpy(allow + allow_len, ", ", 2);
                allow_len += 2;
            }
            memcpy(allow + allow_len, s_routes[i].method, len + 1);
            allow_len += len;
        }
    }
    return path_seen ? OB_ROUTE_WRONG_METHOD : OB_ROUTE_NO_PATH;
}

size_t
ob_routes_count(void)
{
    return sizeof s_routes / sizeof s_routes[0];
}

const ob_route_t *
ob_routes_at(size_t i)
{
    return i < ob_routes_count() ? &s_routes[i] : NULL;
}

size_t
ob_routes_index(const ob_route_t *route)
{
    return (size_t)(route - s_routes);
}
