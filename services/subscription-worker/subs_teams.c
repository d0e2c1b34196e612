/*  subs_teams - team members and seats. */
#include "services/subscription-worker/subs_teams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_query.h"
#include "services/subscription-worker/subs_publish.h"
#include "services/subscription-worker/subs_state.h"

#define S_ID_MAX 255

void
subs_teams_prepare(ob_pg_t *pg)
{
    subs_publish_prepare(pg);
    /* The team row, locked: adds and removes of one team take turns. Seats
     * come from the team's live plan (none: no seats). */
    ob_pg_prepare(
        pg, "teams_lock",
        "SELECT t.owner_user_id, coalesce((SELECT e.seats FROM user_entitlements e WHERE e.user_id = t.id AND e.live), 0),"
        " (SELECT count(*) FROM team_members m WHERE m.team_id = t.id)"
        " FROM teams t WHERE t.id = $1 FOR UPDATE",
        1);
    ob_pg_prepare(pg, "teams_user_by_email",
                  "SELECT user_id FROM customers WHERE lower(email) = lower($1) ORDER BY user_id LIMIT 1", 1);
    ob_pg_prepare(pg, "teams_membership", "SELECT team_id FROM team_members WHERE user_id = $1", 1);
    ob_pg_prepare(pg, "teams_member_add", "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)", 2);
    ob_pg_prepare(pg, "teams_member_remove", "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2", 2);
    ob_pg_prepare(pg, "teams_member_list",
                  "SELECT coalesce(json_agg(json_build_object('user_id', m.user_id, 'email', c.email, 'added_at', m.added_at)"
                  " ORDER BY m.added_at, m.user_id), '[]')::text"
                  " FROM team_members m LEFT JOIN customers c ON c.user_id = m.user_id WHERE m.team_id = $1",
                  1);
    /* One team per owner, and an owner is nobody's member: the owner's lock
     * makes the check and the insert one step. The id is random: teams are
     * Lago customers (org_...), never guessable from the owner. */
    ob_pg_prepare(pg, "teams_owner_lock", "SELECT pg_advisory_xact_lock(hashtext('ob:teams:' || $1))", 1);
    ob_pg_prepare(pg, "teams_of_user",
                  "SELECT (SELECT id FROM teams WHERE owner_user_id = $1 ORDER BY created_at LIMIT 1),"
                  " (SELECT team_id FROM team_members WHERE user_id = $1)",
                  1);
    ob_pg_prepare(pg, "teams_create",
                  "INSERT INTO teams (id, owner_user_id, name) VALUES ('org_' || replace(gen_random_uuid()::text, '-', ''), $1, $2)"
                  " RETURNING id, floor(extract(epoch FROM created_at))::bigint",
                  2);
    /* The team as its owner or a member sees it. */
    ob_pg_prepare(pg, "teams_get",
                  "SELECT t.owner_user_id, t.name, floor(extract(epoch FROM t.created_at))::bigint,"
                  " coalesce(e.plan_id, ''), coalesce(e.status, ''), coalesce(e.live, false), coalesce(e.seats, 0),"
                  " (SELECT count(*) FROM team_members m WHERE m.team_id = t.id),"
                  " EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.user_id = $2)"
                  " FROM teams t LEFT JOIN LATERAL (SELECT x.plan_id, x.status, x.live, x.seats FROM user_entitlements x"
                  "  WHERE x.user_id = t.id ORDER BY x.live DESC LIMIT 1) e ON true WHERE t.id = $1",
                  2);
}

static bool
s_copy_id(ob_bytes_t who, char *out)
{
    if (!who.ptr || who.len == 0 || who.len > S_ID_MAX || memchr(who.ptr, '\0', who.len))
        return false;
    memcpy(out, who.ptr, who.len);
    out[who.len] = '\0';
    return true;
}

