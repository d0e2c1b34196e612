/*  ob_bounds - one place that says how long an outside id may be. */
#include "common/ob_bounds.h"

/*  Length of the UTF-8 sequence starting at s (RFC 3629: no overlong forms,
 *  no surrogates, nothing above U+10FFFF), or 0 when it is not valid. */
static size_t
s_utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (left < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return need;
}

ob_bound_verdict_t
ob_bounds_check_text(const char *text, size_t len, size_t max)
{
    if (len == 0 || !text)
        return OB_BOUND_EMPTY;
    if (len > max)
        return OB_BOUND_TOO_LONG;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x20 || s[i] == 0x7f)
            return OB_BOUND_CONTROL;
        size_t n = s_utf8_sequence(s + i, len - i);
        if (n == 0)
            return OB_BOUND_NOT_UTF8;
        i += n;
    }
    return OB_BOUND_OK;
}

bool
ob_bounds_time_ok(int64_t unix_s)
{
    return unix_s >= OB_BOUND_TIME_MIN && unix_s <= OB_BOUND_TIME_MAX;
}

const char *
ob_bounds_reason(ob_bound_verdict_t verdict)
{
    switch (verdict) {
    case OB_BOUND_OK:
        return "is acceptable";
    case OB_BOUND_EMPTY:
        return "is empty";
    case OB_BOUND_TOO_LONG:
        return "is longer than allowed";
    case OB_BOUND_NOT_UTF8:
        return "is not valid UTF-8";
    case OB_BOUND_CONTROL:
        return "contains a control character";
    }
    return "is not acceptable";
}
