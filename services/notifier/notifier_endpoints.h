/*  notifier_endpoints - operators manage outgoing webhook endpoints.
 *
 *    admin.endpoints.create   POST /api/v1/admin/webhook-endpoints {"url","events":[...],"description"}
 *                             -> 201 {"id","url","events","description","enabled","secret",...}; the secret
 *                             is shown here and on rotation only
 *    admin.endpoints.list     GET  /api/v1/admin/webhook-endpoints
 *    admin.endpoints.get      GET  /api/v1/admin/webhook-endpoints/{id}
 *    admin.endpoints.update   PATCH /api/v1/admin/webhook-endpoints/{id} {"url"?,"events"?,"enabled"?,"description"?}
 *                             (enabling clears the failure record)
 *    admin.endpoints.delete   DELETE /api/v1/admin/webhook-endpoints/{id} (its messages and log go with it)
 *    admin.endpoints.rotate   POST /api/v1/admin/webhook-endpoints/{id}/rotate-secret -> {"id","secret",
 *                             "previous_secret_expires_at"}: old and new both sign until then
 *    admin.endpoints.recover  POST /api/v1/admin/webhook-endpoints/{id}/recover {"since": ISO 8601}
 *                             -> 202 {"requeued": n}: every failed message since then is sent again
 *
 *  URLs pass notifier_ssrf_check_url; events are known types or "*". */
#ifndef NOTIFIER_ENDPOINTS_H_INCLUDED
#define NOTIFIER_ENDPOINTS_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

void notifier_endpoints_prepare(ob_pg_t *pg);

void notifier_endpoints_create(void *api, ob_job_t *job);
void notifier_endpoints_list(void *api, ob_job_t *job);
void notifier_endpoints_get(void *api, ob_job_t *job);
void notifier_endpoints_update(void *api, ob_job_t *job);
void notifier_endpoints_delete(void *api, ob_job_t *job);
void notifier_endpoints_rotate(void *api, ob_job_t *job);
void notifier_endpoints_recover(void *api, ob_job_t *job);

#endif
