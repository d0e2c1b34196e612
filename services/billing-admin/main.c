/*  billing-admin - the operator's command line: billing-admin <command> [args].
 *
 *  Each subcommand lives in its own admin_<name>.c; this file only holds the
 *  table and the dispatch. Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_config.h"
#include "common/ob_log.h"
#include "services/billing-admin/admin_commands.h"

static int s_help(int argc, char **argv);

static const admin_command_t s_commands[] = {
    {"migrate", admin_cmd_migrate, "apply $MIGRATIONS_DIR/*.sql not applied yet [--wait SECONDS]"},
    {"webhook-events", admin_cmd_webhook_events, "list [--status S] | replay <id>: the Stripe webhook inbox"},
    {"setup", admin_cmd_setup, "setup-stripe then setup-lago [--plans FILE] [--dry-run] [--write-env FILE]"},
    {"setup-stripe", admin_cmd_setup_stripe, "Stripe products, prices, webhook endpoint, customer portal (idempotent)"},
    {"setup-lago", admin_cmd_setup_lago, "Lago billable metric, plans, webhook endpoint, public key (idempotent)"},
    {"verify", admin_cmd_verify, "check settings and the live Stripe and Lago configuration against the catalogue"},
    {"reconcile", admin_cmd_reconcile, "compare subscriptions here, in Stripe and in Lago [--fix] [--json] [--wait SECONDS]"},
    {"keygen", admin_cmd_keygen, "the broker's CURVE keys as the four settings [--write-env FILE]"},
    {"help", s_help, "show this list"},
};

#define S_NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: billing-admin <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < S_NCOMMANDS; i++)
        fprintf(out, "  %-16s %s\n", s_commands[i].name, s_commands[i].help);
    fprintf(out, "\nSettings come from the environment, then $ENV_FILE or ./.env.\n");
}

static int
s_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    s_usage(stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    /* A command-line tool: only warnings and errors as log lines, unless asked. */
    setenv("LOG_LEVEL", "warn", 0);
    ob_log_init("billing-admin");
    if (ob_config_load() != 0)
        fprintf(stderr, "billing-admin: cannot read the env file; using the environment only\n");
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return s_help(argc - 1, argv + 1);
    for (size_t i = 0; i < S_NCOMMANDS; i++)
        if (strcmp(s_commands[i].name, name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "billing-admin: unknown command '%s'\n\n", name);
    s_usage(stderr);
    return 2;
}
