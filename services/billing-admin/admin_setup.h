/*  admin_setup - what `billing-admin setup`, `setup-stripe` and `setup-lago`
 *  share: the options, the one-line report of each item, and the env file
 *  the new secrets go to.
 *
 *  Every item setup handles is reported as one line
 *      <kind> <name> <outcome> [detail]
 *  where outcome is "created" (or "registered"/"configured" for the Stripe
 *  webhook endpoint and portal), "updated"/"replaced" (changed), "exists"/
 *  "unchanged" (left alone), "would ..." under --dry-run, or "FAILED".
 */
#ifndef ADMIN_SETUP_H_INCLUDED
#define ADMIN_SETUP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *plans_file; /* deploy/plans.json format */
    bool dry_run;           /* read only: GETs, no POST/PUT/DELETE, no Postgres writes */
    const char *write_env;  /* env file for new secrets (mode 600); NULL = print them once */
} admin_setup_opts_t;

/*  Counts of a run, for the closing summary line. */
typedef struct {
    int fresh, changed, kept, failed;
} admin_setup_tally_t;

/*  Sets NAME=value in the env file at path (replacing a NAME= line, else
 *  appending), written to a temporary file in mode 600 and renamed over it.
 *  Returns 0, or -1 with the reason on stderr. */
int admin_env_file_set(const char *path, const char *name, const char *value);

/*  The same for count settings at once: one file written, all or nothing. */
int admin_env_file_set_all(const char *path, const char *const *names, const char *const *values, size_t count);

/*  Hands a new secret to the operator: into opts->write_env, or printed once
 *  on stdout as NAME=value when there is no env file. Returns 0 or -1. */
int admin_setup_secret(const admin_setup_opts_t *opts, const char *name, const char *value);

/*  The Stripe side (admin_setup_stripe.c): products, prices, webhook
 *  endpoint, customer portal. The Lago side (admin_setup_lago.c): metric,
 *  plans, webhook endpoint, public key. Return 0 when nothing failed. */
int admin_setup_stripe_run(const admin_setup_opts_t *opts, admin_setup_tally_t *tally);
int admin_setup_lago_run(const admin_setup_opts_t *opts, admin_setup_tally_t *tally);

/*  Parses [--plans FILE] [--dry-run] [--write-env FILE] [--help] into opts.
 *  Returns -1 to go on, else the exit status (0 after --help, 2 on misuse). */
int admin_setup_parse(int argc, char **argv, admin_setup_opts_t *opts, const char *usage);

/*  "setup: 3 new, 1 changed, 9 left alone, 0 failed" (+ " (dry run)"). */
void admin_setup_summary(const char *name, const admin_setup_opts_t *opts, const admin_setup_tally_t *tally);

#endif
