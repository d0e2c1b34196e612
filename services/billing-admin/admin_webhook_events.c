/*  admin_webhook_events - `billing-admin webhook-events list [--status S] [--limit N]`
 *  and `billing-admin webhook-events replay <event id>`: the Stripe webhook
 *  inbox for operators, straight from Postgres (same statements as the
 *  stripe-worker's admin methods, clients/stripe_admin.h). A replayed event is
 *  picked up by the next stripe-worker poll.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_config.h"
#include "common/ob_pg.h"
#include "services/billing-admin/admin_commands.h"
#include "clients/stripe_admin.h"

static int
s_usage(void)
{
    fprintf(stderr, "usage: billing-admin webhook-events list [--status pending|processed|ignored|failed] [--limit N]\n"
                    "       billing-admin webhook-events replay <event id>\n");
    return 2;
}

static const char *
s_text(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s ? s : "-";
}

static int
s_list(ob_pg_t *pg, int argc, char **argv)
{
    static const struct option options[] = {
        {"status", required_argument, NULL, 's'}, {"limit", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
    const char *status = NULL;
    long limit = STRIPE_ADMIN_DEFAULT_LIMIT;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "s:l:", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 's':
            status = strcmp(optarg, "all") == 0 ? NULL : optarg;
            if (status && !stripe_admin_status_valid(status)) {
                fprintf(stderr, "billing-admin: --status must be pending, processed, ignored, failed or all\n");
                return 2;
            }
            break;
        case 'l':
            limit = strtol(optarg, &end, 10);
            if (*end || limit < 1 || limit > STRIPE_ADMIN_MAX_LIMIT) {
                fprintf(stderr, "billing-admin: --limit must be 1..%d\n", STRIPE_ADMIN_MAX_LIMIT);
                return 2;
            }
            break;
        default:
            return s_usage();
        }
    }
    char *json = NULL;
    ob_err_t err = stripe_admin_list(pg, status, (int)limit, &json);
    if (err != OB_OK) {
        fprintf(stderr, "billing-admin: cannot read the webhook events (%s)\n", ob_err_name(err));
        return 1;
    }
    json_t *root = json_loads(json, 0, NULL);
    free(json);
    size_t i;
    json_t *e;
    printf("%-32s %-40s %-9s %8s %-32s %s\n", "ID", "TYPE", "STATUS", "ATTEMPTS", "RECEIVED", "LAST ERROR");
    json_array_foreach(json_object_get(root, "events"), i, e)
    {
        printf("%-32s %-40s %-9s %8lld %-32s %s\n", s_text(e, "id"), s_text(e, "type"), s_text(e, "status"),
               (long long)json_integer_value(json_object_get(e, "attempts")), s_text(e, "received_at"), s_text(e, "last_error"));
    }
    json_decref(root);
    return 0;
}

static int
s_replay(ob_pg_t *pg, const char *id)
{
    char *json = NULL;
    ob_err_t err = stripe_admin_replay(pg, id, &json);
    if (err == OB_ERR_NOT_FOUND) {
        fprintf(stderr, "billing-admin: no webhook event %s\n", id);
        return 1;
    }
    if (err != OB_OK) {
        fprintf(stderr, "billing-admin: cannot replay %s (%s)\n", id, ob_err_name(err));
        return 1;
    }
    free(json);
    printf("%s: pending (a stripe-worker will process it again)\n", id);
    return 0;
}

int
admin_cmd_webhook_events(int argc, char **argv)
{
    if (argc < 2)
        return s_usage();
    const char *database_url = ob_config_get("DATABASE_URL");
    if (!database_url) {
        fprintf(stderr, "billing-admin: DATABASE_URL is not set\n");
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "list") != 0 && !(strcmp(sub, "replay") == 0 && argc == 3))
        return s_usage();
    ob_pg_t *pg = ob_pg_new(database_url, "billing-admin");
    if (!pg || ob_pg_ensure(pg) != 0) {
        fprintf(stderr, "billing-admin: cannot connect to Postgres\n");
        ob_pg_destroy(&pg);
        return 1;
    }
    stripe_admin_prepare(pg);
    int rc = strcmp(sub, "list") == 0 ? s_list(pg, argc - 1, argv + 1) : s_replay(pg, argv[2]);
    ob_pg_destroy(&pg);
    return rc;
}
