/*  notifier_sign - Standard Webhooks signing (libcrypto). */
#include "services/notifier/notifier_sign.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define S_PREFIX "whsec_"

int
notifier_sign_new_secret(char *out, size_t cap)
{
    unsigned char key[32];
    if (cap < sizeof S_PREFIX - 1 + 45 || RAND_bytes(key, sizeof key) != 1)
        return -1;
    memcpy(out, S_PREFIX, sizeof S_PREFIX - 1);
    EVP_EncodeBlock((unsigned char *)out + sizeof S_PREFIX - 1, key, sizeof key);
    return 0;
}

int
notifier_sign_new_id(const char *prefix, char *out, size_t cap)
{
    unsigned char raw[12];
    size_t plen = strlen(prefix);
    if (cap < plen + 2 * sizeof raw + 1 || RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(out, prefix, plen);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + plen + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/*  Decodes the key; -1 when it is not valid base64 of 1..64 bytes. */
static int
s_key(const char *secret, unsigned char *key, size_t *key_len)
{
    if (strncmp(secret, S_PREFIX, sizeof S_PREFIX - 1) != 0)
        return -1;
    const char *b64 = secret + sizeof S_PREFIX - 1;
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len > 88)
        return -1;
    size_t pad = b64[len - 1] == '=' ? (b64[len - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < len - pad; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", b64[i]) || !b64[i])
            return -1;
    unsigned char buf[90];
    int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return -1;
    n -= (int)pad; /* EVP_DecodeBlock counts the padding's zero bytes */
    if (n <= 0 || n > 64)
        return -1;
    memcpy(key, buf, (size_t)n);
    *key_len = (size_t)n;
    return 0;
}

int
notifier_sign_append(const char *secret, const char *msg_id, int64_t timestamp, const char *body, size_t body_len, char *out,
                     size_t cap)
{
    unsigned char key[64];
    size_t key_len;
    if (s_key(secret, key, &key_len) != 0)
        return -1;
    char stamp[32];
    int stamp_len = snprintf(stamp, sizeof stamp, ".%" PRId64 ".", timestamp);
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    EVP_MAC_free(hmac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0), OSSL_PARAM_construct_end()};
    unsigned char mac[32];
    size_t mac_len = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, key_len, params) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)stamp, (size_t)stamp_len) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1 && EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1;
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        return -1;
    size_t used = strlen(out);
    size_t need = (used ? 1 : 0) + 3 + 44 + 1;
    if (used + need > cap)
        return -1;
    if (used)
        out[used++] = ' ';
    memcpy(out + used, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + used + 3, mac, (int)mac_len);
    return 0;
}
