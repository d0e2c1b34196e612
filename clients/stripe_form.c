/*  stripe_form - Stripe's bracketed form encoding, one growing buffer. */
#include "clients/stripe_form.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _stripe_form_t {
    char *buf;
    size_t len, cap;
    bool failed;
};

stripe_form_t *
stripe_form_new(void)
{
    stripe_form_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = 256;
    self->buf = malloc(self->cap);
    if (!self->buf) {
        free(self);
        return NULL;
    }
    self->buf[0] = '\0';
    return self;
}

void
stripe_form_destroy(stripe_form_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

static bool
s_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static bool
s_is_name_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/*  name ( "[" name? "]" )* : the shapes Stripe's parameters take. */
static bool
s_key_is_valid(const char *key)
{
    const char *p = key;
    if (!s_is_name_char((unsigned char)*p))
        return false;
    while (s_is_name_char((unsigned char)*p))
        p++;
    while (*p == '[') {
        p++;
        while (s_is_name_char((unsigned char)*p))
            p++;
        if (*p++ != ']')
            return false;
    }
    return *p == '\0';
}

static bool
s_reserve(stripe_form_t *self, size_t more)
{
    if (self->len + more + 1 <= self->cap)
        return true;
    size_t cap = self->cap;
    while (cap < self->len + more + 1)
        cap *= 2;
    char *grown = realloc(self->buf, cap);
    if (!grown)
        return false;
    self->buf = grown;
    self->cap = cap;
    return true;
}

/*  Appends src encoded; the caller has reserved 3 bytes per input byte. */
static void
s_append_escaped(stripe_form_t *self, const char *src)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        if (s_is_unreserved(*p)) {
            self->buf[self->len++] = (char)*p;
        } else {
            self->buf[self->len++] = '%';
            self->buf[self->len++] = hex[*p >> 4];
            self->buf[self->len++] = hex[*p & 15];
        }
    }
    self->buf[self->len] = '\0';
}

char *
stripe_form_escape(const char *src)
{
    if (!src)
        return NULL;
    stripe_form_t form = {.cap = strlen(src) * 3 + 1};
    if (!(form.buf = malloc(form.cap)))
        return NULL;
    s_append_escaped(&form, src);
    return form.buf;
}

int
stripe_form_add(stripe_form_t *self, const char *key, const char *value)
{
    if (!self)
        return -1;
    if (self->failed || !key || !value || !s_key_is_valid(key))
        goto fail;
    size_t need = (strlen(key) + strlen(value)) * 3 + 2;
    if (!s_reserve(self, need))
        goto fail;
    if (self->len > 0)
        self->buf[self->len++] = '&';
    s_append_escaped(self, key);
    self->buf[self->len++] = '=';
    s_append_escaped(self, value);
    return 0;
fail:
    self->failed = true;
    return -1;
}

int
stripe_form_addf(stripe_form_t *self, const char *value, const char *key_fmt, ...)
{
    char key[256];
    va_list ap;
    va_start(ap, key_fmt);
    int n = vsnprintf(key, sizeof key, key_fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof key) {
        if (self)
            self->failed = true;
        return -1;
    }
    return stripe_form_add(self, key, value);
}

int
stripe_form_add_int(stripe_form_t *self, const char *key, long long value)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", value);
    return stripe_form_add(self, key, text);
}

int
stripe_form_add_bool(stripe_form_t *self, const char *key, bool value)
{
    return stripe_form_add(self, key, value ? "true" : "false");
}

const char *
stripe_form_body(const stripe_form_t *self, size_t *len)
{
    if (!self || self->failed)
        return NULL;
    if (len)
        *len = self->len;
    return self->buf;
}