/*  The caller (a user) and the team id. false: answered. */
static bool
s_caller(ob_job_t *job, ob_call_t *call, char *caller, char *team)
{
    if (!ob_bytes_eq(call->role, "user") || !s_copy_id(call->principal, caller)) {
        ob_job_reply_error(job, 401, "not_a_user", "this endpoint needs a signed-in user");
        return false;
    }
    if (!s_copy_id(call->path_param, team)) {
        ob_job_reply_error(job, 400, "invalid_team_id", "no valid team id in the path");
        return false;
    }
    return true;
}

typedef enum { S_LOCKED, S_ANSWERED } s_lock_t;

/*  Begins, locks the team and checks the caller owns it. */
static s_lock_t
s_lock_team(subs_state_t *self, ob_job_t *job, const char *team, const char *caller, long *seats, long *members)
{
    const char *values[] = {team};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_begin(self->pg);
    if (err == OB_OK)
        err = ob_pg_run(self->pg, "teams_lock", 1, values, &r);
    if (err != OB_OK) {
        PQclear(r);
        if (ob_pg_in_transaction(self->pg))
            ob_pg_rollback(self->pg);
        ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be changed now; retry");
        return S_ANSWERED;
    }
    if (PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 0), caller) != 0) {
        bool found = PQntuples(r) == 1;
        PQclear(r);
        ob_pg_rollback(self->pg);
        if (found)
            ob_job_reply_error(job, 403, "not_the_owner", "only the team's owner manages its members");
        else
            ob_job_reply_error(job, 404, "team_not_found", "no such team");
        return S_ANSWERED;
    }
    *seats = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    *members = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    return S_LOCKED;
}

/*  The member named by the body or the query: user_id, or a customer's e-mail.
 *  Inside the transaction. false: answered (and rolled back). */
static bool
s_member(subs_state_t *self, ob_job_t *job, const ob_call_t *call, const json_t *body, char *member)
{
    char from_query[S_ID_MAX + 1] = "", email_query[S_ID_MAX + 1] = "";
    const char *user = ob_json_str(body, "user_id"), *email = ob_json_str(body, "email");
    if (!user && !email && call->query.len) {
        if (ob_query_get(call->query, "user_id", from_query, sizeof from_query) == 0 && from_query[0])
            user = from_query;
        else if (ob_query_get(call->query, "email", email_query, sizeof email_query) == 0 && email_query[0])
            email = email_query;
    }
    if ((user && (!*user || strlen(user) > S_ID_MAX)) || (!user && (!email || !*email || strlen(email) > S_ID_MAX))) {
        ob_pg_rollback(self->pg);
        ob_job_reply_error(job, 400, "invalid_member", "give the member's user_id or email");
        return false;
    }
    if (user) {
        snprintf(member, S_ID_MAX + 1, "%s", user);
        return true;
    }
    const char *values[] = {email};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "teams_user_by_email", 1, values, &r);
    bool found = err == OB_OK && PQntuples(r) == 1;
    if (found)
        snprintf(member, S_ID_MAX + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!found) {
        ob_pg_rollback(self->pg);
        if (err != OB_OK)
            ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be changed now; retry");
        else
            ob_job_reply_error(job, 404, "unknown_user", "no customer has this e-mail");
    }
    return found;
}

static void
s_commit_and_answer(subs_state_t *self, ob_job_t *job, const char *team, const char *member, int status, bool added)
{
    ob_err_t err = ob_pg_commit(self->pg);
    if (err != OB_OK) {
        ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be changed now; retry");
        return;
    }
    subs_publish_user(self->pg, self->redis, member);
    ob_log_info("team %s: a member %s", team, added ? "added" : "removed");
    ob_job_reply_json(job, status, json_pack("{s:s,s:s,s:b}", "team_id", team, "user_id", member, "member", added));
}

