/*  billing-admin setup - Stripe then Lago, the whole configuration in one
 *  command (admin_setup.h), and the helpers the setup commands share.
 */
#include "services/billing-admin/admin_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "services/billing-admin/admin_commands.h"

static bool
s_sets_one_of(const char *line, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(line, names[i], len) == 0 && line[len] == '=')
            return true;
    }
    return false;
}

int
admin_env_file_set(const char *path, const char *name, const char *value)
{
    return admin_env_file_set_all(path, &name, &value, 1);
}

int
admin_env_file_set_all(const char *path, const char *const *names, const char *const *values, size_t count)
{
    char *old = NULL, *tmp = NULL;
    size_t old_len = 0;
    FILE *in = fopen(path, "r");
    if (in) {
        FILE *mem = open_memstream(&old, &old_len);
        char line[4096];
        while (mem && fgets(line, sizeof line, in))
            if (!s_sets_one_of(line, names, count))
                fputs(line, mem);
        if (mem)
            fclose(mem);
        fclose(in);
    } else if (errno != ENOENT) {
        fprintf(stderr, "setup: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        free(old);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    int rc = -1;
    if (out && fchmod(fd, 0600) == 0) {
        if (old_len)
            fputs(old, out);
        if (old_len && old[old_len - 1] != '\n')
            fputc('\n', out);
        for (size_t i = 0; i < count; i++)
            fprintf(out, "%s=%s\n", names[i], values[i]);
        rc = fflush(out) == 0 && fsync(fd) == 0 ? 0 : -1;
    }
    if (out)
        rc = fclose(out) == 0 ? rc : -1;
    else if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "setup: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    free(old);
    return rc;
}

int
admin_setup_secret(const admin_setup_opts_t *opts, const char *name, const char *value)
{
    if (opts->write_env) {
        if (admin_env_file_set(opts->write_env, name, value) != 0)
            return -1;
        printf("secret   %-16s written to %s (mode 600)\n", name, opts->write_env);
        return 0;
    }
    printf("secret   %-16s shown once, put it in the settings:\n%s=%s\n", name, name, value);
    return 0;
}

int
admin_setup_parse(int argc, char **argv, admin_setup_opts_t *opts, const char *usage)
{
    static const struct option options[] = {
        {"plans", required_argument, NULL, 'p'},
        {"dry-run", no_argument, NULL, 'n'},
        {"write-env", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opts->plans_file = ob_config_str("PLANS_FILE", "deploy/plans.json");
    opts->dry_run = false;
    opts->write_env = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:nw:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p':
            opts->plans_file = optarg;
            break;
        case 'n':
            opts->dry_run = true;
            break;
        case 'w':
            opts->write_env = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    return -1;
}

void
admin_setup_summary(const char *name, const admin_setup_opts_t *opts, const admin_setup_tally_t *tally)
{
    printf("%s: %d new, %d changed, %d left alone, %d failed%s\n", name, tally->fresh, tally->changed, tally->kept, tally->failed,
           opts->dry_run ? " (dry run: nothing was sent)" : "");
}

int
admin_cmd_setup(int argc, char **argv)
{
    admin_setup_opts_t opts;
    int rc = admin_setup_parse(argc, argv, &opts,
                               "usage: billing-admin setup [--plans FILE] [--dry-run] [--write-env FILE]\n"
                               "configures Stripe (products, prices, webhook endpoint, customer portal) and Lago\n"
                               "(billable metric, plans, webhook endpoint, public key) from the catalogue and the\n"
                               "settings; safe to re-run; --dry-run only reads and says what it would do; new\n"
                               "secrets go to --write-env FILE (mode 600) or are printed once\n");
    if (rc >= 0)
        return rc;
    admin_setup_tally_t tally = {0};
    int stripe_rc = admin_setup_stripe_run(&opts, &tally);
    int lago_rc = admin_setup_lago_run(&opts, &tally);
    admin_setup_summary("setup", &opts, &tally);
    return stripe_rc || lago_rc ? 1 : 0;
}
