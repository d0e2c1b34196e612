/*  notifier_unsubscribe - a user's one-click unsubscribe (RFC 8058).
 *
 *  Every mail a user may opt out of links to
 *    {PUBLIC_BASE_URL}/api/v1/notifications/unsubscribe?user=<id>&sig=<token>
 *  where token is base64url(HMAC-SHA256(UNSUBSCRIBE_SECRET, "unsubscribe:" +
 *  user id)), so nobody can unsubscribe someone else. The same URL is the
 *  List-Unsubscribe header; a POST to it (mail clients send the body
 *  "List-Unsubscribe=One-Click") stores the choice; a GET only reports it,
 *  since link scanners follow GETs. Payment and security mail is sent
 *  regardless (notifier_kinds). */
#ifndef NOTIFIER_UNSUBSCRIBE_H_INCLUDED
#define NOTIFIER_UNSUBSCRIBE_H_INCLUDED

#include <stddef.h>

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  The token for user_id (43 characters + NUL into out). -1 on failure. */
int notifier_unsubscribe_token(const char *secret, const char *user_id, char *out, size_t cap);

/*  The link for user_id (malloc'd), or NULL without a secret or on OOM. */
char *notifier_unsubscribe_url(const char *base_url, const char *secret, const char *user_id);

void notifier_unsubscribe_prepare(ob_pg_t *pg);

/*  "unsubscribe.check" (GET): {"user_id","unsubscribed"}; 403 on a bad link. */
void notifier_unsubscribe_check(void *api, ob_job_t *job);

/*  "unsubscribe.apply" (POST): stores the choice; {"user_id","unsubscribed":true}. */
void notifier_unsubscribe_apply(void *api, ob_job_t *job);

#endif
