/*  subs_overrides - operators' per-customer overrides of plan entitlements
 *  (admin token):
 *
 *    overrides.create  POST /api/v1/admin/users/{user_id}/overrides
 *      {"kind":"feature","feature":"tts", ...}        grants a feature
 *      {"kind":"quota","calls":500, ...}              raises the API-call limit in every window
 *      {"kind":"quota","calls":50,"recurring":false}  a one-time top-up: this window only
 *      each with "reason" (required, audited) and "expires_at" (ISO 8601 UTC,
 *      "2027-01-31T00:00:00Z") or "expires_in_s".
 *    overrides.list    GET  /api/v1/admin/users/{user_id}/overrides  (every row, expired ones too: the audit)
 *    overrides.revoke  POST /api/v1/admin/overrides/{id}/revoke {"reason"}   ends one early; who and why
 *                      stay on the row (409 already_revoked, 404 override_not_found)
 *
 *  The row (entitlement_overrides, migration 051) is the audit record. Its
 *  trigger raises the user's entitlement version in the same transaction,
 *  and the copy is published right after the commit, so authorize and the
 *  checks apply it at once; the copy's TTL ends when the override does.
 *  At most SUBS_OVERRIDES_MAX in force per user (the copy stays bounded).
 */
#ifndef SUBS_OVERRIDES_H_INCLUDED
#define SUBS_OVERRIDES_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

#define SUBS_OVERRIDES_MAX 8

void subs_overrides_prepare(ob_pg_t *pg);

void subs_overrides_create(void *state, ob_job_t *job);
void subs_overrides_list(void *state, ob_job_t *job);
void subs_overrides_revoke(void *state, ob_job_t *job);

#endif
