/*  usage_ledger - the usage ledger. */
#include "services/lago-worker/usage_ledger.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The advisory lock namespace of quota counters (first key of the pair).
 *  Users share 128 lock buckets, so a batch takes at most 128 locks however
 *  many users it holds (the server's lock table is finite); a rebuild holds
 *  one bucket for a few milliseconds, which is rare (a new window, a flush). */
#define S_LOCK_CLASS "2897"
#define S_LOCK_KEY(u) "(hashtext(" u ") & 127)"

void
usage_ledger_prepare(ob_pg_t *pg)
{
    /* The ordered subquery fixes the order locks are taken in. */
    ob_pg_prepare(pg, "ledger_lock_shared",
                  "SELECT count(pg_advisory_xact_lock_shared(" S_LOCK_CLASS ", k)) FROM"
                  " (SELECT DISTINCT " S_LOCK_KEY("u") " AS k FROM json_array_elements_text($1::json) AS u ORDER BY 1) AS x",
                  1);
    ob_pg_prepare(pg, "ledger_insert",
                  "INSERT INTO usage_events (transaction_id, user_id, code, quantity, occurred_at, properties,"
                  " subscription_id, source, account_id)"
                  " SELECT t, u, c, q, to_timestamp(o::float8 / 1000000), coalesce(nullif(p, '')::jsonb, '{}'), nullif(s, ''), $8,"
                  " nullif(a, '')"
                  " FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::text[],"
                  " $9::text[]) AS x(t, u, c, q, o, p, s, a)"
                  " ON CONFLICT (transaction_id) DO NOTHING RETURNING transaction_id",
                  9);
    ob_pg_prepare(pg, "ledger_match",
                  "SELECT x.n, e.user_id = x.u AND e.code = x.c AND e.quantity = x.q"
                  " FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) WITH ORDINALITY AS x(t, u, c, q, n)"
                  " JOIN usage_events e ON e.transaction_id = x.t",
                  4);
    ob_pg_prepare(pg, "ledger_assert_same", "SELECT usage_ledger_assert_same($1::text[], $2::text[], $3::text[], $4::int8[])", 4);
    ob_pg_prepare(pg, "ledger_lock_exclusive", "SELECT pg_advisory_xact_lock(" S_LOCK_CLASS ", " S_LOCK_KEY("$1") ")", 1);
    /* No upper bound: a window is only ever rebuilt while it is the user's
     * current one, so later rows belong to it too (a renewal not seen yet). */
    ob_pg_prepare(pg, "ledger_sum",
                  "SELECT coalesce(sum(quantity), 0) FROM usage_events"
                  " WHERE ((user_id = $1 AND account_id IS NULL) OR account_id = $1) AND code = $2"
                  " AND occurred_at >= to_timestamp($3)",
                  3);
    ob_pg_prepare(pg, "ledger_lock_exclusive_many",
                  "SELECT count(pg_advisory_xact_lock(" S_LOCK_CLASS ", k)) FROM"
                  " (SELECT DISTINCT " S_LOCK_KEY("u") " AS k FROM unnest($1::text[]) AS u ORDER BY 1) AS x",
                  1);
    ob_pg_prepare(pg, "ledger_sum_many",
                  "SELECT x.n, (SELECT coalesce(sum(e.quantity), 0) FROM usage_events e"
                  " WHERE e.user_id = x.u AND e.account_id IS NULL AND e.code = x.c AND e.occurred_at >= to_timestamp(x.s))"
                  " FROM unnest($1::text[], $2::text[], $3::int8[]) WITH ORDINALITY AS x(u, c, s, n)",
                  3);
    ob_pg_prepare(pg, "ledger_metrics", "SELECT code, quota FROM usage_metrics ORDER BY code", 0);
}

ob_err_t
usage_ledger_lock_users(ob_pg_t *pg, const char *users_json)
{
    const char *values[] = {users_json};
    return ob_pg_run(pg, "ledger_lock_shared", 1, values, NULL);
}

static void
s_add_text(ob_pgarray_t *array, const char *text)
{
    if (!array->data)
        ob_pgarray_init(array, OB_PG_OID_TEXT);
    ob_pgarray_add(array, text ? text : "", text ? strlen(text) : 0);
}

static void
s_add_int8(ob_pgarray_t *array, int64_t value)
{
    if (!array->data)
        ob_pgarray_init(array, OB_PG_OID_INT8);
    ob_pgarray_add_int8(array, value);
}

void
usage_ledger_rows_add(usage_ledger_rows_t *self, const usage_event_t *e, const char *subscription, const char *account)
{
    char *properties = e->properties && json_object_size(e->properties) > 0 ? json_dumps(e->properties, JSON_COMPACT) : NULL;
    s_add_text(&self->tx, e->transaction_id);
    s_add_text(&self->user, e->user_id);
    s_add_text(&self->code, e->code);
    s_add_int8(&self->quantity, e->quantity);
    s_add_int8(&self->occurred, llround(e->occurred_at * 1e6));
    s_add_text(&self->properties, properties);
    s_add_text(&self->subscription, subscription);
    s_add_text(&self->account, account);
    free(properties);
    self->count++;
}

void
usage_ledger_rows_release(usage_ledger_rows_t *self)
{
    ob_pgarray_release(&self->tx);
    ob_pgarray_release(&self->user);
    ob_pgarray_release(&self->code);
    ob_pgarray_release(&self->quantity);
    ob_pgarray_release(&self->occurred);
    ob_pgarray_release(&self->properties);
    ob_pgarray_release(&self->subscription);
    ob_pgarray_release(&self->account);
    self->count = 0;
}

/*  The first n arrays of rows (in column order) as binary parameters, then
 *  extra text ones; false when one is missing (OOM). */
static bool
s_params(usage_ledger_rows_t *rows, size_t n, const char **values, int *lengths, int *formats)
{
    ob_pgarray_t *arrays[] = {&rows->tx,       &rows->user,       &rows->code,         &rows->quantity,
                              &rows->occurred, &rows->properties, &rows->subscription, &rows->account};
    for (size_t i = 0; i < n; i++) {
        values[i] = arrays[i]->data ? ob_pgarray_finish(arrays[i], &lengths[i]) : NULL;
        formats[i] = 1;
        if (!values[i])
            return false;
    }
    return true;
}

ob_err_t
usage_ledger_insert(ob_pg_t *pg, usage_ledger_rows_t *rows, const char *source, ob_strset_t *inserted, PGresult **result_out)
{
    *result_out = NULL;
    const char *values[9];
    int lengths[9], formats[9];
    if (!s_params(rows, 8, values, lengths, formats))
        return OB_ERR_INTERNAL;
    /* $8 is the source, $9 the account: the statement's order. */
    values[8] = values[7];
    lengths[8] = lengths[7];
    formats[8] = 1;
    values[7] = source;
    lengths[7] = 0;
    formats[7] = 0;
    PGresult *result = ob_pg_exec(pg, "ledger_insert", 9, values, lengths, formats);
    ob_err_t err = ob_pg_classify(pg, result);
    if (err == OB_OK) {
        for (int i = 0; i < PQntuples(result); i++)
            if (ob_strset_add(inserted, PQgetvalue(result, i, 0)) < 0)
                err = OB_ERR_INTERNAL;
    }
    if (err != OB_OK) {
        PQclear(result);
        result = NULL;
    }
    *result_out = result;
    return err;
}

ob_err_t
usage_ledger_match(ob_pg_t *pg, usage_ledger_rows_t *rows, usage_ledger_match_t *match)
{
    for (size_t i = 0; i < rows->count; i++)
        match[i] = USAGE_LEDGER_ABSENT;
    if (rows->count == 0)
        return OB_OK;
    const char *values[4];
    int lengths[4], formats[4];
    if (!s_params(rows, 4, values, lengths, formats))
        return OB_ERR_INTERNAL;
    PGresult *result = ob_pg_exec(pg, "ledger_match", 4, values, lengths, formats);
    ob_err_t err = ob_pg_classify(pg, result);
    for (int r = 0; err == OB_OK && r < PQntuples(result); r++) {
        long n = strtol(PQgetvalue(result, r, 0), NULL, 10);
        if (n >= 1 && (size_t)n <= rows->count)
            match[n - 1] = PQgetvalue(result, r, 1)[0] == 't' ? USAGE_LEDGER_SAME : USAGE_LEDGER_OTHER;
    }
    PQclear(result);
    return err;
}

void
usage_ledger_lock_step(const char *users_json, usage_ledger_params_t *params, ob_pg_step_t *step)
{
    params->values[0] = users_json;
    *step = (ob_pg_step_t){.name = "ledger_lock_shared", .nparams = 1, .values = params->values};
}

int
usage_ledger_match_step(usage_ledger_rows_t *rows, usage_ledger_params_t *params, ob_pg_step_t *step)
{
    *step = (ob_pg_step_t){
        .name = "ledger_match", .nparams = 4, .values = params->values, .lengths = params->lengths, .formats = params->formats};
    return rows->count > 0 && s_params(rows, 4, params->values, params->lengths, params->formats) ? 0 : -1;
}

void
usage_ledger_match_read(const PGresult *result, size_t count, usage_ledger_match_t *match)
{
    for (size_t i = 0; i < count; i++)
        match[i] = USAGE_LEDGER_ABSENT;
    for (int r = 0; result && r < PQntuples(result); r++) {
        long n = strtol(PQgetvalue(result, r, 0), NULL, 10);
        if (n >= 1 && (size_t)n <= count)
            match[n - 1] = PQgetvalue(result, r, 1)[0] == 't' ? USAGE_LEDGER_SAME : USAGE_LEDGER_OTHER;
    }
}

int
usage_ledger_insert_step(usage_ledger_rows_t *rows, const char *source, usage_ledger_params_t *params, ob_pg_step_t *step)
{
    *step = (ob_pg_step_t){
        .name = "ledger_insert", .nparams = 9, .values = params->values, .lengths = params->lengths, .formats = params->formats};
    if (rows->count == 0 || !s_params(rows, 8, params->values, params->lengths, params->formats))
        return -1;
    /* $8 is the source, $9 the account: the statement's order. */
    params->values[8] = params->values[7];
    params->lengths[8] = params->lengths[7];
    params->formats[8] = 1;
    params->values[7] = source;
    params->lengths[7] = 0;
    params->formats[7] = 0;
    return 0;
}

ob_err_t
usage_ledger_inserted(const PGresult *result, ob_strset_t *inserted)
{
    for (int i = 0; result && i < PQntuples(result); i++)
        if (ob_strset_add(inserted, PQgetvalue(result, i, 0)) < 0)
            return OB_ERR_INTERNAL;
    return OB_OK;
}

int
usage_ledger_assert_same_step(usage_ledger_rows_t *rows, usage_ledger_params_t *params, ob_pg_step_t *step)
{
    int rc = usage_ledger_match_step(rows, params, step);
    step->name = "ledger_assert_same";
    return rc;
}

bool
usage_ledger_is_reused(const PGresult *result)
{
    const char *state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    return state && strcmp(state, "OB409") == 0;
}

ob_err_t
usage_ledger_rebuild(ob_pg_t *pg, ob_redis_t *redis, quota_t *quota, const char *user_id, const char *code, int64_t period_start,
                     int64_t period_end, const char *counter_key)
{
    char start[24];
    snprintf(start, sizeof start, "%" PRId64, period_start);
    ob_err_t err = ob_pg_begin(pg);
    if (err != OB_OK)
        return err;
    const char *lock_values[] = {user_id};
    err = ob_pg_run(pg, "ledger_lock_exclusive", 1, lock_values, NULL);
    int64_t used = 0;
    if (err == OB_OK) {
        const char *values[] = {user_id, code, start};
        PGresult *result = ob_pg_exec(pg, "ledger_sum", 3, values, NULL, NULL);
        err = ob_pg_classify(pg, result);
        if (err == OB_OK && PQntuples(result) == 1)
            used = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
        PQclear(result);
    }
    /* Still under the exclusive lock: no increment of this user is in flight. */
    if (err == OB_OK && quota_set_counter(quota, redis, counter_key, used, period_end > 0 ? period_end + 86400 : 0) != 0)
        err = OB_ERR_TRANSIENT;
    if (err == OB_OK)
        return ob_pg_commit(pg);
    ob_pg_rollback(pg);
    return err;
}

ob_err_t
usage_ledger_rebuild_many(ob_pg_t *pg, ob_redis_t *redis, quota_t *quota, const usage_ledger_counter_t *counters, size_t count)
{
    if (count == 0)
        return OB_OK;
    ob_pgarray_text_t users = {0}, codes = {0}, starts = {0};
    for (size_t i = 0; i < count; i++) {
        char start[24];
        snprintf(start, sizeof start, "%" PRId64, counters[i].period_start);
        ob_pgarray_text_add(&users, counters[i].user_id);
        ob_pgarray_text_add(&codes, counters[i].code);
        ob_pgarray_text_add(&starts, start);
    }
    const char *values[] = {ob_pgarray_text_value(&users), ob_pgarray_text_value(&codes), ob_pgarray_text_value(&starts)};
    int64_t *used = calloc(count, sizeof *used);
    ob_err_t err = values[0] && values[1] && values[2] && used ? ob_pg_begin(pg) : OB_ERR_INTERNAL;
    if (err == OB_OK)
        err = ob_pg_run(pg, "ledger_lock_exclusive_many", 1, values, NULL);
    PGresult *result = NULL;
    if (err == OB_OK)
        err = ob_pg_run(pg, "ledger_sum_many", 3, values, &result);
    for (int r = 0; err == OB_OK && r < PQntuples(result); r++) {
        long n = strtol(PQgetvalue(result, r, 0), NULL, 10);
        if (n >= 1 && (size_t)n <= count)
            used[n - 1] = strtoll(PQgetvalue(result, r, 1), NULL, 10);
    }
    if (err == OB_OK && PQntuples(result) != (int)count)
        err = OB_ERR_INTERNAL;
    PQclear(result);
    /* Still under the exclusive locks: no increment of these users is in flight. */
    for (size_t i = 0; err == OB_OK && i < count; i++) {
        int64_t end = counters[i].period_end;
        if (quota_set_counter(quota, redis, counters[i].counter_key, used[i], end > 0 ? end + 86400 : 0) != 0)
            err = OB_ERR_TRANSIENT;
    }
    if (err == OB_OK)
        err = ob_pg_commit(pg);
    else if (ob_pg_in_transaction(pg))
        ob_pg_rollback(pg);
    free(used);
    ob_pgarray_text_release(&users);
    ob_pgarray_text_release(&codes);
    ob_pgarray_text_release(&starts);
    return err;
}

ob_err_t
usage_ledger_load_metrics(ob_pg_t *pg, usage_metrics_t *out)
{
    PGresult *result = ob_pg_exec(pg, "ledger_metrics", 0, NULL, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, result);
    if (err == OB_OK) {
        memset(out, 0, sizeof *out);
        for (int i = 0; i < PQntuples(result); i++)
            usage_metrics_add(out, PQgetvalue(result, i, 0), PQgetvalue(result, i, 1)[0] == 't');
    }
    PQclear(result);
    return err;
}
