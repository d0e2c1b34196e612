/*  notifier_mime - one e-mail as RFC 5322 / MIME bytes.
 *
 *  multipart/alternative (text/plain then text/html), both UTF-8 in base64,
 *  CRLF line ends. Headers whose value is not plain ASCII (the subject, a
 *  display name) are RFC 2047 encoded words; header values never carry
 *  CR or LF. The Message-ID is the caller's, so every attempt at one
 *  notification sends the same one. When unsubscribe_url is set the message
 *  carries List-Unsubscribe and List-Unsubscribe-Post (RFC 8058). */
#ifndef NOTIFIER_MIME_H_INCLUDED
#define NOTIFIER_MIME_H_INCLUDED

#include <stddef.h>
#include <time.h>

#include "services/notifier/notifier_template.h"

typedef struct {
    const char *from;            /* "Name <addr>" or "addr" */
    const char *to;              /* an address */
    const char *message_id;      /* "<...@...>" */
    const char *unsubscribe_url; /* or NULL */
    time_t date;
} notifier_mime_head_t;

/*  The address part of "Name <addr>" or "addr" into out; -1 when there is
 *  none or it holds a character that does not belong in an address. */
int notifier_mime_address(const char *mailbox, char *out, size_t cap);

/*  The message bytes (malloc'd, NUL-terminated; *len_out its length), or
 *  NULL when an address is unusable or memory runs out. */
char *notifier_mime_build(const notifier_mime_head_t *head, const notifier_mail_t *mail, size_t *len_out);

#endif
