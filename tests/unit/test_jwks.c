/*  ob_jwks_load: a JWKS document already in hand (what refresh does with the
 *  body it fetched, and what the jwks fuzz target feeds). */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/ob_jwks.h"

/*  A 2048-bit modulus (0xc1 0x01...) and P-256's generator point: usable keys. */
#define RSA_N                                                                                                                      \
    "wQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB" \
    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB" \
    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
#define RSA_JWK(kid, extra) "{\"kty\":\"RSA\",\"kid\":\"" kid "\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\"" extra "}"
#define EC_JWK                                                                                                                     \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\",\"x\":\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\","                      \
    "\"y\":\"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\"}"

static const struct {
    const char *name;
    const char *doc;
    int rc;       /* ob_jwks_load's answer */
    size_t count; /* keys afterwards (the previous set, one RSA key, stays on -1) */
} s_cases[] = {
    {"one RSA key", "{\"keys\":[" RSA_JWK("a", ",\"use\":\"sig\",\"alg\":\"RS256\"") "]}", 0, 1},
    {"RSA and EC", "{\"keys\":[" RSA_JWK("a", "") "," EC_JWK "]}", 0, 2},
    {"duplicate kid and an enc key skipped",
     "{\"keys\":[" RSA_JWK("a", "") "," RSA_JWK("a", "") "," RSA_JWK("b", ",\"use\":\"enc\"") "]}", 0, 1},
    {"no kid", "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\"}]}", -1, 1},
    {"alg of another kind", "{\"keys\":[" RSA_JWK("a", ",\"alg\":\"HS256\"") "]}", -1, 1},
    {"keys not an array", "{\"keys\":{}}", -1, 1},
    {"not JSON", "{\"keys\":[", -1, 1},
    {"empty", "", -1, 1},
};

Test(ob_jwks, load)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        ob_jwks_t *jwks = ob_jwks_new("http://127.0.0.1:9/jwks", 1000, 1000, 1000);
        cr_assert(jwks);
        /* Start from one key, so "the previous set stays" is visible. */
        const char *first = "{\"keys\":[" RSA_JWK("prev", "") "]}";
        cr_assert_eq(ob_jwks_load(jwks, first, strlen(first)), 0);
        cr_expect_eq(ob_jwks_load(jwks, s_cases[i].doc, strlen(s_cases[i].doc)), s_cases[i].rc, "%s", s_cases[i].name);
        cr_expect_eq(ob_jwks_count(jwks), s_cases[i].count, "%s", s_cases[i].name);
        ob_jwks_rdlock(jwks);
        const ob_jwks_key_t *prev = ob_jwks_find(jwks, "prev");
        cr_expect((prev != NULL) == (s_cases[i].rc != 0), "%s: the previous set %s", s_cases[i].name,
                  s_cases[i].rc ? "stays" : "is replaced");
        ob_jwks_unlock(jwks);
        ob_jwks_destroy(&jwks);
    }
}

/*  A usable document padded to exactly len bytes. */
static char *
s_padded_doc(size_t len)
{
    const char *head = "{\"keys\":[" RSA_JWK("a", "") "],\"pad\":\"";
    char *doc = malloc(len + 1);
    cr_assert(doc && len > strlen(head) + 2);
    memset(doc, 'x', len);
    memcpy(doc, head, strlen(head));
    memcpy(doc + len - 2, "\"}", 2);
    doc[len] = '\0';
    return doc;
}

Test(ob_jwks, load_bounds_the_document)
{
    ob_jwks_t *jwks = ob_jwks_new("http://127.0.0.1:9/jwks", 1000, 1000, 1000);
    cr_assert(jwks);
    char *over = s_padded_doc(OB_JWT_AUTH_MAX_JWKS_BYTES + 1);
    cr_expect_eq(ob_jwks_load(jwks, over, OB_JWT_AUTH_MAX_JWKS_BYTES + 1), -1);
    cr_expect_eq(ob_jwks_count(jwks), 0);
    char *at = s_padded_doc(OB_JWT_AUTH_MAX_JWKS_BYTES);
    cr_expect_eq(ob_jwks_load(jwks, at, OB_JWT_AUTH_MAX_JWKS_BYTES), 0);
    cr_expect_eq(ob_jwks_count(jwks), 1);
    free(over);
    free(at);
    ob_jwks_destroy(&jwks);
}
