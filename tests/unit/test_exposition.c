/*  ob_exposition: the Prometheus text the broker renders for /metrics. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_metrics.h"
#include "gateway/ob_exposition.h"
#include "test_params.h"

static char *
s_render(ob_expo_t *expo)
{
    size_t len;
    char *text = ob_expo_render(expo, &len);
    cr_assert(text && strlen(text) == len);
    return text;
}

Test(ob_exposition, groups_a_family_under_one_help_and_type)
{
    ob_expo_t *expo = ob_expo_new();
    ob_expo_label_t a[] = {{"service", "usage"}}, b[] = {{"service", "stripe"}};
    cr_assert(ob_expo_add(expo, "ob_broker_workers", "gauge", "Live workers.", "", a, 1, 2) == 0);
    cr_assert(ob_expo_add(expo, "ob_up_total", "counter", "Ups.", "", NULL, 0, 7) == 0);
    cr_assert(ob_expo_add(expo, "ob_broker_workers", "gauge", "Live workers.", "", b, 1, 0) == 0);
    char *text = s_render(expo);
    cr_expect_str_eq(text, "# HELP ob_broker_workers Live workers.\n# TYPE ob_broker_workers gauge\n"
                           "ob_broker_workers{service=\"usage\"} 2\nob_broker_workers{service=\"stripe\"} 0\n"
                           "# HELP ob_up_total Ups.\n# TYPE ob_up_total counter\nob_up_total 7\n");
    free(text);
    ob_expo_destroy(&expo);
    cr_expect_null(expo);
}

typedef struct {
    const char *name, *type, *label_name, *label_value;
    int rc;
    const char *line; /* the sample line when taken */
} add_case_t;

static const add_case_t s_add_cases[] = {
    {"ob_x_total", "counter", "route", "/api/v1/{}", 0, "ob_x_total{route=\"/api/v1/{}\"} 1.5\n"},
    {"ob_x_total", "counter", "v", "a\"b\\c\nd", 0, "ob_x_total{v=\"a\\\"b\\\\c\\nd\"} 1.5\n"},
    {"1bad", "counter", NULL, NULL, -1, NULL},
    {"ob-bad", "gauge", NULL, NULL, -1, NULL},
    {"ob_x", "summary", NULL, NULL, -1, NULL},
    {"ob_x", "gauge", "bad-label", "v", -1, NULL},
    {"ob_x", "gauge", "__reserved", "v", -1, NULL},
    {"ob_x", "gauge", "ns:colon", "v", -1, NULL},
};

ParameterizedTestParameters(ob_exposition, add)
{
    OB_TEST_CASE_INDICES(s_add_cases);
}

ParameterizedTest(size_t *index, ob_exposition, add)
{
    const add_case_t *c = &s_add_cases[*index];
    ob_expo_t *expo = ob_expo_new();
    ob_expo_label_t label = {c->label_name, c->label_value};
    cr_expect_eq(ob_expo_add(expo, c->name, c->type, "h", "", &label, c->label_name ? 1 : 0, 1.5), c->rc, "case %zu", *index);
    char *text = s_render(expo);
    if (c->line)
        cr_expect(strstr(text, c->line) != NULL, "case %zu: %s", *index, text);
    else
        cr_expect_str_eq(text, "", "case %zu", *index);
    free(text);
    ob_expo_destroy(&expo);
}

Test(ob_exposition, a_type_clash_is_dropped)
{
    ob_expo_t *expo = ob_expo_new();
    cr_assert(ob_expo_add(expo, "ob_x", "gauge", "h", "", NULL, 0, 1) == 0);
    cr_expect(ob_expo_add(expo, "ob_x", "counter", "h", "", NULL, 0, 2) == -1);
    char *text = s_render(expo);
    cr_expect(strstr(text, "ob_x 2") == NULL);
    free(text);
    ob_expo_destroy(&expo);
}

Test(ob_exposition, snapshot_samples_get_program_and_worker_once_per_instance)
{
    ob_metrics_set_program("lago-worker");
    ob_metrics_count("ob_usage_authorize_total", "Decisions.", "decision", "allowed", 3);
    ob_metrics_gauge("ob_lago_forward_backlog_events", "Backlog.", NULL, NULL, 12);
    json_t *snapshot = ob_metrics_snapshot();
    char *json = json_dumps(snapshot, JSON_COMPACT);
    json_decref(snapshot);
    ob_expo_t *expo = ob_expo_new();
    cr_expect_gt(ob_expo_add_snapshot(expo, json, strlen(json)), 0);
    cr_expect_eq(ob_expo_add_snapshot(expo, json, strlen(json)), 0, "the second runtime of a process counts nothing");
    cr_expect_eq(ob_expo_add_snapshot(expo, "[1,2]", 5), -1);
    cr_expect_eq(ob_expo_add_snapshot(expo, "{\"families\":", 12), -1);
    char *text = s_render(expo);
    cr_expect(strstr(text, "# TYPE ob_usage_authorize_total counter\n") != NULL, "%s", text);
    cr_expect(strstr(text, "ob_usage_authorize_total{program=\"lago-worker\",worker=\"") != NULL, "%s", text);
    cr_expect(strstr(text, ",decision=\"allowed\"} 3\n") != NULL, "%s", text);
    cr_expect(strstr(text, "# TYPE ob_lago_forward_backlog_events gauge\n") != NULL, "%s", text);
    cr_expect(strstr(text, "process_resident_memory_bytes{program=\"lago-worker\"") != NULL, "%s", text);
    free(text);
    free(json);
    ob_expo_destroy(&expo);
}

Test(ob_exposition, snapshot_with_hostile_names_keeps_the_output_valid)
{
    const char *json =
        "{\"program\":\"x\",\"instance\":\"h:1\",\"families\":["
        "{\"name\":\"bad name\",\"type\":\"gauge\",\"help\":\"h\",\"samples\":[{\"labels\":{},\"value\":1}]},"
        "{\"name\":\"ob_ok\",\"type\":\"gauge\",\"help\":\"h\",\"samples\":[{\"labels\":{\"a b\":\"v\"},\"value\":1},"
        "{\"labels\":{\"worker\":\"spoof\"},\"value\":2},{\"labels\":{\"k\":\"v\"},\"value\":3}]}]}";
    ob_expo_t *expo = ob_expo_new();
    cr_expect_eq(ob_expo_add_snapshot(expo, json, strlen(json)), 1);
    char *text = s_render(expo);
    cr_expect_str_eq(text, "# HELP ob_ok h\n# TYPE ob_ok gauge\nob_ok{program=\"x\",worker=\"h:1\",k=\"v\"} 3\n");
    free(text);
    ob_expo_destroy(&expo);
}
