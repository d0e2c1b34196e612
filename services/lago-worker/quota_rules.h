/*  quota_rules - the decisions of an authorize round, as data.
 *
 *  usage_authorize.c does the I/O (locks, Redis scripts, ledger rows,
 *  commit); these functions say what each request's outcome leads to. They
 *  touch no socket, no Redis and no Postgres, so table-driven unit tests
 *  cover every case (tests/unit/test_quota_rules.c).
 */
#ifndef QUOTA_RULES_H_INCLUDED
#define QUOTA_RULES_H_INCLUDED

#include <stdbool.h>

#include "services/lago-worker/quota.h"

/*  What a request does after its round's Redis answer. */
typedef enum {
    QUOTA_STEP_INSERT, /* allowed: its ledger row goes into the round's transaction, answered after the commit */
    QUOTA_STEP_REFUSE, /* refused by the quota: 429 now, nothing is written */
    QUOTA_STEP_DEFER,  /* settle outside the transaction (load entitlements, rebuild a counter), retry next round */
    QUOTA_STEP_FAIL    /* answer the error in status/code now */
} quota_step_kind_t;

typedef struct {
    quota_step_kind_t kind;
    bool degraded;       /* INSERT without a quota check (Redis down, policy open) */
    bool dup;            /* the transaction_id was answered before */
    bool answered_now;   /* REFUSE of a dup: its answer depends on the round's commit */
    bool redis_down;     /* log that Redis cannot be used */
    bool counters_dirty; /* the ledger gets usage Redis did not count: bump the epoch */
    bool reload_scripts; /* Redis lost the script */
    int status;          /* FAIL */
    const char *code;    /* FAIL */
    const char *message; /* FAIL */
} quota_step_t;

/*  The step for a request whose Redis answer is kind (allowed: the answer's,
 *  for DUP and ANSWERED), of a metric with a quota or not (metered), under
 *  AUTHORIZE_REDIS_FAILURE_POLICY (fail_open). */
quota_step_t quota_rules_step(quota_kind_t kind, bool allowed, bool metered, bool fail_open);

/*  How a request of the round is answered once the transaction has ended. */
typedef enum {
    QUOTA_FINAL_NONE,         /* nothing more to do (answered already, or nothing to answer) */
    QUOTA_FINAL_ANSWER,       /* the quota answer, fresh */
    QUOTA_FINAL_ANSWER_DUP,   /* the quota answer, marked "duplicate" */
    QUOTA_FINAL_DEGRADED,     /* allowed, degraded */
    QUOTA_FINAL_DEGRADED_DUP, /* allowed, degraded, marked "duplicate" */
    QUOTA_FINAL_UNAVAILABLE   /* 503 ledger_unavailable: the usage could not be recorded */
} quota_final_kind_t;

typedef struct {
    quota_final_kind_t kind;
    bool give_back;     /* return the quantity to the counter it was taken from */
    bool uncounted;     /* the counter's take may or may not have happened: give back only a known take */
    bool forget_answer; /* and delete the stored answer, so a retry is decided afresh */
    bool uncount_used;  /* subtract the quantity from the answer's "used" (a repeat consumes nothing) */
} quota_final_t;

/*  The round's facts about one request: committed (the transaction
 *  committed), outcome_unknown (the COMMIT failed for lack of a connection,
 *  so it may have happened), and the request's step flags: insert (its row
 *  was in the transaction), degraded, dup, answered_now; fresh: its row was
 *  inserted by this round and it is the first request with that
 *  transaction_id. */
typedef struct {
    bool committed;
    bool outcome_unknown;
    bool insert;
    bool degraded;
    bool dup;
    bool answered_now;
    bool fresh;
} quota_round_facts_t;

quota_final_t quota_rules_final(const quota_round_facts_t *facts);

#endif
