/*  ob_edge_auth - who is calling: the check each route's auth kind asks for.
 *
 *  Pure over its inputs (header values and the raw body), so every case is
 *  testable without a socket. The gateway calls it on its loop threads; JWKS
 *  refreshes happen elsewhere (ob_jwt_auth's refresher thread).
 */
#ifndef OB_EDGE_AUTH_H_INCLUDED
#define OB_EDGE_AUTH_H_INCLUDED

#include <stdint.h>

#include "gateway/ob_routes.h"
#include "proto/ob_proto.h"

typedef struct _ob_jwt_auth_t ob_jwt_auth_t;
typedef struct _ob_lago_sig_t ob_lago_sig_t;

/*  Secrets and verifiers, borrowed for the gateway's lifetime. */
typedef struct {
    const char *admin_token;
    const char *metrics_token;          /* METRICS_TOKEN; NULL or empty: /metrics is open */
    const char *service_tokens;         /* comma-separated */
    const char *stripe_webhook_secrets; /* comma-separated, for rolling */
    long stripe_tolerance_s;
    ob_lago_sig_t *lago;         /* Lago webhook verifier */
    ob_jwt_auth_t *jwt;          /* NULL: user routes answer 401 */
    const char *cookie_name;     /* AUTH_COOKIE_NAME or NULL */
    const char *public_base_url; /* PUBLIC_BASE_URL or NULL: the origin cookie writes must come from (ob_csrf.h) */
} ob_edge_auth_config_t;

/*  The request as the gateway saw it. Views are not NUL-terminated. */
typedef struct {
    ob_bytes_t authorization, cookie;
    ob_bytes_t stripe_signature;
    ob_bytes_t lago_algorithm, lago_signature, lago_unique_key;
    ob_bytes_t body;
    int64_t now_s;
    ob_bytes_t method, origin, host, content_type; /* for the cookie rule (ob_csrf.h) */
} ob_edge_request_t;

/*  Who the caller is, when the check passed. */
typedef struct {
    char principal[256]; /* user id (JWT sub), service name, or "admin" */
    char role[16];       /* "public", "user", "service", "admin", "stripe", "lago" */
    char email[330];     /* fits ob_jwt_claims_t.email */
    int64_t signed_at;   /* webhook signature time */
} ob_edge_identity_t;

/*  Why the check failed: HTTP status, stable code, sentence. */
typedef struct {
    int status;
    const char *code;
    const char *message;
} ob_edge_denial_t;

/*  0 when the caller passes the route's check (identity filled), -1 with
 *  denial filled otherwise. */
int ob_edge_auth_check(const ob_edge_auth_config_t *config, ob_auth_kind_t kind, const ob_edge_request_t *request,
                       ob_edge_identity_t *identity, ob_edge_denial_t *denial);

#endif
