/*  ob_log - structured JSON log lines. */
#include "common/ob_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/ob_metrics.h"

static const char *s_service = "unknown";
static ob_log_level_t s_min_level = OB_LOG_INFO;
static const char *s_level_names[] = {"debug", "info", "warn", "error"};

void
ob_log_init(const char *service)
{
    s_service = service;
    ob_metrics_set_program(service);
    const char *level = getenv("LOG_LEVEL");
    if (!level)
        return;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(level, s_level_names[i]) == 0)
            s_min_level = (ob_log_level_t)i;
}

/*  Appends src to dst[*len..cap) JSON-escaped; truncates rather than overflow. */
static void
s_escape(char *dst, size_t *len, size_t cap, const char *src)
{
    for (const unsigned char *p = (const unsigned char *)src; *p && *len + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            dst[(*len)++] = '\\';
            dst[(*len)++] = (char)*p;
        } else if (*p < 0x20) {
            *len += (size_t)snprintf(dst + *len, cap - *len, "\\u%04x", *p);
        } else {
            dst[(*len)++] = (char)*p;
        }
    }
}

void
ob_log(ob_log_level_t level, const char *request_id, const char *fmt, ...)
{
    if (level < s_min_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);

    char line[2600];
    size_t len = (size_t)snprintf(
        line, sizeof line, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"service\":\"", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000, s_level_names[level]);
    s_escape(line, &len, sizeof line, s_service);
    if (request_id && *request_id) {
        len += (size_t)snprintf(line + len, sizeof line - len, "\",\"request_id\":\"");
        s_escape(line, &len, sizeof line, request_id);
    }
    len += (size_t)snprintf(line + len, sizeof line - len, "\",\"msg\":\"");
    s_escape(line, &len, sizeof line, msg);
    len += (size_t)snprintf(line + len, sizeof line - len, "\"}\n");
    if (len > sizeof line)
        len = sizeof line;
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void)rc;
}
