/*  ob_service_token - static bearer tokens, compared in constant time. */
#include "gateway/ob_service_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <strings.h>

static bool
s_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/*  SHA-256 of data[0..len); 0 on success. Hashing both sides first turns a
 *  comparison of unequal lengths into one of equal-length digests, so the
 *  length of a configured token does not leak through an early length check. */
static int
s_digest(const char *data, size_t len, unsigned char out[32])
{
    unsigned int out_len = 0;
    if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 || out_len != 32)
        return -1;
    return 0;
}

bool
ob_service_token_check(const char *tokens_csv, const char *presented, size_t len)
{
    if (!tokens_csv || !presented || len == 0 || len > OB_SERVICE_TOKEN_MAX_LEN)
        return false;

    unsigned char want[32];
    if (s_digest(presented, len, want) != 0)
        return false;

    /*  Accumulate instead of returning on the first hit: every configured entry
     *  costs the same whether or not an earlier one matched. */
    unsigned int matched = 0;
    const char *p = tokens_csv;
    for (;;) {
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (start < end && s_is_space(*start))
            start++;
        while (end > start && s_is_space(end[-1]))
            end--;
        if (end > start) {
            unsigned char have[32];
            if (s_digest(start, (size_t)(end - start), have) == 0)
                matched |= (unsigned int)(CRYPTO_memcmp(want, have, sizeof want) == 0);
            OPENSSL_cleanse(have, sizeof have);
        }
        if (*p == '\0')
            break;
        p++;
    }
    OPENSSL_cleanse(want, sizeof want);
    return matched != 0;
}

int
ob_service_token_parse_bearer(const char *authz, size_t len, const char **token, size_t *token_len)
{
    static const char scheme[] = "Bearer";
    const size_t scheme_len = sizeof scheme - 1;
    if (!authz || !token || !token_len)
        return -1;

    size_t i = 0;
    while (i < len && s_is_space(authz[i]))
        i++;
    if (len - i <= scheme_len || strncasecmp(authz + i, scheme, scheme_len) != 0)
        return -1;
    i += scheme_len;
    if (!s_is_space(authz[i]))
        return -1; /* "Bearerxyz" is another scheme, not a token */
    while (i < len && s_is_space(authz[i]))
        i++;

    size_t end = len;
    while (end > i && s_is_space(authz[end - 1]))
        end--;
    if (end == i)
        return -1;
    for (size_t k = i; k < end; k++) {
        unsigned char c = (unsigned char)authz[k];
        if (c <= 0x20 || c >= 0x7f)
            return -1; /* inner whitespace, control bytes or non-ASCII: not a token68 */
    }
    *token = authz + i;
    *token_len = end - i;
    return 0;
}
