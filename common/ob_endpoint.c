/*  ob_endpoint - one ZeroMQ endpoint, checked before libzmq sees it. */
#include "common/ob_endpoint.h"

#include <stdbool.h>
#include <string.h>

static bool
s_printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == ',')
            return false;
    return true;
}

static bool
s_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static const char *
s_tcp(const char *rest)
{
    const char *colon = strrchr(rest, ':');
    if (!colon)
        return "must be tcp://host:port";
    size_t host_len = (size_t)(colon - rest);
    if (host_len == 0)
        return "has no host (tcp://host:port)";
    if (rest[0] == '[') {
        if (host_len < 3 || rest[host_len - 1] != ']')
            return "has a malformed [IPv6] host";
        for (size_t i = 1; i + 1 < host_len; i++)
            if (!((rest[i] >= '0' && rest[i] <= '9') || (rest[i] >= 'a' && rest[i] <= 'f') || (rest[i] >= 'A' && rest[i] <= 'F') ||
                  rest[i] == ':' || rest[i] == '.'))
                return "has a malformed [IPv6] host";
    } else if (!(host_len == 1 && rest[0] == '*')) {
        for (size_t i = 0; i < host_len; i++)
            if (!s_host_char(rest[i]))
                return "has a host that is not a name or an address";
    }
    const char *port = colon + 1;
    size_t port_len = strlen(port);
    if (port_len == 0 || port_len > 5)
        return "needs a port from 1 to 65535";
    long value = 0;
    for (size_t i = 0; i < port_len; i++) {
        if (port[i] < '0' || port[i] > '9')
            return "needs a port from 1 to 65535";
        value = value * 10 + (port[i] - '0');
    }
    if (value < 1 || value > 65535)
        return "needs a port from 1 to 65535";
    return NULL;
}

const char *
ob_endpoint_problem(const char *endpoint)
{
    if (!endpoint || !*endpoint)
        return "is empty";
    if (strncmp(endpoint, "tcp://", 6) == 0)
        return s_tcp(endpoint + 6);
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        size_t len = strlen(endpoint + 6);
        return len >= 1 && len <= 107 && s_printable(endpoint + 6, len) ? NULL : "must be ipc:// and a path of 1 to 107 bytes";
    }
    if (strncmp(endpoint, "inproc://", 9) == 0) {
        size_t len = strlen(endpoint + 9);
        return len >= 1 && len <= 255 && s_printable(endpoint + 9, len) ? NULL : "must be inproc:// and a name";
    }
    return "must be a ZeroMQ endpoint such as tcp://127.0.0.1:5555";
}

const char *
ob_endpoint_list_problem(const char *list)
{
    if (!list || !*list)
        return "is empty";
    const char *items[OB_ENDPOINT_LIST_MAX];
    size_t lengths[OB_ENDPOINT_LIST_MAX];
    size_t count = 0;
    for (const char *item = list;; item++) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (len == 0)
            return "has an empty item (endpoints are separated by single commas)";
        if (len > OB_ENDPOINT_MAX_LEN)
            return "has an endpoint that is too long";
        if (count == OB_ENDPOINT_LIST_MAX)
            return "lists more than 16 endpoints";
        char one[OB_ENDPOINT_MAX_LEN + 1];
        memcpy(one, item, len);
        one[len] = '\0';
        const char *problem = ob_endpoint_problem(one);
        if (problem)
            return problem;
        for (size_t i = 0; i < count; i++)
            if (lengths[i] == len && memcmp(items[i], item, len) == 0)
                return "lists the same endpoint twice";
        items[count] = item;
        lengths[count++] = len;
        if (!comma)
            return NULL;
        item = comma;
    }
}

bool
ob_endpoint_is_loopback(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr(host, ':');
    if (!colon)
        return false;
    size_t len = (size_t)(colon - host);
    if ((len == 9 && strncmp(host, "localhost", 9) == 0) || (len == 5 && strncmp(host, "[::1]", 5) == 0) ||
        (len == 2 && strncmp(host, "lo", 2) == 0))
        return true;
    /* 127.a.b.c: four decimal parts, the first 127. */
    if (len < 9 || strncmp(host, "127.", 4) != 0)
        return false;
    int dots = 0;
    for (size_t i = 4; i < len; i++) {
        if (host[i] == '.') {
            if (host[i - 1] == '.' || ++dots > 2)
                return false;
        } else if (host[i] < '0' || host[i] > '9') {
            return false;
        }
    }
    return dots == 2 && host[len - 1] != '.';
}
