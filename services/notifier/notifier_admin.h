/*  notifier_admin - operators' view of the notification requests other
 *  services store, with each one's e-mail outcome. */
#ifndef NOTIFIER_ADMIN_H_INCLUDED
#define NOTIFIER_ADMIN_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

void notifier_admin_prepare(ob_pg_t *pg);

/*  "admin.notifications.list": ?status=pending|sending|sent|failed|skipped&limit=N
 *  (default all statuses, 50; at most 500), newest first. */
void notifier_admin_list(void *api, ob_job_t *job);

#endif
