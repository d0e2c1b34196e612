/*  billing-admin keygen [--write-env FILE] - the broker's CURVE keys.
 *
 *  Makes two keypairs with libzmq (zmq_curve_keypair): the gateway's
 *  (server) and the workers' (client), and hands them over as the four
 *  settings that use them: the gateway's BROKER_SERVER_SECRET_KEY and
 *  BROKER_CLIENT_PUBLIC_KEYS, the workers' BROKER_SERVER_PUBLIC_KEY and
 *  BROKER_CLIENT_SECRET_KEY. Printed as NAME='value' lines, or written into
 *  FILE (created or updated in mode 600, its other lines kept), in which
 *  case no secret is printed. The single quotes matter: Z85 has '$' and '#',
 *  which compose's .env and a shell would otherwise interpolate or cut
 *  (Z85 has no quote, so the quoted text is the key; ob_config drops them). Running it again makes new keys: rotate by
 *  restarting the gateways and the workers with the new file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "services/billing-admin/admin_commands.h"
#include "services/billing-admin/admin_setup.h"

static const char s_usage[] = "usage: billing-admin keygen [--write-env FILE]\n"
                              "makes the broker's CURVE keys: the gateway's keypair and the workers' keypair,\n"
                              "printed as the four settings, or written into FILE (mode 600, other lines kept)\n";

int
admin_cmd_keygen(int argc, char **argv)
{
    static const struct option options[] = {
        {"write-env", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *write_env = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "w:h", options, NULL)) != -1) {
        if (opt == 'w') {
            write_env = optarg;
        } else if (opt == 'h') {
            fputs(s_usage, stdout);
            return 0;
        } else {
            fputs(s_usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fputs(s_usage, stderr);
        return 2;
    }
    char server_public[41], server_secret[41], client_public[41], client_secret[41];
    if (!zmq_has("curve") || zmq_curve_keypair(server_public, server_secret) != 0 ||
        zmq_curve_keypair(client_public, client_secret) != 0) {
        fprintf(stderr, "keygen: this libzmq cannot make CURVE keys\n");
        return 1;
    }
    const char *names[] = {"BROKER_SERVER_SECRET_KEY", "BROKER_CLIENT_PUBLIC_KEYS", "BROKER_SERVER_PUBLIC_KEY",
                           "BROKER_CLIENT_SECRET_KEY"};
    char quoted[4][44]; /* 'key': 40 characters, two quotes, a NUL */
    const char *keys[] = {server_secret, client_public, server_public, client_secret};
    const char *values[4];
    for (int i = 0; i < 4; i++) {
        snprintf(quoted[i], sizeof quoted[i], "'%s'", keys[i]);
        values[i] = quoted[i];
    }
    int rc = 0;
    if (write_env) {
        rc = admin_env_file_set_all(write_env, names, values, 4) == 0 ? 0 : 1;
        if (rc == 0)
            printf("keygen: %s, %s (gateway) and %s, %s (workers) written to %s (mode 600)\n", names[0], names[1], names[2],
                   names[3], write_env);
    } else {
        printf("# the gateway\n%s=%s\n%s=%s\n# every worker\n%s=%s\n%s=%s\n", names[0], values[0], names[1], values[1], names[2],
               values[2], names[3], values[3]);
    }
    memset(quoted, 0, sizeof quoted);
    memset(server_secret, 0, sizeof server_secret);
    memset(client_secret, 0, sizeof client_secret);
    return rc;
}
