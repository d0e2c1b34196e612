/*  notifier_template - placeholder rendering. */
#include "services/notifier/notifier_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} s_buf_t;

static void
s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
s_put_value(s_buf_t *b, const char *s, bool html)
{
    if (!html) {
        s_put(b, s, strlen(s));
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '&':
            s_put(b, "&amp;", 5);
            break;
        case '<':
            s_put(b, "&lt;", 4);
            break;
        case '>':
            s_put(b, "&gt;", 4);
            break;
        case '"':
            s_put(b, "&quot;", 6);
            break;
        case '\'':
            s_put(b, "&#39;", 5);
            break;
        default:
            s_put(b, s, 1);
        }
    }
}

/*  The value of name (len bytes) as text into tmp, or "". */
static const char *
s_value(const json_t *values, const char *name, size_t len, char *tmp, size_t cap)
{
    char key[64];
    if (len == 0 || len >= sizeof key)
        return "";
    memcpy(key, name, len);
    key[len] = '\0';
    const json_t *v = json_object_get(values, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(tmp, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(tmp, cap, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(tmp, cap, "%s", json_is_true(v) ? "true" : "false");
    else
        return "";
    return tmp;
}

char *
notifier_template_render(const char *text, const json_t *values, bool html)
{
    s_buf_t b = {0};
    s_put(&b, "", 0);
    const char *p = text;
    while (*p) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!open || !close) {
            s_put(&b, p, strlen(p));
            break;
        }
        s_put(&b, p, (size_t)(open - p));
        const char *name = open + 2;
        size_t len = (size_t)(close - name);
        while (len && *name == ' ')
            name++, len--;
        while (len && name[len - 1] == ' ')
            len--;
        char tmp[64];
        s_put_value(&b, s_value(values, name, len, tmp, sizeof tmp), html);
        p = close + 2;
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

static char *
s_read(const char *dir, const char *name, const char *ext)
{
    char path[1024];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext) >= sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = malloc(256 * 1024 + 1);
    size_t n = data ? fread(data, 1, 256 * 1024 + 1, f) : 0;
    bool bad = ferror(f) || n > 256 * 1024;
    fclose(f);
    if (!data || bad) {
        free(data);
        return NULL;
    }
    data[n] = '\0';
    return data;
}

void
notifier_mail_clear(notifier_mail_t *mail)
{
    free(mail->subject);
    free(mail->text);
    free(mail->html);
    memset(mail, 0, sizeof *mail);
}

int
notifier_template_load(const char *dir, const char *name, const json_t *values, notifier_mail_t *mail)
{
    memset(mail, 0, sizeof *mail);
    char *txt = s_read(dir, name, "txt");
    char *html = s_read(dir, name, "html");
    int rc = -1;
    if (txt && html && strncmp(txt, "Subject: ", 9) == 0) {
        char *eol = strchr(txt, '\n');
        char *body = eol ? eol + 1 : txt + strlen(txt);
        if (eol)
            *eol = '\0';
        while (*body == '\r' || *body == '\n')
            body++;
        mail->subject = notifier_template_render(txt + 9, values, false);
        mail->text = notifier_template_render(body, values, false);
        mail->html = notifier_template_render(html, values, true);
        if (mail->subject && mail->text && mail->html) {
            /* One line, no control characters: a value can never add a header. */
            char *w = mail->subject;
            for (char *r = mail->subject; *r; r++)
                if ((unsigned char)*r >= 0x20 && *r != 0x7f)
                    *w++ = *r;
            *w = '\0';
            rc = 0;
        } else {
            notifier_mail_clear(mail);
        }
    }
    free(txt);
    free(html);
    return rc;
}
