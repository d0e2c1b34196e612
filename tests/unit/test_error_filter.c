/*  error_filter: h2o's plain-text errors become the API's JSON error shape. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "gateway/ob_error_filter.h"

static void
s_expect_error(const char *body, size_t len, const char *code, const char *message)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    cr_assert(root, "not JSON: %s", body);
    cr_expect_eq(json_object_size(root), 1);
    json_t *error = json_object_get(root, "error");
    cr_expect_str_eq(json_string_value(json_object_get(error, "code")), code);
    cr_expect_str_eq(json_string_value(json_object_get(error, "message")), message);
    json_decref(root);
}

Test(error_filter, h2o_sentences_become_messages)
{
    static const struct {
        int status;
        const char *text, *code;
    } cases[] = {
        {400, "broken chunked-encoding", "bad_request"},
        {400, "unknown transfer-encoding", "bad_request"},
        {413, "request entity is too large", "payload_too_large"},
        {417, "unknown expectation", "expectation_failed"},
        {418, "teapot", "http_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[320];
        size_t len = ob_error_filter_body(body, sizeof body, cases[i].status, cases[i].text, strlen(cases[i].text));
        cr_expect_eq(len, strlen(body));
        s_expect_error(body, len, cases[i].code, cases[i].text);
    }
}

Test(error_filter, unprintable_bytes_are_dropped_and_empty_text_gets_a_sentence)
{
    char body[320];
    size_t len = ob_error_filter_body(body, sizeof body, 400, "a\"b\x01\xff", 5);
    s_expect_error(body, len, "bad_request", "a\"b");
    len = ob_error_filter_body(body, sizeof body, 400, "", 0);
    s_expect_error(body, len, "bad_request", "the request was refused");
}
