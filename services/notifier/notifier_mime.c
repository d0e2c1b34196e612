/*  notifier_mime - message assembly (libcrypto's base64). */
#include "services/notifier/notifier_mime.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} s_out_t;

static void
s_put(s_out_t *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *data = realloc(o->data, cap);
        if (!data) {
            o->failed = true;
            return;
        }
        o->data = data;
        o->cap = cap;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len] = '\0';
}

static void
s_puts(s_out_t *o, const char *s)
{
    s_put(o, s, strlen(s));
}

static bool
s_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/*  Encoded words of at most 45 raw bytes each (60 base64 characters), cut
 *  on UTF-8 character boundaries, folded onto continuation lines. */
static void
s_put_encoded(s_out_t *o, const char *s)
{
    size_t len = strlen(s);
    if (s_ascii(s) && len < 900) {
        s_put(o, s, len);
        return;
    }
    bool first = true;
    while (len) {
        size_t n = len < 45 ? len : 45;
        while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
        unsigned char b64[64];
        EVP_EncodeBlock(b64, (const unsigned char *)s, (int)n);
        if (!first)
            s_puts(o, "\r\n ");
        s_puts(o, "=?UTF-8?B?");
        s_puts(o, (const char *)b64);
        s_puts(o, "?=");
        first = false;
        s += n;
        len -= n;
    }
}

int
notifier_mime_address(const char *mailbox, char *out, size_t cap)
{
    const char *start = mailbox, *end = mailbox + strlen(mailbox);
    const char *lt = strrchr(mailbox, '<');
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt)
            return -1;
        start = lt + 1;
        end = gt;
    }
    while (start < end && *start == ' ')
        start++;
    while (end > start && end[-1] == ' ')
        end--;
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= cap || !memchr(start, '@', n))
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)start[i];
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '\\')
            return -1;
    }
    memcpy(out, start, n);
    out[n] = '\0';
    return 0;
}

/*  "Display Name <addr>" with the name encoded when needed. */
static void
s_put_mailbox(s_out_t *o, const char *mailbox, const char *address)
{
    const char *lt = strrchr(mailbox, '<');
    if (lt && lt > mailbox) {
        char name[256];
        size_t n = (size_t)(lt - mailbox);
        while (n && mailbox[n - 1] == ' ')
            n--;
        const char *p = mailbox;
        while (n && *p == ' ')
            p++, n--;
        if (n && *p == '"' && p[n - 1] == '"' && n >= 2)
            p++, n -= 2;
        if (n && n < sizeof name) {
            size_t w = 0;
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
                    name[w++] = p[i];
            name[w] = '\0';
            if (s_ascii(name)) {
                s_puts(o, "\"");
                s_puts(o, name);
                s_puts(o, "\" ");
            } else {
                s_put_encoded(o, name);
                s_puts(o, " ");
            }
        }
    }
    s_puts(o, "<");
    s_puts(o, address);
    s_puts(o, ">");
}

/*  A body as base64 in lines of 76 characters. */
static void
s_put_base64(s_out_t *o, const char *s)
{
    size_t len = strlen(s);
    unsigned char line[80];
    while (len) {
        size_t n = len < 57 ? len : 57;
        int w = EVP_EncodeBlock(line, (const unsigned char *)s, (int)n);
        s_put(o, (const char *)line, (size_t)w);
        s_puts(o, "\r\n");
        s += n;
        len -= n;
    }
}

static bool
s_header_safe(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

char *
notifier_mime_build(const notifier_mime_head_t *head, const notifier_mail_t *mail, size_t *len_out)
{
    char from[320], to[320];
    if (notifier_mime_address(head->from, from, sizeof from) != 0 || notifier_mime_address(head->to, to, sizeof to) != 0 ||
        !s_header_safe(head->message_id) || !s_header_safe(head->unsubscribe_url) || !s_header_safe(head->from))
        return NULL;
    char date[64];
    struct tm tm;
    gmtime_r(&head->date, &tm);
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    /* The boundary never occurs in base64 text (it holds '=' and '_'). */
    char boundary[128];
    snprintf(boundary, sizeof boundary, "=_ob_%.60s", head->message_id + (head->message_id[0] == '<'));
    for (char *p = boundary; *p; p++)
        if (*p == '>' || *p == '@')
            *p = '_';

    s_out_t o = {0};
    s_puts(&o, "From: ");
    s_put_mailbox(&o, head->from, from);
    s_puts(&o, "\r\nTo: <");
    s_puts(&o, to);
    s_puts(&o, ">\r\nSubject: ");
    s_put_encoded(&o, mail->subject);
    s_puts(&o, "\r\nDate: ");
    s_puts(&o, date);
    s_puts(&o, "\r\nMessage-ID: ");
    s_puts(&o, head->message_id);
    s_puts(&o, "\r\nMIME-Version: 1.0\r\n");
    if (head->unsubscribe_url) {
        s_puts(&o, "List-Unsubscribe: <");
        s_puts(&o, head->unsubscribe_url);
        s_puts(&o, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    s_puts(&o, "Content-Type: multipart/alternative; boundary=\"");
    s_puts(&o, boundary);
    s_puts(&o, "\"\r\n\r\n--");
    s_puts(&o, boundary);
    s_puts(&o, "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    s_put_base64(&o, mail->text);
    s_puts(&o, "--");
    s_puts(&o, boundary);
    s_puts(&o, "\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    s_put_base64(&o, mail->html);
    s_puts(&o, "--");
    s_puts(&o, boundary);
    s_puts(&o, "--\r\n");
    if (o.failed) {
        free(o.data);
        return NULL;
    }
    if (len_out)
        *len_out = o.len;
    return o.data;
}
