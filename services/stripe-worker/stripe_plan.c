/*  stripe_plan - a subscription message's plan candidates -> plan_id. */
#include "services/stripe-worker/stripe_plan.h"

#include <stdbool.h>

void
stripe_plan_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "stripe_plan_exists", "SELECT 1 FROM plans WHERE id = $1", 1);
}

/*  OB_OK with *exists, or a database failure. */
static ob_err_t
s_plan_exists(ob_pg_t *pg, const char *plan_id, bool *exists)
{
    const char *values[] = {plan_id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "stripe_plan_exists", 1, values, &r);
    *exists = err == OB_OK && PQntuples(r) > 0;
    PQclear(r);
    return err;
}

ob_err_t
stripe_plan_resolve(ob_pg_t *pg, json_t *message)
{
    json_t *candidates = json_object_get(message, "plan_candidates");
    if (!candidates)
        return OB_OK;
    const char *found = NULL;
    size_t i;
    json_t *candidate;
    json_array_foreach(candidates, i, candidate)
    {
        bool exists = false;
        ob_err_t err = s_plan_exists(pg, json_string_value(candidate), &exists);
        if (err != OB_OK)
            return err;
        if (exists) {
            found = json_string_value(candidate);
            break;
        }
    }
    json_object_set_new(message, "plan_id", found ? json_string(found) : json_null());
    json_object_del(message, "plan_candidates"); /* after the copy above: it owns found */
    return found ? OB_OK : OB_ERR_NOT_FOUND;
}
