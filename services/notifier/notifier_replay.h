/*  notifier_replay - "admin.notifications.replay": an operator sends a
 *  notification that failed for good again, once its cause is fixed
 *  (POST /api/v1/admin/notifications/{id}/replay, admin token).
 *
 *  The row goes back to pending with its attempts cleared and is due now,
 *  and the delivery thread is woken (NOTIFY notifications): its e-mail is
 *  sent again like a new one's. Webhook messages have their own replay
 *  (admin.messages.replay, notifier_messages.c). 200 {"id","status":"pending"}; 404 unknown;
 *  409 when it has not failed (pending, sending and sent ones are left).
 */
#ifndef NOTIFIER_REPLAY_H_INCLUDED
#define NOTIFIER_REPLAY_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  Registers the statement on pg. */
void notifier_replay_prepare(ob_pg_t *pg);

/*  The method (state: the notifier_state_t). */
void notifier_replay(void *state, ob_job_t *job);

#endif
