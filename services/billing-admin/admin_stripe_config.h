/*  admin_stripe_config - the Stripe webhook endpoint and customer portal
 *  configuration the project needs, shared by setup (creates or corrects
 *  them) and verify (names each difference).
 *
 *  Webhook endpoint: url = $PUBLIC_BASE_URL + ADMIN_STRIPE_WEBHOOK_PATH,
 *  enabled_events = stripe_handled_events exactly, api_version =
 *  STRIPE_API_VERSION (Stripe formats events by the endpoint's version),
 *  status enabled, description ADMIN_STRIPE_DESCRIPTION (how setup finds it
 *  again after PUBLIC_BASE_URL changes).
 *
 *  Portal: the default configuration when the account has one (what portal
 *  sessions use), else the one with metadata[managed_by]=billing-admin:
 *  subscription_update enabled for price changes between the catalogue's
 *  paid plans' prices (create_prorations), subscription_cancel enabled at
 *  period end, payment method update and invoice history enabled,
 *  default_return_url = $STRIPE_PORTAL_RETURN_URL when set.
 */
#ifndef ADMIN_STRIPE_CONFIG_H_INCLUDED
#define ADMIN_STRIPE_CONFIG_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#include "clients/stripe_api.h"
#include "services/billing-admin/admin_setup.h"
#include "services/billing-admin/admin_setup_stripe.h"

#define ADMIN_STRIPE_WEBHOOK_PATH "/api/v1/billing/webhooks/stripe"
#define ADMIN_STRIPE_DESCRIPTION "ops-center-billing"

/*  The endpoint url for PUBLIC_BASE_URL into out; -1 when it is not set. */
int admin_stripe_webhook_url(char *out, size_t cap);

/*  The endpoint at url, else ours by description (borrowed from *list, which
 *  the caller frees); NULL when none. OB_OK or Stripe's error. */
ob_err_t admin_stripe_find_webhook(stripe_api_t *stripe, const char *url, json_t **list, json_t **endpoint, stripe_error_t *error);

/*  "" when endpoint matches, else "; "-separated differences ("url is X,
 *  want Y", "missing events a, b", "extra events c", "api_version X, want
 *  Y", "status disabled"). Stripe cannot change api_version in place: setup
 *  registers a new endpoint (new secret) and deletes the old one. */
void admin_stripe_webhook_diff(const json_t *endpoint, const char *url, char *out, size_t cap);

/*  Setup's step: creates, corrects or re-creates the endpoint; a new
 *  signing secret goes through admin_setup_secret. Returns 0 or -1. */
int admin_stripe_webhook_setup(stripe_api_t *stripe, const admin_setup_opts_t *opts, admin_setup_tally_t *tally);

/*  The portal configuration setup maintains (borrowed from *list); NULL when none. */
ob_err_t admin_stripe_find_portal(stripe_api_t *stripe, json_t **list, json_t **config, stripe_error_t *error);

/*  "" when config matches the catalogue's prices (rows with a price id,
 *  trial plans left out), else the differences. */
void admin_stripe_portal_diff(const json_t *config, const admin_price_row_t *rows, size_t n, char *out, size_t cap);

/*  Setup's step for the portal. Returns 0 or -1. */
int admin_stripe_portal_setup(stripe_api_t *stripe, const admin_setup_opts_t *opts, const admin_price_row_t *rows, size_t n,
                              admin_setup_tally_t *tally);

#endif
