/*  admin_lago_config - what Lago must hold for the project, shared by
 *  setup-lago (creates or updates it) and verify (names each difference):
 *  the catalogue's plans as Lago plans, and the webhook endpoint.
 */
#ifndef ADMIN_LAGO_CONFIG_H_INCLUDED
#define ADMIN_LAGO_CONFIG_H_INCLUDED

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "clients/lago_api.h"

#define ADMIN_LAGO_WEBHOOK_PATH "/api/v1/webhooks/lago"
#define ADMIN_LAGO_MAX_PLANS 64

/*  The plans of the catalogue as Lago plan specs (strings borrowed from
 *  catalogue and metrics, which must outlive it). */
typedef struct {
    lago_plan_spec_t specs[ADMIN_LAGO_MAX_PLANS];
    char currency[ADMIN_LAGO_MAX_PLANS][8];
    lago_charge_t *charges; /* one zero-priced charge per metric, shared by every plan */
    size_t count;
    json_t *catalogue;
} admin_lago_plans_t;

/*  Reads the catalogue at path; metrics is the result of "SELECT code, name,
 *  aggregation FROM usage_metrics". Returns 0, or -1 (reason on stderr). */
int admin_lago_plans_load(const char *path, const PGresult *metrics, admin_lago_plans_t *plans);
void admin_lago_plans_free(admin_lago_plans_t *plans);

/*  "" when the live plan (the "plan" object of GET /plans/{code}) matches
 *  spec, else "; "-separated differences ("amount_cents 1900, want 2100"). */
void admin_lago_plan_diff(const json_t *live, const lago_plan_spec_t *spec, char *out, size_t cap);

/*  $LAGO_WEBHOOK_SIGNATURE: "jwt" (default) or "hmac". */
const char *admin_lago_signature_algo(void);

/*  $PUBLIC_BASE_URL + ADMIN_LAGO_WEBHOOK_PATH into out; -1 when not set. */
int admin_lago_webhook_url(char *out, size_t cap);

/*  The endpoint with webhook_url == url, else the only one pointing at
 *  another ADMIN_LAGO_WEBHOOK_PATH (ours before PUBLIC_BASE_URL moved);
 *  borrowed from *list (caller decrefs), NULL when none. */
ob_err_t admin_lago_find_webhook(lago_api_t *api, const char *url, json_t **list, const json_t **endpoint, lago_api_error_t *error);

#endif
