/*  ob_idempotency - stable idempotency keys for outside APIs. */
#include "clients/ob_idempotency.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
ob_idempotency_key(char *out, size_t cap, const char *kind, int64_t now_s, int64_t bucket_s, ...)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    va_list ap;
    va_start(ap, bucket_s);
    for (const char *part = va_arg(ap, const char *); part && ok; part = va_arg(ap, const char *))
        ok = EVP_DigestUpdate(md, part, strlen(part) + 1); /* the NUL separates the parts */
    va_end(ap);
    if (ok && bucket_s > 0) {
        char bucket[24];
        snprintf(bucket, sizeof bucket, "%lld", (long long)(now_s / bucket_s));
        ok = EVP_DigestUpdate(md, bucket, strlen(bucket) + 1);
    }
    ok = ok && EVP_DigestFinal_ex(md, digest, &digest_len);
    EVP_MD_CTX_free(md);
    size_t n = (size_t)snprintf(out, cap, "%s:", kind);
    for (unsigned int i = 0; ok && i < 16 && n + 3 <= cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", digest[i]);
}
