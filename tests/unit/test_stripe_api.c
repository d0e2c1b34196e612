/*  stripe_api: the error mapping (table-driven) and every call against the
 *  Stripe stand-in (tests/standins/stripe_standin.py), which each test
 *  starts on a free loopback port and stops again. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clients/stripe_api.h"
#include "common/ob_http.h"

/* ---- the mapping --------------------------------------------------------------------------------------- */

static const struct {
    long status;
    const char *type, *code;
    ob_err_t want;
} s_mapping[] = {
    {200, NULL, NULL, OB_OK},
    {201, "", "", OB_OK},
    {0, NULL, NULL, OB_ERR_TRANSIENT},
    {400, "invalid_request_error", "parameter_missing", OB_ERR_INVALID},
    {400, NULL, NULL, OB_ERR_INVALID},
    {400, "invalid_request_error", "resource_missing", OB_ERR_NOT_FOUND},
    {400, "idempotency_error", NULL, OB_ERR_CONFLICT},
    {401, "invalid_request_error", NULL, OB_ERR_UPSTREAM},
    {403, "invalid_request_error", "secret_key_required", OB_ERR_UPSTREAM},
    {402, "card_error", "card_declined", OB_ERR_PAYMENT},
    {402, NULL, NULL, OB_ERR_PAYMENT},
    {400, "card_error", "incorrect_cvc", OB_ERR_PAYMENT},
    {404, "invalid_request_error", "resource_missing", OB_ERR_NOT_FOUND},
    {404, NULL, NULL, OB_ERR_NOT_FOUND},
    {409, "idempotency_error", NULL, OB_ERR_CONFLICT},
    {409, "invalid_request_error", "lock_timeout", OB_ERR_TRANSIENT},
    {429, "invalid_request_error", "rate_limit", OB_ERR_TRANSIENT},
    {500, "api_error", NULL, OB_ERR_TRANSIENT},
    {502, NULL, NULL, OB_ERR_TRANSIENT},
    {503, NULL, NULL, OB_ERR_TRANSIENT},
    {424, "api_error", NULL, OB_ERR_UPSTREAM},
    {302, NULL, NULL, OB_ERR_UPSTREAM},
};

Test(stripe_api, maps_stripe_answers_to_outcomes)
{
    for (size_t i = 0; i < sizeof s_mapping / sizeof s_mapping[0]; i++)
        cr_expect_eq(stripe_api_map_error(s_mapping[i].status, s_mapping[i].type, s_mapping[i].code), s_mapping[i].want,
                     "%ld %s/%s", s_mapping[i].status, s_mapping[i].type, s_mapping[i].code);
}

