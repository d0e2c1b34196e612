/*  notifier_reply - one statement, one answer. */
#include "services/notifier/notifier_reply.h"

ob_err_t
notifier_reply_query(ob_pg_t *pg, ob_job_t *job, int status, const char *statement, int nparams, const char *const *values,
                     const char *not_found_message)
{
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, statement, nparams, values, &r);
    if (err == OB_ERR_CONFLICT) {
        ob_job_reply_error(job, 409, "conflict", "that conflicts with a stored value");
    } else if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "the notifier's database cannot be reached now");
    } else if (PQntuples(r) == 0) {
        ob_job_reply_error(job, 404, "not_found", not_found_message);
        err = OB_ERR_NOT_FOUND;
    } else {
        ob_job_reply_text(job, status, PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return err;
}
