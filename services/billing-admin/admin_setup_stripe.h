/*  admin_setup_stripe - the Stripe prices the plan catalogue needs, shared by
 *  `billing-admin setup-stripe` (creates them) and `billing-admin verify`
 *  (checks them).
 */
#ifndef ADMIN_SETUP_STRIPE_H_INCLUDED
#define ADMIN_SETUP_STRIPE_H_INCLUDED

#include <stddef.h>

#include "clients/billing_prices.h"

#define ADMIN_MAX_PRICES 64

/*  One Stripe product per plan, named after it. */
typedef struct {
    char plan_id[65];
    char name[128];
} admin_plan_name_t;

/*  Reads the catalogue (deploy/plans.json format) at path and lists every
 *  price it needs (billing_price_offer: monthly and yearly, weekly for a
 *  trial) into specs and the plans into names. Prints the problem to stderr
 *  and returns -1 on a bad file. */
int admin_stripe_price_specs(const char *path, billing_price_spec_t *specs, size_t *spec_count, admin_plan_name_t *names,
                             size_t *name_count);

#endif
