/*  curve: CURVE keys as settings carry them (Z85), and which the broker takes. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <zmq.h>

#include "common/ob_curve.h"
#include "gateway/ob_zap.h"
#include "tests/unit/test_params.h"

/* The test vectors of libzmq's zmq_curve(7): two keypairs. */
#define SERVER_PUBLIC "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define SERVER_SECRET "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
#define CLIENT_PUBLIC "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define CLIENT_SECRET "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

struct key_case {
    const char *text;
    bool ok;
};

static const struct key_case s_keys[] = {
    {SERVER_PUBLIC, true},
    {CLIENT_SECRET, true},
    {"0000000000000000000000000000000000000000", true},
    {"", false},
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf", false},   /* 39 */
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf77", false}, /* 41 */
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf ", false},  /* a space */
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf'", false},  /* not Z85 */
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\\", false},
    {"#########################################", false},
    {"########################################", false}, /* Z85 characters, but more than 32 bits per group */
};

ParameterizedTestParameters(curve, key)
{
    OB_TEST_CASE_INDICES(s_keys);
}

ParameterizedTest(size_t *index, curve, key)
{
    const struct key_case *c = &s_keys[*index];
    const char *problem = ob_curve_key_problem(c->text);
    if (c->ok)
        cr_expect_null(problem, "%s: %s", c->text, problem);
    else
        cr_expect(problem && (!*c->text || !strstr(problem, c->text)), "%s accepted", c->text);
}

static const struct key_case s_lists[] = {
    {CLIENT_PUBLIC, true},
    {CLIENT_PUBLIC "," SERVER_PUBLIC, true},
    {CLIENT_PUBLIC ",", false},
    {"," CLIENT_PUBLIC, false},
    {CLIENT_PUBLIC ", " SERVER_PUBLIC, false},
    {CLIENT_PUBLIC ",,", false},
    {"", false},
};

ParameterizedTestParameters(curve, list)
{
    OB_TEST_CASE_INDICES(s_lists);
}

ParameterizedTest(size_t *index, curve, list)
{
    const struct key_case *c = &s_lists[*index];
    const char *problem = ob_curve_keys_problem(c->text);
    if (c->ok)
        cr_expect_null(problem, "%s: %s", c->text, problem);
    else
        cr_expect_not_null(problem, "%s accepted", c->text);
}

Test(curve, the_public_key_follows_from_the_secret)
{
    char public[OB_CURVE_KEY_LEN + 1];
    cr_assert_eq(ob_curve_public(SERVER_SECRET, public), 0);
    cr_expect_str_eq(public, SERVER_PUBLIC);
    cr_assert_eq(ob_curve_public(CLIENT_SECRET, public), 0);
    cr_expect_str_eq(public, CLIENT_PUBLIC);
    cr_expect_eq(ob_curve_public("not a key", public), -1);
}

Test(curve, a_binary_key_is_found_in_the_list_by_its_text)
{
    uint8_t client[32], server[32];
    cr_assert_not_null(zmq_z85_decode(client, CLIENT_PUBLIC));
    cr_assert_not_null(zmq_z85_decode(server, SERVER_PUBLIC));
    char text[OB_CURVE_KEY_LEN + 1];
    ob_curve_encode(client, text);
    cr_expect_str_eq(text, CLIENT_PUBLIC);
    cr_expect(ob_curve_keys_contain(SERVER_PUBLIC "," CLIENT_PUBLIC, client));
    cr_expect(ob_curve_keys_contain(CLIENT_PUBLIC, client));
    cr_expect_not(ob_curve_keys_contain(CLIENT_PUBLIC, server));
    cr_expect_not(ob_curve_keys_contain("", client));
}

/*  The ZAP decision: CURVE and a listed key, nothing else. */
Test(zap, only_a_listed_curve_key_is_allowed)
{
    uint8_t client[32], server[32];
    cr_assert_not_null(zmq_z85_decode(client, CLIENT_PUBLIC));
    cr_assert_not_null(zmq_z85_decode(server, SERVER_PUBLIC));
    const char *list = CLIENT_PUBLIC;
    cr_expect(ob_zap_allows(list, "CURVE", 5, client, 32));
    cr_expect_not(ob_zap_allows(list, "CURVE", 5, server, 32), "a key not listed");
    cr_expect_not(ob_zap_allows(list, "NULL", 4, NULL, 0), "no CURVE");
    cr_expect_not(ob_zap_allows(list, "PLAIN", 5, client, 32), "another mechanism with the right bytes");
    cr_expect_not(ob_zap_allows(list, "CURVE", 5, client, 31), "a short key");
    cr_expect_not(ob_zap_allows(NULL, "CURVE", 5, client, 32), "no list");
}
