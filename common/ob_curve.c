/*  ob_curve - ZeroMQ CURVE keys as settings carry them. */
#include "common/ob_curve.h"

#include <string.h>
#include <zmq.h>

/*  Z85's alphabet (RFC 32): every byte of a key's text is one of these. */
static const char s_z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static const char *
s_key_problem(const char *text, size_t len)
{
    if (len != OB_CURVE_KEY_LEN)
        return "must be a CURVE key: 40 characters of Z85 (billing-admin keygen)";
    char copy[OB_CURVE_KEY_LEN + 1];
    uint8_t key[32];
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0' || !strchr(s_z85, text[i]))
            return "must be a CURVE key: 40 characters of Z85 (billing-admin keygen)";
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (!zmq_z85_decode(key, copy))
        return "must be a CURVE key: 40 characters of Z85 (billing-admin keygen)";
    return NULL;
}

const char *
ob_curve_key_problem(const char *text)
{
    return text ? s_key_problem(text, strlen(text)) : "is empty";
}

const char *
ob_curve_keys_problem(const char *list)
{
    if (!list || !*list)
        return "is empty";
    size_t count = 0;
    for (const char *item = list;; item++) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (++count > OB_CURVE_KEYS_MAX)
            return "lists more than 256 keys";
        if (s_key_problem(item, len))
            return "must be CURVE public keys (40 characters of Z85 each), comma-separated";
        if (!comma)
            return NULL;
        item = comma;
    }
}

void
ob_curve_encode(const uint8_t key[32], char out[OB_CURVE_KEY_LEN + 1])
{
    zmq_z85_encode(out, key, 32);
}

bool
ob_curve_keys_contain(const char *list, const uint8_t key[32])
{
    char text[OB_CURVE_KEY_LEN + 1];
    ob_curve_encode(key, text);
    for (const char *item = list; item && *item;) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (len == OB_CURVE_KEY_LEN && memcmp(item, text, len) == 0)
            return true;
        item = comma ? comma + 1 : NULL;
    }
    return false;
}

int
ob_curve_public(const char *secret_z85, char public_z85[OB_CURVE_KEY_LEN + 1])
{
    if (ob_curve_key_problem(secret_z85))
        return -1;
    return zmq_curve_public(public_z85, secret_z85) == 0 ? 0 : -1;
}
