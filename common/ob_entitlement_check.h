/*  ob_entitlement_check - may this user use this feature now? Pure rules
 *  over an entitlement (common/ob_entitlements.h) and the clock: no Redis,
 *  no Postgres, so the answers are table-tested (tests/unit/test_entitlement_check.c)
 *  and the same in every process that reads the copy.
 *
 *  A user has their plan's features while the subscription is
 *    - trialing or active (an active one set to cancel at the period end
 *      keeps them until current_period_end, then has none: "subscription_ended");
 *    - past_due, for the grace period from past_due_since, then none ("past_due");
 *    - canceled with cancel_at_period_end, until current_period_end.
 *  Otherwise none: "no_live_subscription". A feature outside the plan:
 *  "plan_lacks_feature".
 */
#ifndef OB_ENTITLEMENT_CHECK_H_INCLUDED
#define OB_ENTITLEMENT_CHECK_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/ob_entitlements.h"

typedef enum {
    OB_ENTITLED,              /* allowed */
    OB_NOT_ENTITLED_FEATURE,  /* plan_lacks_feature */
    OB_NOT_ENTITLED_NONE,     /* no_live_subscription */
    OB_NOT_ENTITLED_PAST_DUE, /* past_due, beyond the grace period */
    OB_NOT_ENTITLED_ENDED     /* subscription_ended: canceled at the period end, which has passed */
} ob_entitled_t;

/*  The reason code an answer carries ("plan_lacks_feature", ...); NULL for OB_ENTITLED. */
const char *ob_entitled_reason(ob_entitled_t verdict);

/*  Whether the subscription gives its plan's features at now (any feature). */
ob_entitled_t ob_entitlement_standing(const ob_entitlement_t *e, int64_t now);

/*  The verdict for one feature at now. */
ob_entitled_t ob_entitlement_check(const ob_entitlement_t *e, const char *feature, int64_t now);

/*  Whether the plan's feature list (e->features, a JSON array) holds feature. */
bool ob_entitlement_has_feature(const ob_entitlement_t *e, const char *feature);

/*  The instant after which a live subscription stops giving access (the end
 *  of the past_due grace, or of a period canceled at its end), 0 for none.
 *  What the copy's access_until holds, so authorize needs no clock rules. */
int64_t ob_entitlement_access_until(const ob_entitlement_t *e, int64_t grace_s);

#endif
