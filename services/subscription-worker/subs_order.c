/*  subs_order - which Stripe event's state wins. */
#include "services/subscription-worker/subs_order.h"

#include <string.h>

static const char *const s_precedence[] = {"incomplete", "trialing",           "active",   "past_due", "unpaid",
                                           "paused",     "incomplete_expired", "canceled", NULL};

int
subs_order_rank(const char *status)
{
    for (int i = 0; status && s_precedence[i]; i++)
        if (strcmp(status, s_precedence[i]) == 0)
            return i;
    return -1;
}

bool
subs_order_is_terminal(const char *status)
{
    return status && (strcmp(status, "canceled") == 0 || strcmp(status, "incomplete_expired") == 0);
}

bool
subs_order_supersedes(int64_t created, const char *status, const char *event_id, int64_t stored_created, const char *stored_status,
                      const char *stored_event_id)
{
    if (subs_order_is_terminal(stored_status))
        return false;
    if (created != stored_created)
        return created > stored_created;
    int rank = subs_order_rank(status), stored_rank = subs_order_rank(stored_status);
    if (rank != stored_rank)
        return rank > stored_rank;
    if (!stored_event_id || !*stored_event_id)
        return true;
    if (!event_id)
        return false;
    /* A change made through our billing API ("api:<ms>:...") happened after any Stripe event
     * of its second that it could race with: it wins the tie; two of ours go by their time. */
    bool api = strncmp(event_id, "api:", 4) == 0, stored_api = strncmp(stored_event_id, "api:", 4) == 0;
    if (api != stored_api)
        return api;
    return strcmp(event_id, stored_event_id) > 0;
}