void
subs_teams_members_add(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char caller[S_ID_MAX + 1], team[S_ID_MAX + 1], member[S_ID_MAX + 1];
    if (ob_job_call(job, &call) != 0 || !s_caller(job, &call, caller, team))
        return;
    json_t *body = ob_job_body_object(job, &call);
    if (!body)
        return;
    long seats = 0, members = 0;
    if (s_lock_team(self, job, team, caller, &seats, &members) != S_LOCKED || !s_member(self, job, &call, body, member))
        goto done;
    const char *values[] = {member};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "teams_membership", 1, values, &r);
    char current[S_ID_MAX + 1] = "";
    if (err == OB_OK && PQntuples(r) == 1)
        snprintf(current, sizeof current, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (err != OB_OK || current[0] || strcmp(member, caller) == 0 || members >= seats) {
        ob_pg_rollback(self->pg);
        if (err != OB_OK)
            ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be changed now; retry");
        else if (strcmp(current, team) == 0 || strcmp(member, caller) == 0)
            ob_job_reply_error(job, 409, "already_a_member", "this user is a member of the team already");
        else if (current[0])
            ob_job_reply_error(job, 409, "member_of_another_team", "this user belongs to another team");
        else
            ob_job_reply_error(job, 409, "no_seats_left", "every seat of the team's plan is taken");
        goto done;
    }
    const char *add[] = {team, member};
    err = ob_pg_run(self->pg, "teams_member_add", 2, add, NULL);
    if (err != OB_OK) {
        ob_pg_rollback(self->pg);
        ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be changed now; retry");
        goto done;
    }
    s_commit_and_answer(self, job, team, member, 201, true);
done:
    json_decref(body);
}

void
subs_teams_members_remove(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char caller[S_ID_MAX + 1], team[S_ID_MAX + 1], member[S_ID_MAX + 1];
    if (ob_job_call(job, &call) != 0 || !s_caller(job, &call, caller, team))
        return;
    json_t *body = ob_job_body_object(job, &call);
    if (!body)
        return;
    long seats = 0, members = 0;
    if (s_lock_team(self, job, team, caller, &seats, &members) != S_LOCKED || !s_member(self, job, &call, body, member))
        goto done;
    const char *values[] = {team, member};
    PGresult *r = ob_pg_exec(self->pg, "teams_member_remove", 2, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(self->pg, r);
    bool removed = err == OB_OK && strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    if (err != OB_OK || !removed) {
        ob_pg_rollback(self->pg);
        if (err != OB_OK)
            ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be changed now; retry");
        else
            ob_job_reply_error(job, 404, "not_a_member", "this user is not a member of the team");
        goto done;
    }
    s_commit_and_answer(self, job, team, member, 200, false);
done:
    json_decref(body);
}

void
subs_teams_members_list(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char caller[S_ID_MAX + 1], team[S_ID_MAX + 1];
    if (ob_job_call(job, &call) != 0 || !s_caller(job, &call, caller, team))
        return;
    long seats = 0, members = 0;
    if (s_lock_team(self, job, team, caller, &seats, &members) != S_LOCKED)
        return;
    const char *values[] = {team};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "teams_member_list", 1, values, &r);
    json_t *list = err == OB_OK && PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    ob_pg_rollback(self->pg);
    if (!list) {
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, "teams_unavailable", "the team cannot be read now");
        return;
    }
    ob_job_reply_json(job, 200,
                      json_pack("{s:s,s:I,s:I,s:o}", "team_id", team, "seats", (json_int_t)seats, "seats_used", (json_int_t)members,
                                "members", list));
}

