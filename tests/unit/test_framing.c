/*  framing: one reading of a request's body framing, or a refusal. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "gateway/ob_framing.h"
#include "tests/unit/test_params.h"

struct framing_case {
    const char *name;
    const char *head;
    ob_framing_verdict_t expected;
};

#define POST "POST /api/v1/usage/events HTTP/1.1\r\nHost: x\r\n"

static const struct framing_case s_cases[] = {
    {"no body", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", OB_FRAMING_OK},
    {"one length", POST "Content-Length: 2\r\n\r\n{}", OB_FRAMING_OK},
    {"chunked", POST "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", OB_FRAMING_OK},
    {"chunked, any case", POST "transfer-encoding: Chunked\r\n\r\n", OB_FRAMING_OK},
    {"two lengths", POST "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}", OB_FRAMING_DUPLICATE_LENGTH},
    {"two equal lengths", POST "Content-Length: 2\r\ncontent-length: 2\r\n\r\n{}", OB_FRAMING_DUPLICATE_LENGTH},
    {"length and chunked", POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", OB_FRAMING_LENGTH_WITH_ENCODING},
    {"chunked and length", POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", OB_FRAMING_LENGTH_WITH_ENCODING},
    {"gzip, chunked", POST "Transfer-Encoding: gzip, chunked\r\n\r\n", OB_FRAMING_BAD_TRANSFER_ENCODING},
    {"chunked twice", POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", OB_FRAMING_BAD_TRANSFER_ENCODING},
    {"identity", POST "Transfer-Encoding: identity\r\n\r\n", OB_FRAMING_BAD_TRANSFER_ENCODING},
    {"chunked with a suffix", POST "Transfer-Encoding: chunkedx\r\n\r\n", OB_FRAMING_BAD_TRANSFER_ENCODING},
    {"folded line", "GET /health HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", OB_FRAMING_FOLDED_HEADER},
    {"folded encoding", POST "Transfer-Encoding: chunked\r\n\tgzip\r\n\r\n", OB_FRAMING_FOLDED_HEADER},
    {"incomplete head", POST "Content-Length: 2\r\n", OB_FRAMING_UNREADABLE},
    {"garbage", "\x01\x02\x03\r\n\r\n", OB_FRAMING_UNREADABLE},
    {"empty", "", OB_FRAMING_UNREADABLE},
};

ParameterizedTestParameters(framing, head)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, framing, head)
{
    const struct framing_case *c = &s_cases[*index];
    ob_framing_verdict_t got = ob_framing_check_head(c->head, strlen(c->head));
    cr_expect_eq(got, c->expected, "%s: got %d (%s), expected %d", c->name, got, ob_framing_reason(got), c->expected);
}

Test(framing, every_verdict_has_a_sentence)
{
    for (int v = OB_FRAMING_OK; v <= OB_FRAMING_UNREADABLE; v++)
        cr_expect(strlen(ob_framing_reason(v)) > 10);
}
