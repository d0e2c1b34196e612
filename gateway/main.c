/*  gateway - the only HTTP edge, and the broker the workers connect to.
 *
 *  The main thread validates the settings, starts the broker thread, the
 *  loop threads and (when a JWKS URL is set) the key refresher, then waits
 *  for SIGTERM/SIGINT with sigwait: signals are blocked everywhere else, so
 *  no loop thread is ever interrupted. On SIGTERM the loop threads stop
 *  accepting and finish in-flight requests, then everything is joined and
 *  the process exits 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/ob_config.h"
#include "common/ob_endpoint.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "gateway/ob_broker.h"
#include "gateway/ob_jwt_auth.h"
#include "gateway/ob_lago_sig.h"
#include "gateway/ob_server.h"
#include "gateway/ob_zap.h"
#include "proto/ob_proto.h"

static const ob_config_spec_t s_settings[] = {
    {"GATEWAY_PORT", OB_CONFIG_INT, false, 1, 65535},
    {"GATEWAY_HOST", OB_CONFIG_STRING, false, 0, 0},
    {"GATEWAY_THREADS", OB_CONFIG_INT, false, 1, 64},
    {"BROKER_BIND", OB_CONFIG_ENDPOINT, false, 0, 0},
    /* CURVE on the broker (gateway/ob_zap.h; billing-admin keygen makes the keys). */
    {"BROKER_SERVER_SECRET_KEY", OB_CONFIG_CURVE_SECRET, false, 0, 0},
    {"BROKER_CLIENT_PUBLIC_KEYS", OB_CONFIG_CURVE_KEYS, false, 0, 0},
    /* A body travels in one frame of at most OB_PROTO_MAX_FRAME (the workers'
     * ZeroMQ limit), next to a request head of up to H2O_MAX_REQLEN (~408 KiB). */
    {"MAX_BODY_BYTES", OB_CONFIG_INT, false, 1024, OB_PROTO_MAX_FRAME - 512 * 1024},
    {"REQUEST_TIMEOUT_MS", OB_CONFIG_INT, false, 100, 600000},
    {"HEARTBEAT_MS", OB_CONFIG_INT, false, 50, 60000},
    {"BROKER_QUEUE_LIMIT", OB_CONFIG_INT, false, 16, 1000000},
    {"STRIPE_WEBHOOK_TOLERANCE_S", OB_CONFIG_INT, false, 1, 86400},
    {"AUTH_JWKS_URL", OB_CONFIG_URL, false, 0, 0},
    /* Secrets: never a placeholder from .env.example; an HS256 key of at least 256 bits. */
    {"AUTH_JWT_SECRET", OB_CONFIG_SECRET, false, 32, 0},
    {"ADMIN_TOKEN", OB_CONFIG_SECRET, false, 0, 0},
    {"SERVICE_TOKENS", OB_CONFIG_SECRET, false, 0, 0},
    {"STRIPE_WEBHOOK_SECRET", OB_CONFIG_SECRET, false, 0, 0},
    {"LAGO_WEBHOOK_HMAC_KEY", OB_CONFIG_SECRET, false, 0, 0},
    {"LAGO_WEBHOOK_PUBLIC_KEY", OB_CONFIG_SECRET, false, 0, 0},
    {"LAGO_API_URL", OB_CONFIG_URL, false, 0, 0},
    {"WEB_ROOT", OB_CONFIG_STRING, false, 0, 0},
    {"PUBLIC_BASE_URL", OB_CONFIG_URL, false, 0, 0},
    {"LOGIN_URL", OB_CONFIG_STRING, false, 0, 0},
};

#define DEFAULT_BROKER_BIND "tcp://127.0.0.1:5555"

/*  CURVE's two settings go together, and without them the broker is
 *  reachable from this machine only: anyone who reaches a plain broker can
 *  say READY as any service. Prints one line per problem; returns the count. */
static int
s_check_broker_security(FILE *out)
{
    const char *secret = ob_config_get("BROKER_SERVER_SECRET_KEY");
    const char *clients = ob_config_get("BROKER_CLIENT_PUBLIC_KEYS");
    if (secret && !clients) {
        fprintf(out, "config: BROKER_CLIENT_PUBLIC_KEYS is required with BROKER_SERVER_SECRET_KEY (the workers' public keys)\n");
        return 1;
    }
    if (clients && !secret) {
        fprintf(out, "config: BROKER_SERVER_SECRET_KEY is required with BROKER_CLIENT_PUBLIC_KEYS\n");
        return 1;
    }
    if (secret && !zmq_has("curve")) {
        fprintf(out, "config: BROKER_SERVER_SECRET_KEY is set but this libzmq has no CURVE\n");
        return 1;
    }
    if (!secret && !ob_endpoint_is_loopback(ob_config_str("BROKER_BIND", DEFAULT_BROKER_BIND))) {
        fprintf(out, "config: BROKER_BIND is not a loopback address, which needs CURVE: set BROKER_SERVER_SECRET_KEY and "
                     "BROKER_CLIENT_PUBLIC_KEYS (billing-admin keygen), or bind 127.0.0.1\n");
        return 1;
    }
    return 0;
}

static void *
s_refresher_main(void *arg)
{
    ob_jwt_auth_run_refresher(arg);
    return NULL;
}

/*  /site-config.json: what the pages need to know about this deployment. */
static int
s_add_site_config(ob_static_t *web)
{
    const char *login_url = ob_config_get("LOGIN_URL");
    json_t *config = json_pack("{s:o}", "login_url", login_url ? json_string(login_url) : json_null());
    size_t len;
    char *text = ob_json_dump(config, &len);
    json_decref(config);
    int rc = text ? ob_static_add(web, "/site-config.json", text, len) : -1;
    free(text);
    return rc;
}

