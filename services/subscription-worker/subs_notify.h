/*  subs_notify - the notification requests a subscription change causes:
 *  welcome (it became live), plan_changed, canceled (cancel requested at
 *  period end, and again when it ends).
 *
 *  The applier reads the row before it applies a message (subs_notify_read,
 *  which also takes the row lock) and hands before and after to
 *  subs_notify_changed, all inside its open transaction: the requests
 *  commit with the change or not at all. Each has a dedupe key of its cause
 *  (notifications.dedupe_key), so a repeat or a second applier adds nothing:
 *    subscription:<id>:activated                    once per subscription
 *    subscription:<id>:plan:<plan>:<event id>       per plan change
 *    subscription:<id>:cancel_requested:<period end>
 *    subscription:<id>:ended
 *  Nothing is requested while the subscription has no user; when the
 *  customer link arrives later, subs_notify_linked sends the welcome. */
#ifndef SUBS_NOTIFY_H_INCLUDED
#define SUBS_NOTIFY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"

typedef struct {
    bool exists;
    char id[128];
    char user_id[256];
    char status[24];
    char plan_id[64];
    char interval[8];
    bool cancel_at_period_end;
    int64_t period_start, period_end, canceled_at; /* Unix s; 0 = unknown */
} subs_notify_row_t;

typedef enum { SUBS_NOTIFY_WELCOME, SUBS_NOTIFY_PLAN_CHANGED, SUBS_NOTIFY_CANCEL_REQUESTED, SUBS_NOTIFY_ENDED } subs_notify_cause_t;

#define SUBS_NOTIFY_MAX 4

/*  Which requests going from before to after causes (pure; table-tested).
 *  Returns how many were written to causes. */
size_t subs_notify_decide(const subs_notify_row_t *before, const subs_notify_row_t *after, subs_notify_cause_t *causes);

void subs_notify_prepare(ob_pg_t *pg);

/*  Reads (and locks) subscription id into row; row->exists false when there
 *  is none yet. */
ob_err_t subs_notify_read(ob_pg_t *pg, const char *id, subs_notify_row_t *row);

/*  Reads subscription id again and inserts the requests the change from
 *  before caused. event_id names the cause (for the plan change's key). */
ob_err_t subs_notify_changed(ob_pg_t *pg, const char *id, const subs_notify_row_t *before, const char *event_id);

/*  After a customer link: the welcome for each live subscription of user
 *  that had none (the subscription arrived before its link). */
ob_err_t subs_notify_linked(ob_pg_t *pg, const char *user_id);

#endif
