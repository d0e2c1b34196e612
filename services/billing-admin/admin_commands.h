/*  admin_commands - the subcommands of billing-admin, one .c file each.
 *
 *  Adding a command: write services/billing-admin/admin_<name>.c with
 *  `int admin_cmd_<name>(int argc, char **argv)`, declare it here, and add one
 *  line to the table in main.c. argv[0] is the subcommand's own name, so
 *  getopt_long works as usual. Return 0 on success, 1 on failure, 2 on a
 *  usage error. Print results on stdout and problems on stderr, one line each,
 *  never a secret.
 */
#ifndef ADMIN_COMMANDS_H_INCLUDED
#define ADMIN_COMMANDS_H_INCLUDED

typedef int(admin_command_fn)(int argc, char **argv);

typedef struct {
    const char *name; /* what the operator types: billing-admin <name> */
    admin_command_fn *run;
    const char *help; /* one line for `billing-admin help` */
} admin_command_t;

/*  migrate [--wait SECONDS]: applies every .sql file of $MIGRATIONS_DIR (default
 *  deploy/migrations) not applied yet to $DATABASE_URL; --wait keeps trying
 *  to connect for that long first (for containers starting together). */
int admin_cmd_migrate(int argc, char **argv);

/*  webhook-events list [--status S] [--limit N] | replay <event id>: the Stripe
 *  webhook inbox (admin_webhook_events.c). */
int admin_cmd_webhook_events(int argc, char **argv);
int admin_cmd_setup(int argc, char **argv);        /* setup: setup-stripe then setup-lago (admin_setup.c) */
int admin_cmd_setup_lago(int argc, char **argv);   /* setup-lago: metrics and plans into Lago */
int admin_cmd_setup_stripe(int argc, char **argv); /* setup-stripe: products and prices into Stripe, ids into stripe_prices */
int admin_cmd_verify(int argc, char **argv);       /* verify: one ok/FAIL line per check; exit 1 if any failed */
/*  reconcile [--fix] [--json] [--wait S]: local vs Stripe vs Lago subscriptions (admin_reconcile.c). */
int admin_cmd_reconcile(int argc, char **argv);
/*  keygen [--write-env FILE]: the broker's CURVE keypairs as settings (admin_keygen.c). */
int admin_cmd_keygen(int argc, char **argv);

#endif
