/*  notifier_ssrf - target checks (curl's URL parser, inet_pton). */
#include "services/notifier/notifier_ssrf.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef struct {
    uint32_t net;
    int bits;
} s_v4_range_t;

/* RFC 6890 special-purpose ranges that must never be a webhook target. */
static const s_v4_range_t s_v4_blocked[] = {
    {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},  {0xa9fe0000, 16}, {0xac100000, 12}, {0xc0000000, 24},
    {0xc0000200, 24}, {0xc0a80000, 16}, {0xc6120000, 15}, {0xc6336400, 24}, {0xcb007100, 24}, {0xe0000000, 4},  {0xf0000000, 4},
};

static bool
s_v4_public(uint32_t addr)
{
    for (size_t i = 0; i < sizeof s_v4_blocked / sizeof s_v4_blocked[0]; i++) {
        uint32_t mask = s_v4_blocked[i].bits ? 0xffffffffu << (32 - s_v4_blocked[i].bits) : 0;
        if ((addr & mask) == s_v4_blocked[i].net)
            return false;
    }
    return true;
}

bool
notifier_ssrf_address_public(const char *address)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, address, &v4) == 1)
        return s_v4_public(ntohl(v4.s_addr));
    if (inet_pton(AF_INET6, address, &v6) != 1)
        return false;
    const uint8_t *b = v6.s6_addr;
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, v4_mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return s_v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
    if (IN6_IS_ADDR_UNSPECIFIED(&v6) || IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_V4COMPAT(&v6))
        return false;
    if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
        return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
        return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10 site-local (deprecated) */
        return false;
    if (b[0] == 0xff) /* multicast */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
        return false;
    return true;
}

const char *
notifier_ssrf_check_url(const char *url, bool allow_private)
{
    if (!url || !*url || strlen(url) > 2048)
        return "url must be an http:// or https:// URL of at most 2048 characters";
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return "url must not contain spaces or control characters";
    CURLU *u = curl_url();
    if (!u)
        return "out of memory";
    const char *reason = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        reason = "url is not a valid URL";
    } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
               (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        reason = "url must use http or https";
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        reason = "url has no host";
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        reason = "url must not carry credentials";
    } else if (!allow_private) {
        /* IPv6 literals come back in brackets. */
        char literal[64] = "";
        size_t len = strlen(host);
        if (host[0] == '[' && len > 2 && len - 2 < sizeof literal) {
            memcpy(literal, host + 1, len - 2);
            literal[len - 2] = '\0';
        } else if (len < sizeof literal) {
            memcpy(literal, host, len + 1);
        }
        struct in_addr v4;
        struct in6_addr v6;
        bool numeric = inet_pton(AF_INET, literal, &v4) == 1 || inet_pton(AF_INET6, literal, &v6) == 1;
        size_t hl = strlen(host);
        bool local_name = strcasecmp(host, "localhost") == 0 || (hl > 10 && strcasecmp(host + hl - 10, ".localhost") == 0) ||
                          (hl > 6 && strcasecmp(host + hl - 6, ".local") == 0) ||
                          (hl > 9 && strcasecmp(host + hl - 9, ".internal") == 0) || !strchr(host, '.');
        if ((numeric && !notifier_ssrf_address_public(literal)) || (!numeric && local_name))
            reason = "url points into a private network (set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow)";
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return reason;
}
