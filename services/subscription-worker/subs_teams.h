/*  subs_teams - teams (organisations) and their members (user JWTs):
 *
 *    teams.create          POST   /api/v1/teams  {"name"?}   the caller becomes the owner; 201 with
 *                                 the new id (org_ + 32 random hex). 409 already_owns_team (one team
 *                                 per owner, its id in the error), 409 member_of_another_team.
 *    teams.get             GET    /api/v1/teams/{team_id}     owner or member: name, owner, role,
 *                                 plan, status, seats, seats_used (404 for anyone else)
 *  The owner buys the team's plan with the billing API's "team_id" (the
 *  team is then the Stripe customer), and manages its members:
 *
 *    teams.members.add     POST   /api/v1/teams/{team_id}/members  {"user_id"} or {"email"}
 *    teams.members.list    GET    /api/v1/teams/{team_id}/members
 *    teams.members.remove  DELETE /api/v1/teams/{team_id}/members  {"user_id"} or {"email"}
 *                                 (or ?user_id= / ?email=)
 *
 *  Errors: 404 team_not_found, 403 not_the_owner, 409 no_seats_left (the
 *  team's live plan has that many members already; the owner takes no seat),
 *  409 already_a_member, 409 member_of_another_team, 404 unknown_user (an
 *  e-mail no customer has), 404 not_a_member. An add locks the team row, so
 *  concurrent adds never pass the seat count. The member's entitlements
 *  change in the same transaction (trigger: entitlement_versions) and are
 *  published right after the commit: a removed member loses the team's
 *  features at once, and whatever crashed within the owner's next tick.
 *  Teams themselves are rows of the owner (migration 052); a team's
 *  subscription is a subscription whose user_id is the team id.
 */
#ifndef SUBS_TEAMS_H_INCLUDED
#define SUBS_TEAMS_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

void subs_teams_prepare(ob_pg_t *pg);

void subs_teams_create(void *state, ob_job_t *job);
void subs_teams_get(void *state, ob_job_t *job);
void subs_teams_members_add(void *state, ob_job_t *job);
void subs_teams_members_list(void *state, ob_job_t *job);
void subs_teams_members_remove(void *state, ob_job_t *job);

#endif
