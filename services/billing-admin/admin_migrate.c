/*  billing-admin migrate - applies the SQL migrations. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "common/ob_migrate.h"
#include "common/ob_pg.h"
#include "services/billing-admin/admin_commands.h"

static const ob_config_spec_t s_specs[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true},
    {"MIGRATIONS_DIR", OB_CONFIG_STRING, false},
};

static int
s_usage(FILE *out)
{
    fprintf(out, "usage: billing-admin migrate [--wait SECONDS]\n"
                 "applies $MIGRATIONS_DIR/*.sql (default deploy/migrations) to $DATABASE_URL, each once\n");
    return 2;
}

/*  Connects, retrying until wait_s seconds have passed. */
static int
s_connect(ob_pg_t *pg, long wait_s)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (ob_pg_ensure(pg) == 0)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= wait_s)
            return -1;
        int delay_ms = ob_pg_retry_in_ms(pg);
        usleep((useconds_t)(delay_ms > 0 ? delay_ms : 100) * 1000);
    }
}

int
admin_cmd_migrate(int argc, char **argv)
{
    static const struct option options[] = {
        {"wait", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long wait_s = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "w:h", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'w':
            wait_s = strtol(optarg, &end, 10);
            if (*end || end == optarg || wait_s < 0 || wait_s > 3600)
                return s_usage(stderr);
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            return s_usage(stderr);
        }
    }
    if (optind != argc)
        return s_usage(stderr);
    if (ob_config_validate(s_specs, sizeof s_specs / sizeof s_specs[0], stderr) != 0)
        return 1;

    const char *dir = ob_config_str("MIGRATIONS_DIR", "deploy/migrations");
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "billing-admin");
    if (!pg) {
        fprintf(stderr, "config: DATABASE_URL cannot be parsed as a connection string\n");
        return 1;
    }
    if (s_connect(pg, wait_s) != 0) {
        fprintf(stderr, "migrate: cannot connect to %s\n", ob_pg_describe(pg));
        ob_pg_destroy(&pg);
        return 1;
    }
    ob_migrate_result_t result;
    int rc = ob_migrate_apply(pg, dir, stdout, stderr, &result);
    if (rc == 0)
        printf("migrate: %d applied, %d already applied (%s)\n", result.applied, result.skipped, dir);
    ob_pg_destroy(&pg);
    return rc == 0 ? 0 : 1;
}
