/*  notifier_reply - answers an admin call with what one SQL statement built.
 *
 *  The notifier's read and write endpoints let Postgres build their JSON
 *  (json_build_object in the statement), so each handler is: validate,
 *  run one statement, answer its single text column. */
#ifndef NOTIFIER_REPLY_H_INCLUDED
#define NOTIFIER_REPLY_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  Runs statement with text values. One row: answers `status` with its
 *  first column as the body. No row: 404 not_found with not_found_message.
 *  A database failure: 503 (transient) or 500, never the SQL error text.
 *  Returns the outcome. */
ob_err_t notifier_reply_query(ob_pg_t *pg, ob_job_t *job, int status, const char *statement, int nparams, const char *const *values,
                              const char *not_found_message);

#endif