Test(stripe_api, refuses_bad_construction)
{
    const struct {
        const char *base, *key;
    } bad[] = {{NULL, "sk_test_1"},      {"https://api.stripe.com", NULL}, {"https://api.stripe.com", ""},
               {"ftp://x", "sk_test_1"}, {"api.stripe.com", "sk_test_1"},  {"https://api.stripe.com", "sk\r\nX: y"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_null(stripe_api_new(bad[i].base, bad[i].key), "case %zu", i);
    stripe_api_t *api = stripe_api_new("https://api.stripe.com/", "sk_test_1");
    cr_assert(api);
    stripe_api_destroy(&api);
    cr_assert_null(api);
    stripe_api_destroy(&api);
}

/* ---- against the stand-in ------------------------------------------------------------------------------ */

#define SECRET "sk_test_unit"

static pid_t s_standin;
static char s_base[64];
static stripe_api_t *api;
static ob_http_t *control_http;
static stripe_error_t err;
static json_t *res;

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/*  The repository root, from this file's path (CMake compiles with absolute paths). */
static void
standin_path(char *buf, size_t size)
{
    const char *file = __FILE__, *tail = strstr(file, "tests/unit/test_stripe_api.c");
    snprintf(buf, size, "%.*stests/standins/stripe_standin.py", tail ? (int)(tail - file) : 0, file);
}

static void
start_standin(void)
{
    char script[1024], port[16];
    standin_path(script, sizeof script);
    int p = free_port();
    snprintf(port, sizeof port, "%d", p);
    snprintf(s_base, sizeof s_base, "http://127.0.0.1:%d", p);

    int out[2];
    cr_assert(pipe(out) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *argv[] = {"/usr/bin/python3", script, "--port", port, "--secret-key", SECRET, NULL};
    extern char **environ;
    cr_assert(posix_spawn(&s_standin, argv[0], &fa, NULL, argv, environ) == 0, "cannot start %s", script);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);

    char line[64] = {0};
    size_t len = 0;
    struct pollfd pfd = {.fd = out[0], .events = POLLIN};
    while (len < sizeof line - 1 && !strchr(line, '\n') && poll(&pfd, 1, 10000) > 0) {
        ssize_t r = read(out[0], line + len, sizeof line - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(out[0]);
    cr_assert(strncmp(line, "ready", 5) == 0, "stand-in did not say ready: '%s'", line);
}

static void
setup(void)
{
    cr_assert(ob_http_global_init() == 0);
    start_standin();
    api = stripe_api_new(s_base, SECRET);
    cr_assert(api);
    stripe_api_set_limits(api, 3000, 3, 1);
    control_http = ob_http_new();
}

static void
teardown(void)
{
    json_decref(res);
    stripe_api_destroy(&api);
    ob_http_destroy(&control_http);
    if (s_standin > 0) {
        kill(s_standin, SIGTERM);
        waitpid(s_standin, NULL, 0);
    }
    curl_global_cleanup();
}

/*  Calls a /__control endpoint; returns its JSON (caller decrefs). */
static json_t *
control(const char *method, const char *path, const char *json)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", s_base, path);
    ob_http_request_t req = {.method = method, .url = url, .body = json, .body_len = json ? strlen(json) : 0, .max_attempts = 1};
    ob_http_response_t resp = {0};
    cr_assert_eq(ob_http_send(control_http, &req, &resp), OB_OK);
    cr_assert_eq(resp.status, 200, "%s %s: %s", method, path, resp.body);
    json_t *out = json_loads(resp.body, 0, NULL);
    ob_http_response_reset(&resp);
    cr_assert(out);
    return out;
}

/*  The recorded requests. */
static json_t *
requests(void)
{
    return control("GET", "/__control/requests", NULL);
}

static const char *
str_at(const json_t *obj, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *node = obj;
    for (char *save = NULL, *part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save))
        node = json_is_array(node) ? json_array_get(node, (size_t)atoi(part)) : json_object_get(node, part);
    return json_string_value(node);
}

static const char *SEED = "{\"prices\":[{\"id\":\"price_pro_m\",\"unit_amount\":1000,\"recurring\":{\"interval\":\"month\"},"
                          "\"lookup_key\":\"pro_monthly\"},{\"id\":\"price_pro_y\",\"unit_amount\":10000,"
                          "\"recurring\":{\"interval\":\"year\"},\"lookup_key\":\"pro_yearly\"}],"
                          "\"customers\":[{\"id\":\"cus_1\",\"email\":\"a@example.com\",\"payment_methods\":"
                          "[{\"id\":\"pm_1\",\"card\":{\"last4\":\"1111\"},\"default\":true},{\"id\":\"pm_2\"}]}],"
                          "\"subscriptions\":[{\"id\":\"sub_1\",\"customer\":\"cus_1\",\"items\":[{\"id\":\"si_1\","
                          "\"price\":\"price_pro_m\"}]}]}";

static void
seed(void)
{
    json_decref(control("POST", "/__control/seed", SEED));
}

static void
fail_next(const char *json)
{
    json_decref(control("POST", "/__control/fail", json));
}

static const stripe_checkout_params_t CHECKOUT = {.customer = "cus_1",
                                                  .price_id = "price_pro_m",
                                                  .client_reference_id = "u42",
                                                  .success_url = "https://app.test/ok?s={CHECKOUT_SESSION_ID}",
                                                  .cancel_url = "https://app.test/cancel",
                                                  .user_id = "u42",
                                                  .plan_id = "pro"};

TestSuite(stripe_standin, .init = setup, .fini = teardown, .timeout = 30);

Test(stripe_standin, creates_a_customer_with_auth_version_and_idempotency_headers)
{
    cr_assert_eq(stripe_api_create_customer(api, "customer:u42", "ada@example.com", "u42", &res, &err), OB_OK, "%s", err.message);
    cr_assert(strncmp(str_at(res, "id"), "cus_", 4) == 0);
    cr_assert_str_eq(str_at(res, "metadata.user_id"), "u42");
    cr_assert_str_eq(str_at(res, "email"), "ada@example.com");

    json_t *log = requests();
    cr_assert_eq(json_array_size(log), 1);
    cr_assert_str_eq(str_at(log, "0.headers.authorization"), "Bearer " SECRET);
    cr_assert_str_eq(str_at(log, "0.headers.stripe-version"), "2024-06-20");
    cr_assert_str_eq(str_at(log, "0.headers.idempotency-key"), "customer:u42");
    cr_assert_str_eq(str_at(log, "0.headers.content-type"), "application/x-www-form-urlencoded");
    cr_assert_str_eq(str_at(log, "0.form.metadata.user_id"), "u42");
    json_decref(log);
}

Test(stripe_standin, the_same_key_returns_the_same_customer)
{
    cr_assert_eq(stripe_api_create_customer(api, "customer:u7", "b@example.com", "u7", &res, &err), OB_OK);
    json_t *first = res;
    res = NULL;
    cr_assert_eq(stripe_api_create_customer(api, "customer:u7", "b@example.com", "u7", &res, &err), OB_OK);
    cr_assert_str_eq(str_at(res, "id"), str_at(first, "id"));
    json_decref(first);
}

Test(stripe_standin, a_key_reused_with_other_parameters_is_a_conflict)
{
    cr_assert_eq(stripe_api_create_customer(api, "customer:u8", "c@example.com", "u8", &res, &err), OB_OK);
    json_decref(res);
    cr_assert_eq(stripe_api_create_customer(api, "customer:u8", "other@example.com", "u8", &res, &err), OB_ERR_CONFLICT);
    cr_assert_null(res);
    cr_assert_str_eq(err.type, "idempotency_error");
    cr_assert_eq(err.http_status, 400);
}

Test(stripe_standin, a_post_without_a_key_is_refused_before_sending)
{
    cr_assert_eq(stripe_api_create_customer(api, NULL, "a@example.com", "u1", &res, &err), OB_ERR_INVALID);
    cr_assert_eq(stripe_api_create_customer(api, "", "a@example.com", "u1", &res, &err), OB_ERR_INVALID);
    json_t *log = requests();
    cr_assert_eq(json_array_size(log), 0);
    json_decref(log);
}

Test(stripe_standin, unsafe_ids_are_refused_before_sending)
{
    const char *ids[] = {"", "sub_1/../../v1/balance", "sub 1", "sub_1?x=y", "sub_%2e"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        cr_expect_eq(stripe_api_retrieve_subscription(api, ids[i], &res, &err), OB_ERR_INVALID, "%s", ids[i]);
    cr_expect_eq(stripe_api_retrieve_subscription(api, NULL, &res, &err), OB_ERR_INVALID);
    json_t *log = requests();
    cr_assert_eq(json_array_size(log), 0);
    json_decref(log);
}

Test(stripe_standin, a_wrong_key_is_an_upstream_error_with_a_request_id)
{
    stripe_api_t *bad = stripe_api_new(s_base, "sk_test_wrong");
    cr_assert_eq(stripe_api_retrieve_balance(bad, &res, &err), OB_ERR_UPSTREAM);
    cr_assert_eq(err.http_status, 401);
    cr_assert(strncmp(err.request_id, "req_", 4) == 0);
    stripe_api_destroy(&bad);
}

Test(stripe_standin, retrieves_the_balance)
{
    cr_assert_eq(stripe_api_retrieve_balance(api, &res, &err), OB_OK);
    cr_assert_str_eq(str_at(res, "object"), "balance");
    cr_assert_eq(stripe_api_retrieve_balance(api, NULL, NULL), OB_OK, "result and error may be NULL");
}

Test(stripe_standin, creates_a_subscription_checkout_session)
{
    seed();
    cr_assert_eq(stripe_api_create_checkout_session(api, "checkout:u42:pro:month:n1", &CHECKOUT, &res, &err), OB_OK, "%s",
                 err.message);
    cr_assert(strncmp(str_at(res, "id"), "cs_", 3) == 0);
    cr_assert(strncmp(str_at(res, "url"), "https://checkout.stripe.com/", 28) == 0);
    cr_assert_str_eq(str_at(res, "mode"), "subscription");
    cr_assert_str_eq(str_at(res, "client_reference_id"), "u42");
    cr_assert_str_eq(str_at(res, "success_url"), CHECKOUT.success_url);

    json_t *log = requests();
    const json_t *form = json_object_get(json_array_get(log, 0), "form");
    cr_assert_str_eq(str_at(form, "line_items.0.price"), "price_pro_m");
    cr_assert_str_eq(str_at(form, "line_items.0.quantity"), "1");
    cr_assert_str_eq(str_at(form, "metadata.plan_id"), "pro");
    cr_assert_str_eq(str_at(form, "subscription_data.metadata.user_id"), "u42");
    cr_assert_str_eq(str_at(form, "subscription_data.metadata.plan_id"), "pro");
    json_decref(log);
}

Test(stripe_standin, a_declined_card_is_a_payment_error)
{
    seed();
    fail_next("{\"path_prefix\":\"/v1/checkout\",\"status\":402}");
    cr_assert_eq(stripe_api_create_checkout_session(api, "checkout:n2", &CHECKOUT, &res, &err), OB_ERR_PAYMENT);
    cr_assert_null(res);
    cr_assert_eq(err.http_status, 402);
    cr_assert_str_eq(err.type, "card_error");
    cr_assert_str_eq(err.code, "card_declined");
    cr_assert_str_eq(err.decline_code, "generic_decline");
    cr_assert_str_eq(err.message, "Your card was declined.");
}

Test(stripe_standin, a_500_is_retried_with_the_same_key)
{
    seed();
    fail_next("{\"path_prefix\":\"/v1/checkout\",\"status\":500,\"count\":2}");
    cr_assert_eq(stripe_api_create_checkout_session(api, "checkout:n3", &CHECKOUT, &res, &err), OB_OK);
    json_t *log = requests();
    cr_assert_eq(json_array_size(log), 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(log, i), "idempotency_key")), "checkout:n3");
    json_decref(log);
}

Test(stripe_standin, outages_and_rate_limits_become_transient_after_retries)
{
    const char *failures[] = {"{\"path_prefix\":\"/v1/balance\",\"status\":500,\"count\":9}",
                              "{\"path_prefix\":\"/v1/balance\",\"status\":429,\"count\":9}",
                              "{\"path_prefix\":\"/v1/balance\",\"status\":503,\"count\":9}"};
    for (size_t i = 0; i < 3; i++) {
        json_decref(control("POST", "/__control/reset", NULL));
        fail_next(failures[i]);
        cr_expect_eq(stripe_api_retrieve_balance(api, &res, &err), OB_ERR_TRANSIENT, "%s", failures[i]);
        json_t *log = requests();
        cr_expect_eq(json_array_size(log), 3, "%s", failures[i]);
        json_decref(log);
    }
}

Test(stripe_standin, should_retry_false_and_400_are_not_retried)
{
    fail_next("[{\"path_prefix\":\"/v1/balance\",\"status\":503,\"headers\":{\"Stripe-Should-Retry\":\"false\"}},"
              "{\"path_prefix\":\"/v1/customers\",\"status\":400,\"count\":5}]");
    cr_assert_eq(stripe_api_retrieve_balance(api, &res, &err), OB_ERR_TRANSIENT);
    cr_assert_eq(err.http_status, 503);
    cr_assert_eq(stripe_api_create_customer(api, "customer:x", "x@example.com", NULL, &res, &err), OB_ERR_INVALID);
    cr_assert_str_eq(err.type, "invalid_request_error");
    json_t *log = requests();
    cr_assert_eq(json_array_size(log), 2);
    json_decref(log);
}

Test(stripe_standin, no_answer_in_time_is_transient)
{
    stripe_api_set_limits(api, 300, 1, 1);
    fail_next("{\"path_prefix\":\"/v1/balance\",\"delay_ms\":2000}");
    cr_assert_eq(stripe_api_retrieve_balance(api, &res, &err), OB_ERR_TRANSIENT);
    cr_assert_eq(err.http_status, 0);
    cr_assert_neq(err.message[0], '\0');
}

Test(stripe_standin, missing_objects_are_not_found)
{
    seed();
    cr_assert_eq(stripe_api_retrieve_subscription(api, "sub_nope", &res, &err), OB_ERR_NOT_FOUND);
    cr_assert_eq(err.http_status, 404);
    cr_assert_str_eq(err.code, "resource_missing");
    stripe_checkout_params_t p = CHECKOUT;
    p.customer = "cus_gone";
    cr_assert_eq(stripe_api_create_checkout_session(api, "checkout:n4", &p, &res, &err), OB_ERR_NOT_FOUND);
    cr_assert_eq(err.http_status, 400);
    cr_assert_str_eq(err.param, "customer");
}

Test(stripe_standin, portal_session_customer_and_payment_methods)
{
    seed();
    cr_assert_eq(stripe_api_create_portal_session(api, "portal:cus_1:n1", "cus_1", "https://app.test/account", &res, &err), OB_OK);
    cr_assert(strncmp(str_at(res, "id"), "bps_", 4) == 0);
    cr_assert(strncmp(str_at(res, "url"), "https://billing.stripe.com/", 27) == 0);
    json_decref(res);

    cr_assert_eq(stripe_api_retrieve_customer(api, "cus_1", &res, &err), OB_OK);
    cr_assert_str_eq(str_at(res, "invoice_settings.default_payment_method"), "pm_1");
    json_decref(res);

    cr_assert_eq(stripe_api_list_payment_methods(api, "cus_1", &res, &err), OB_OK);
    cr_assert_eq(json_array_size(json_object_get(res, "data")), 2);
    cr_assert_str_eq(str_at(res, "data.0.card.last4"), "1111");
    json_t *log = requests();
    cr_assert_str_eq(str_at(log, "2.form.type"), "card");
    cr_assert_str_eq(str_at(log, "2.form.customer"), "cus_1");
    cr_assert(json_is_null(json_object_get(json_array_get(log, 2), "idempotency_key")), "no key on GET");
    json_decref(log);
}

Test(stripe_standin, manages_a_subscription)
{
    seed();
    cr_assert_eq(stripe_api_retrieve_subscription(api, "sub_1", &res, &err), OB_OK);
    cr_assert_str_eq(str_at(res, "items.data.0.price.id"), "price_pro_m");
    json_decref(res);

    cr_assert_eq(stripe_api_update_subscription_cancel_at_period_end(api, "cancel:sub_1:1", "sub_1", true, &res, &err), OB_OK);
    cr_assert(json_is_true(json_object_get(res, "cancel_at_period_end")));
    json_decref(res);
    cr_assert_eq(stripe_api_update_subscription_cancel_at_period_end(api, "cancel:sub_1:0", "sub_1", false, &res, &err), OB_OK);
    cr_assert(json_is_false(json_object_get(res, "cancel_at_period_end")));
    json_decref(res);

    cr_assert_eq(stripe_api_update_subscription_price(api, "change:sub_1:y", "sub_1", "si_1", "price_pro_y", &res, &err), OB_OK);
    cr_assert_str_eq(str_at(res, "items.data.0.id"), "si_1");
    cr_assert_str_eq(str_at(res, "items.data.0.price.id"), "price_pro_y");
    json_decref(res);
    json_t *log = requests();
    cr_assert_str_eq(str_at(log, "3.form.proration_behavior"), "create_prorations");
    json_decref(log);

    cr_assert_eq(stripe_api_cancel_subscription_now(api, "sub_1", &res, &err), OB_OK);
    cr_assert_str_eq(str_at(res, "status"), "canceled");
}

Test(stripe_standin, finds_prices_by_lookup_key)
{
    seed();
    const char *keys[] = {"pro_yearly", "nope"};
    cr_assert_eq(stripe_api_list_prices_by_lookup_keys(api, keys, 2, &res, &err), OB_OK);
    cr_assert_eq(json_array_size(json_object_get(res, "data")), 1);
    cr_assert_str_eq(str_at(res, "data.0.id"), "price_pro_y");

    const char *many[11] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    cr_assert_eq(stripe_api_list_prices_by_lookup_keys(api, many, 11, NULL, &err), OB_ERR_INVALID);
    cr_assert_eq(stripe_api_list_prices_by_lookup_keys(api, many, 0, NULL, &err), OB_ERR_INVALID);
}

Test(stripe_standin, creates_a_product_and_moves_a_lookup_key_to_a_new_price)
{
    cr_assert_eq(stripe_api_create_product(api, "product:team", "Team", "team", &res, &err), OB_OK);
    cr_assert_str_eq(str_at(res, "metadata.plan_id"), "team");
    char product[64];
    snprintf(product, sizeof product, "%s", str_at(res, "id"));
    json_decref(res);

    stripe_price_params_t p = {.product = product,
                               .unit_amount = 2900,
                               .currency = "usd",
                               .interval = "month",
                               .lookup_key = "team_monthly",
                               .plan_id = "team"};
    cr_assert_eq(stripe_api_create_price(api, "price:team:m:1", &p, &res, &err), OB_OK, "%s", err.message);
    cr_assert_str_eq(str_at(res, "recurring.interval"), "month");
    cr_assert_eq(json_integer_value(json_object_get(res, "unit_amount")), 2900);
    json_decref(res);

    p.unit_amount = 3900;
    cr_assert_eq(stripe_api_create_price(api, "price:team:m:2", &p, &res, &err), OB_OK, "%s", err.message);
    char newer[64];
    snprintf(newer, sizeof newer, "%s", str_at(res, "id"));
    json_decref(res);
    const char *keys[] = {"team_monthly"};
    cr_assert_eq(stripe_api_list_prices_by_lookup_keys(api, keys, 1, &res, &err), OB_OK);
    cr_assert_eq(json_array_size(json_object_get(res, "data")), 1);
    cr_assert_str_eq(str_at(res, "data.0.id"), newer);
    json_decref(res);

    stripe_price_params_t once = {.product = product, .unit_amount = 500, .currency = "usd"};
    cr_assert_eq(stripe_api_create_price(api, "price:team:once", &once, &res, &err), OB_OK);
    cr_assert(json_is_null(json_object_get(res, "recurring")));
    cr_assert_str_eq(str_at(res, "type"), "one_time");
}
