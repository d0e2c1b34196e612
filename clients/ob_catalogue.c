/*  ob_catalogue - read and validate the plan catalogue file. */
#include "clients/ob_catalogue.h"

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/ob_json.h"

static bool
s_is_count(const json_t *value, bool nullable)
{
    return (nullable && json_is_null(value)) || (json_is_integer(value) && json_integer_value(value) >= 0);
}

int
ob_catalogue_validate(const json_t *catalogue, char *problem, size_t cap)
{
    const json_t *plans = json_object_get(catalogue, "plans");
    if (!json_is_array(plans) || json_array_size(plans) == 0) {
        snprintf(problem, cap, "\"plans\" must be a non-empty array");
        return -1;
    }
    regex_t id_pattern;
    regcomp(&id_pattern, "^[a-z0-9_-]{1,64}$", REG_EXTENDED | REG_NOSUB);
    int rc = 0;
    size_t i;
    const json_t *plan;
    json_array_foreach(plans, i, plan)
    {
        const char *id = ob_json_str(plan, "id");
        const char *why = NULL;
        if (!id || regexec(&id_pattern, id, 0, NULL, 0) != 0)
            why = "id must be 1-64 characters of a-z, 0-9, _ or -";
        else if (!ob_json_str(plan, "name"))
            why = "name is required";
        else if (!s_is_count(json_object_get(plan, "price_monthly_cents"), false))
            why = "price_monthly_cents must be a non-negative integer";
        else if (!s_is_count(json_object_get(plan, "price_yearly_cents"), true))
            why = "price_yearly_cents must be a non-negative integer or null";
        else if (!s_is_count(json_object_get(plan, "api_calls_limit"), true))
            why = "api_calls_limit must be a non-negative integer or null (unlimited)";
        else if (!ob_json_str(plan, "api_calls_period") || (strcmp(ob_json_str(plan, "api_calls_period"), "total") != 0 &&
                                                            strcmp(ob_json_str(plan, "api_calls_period"), "month") != 0))
            why = "api_calls_period must be \"total\" or \"month\"";
        else if (!json_is_array(json_object_get(plan, "features")))
            why = "features must be an array of feature keys";
        if (why) {
            snprintf(problem, cap, "plan %zu (%s): %s", i, id ? id : "?", why);
            rc = -1;
            break;
        }
    }
    regfree(&id_pattern);
    return rc;
}

json_t *
ob_catalogue_read_file(const char *path)
{
    json_error_t error;
    json_t *catalogue = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (!catalogue) {
        fprintf(stderr, "plans: %s: %s (line %d)\n", path, error.text, error.line);
        return NULL;
    }
    char problem[256];
    if (ob_catalogue_validate(catalogue, problem, sizeof problem) != 0) {
        fprintf(stderr, "plans: %s: %s\n", path, problem);
        json_decref(catalogue);
        return NULL;
    }
    return catalogue;
}