void
subs_teams_create(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char caller[S_ID_MAX + 1];
    if (ob_job_call(job, &call) != 0)
        return;
    if (!ob_bytes_eq(call.role, "user") || !s_copy_id(call.principal, caller)) {
        ob_job_reply_error(job, 401, "not_a_user", "this endpoint needs a signed-in user");
        return;
    }
    json_t *body = ob_job_body_object(job, &call);
    if (!body)
        return;
    const json_t *name_value = json_object_get(body, "name");
    const char *name = name_value ? json_string_value(name_value) : "";
    if (!name || strlen(name) > 100) {
        ob_job_reply_error(job, 400, "invalid_name", "name must be a string of at most 100 characters");
        json_decref(body);
        return;
    }
    const char *who[] = {caller};
    PGresult *r = NULL;
    char owned[S_ID_MAX + 1] = "", member_of[S_ID_MAX + 1] = "", id[S_ID_MAX + 1] = "";
    int64_t created = 0;
    ob_err_t err = ob_pg_begin(self->pg);
    if (err == OB_OK)
        err = ob_pg_run(self->pg, "teams_owner_lock", 1, who, NULL);
    if (err == OB_OK)
        err = ob_pg_run(self->pg, "teams_of_user", 1, who, &r);
    if (err == OB_OK && PQntuples(r) == 1) {
        snprintf(owned, sizeof owned, "%s", PQgetvalue(r, 0, 0));
        snprintf(member_of, sizeof member_of, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    r = NULL;
    if (err == OB_OK && !owned[0] && !member_of[0]) {
        const char *values[] = {caller, name};
        err = ob_pg_run(self->pg, "teams_create", 2, values, &r);
        if (err == OB_OK && PQntuples(r) == 1) {
            snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
            created = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        }
        PQclear(r);
        if (err == OB_OK)
            err = id[0] ? ob_pg_commit(self->pg) : OB_ERR_INTERNAL;
    }
    if (ob_pg_in_transaction(self->pg))
        ob_pg_rollback(self->pg);
    if (err != OB_OK)
        ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be created now; retry");
    else if (owned[0])
        ob_job_reply_json(job, 409,
                          json_pack("{s:{s:s,s:s,s:s}}", "error", "code", "already_owns_team", "message",
                                    "you own a team already; one team per owner", "team_id", owned));
    else if (member_of[0])
        ob_job_reply_error(job, 409, "member_of_another_team", "you belong to another team; leave it first");
    else {
        ob_log_info("team %s created", id);
        ob_job_reply_json(job, 201,
                          json_pack("{s:s,s:s,s:s,s:o,s:o,s:I,s:I}", "team_id", id, "name", name, "owner_user_id", caller,
                                    "created_at", ob_json_time(created), "plan_id", json_null(), "seats", (json_int_t)0,
                                    "seats_used", (json_int_t)0));
    }
    json_decref(body);
}

void
subs_teams_get(void *state, ob_job_t *job)
{
    subs_state_t *self = state;
    ob_call_t call;
    char caller[S_ID_MAX + 1], team[S_ID_MAX + 1];
    if (ob_job_call(job, &call) != 0 || !s_caller(job, &call, caller, team))
        return;
    const char *values[] = {team, caller};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "teams_get", 2, values, &r);
    if (err != OB_OK) {
        PQclear(r);
        ob_job_reply_err(job, err, "teams_unavailable", "the team cannot be read now");
        return;
    }
    bool owner = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), caller) == 0;
    bool member = PQntuples(r) == 1 && PQgetvalue(r, 0, 8)[0] == 't';
    if (!owner && !member) {
        /* A team one does not belong to is as good as absent: ids stay private. */
        PQclear(r);
        ob_job_reply_error(job, 404, "team_not_found", "no such team");
        return;
    }
    const char *plan = PQgetvalue(r, 0, 3), *status = PQgetvalue(r, 0, 4);
    json_t *answer = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:b,s:I,s:I}", "team_id", team, "name", PQgetvalue(r, 0, 1),
                               "owner_user_id", PQgetvalue(r, 0, 0), "created_at",
                               ob_json_time(strtoll(PQgetvalue(r, 0, 2), NULL, 10)), "role", owner ? "owner" : "member", "plan_id",
                               plan[0] ? json_string(plan) : json_null(), "status", status[0] ? json_string(status) : json_null(),
                               "live", PQgetvalue(r, 0, 5)[0] == 't', "seats", (json_int_t)strtoll(PQgetvalue(r, 0, 6), NULL, 10),
                               "seats_used", (json_int_t)strtoll(PQgetvalue(r, 0, 7), NULL, 10));
    PQclear(r);
    ob_job_reply_json(job, 200, answer);
}
