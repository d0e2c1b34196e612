/*  notifier_smtp - one e-mail sent over SMTP as a curl easy handle.
 *
 *  SMTP_URL smtp://host:port upgrades with STARTTLS when the server offers
 *  it (CURLUSESSL_TRY); smtps:// is TLS from the start. SMTP_USER and
 *  SMTP_PASSWORD log in when set. curl does the SMTP dot-stuffing. */
#ifndef NOTIFIER_SMTP_H_INCLUDED
#define NOTIFIER_SMTP_H_INCLUDED

#include <stdbool.h>

#include "services/notifier/notifier_settings.h"
#include "services/notifier/notifier_transfer.h"

/*  Prepares t->easy to send t->payload (the message) from `from` to
 *  t->email_to. Returns -1 on OOM (t->error says so). */
int notifier_smtp_prepare(notifier_transfer_t *t, const notifier_settings_t *settings, const char *from_address);

/*  True when the failure is permanent: the server refused with a 5xx
 *  reply (mailbox unknown, message rejected). Connection trouble and 4xx
 *  replies are retried. */
bool notifier_smtp_permanent(CURLcode result, long reply_code);

#endif