int
main(void)
{
    ob_log_init("gateway");
    if (ob_config_load() != 0) {
        fprintf(stderr, "config: the .env file cannot be read\n");
        return 2;
    }
    if (ob_config_validate(s_settings, sizeof s_settings / sizeof s_settings[0], stderr) != 0 ||
        s_check_broker_security(stderr) != 0)
        return 2;

    /* Block the signals before any thread starts so that only sigwait sees them. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    ob_jwt_auth_t *jwt = NULL;
    ob_jwt_auth_config_t jwt_config;
    ob_jwt_auth_config_from_env(&jwt_config);
    if (jwt_config.hs256_secret || jwt_config.public_key_file || jwt_config.jwks_url) {
        jwt = ob_jwt_auth_new(&jwt_config);
        if (!jwt)
            return 2;
        if (jwt_config.jwks_url && ob_jwt_auth_refresh_jwks(jwt) != 0)
            ob_log_warn("the JWKS could not be fetched at start; retrying in the background");
    } else {
        ob_log_warn("no AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWKS_URL: user endpoints will answer 401");
    }

    ob_lago_sig_config_t lago_config;
    ob_lago_sig_config_from_env(&lago_config);
    ob_lago_sig_t *lago = ob_lago_sig_new(&lago_config);
    if (!lago)
        return 2;

    ob_http_metrics_t *http_metrics = ob_http_metrics_new();
    if (!http_metrics)
        return 1;
    /* A WEB_ROOT that was set must load; the default (the checkout's web/) may be absent. */
    const char *web_root = ob_config_get("WEB_ROOT");
    ob_static_t *web = ob_static_new(web_root ? web_root : "web");
    if (!web && web_root)
        return 2;
    if (!web)
        ob_log_warn("no web/ folder here and no WEB_ROOT: the pages answer 404");
    if (web && s_add_site_config(web) != 0)
        return 1;

    void *zmq_ctx = zmq_ctx_new();
    const char *frontend = "inproc://ob-broker";
    const char *curve_secret = ob_config_get("BROKER_SERVER_SECRET_KEY");
    ob_zap_t *zap = curve_secret ? ob_zap_new(zmq_ctx, ob_config_get("BROKER_CLIENT_PUBLIC_KEYS")) : NULL;
    if (curve_secret && !zap)
        return 1;
    ob_broker_config_t broker_config = {
        .frontend_endpoint = frontend,
        .backend_endpoint = ob_config_str("BROKER_BIND", DEFAULT_BROKER_BIND),
        .heartbeat_ms = (int)ob_config_int("HEARTBEAT_MS", 1000),
        .queue_limit = (int)ob_config_int("BROKER_QUEUE_LIMIT", 8192),
        .http_metrics = http_metrics,
        .curve_secret_key = curve_secret,
    };
    ob_broker_t *broker = ob_broker_new(zmq_ctx, &broker_config);
    if (!broker)
        return 1;

    ob_server_config_t server_config = {
        .host = ob_config_str("GATEWAY_HOST", "0.0.0.0"),
        .port = (int)ob_config_int("GATEWAY_PORT", 8084),
        .threads = (int)ob_config_int("GATEWAY_THREADS", 2),
        .max_body = (size_t)ob_config_int("MAX_BODY_BYTES", 1024 * 1024),
        .request_timeout_ms = (int)ob_config_int("REQUEST_TIMEOUT_MS", 5000),
        .zmq_ctx = zmq_ctx,
        .broker_frontend = frontend,
        .broker = broker,
        .http_metrics = http_metrics,
        .web = web,
        .auth =
            {
                .admin_token = ob_config_get("ADMIN_TOKEN"),
                .metrics_token = ob_config_get("METRICS_TOKEN"),
                .service_tokens = ob_config_get("SERVICE_TOKENS"),
                .stripe_webhook_secrets = ob_config_get("STRIPE_WEBHOOK_SECRET"),
                .stripe_tolerance_s = ob_config_int("STRIPE_WEBHOOK_TOLERANCE_S", 300),
                .lago = lago,
                .jwt = jwt,
                .cookie_name = ob_config_get("AUTH_COOKIE_NAME"),
                .public_base_url = ob_config_get("PUBLIC_BASE_URL"),
            },
    };
    ob_server_t *server = ob_server_new(&server_config);
    if (!server) {
        ob_broker_destroy(&broker);
        return 1;
    }
    pthread_t refresher;
    bool refreshing = jwt && jwt_config.jwks_url && pthread_create(&refresher, NULL, s_refresher_main, jwt) == 0;
    if (ob_broker_start(broker) != 0 || ob_server_start(server) != 0) {
        ob_log_error("cannot start threads");
        return 1;
    }
    ob_log_info("listening on %s:%d with %d threads; broker at %s (%s)", server_config.host, server_config.port,
                server_config.threads, broker_config.backend_endpoint, curve_secret ? "CURVE" : "plain TCP, loopback only");

    int signal_number = 0;
    sigwait(&signals, &signal_number);
    ob_log_info("signal %d: draining in-flight requests", signal_number);
    ob_server_shutdown(server);
    ob_broker_stop(broker);
    if (refreshing) {
        ob_jwt_auth_stop_refresher(jwt);
        pthread_join(refresher, NULL);
    }
    ob_server_destroy(&server);
    ob_broker_destroy(&broker);
    ob_zap_destroy(&zap);
    ob_jwt_auth_destroy(&jwt);
    ob_lago_sig_destroy(&lago);
    ob_static_destroy(&web);
    zmq_ctx_term(zmq_ctx);
    ob_http_metrics_destroy(&http_metrics);
    ob_log_info("stopped");
    return 0;
}
