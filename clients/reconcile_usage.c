/*  reconcile_usage - the usage ledger against what Lago received. */
#include "clients/reconcile_usage.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/reconcile.h"
#include "common/ob_json.h"

#define MAX_PAGES 10000

/*  The forwarder sends extract(epoch FROM occurred_at)::bigint (rounded): the
 *  ledger is grouped and windowed by that same second, as Lago stores it. */
#define S_SENT_AT "extract(epoch FROM occurred_at)::bigint"

static json_t *
s_groups(ob_pg_t *pg, long long since)
{
    char since_text[24];
    snprintf(since_text, sizeof since_text, "%lld", since);
    const char *values[] = {since_text};
    PGresult *r = ob_pg_exec_sql(
        pg,
        "SELECT coalesce(json_agg(json_build_object('subscription_id', subscription_id, 'user_id', user_id,"
        " 'period', to_char(month, 'YYYY-MM'), 'from', greatest(extract(epoch FROM month)::bigint, $1::bigint),"
        " 'to', extract(epoch FROM month + interval '1 month')::bigint - 1, 'count', n)"
        " ORDER BY subscription_id, month), '[]')::text"
        " FROM (SELECT subscription_id, user_id, date_trunc('month', to_timestamp(sent_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        " AS month, count(*) AS n FROM (SELECT subscription_id, user_id, " S_SENT_AT " AS sent_at FROM usage_events"
        " WHERE forwarded_at IS NOT NULL AND subscription_id IS NOT NULL AND " S_SENT_AT " >= $1::bigint) e"
        " GROUP BY 1, 2, 3) g",
        1, values, NULL, NULL);
    json_t *groups = ob_pg_classify(pg, r) == OB_OK && PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return groups;
}

/*  How many events Lago holds for the group (-1 on failure). */
static long long
s_lago_count(lago_api_t *lago, const char *sub, long long from, long long to, char *error, size_t cap)
{
    json_t *answer = NULL;
    lago_api_error_t e;
    if (lago_api_list_events(lago, sub, from, to, 1, 1, &answer, &e) != OB_OK) {
        snprintf(error, cap, "Lago's events of %s cannot be listed: %s", sub, e.message);
        return -1;
    }
    const json_t *total = json_object_get(json_object_get(answer, "meta"), "total_count");
    long long n = json_is_integer(total) ? (long long)json_integer_value(total)
                                         : (long long)json_array_size(json_object_get(answer, "events"));
    json_decref(answer);
    return n;
}

/*  Lago's transaction_ids of the group, as the keys of an object (a set). */
static json_t *
s_lago_ids(lago_api_t *lago, const char *sub, long long from, long long to, char *error, size_t cap)
{
    json_t *ids = json_object();
    for (int page = 1; ids && page <= MAX_PAGES; page++) {
        json_t *answer = NULL;
        lago_api_error_t e;
        if (lago_api_list_events(lago, sub, from, to, page, 100, &answer, &e) != OB_OK) {
            snprintf(error, cap, "Lago's events of %s cannot be listed: %s", sub, e.message);
            json_decref(ids);
            return NULL;
        }
        size_t i;
        const json_t *event;
        json_array_foreach(json_object_get(answer, "events"), i, event)
        {
            const char *id = json_string_value(json_object_get(event, "transaction_id"));
            if (id)
                json_object_set_new(ids, id, json_true());
        }
        bool more = json_is_integer(json_object_get(json_object_get(answer, "meta"), "next_page"));
        json_decref(answer);
        if (!more)
            break;
    }
    return ids;
}

static json_t *
s_ledger_ids(ob_pg_t *pg, const char *sub, long long from, long long to)
{
    char from_text[24], to_text[24];
    snprintf(from_text, sizeof from_text, "%lld", from);
    snprintf(to_text, sizeof to_text, "%lld", to);
    const char *values[] = {sub, from_text, to_text};
    PGresult *r = ob_pg_exec_sql(pg,
                                 "SELECT coalesce(json_agg(transaction_id ORDER BY occurred_at, transaction_id), '[]')::text"
                                 " FROM usage_events WHERE subscription_id = $1 AND forwarded_at IS NOT NULL"
                                 " AND " S_SENT_AT " BETWEEN $2::bigint AND $3::bigint",
                                 3, values, NULL, NULL);
    json_t *ids = ob_pg_classify(pg, r) == OB_OK && PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return ids;
}

/*  The drift row of one group whose count Lago falls short of, or NULL. */
static json_t *
s_group_drift(ob_pg_t *pg, lago_api_t *lago, const json_t *group, long long theirs, char *error, size_t cap)
{
    const char *sub = json_string_value(json_object_get(group, "subscription_id"));
    long long from = json_integer_value(json_object_get(group, "from")), to = json_integer_value(json_object_get(group, "to"));
    json_t *known = s_lago_ids(lago, sub, from, to, error, cap);
    json_t *ours = known ? s_ledger_ids(pg, sub, from, to) : NULL;
    if (known && !ours)
        snprintf(error, cap, "the ledger of %s cannot be read", sub);
    json_t *missing = ours ? json_array() : NULL;
    size_t i;
    const json_t *id;
    json_array_foreach(ours, i, id) if (!json_object_get(known, json_string_value(id))) json_array_append(missing, (json_t *)id);
    json_decref(known);
    json_decref(ours);
    if (!missing || json_array_size(missing) == 0) {
        json_decref(missing);
        return NULL;
    }
    char local[64], remote[40];
    snprintf(local, sizeof local, "%lld events in %s", (long long)json_integer_value(json_object_get(group, "count")),
             json_string_value(json_object_get(group, "period")));
    snprintf(remote, sizeof remote, "%lld events", theirs);
    return json_pack("{s:s,s:s,s:O,s:O,s:s,s:s,s:I,s:o,s:b}", "kind", "usage_not_forwarded", "subscription_id", sub, "user_id",
                     json_object_get(group, "user_id"), "period", json_object_get(group, "period"), "local", local, "remote",
                     remote, "missing", (json_int_t)json_array_size(missing), "transaction_ids", missing, "fixable", 1);
}

json_t *
reconcile_usage(ob_pg_t *pg, lago_api_t *lago, long long since, char *error, size_t cap)
{
    json_t *groups = s_groups(pg, since);
    if (!groups) {
        snprintf(error, cap, "the usage ledger cannot be read");
        return NULL;
    }
    json_t *drift = json_array();
    error[0] = '\0';
    size_t i;
    const json_t *group;
    json_array_foreach(groups, i, group)
    {
        const char *sub = json_string_value(json_object_get(group, "subscription_id"));
        long long from = json_integer_value(json_object_get(group, "from")), to = json_integer_value(json_object_get(group, "to"));
        long long theirs = s_lago_count(lago, sub, from, to, error, cap);
        if (theirs >= 0 && theirs < json_integer_value(json_object_get(group, "count"))) {
            json_t *row = s_group_drift(pg, lago, group, theirs, error, cap);
            if (row)
                json_array_append_new(drift, row);
        }
        if (error[0]) {
            json_decref(drift);
            drift = NULL;
            break;
        }
    }
    json_decref(groups);
    return drift;
}

int
reconcile_usage_reforward(ob_pg_t *pg, const json_t *drift, json_t *ids)
{
    json_t *all = json_array();
    size_t i;
    const json_t *d;
    json_array_foreach(drift, i, d)
    {
        const char *kind = json_string_value(json_object_get(d, "kind"));
        if (kind && strcmp(kind, "usage_not_forwarded") == 0)
            json_array_extend(all, json_object_get(d, "transaction_ids"));
    }
    if (json_array_size(all) == 0) {
        json_decref(all);
        return 0;
    }
    char *text = ob_json_dump(all, NULL);
    const char *values[] = {text};
    PGresult *r =
        text ? ob_pg_exec_sql(pg, "SELECT usage_reforward(ARRAY(SELECT json_array_elements_text($1::json)))", 1, values, NULL, NULL)
             : NULL;
    int n = text && ob_pg_classify(pg, r) == OB_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    free(text);
    if (n >= 0)
        json_array_extend(ids, all);
    json_decref(all);
    return n;
}

void
reconcile_usage_wait(ob_pg_t *pg, const json_t *ids, int wait_s)
{
    reconcile_wait_none(pg,
                        "SELECT count(*) FROM usage_events WHERE forwarded_at IS NULL"
                        " AND transaction_id IN (SELECT json_array_elements_text($1::json))",
                        ids, wait_s);
}
