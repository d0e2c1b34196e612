/*  ob_pgarray - Postgres array parameters, binary and text. */
#include "common/ob_pgarray.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S_HEADER 20 /* ndim, flags, element oid, dimension size, lower bound */

static void
s_reserve(ob_pgarray_t *self, size_t more)
{
    if (self->failed || self->len + more <= self->cap)
        return;
    size_t cap = self->cap ? self->cap : 1024;
    while (cap < self->len + more)
        cap *= 2;
    char *grown = realloc(self->data, cap);
    if (!grown) {
        self->failed = true;
        return;
    }
    self->data = grown;
    self->cap = cap;
}

static void
s_put32(char *at, uint32_t value)
{
    value = htonl(value);
    memcpy(at, &value, 4);
}

void
ob_pgarray_init(ob_pgarray_t *self, uint32_t elem_oid)
{
    memset(self, 0, sizeof *self);
    self->elem_oid = elem_oid;
    s_reserve(self, S_HEADER);
    self->len = S_HEADER;
}

void
ob_pgarray_add(ob_pgarray_t *self, const void *bytes, size_t len)
{
    if (len > INT32_MAX) {
        self->failed = true;
        return;
    }
    s_reserve(self, 4 + len);
    if (self->failed)
        return;
    s_put32(self->data + self->len, (uint32_t)len);
    if (len)
        memcpy(self->data + self->len + 4, bytes, len);
    self->len += 4 + len;
    self->count++;
}

void
ob_pgarray_add_int8(ob_pgarray_t *self, int64_t value)
{
    char be[8];
    uint64_t u = (uint64_t)value;
    for (int i = 7; i >= 0; i--, u >>= 8)
        be[i] = (char)(u & 0xff);
    ob_pgarray_add(self, be, 8);
}

void
ob_pgarray_add_bool(ob_pgarray_t *self, bool value)
{
    char b = value ? 1 : 0;
    ob_pgarray_add(self, &b, 1);
}

const char *
ob_pgarray_finish(ob_pgarray_t *self, int *len)
{
    if (self->failed || self->len > INT_MAX)
        return NULL;
    if (self->count == 0) {
        /* An empty array has no dimensions. */
        s_put32(self->data, 0);
        s_put32(self->data + 4, 0);
        s_put32(self->data + 8, self->elem_oid);
        *len = 12;
        return self->data;
    }
    s_put32(self->data, 1);
    s_put32(self->data + 4, 0);
    s_put32(self->data + 8, self->elem_oid);
    s_put32(self->data + 12, self->count);
    s_put32(self->data + 16, 1);
    *len = (int)self->len;
    return self->data;
}

void
ob_pgarray_release(ob_pgarray_t *self)
{
    free(self->data);
    memset(self, 0, sizeof *self);
}

/* --- text literals --------------------------------------------------------- */

static void
s_text_reserve(ob_pgarray_text_t *self, size_t more)
{
    if (self->failed || self->len + more + 2 <= self->cap)
        return;
    size_t cap = self->cap ? self->cap : 4096;
    while (cap < self->len + more + 2)
        cap *= 2;
    char *data = realloc(self->data, cap);
    if (!data) {
        self->failed = true;
        return;
    }
    self->data = data;
    self->cap = cap;
}

void
ob_pgarray_text_add(ob_pgarray_text_t *self, const char *value)
{
    size_t n = value ? strlen(value) : 0;
    s_text_reserve(self, 2 * n + 8);
    if (self->failed)
        return;
    char *out = self->data + self->len;
    *out++ = self->count ? ',' : '{';
    if (!value) {
        memcpy(out, "NULL", 4);
        out += 4;
    } else {
        *out++ = '"';
        for (size_t i = 0; i < n; i++) {
            if (value[i] == '"' || value[i] == '\\')
                *out++ = '\\';
            *out++ = value[i];
        }
        *out++ = '"';
    }
    self->len = (size_t)(out - self->data);
    self->count++;
}

const char *
ob_pgarray_text_value(ob_pgarray_text_t *self)
{
    if (self->count == 0)
        return self->failed ? NULL : "{}";
    s_text_reserve(self, 2);
    if (self->failed)
        return NULL;
    self->data[self->len] = '}';
    self->data[self->len + 1] = '\0';
    return self->data;
}

void
ob_pgarray_text_release(ob_pgarray_text_t *self)
{
    free(self->data);
    memset(self, 0, sizeof *self);
}
