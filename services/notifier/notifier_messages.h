/*  notifier_messages - operators' view of outgoing webhook messages.
 *
 *    admin.messages.list      GET /api/v1/admin/webhook-messages?status=pending|sent|failed&endpoint=ep_..&limit=N
 *                             (newest first; default 50, at most 500)
 *    admin.messages.attempts  GET /api/v1/admin/webhook-messages/{id}/attempts: every attempt, oldest first
 *                             (status, duration, the first bytes of the answer, the error)
 *    admin.messages.replay    POST /api/v1/admin/webhook-messages/{id}/replay -> 202: sent again, same
 *                             webhook-id, whatever its status was */
#ifndef NOTIFIER_MESSAGES_H_INCLUDED
#define NOTIFIER_MESSAGES_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

void notifier_messages_prepare(ob_pg_t *pg);

void notifier_messages_list(void *api, ob_job_t *job);
void notifier_messages_attempts(void *api, ob_job_t *job);
void notifier_messages_replay(void *api, ob_job_t *job);

#endif
