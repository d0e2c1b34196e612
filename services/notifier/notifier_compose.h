/*  notifier_compose - the e-mail for one notification request.
 *
 *  Values for the template are the request's payload (its scalar members)
 *  plus: user_id, email, plan, amount_display ("19.00 USD" from amount in
 *  cents and currency), <name>_date (YYYY-MM-DD) for every Unix-time or
 *  ISO 8601 member among current_period_start, current_period_end,
 *  trial_end, next_payment_attempt, window_end, canceled_at, access_until; portal_url, base_url and
 *  unsubscribe_url (empty for mail nobody may unsubscribe from).
 *
 *  The Message-ID depends only on the request (its id and dedupe key) and
 *  SMTP_FROM's domain, so every attempt sends the same one. */
#ifndef NOTIFIER_COMPOSE_H_INCLUDED
#define NOTIFIER_COMPOSE_H_INCLUDED

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "services/notifier/notifier_kinds.h"
#include "services/notifier/notifier_settings.h"

typedef struct {
    const char *id;         /* notifications.id */
    const char *dedupe_key; /* notifications.dedupe_key */
    const char *user_id;    /* or NULL */
    const char *to;         /* the address */
    const json_t *payload;  /* an object */
    const notifier_kind_t *kind;
} notifier_compose_input_t;

/*  The template values for in (a new object), or NULL on OOM. */
json_t *notifier_compose_values(const notifier_settings_t *settings, const notifier_compose_input_t *in);

/*  "<notification-<id>.<hash>@<domain>>" into out. */
void notifier_compose_message_id(const char *id, const char *dedupe_key, const char *from, char *out, size_t cap);

/*  The whole message (malloc'd; *len its length) and its Message-ID.
 *  Returns NULL with a reason in error when the template is missing or
 *  broken or an address is unusable. */
char *notifier_compose(const notifier_settings_t *settings, const notifier_compose_input_t *in, time_t now, char *message_id,
                       size_t message_id_cap, size_t *len, char *error, size_t error_cap);

#endif
