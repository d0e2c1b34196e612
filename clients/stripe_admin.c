/*  stripe_admin - list and replay inbox events. */
#include "clients/stripe_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
stripe_admin_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "admin_events_list",
                  "SELECT json_build_object('events', coalesce(json_agg(json_build_object('id', id, 'type', type,"
                  " 'created', created, 'status', status, 'attempts', attempts, 'last_error', last_error,"
                  " 'received_at', received_at, 'processed_at', processed_at) ORDER BY received_at DESC, id), '[]'))::text"
                  " FROM (SELECT * FROM stripe_events WHERE ($1::text IS NULL OR status = $1::text)"
                  "       ORDER BY received_at DESC, id LIMIT $2::int) e",
                  2);
    ob_pg_prepare(pg, "admin_events_replay",
                  "UPDATE stripe_events SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL,"
                  " last_error = NULL, processed_at = NULL WHERE id = $1"
                  " RETURNING json_build_object('id', id, 'status', status)::text",
                  1);
}

int
stripe_admin_status_valid(const char *status)
{
    static const char *const valid[] = {"pending", "processed", "ignored", "failed", NULL};
    for (size_t i = 0; status && valid[i]; i++)
        if (strcmp(status, valid[i]) == 0)
            return 1;
    return 0;
}

static ob_err_t
s_single_text(ob_pg_t *pg, const char *name, int n, const char *const *values, char **json_out)
{
    *json_out = NULL;
    PGresult *r = ob_pg_exec(pg, name, n, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    if (err == OB_OK && PQntuples(r) == 0)
        err = OB_ERR_NOT_FOUND;
    if (err == OB_OK && !(*json_out = strdup(PQgetvalue(r, 0, 0))))
        err = OB_ERR_INTERNAL;
    PQclear(r);
    return err;
}

ob_err_t
stripe_admin_list(ob_pg_t *pg, const char *status, int limit, char **json_out)
{
    char limit_text[16];
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    const char *values[] = {status, limit_text};
    return s_single_text(pg, "admin_events_list", 2, values, json_out);
}

ob_err_t
stripe_admin_replay(ob_pg_t *pg, const char *id, char **json_out)
{
    const char *values[] = {id};
    return s_single_text(pg, "admin_events_replay", 1, values, json_out);
}
