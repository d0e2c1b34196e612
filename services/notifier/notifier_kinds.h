/*  notifier_kinds - what each kind of notification request means: the
 *  outgoing webhook event it becomes, the mail template it uses, whether the
 *  user may unsubscribe from it, and which daily cap it counts against.
 *  Behaviour as data (one row per kind); no I/O. */
#ifndef NOTIFIER_KINDS_H_INCLUDED
#define NOTIFIER_KINDS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *kind;       /* the notifications.kind value, e.g. "payment_failed" */
    const char *event_type; /* Standard Webhooks "type", or NULL: no webhook */
    const char *template;   /* deploy/templates/<template>.txt/.html, or NULL: no mail */
    bool unsubscribable;    /* false for payment and security mail */
    const char *daily_cap;  /* at most one mail of this class per user and UTC day, or NULL */
} notifier_kind_t;

/*  The row for kind, or NULL for a kind nobody is told about (it is
 *  recorded only). */
const notifier_kind_t *notifier_kind_find(const char *kind);

/*  Every row, for the fan-out's kind -> event table; *count gets the size. */
const notifier_kind_t *notifier_kind_all(size_t *count);

/*  True for an event type an endpoint may subscribe to ("*" = every type). */
bool notifier_kind_event_known(const char *event_type);

#endif
