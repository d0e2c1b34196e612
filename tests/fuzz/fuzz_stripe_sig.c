/*  fuzz_stripe_sig - the Stripe-Signature header (gateway/ob_stripe_sig.c).
 *
 *  Input: "<header>\n<body>". The header is checked against two configured
 *  secrets; a forged header must never verify, so OK is only accepted when
 *  one of its v1 items is the real signature of the body.
 */
#include <string.h>

#include "gateway/ob_stripe_sig.h"
#include "tests/fuzz/fuzz_util.h"

#define SECRETS " whsec_fuzz_one , whsec_fuzz_two"
#define NOW 1700000000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *header, *body;
    size_t header_len, body_len;
    fuzz_next(&data, &len, '\n', &header, &header_len);
    body = (const char *)data;
    body_len = len;

    /* A copy of exactly header_len bytes, so ASan sees any read past it. */
    char *h = header_len ? fuzz_strndup(header, header_len) : NULL;
    int64_t signed_at = -1;
    ob_stripe_sig_result_t r = ob_stripe_sig_verify(h, header_len, body, body_len, SECRETS, 0, NOW, &signed_at);
    FUZZ_CHECK(ob_stripe_sig_code(r) != NULL && ob_stripe_sig_message(r) != NULL);
    if (r == OB_STRIPE_SIG_OK) {
        char hex[2][OB_STRIPE_SIG_HEX_LEN + 1];
        FUZZ_CHECK(ob_stripe_sig_sign("whsec_fuzz_one", signed_at, body, body_len, hex[0], sizeof hex[0]) == 0);
        FUZZ_CHECK(ob_stripe_sig_sign("whsec_fuzz_two", signed_at, body, body_len, hex[1], sizeof hex[1]) == 0);
        FUZZ_CHECK(memmem(h, header_len, hex[0], OB_STRIPE_SIG_HEX_LEN) || memmem(h, header_len, hex[1], OB_STRIPE_SIG_HEX_LEN));
    }
    free(h);
    return 0;
}
