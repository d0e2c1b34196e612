/*  ob_edge_auth - who is calling: the check each route's auth kind asks for. */
#include "gateway/ob_edge_auth.h"

#include <stdio.h>
#include <string.h>

#include "gateway/ob_csrf.h"
#include "gateway/ob_jwt_auth.h"
#include "gateway/ob_lago_sig.h"
#include "gateway/ob_service_token.h"
#include "gateway/ob_stripe_sig.h"

static int
s_deny(ob_edge_denial_t *denial, int status, const char *code, const char *message)
{
    denial->status = status;
    denial->code = code;
    denial->message = message;
    return -1;
}

static void
s_set(char *dst, size_t cap, const char *value)
{
    snprintf(dst, cap, "%s", value);
}

static int
s_check_user(const ob_edge_auth_config_t *config, const ob_edge_request_t *request, ob_edge_identity_t *identity,
             ob_edge_denial_t *denial)
{
    const char *token;
    size_t token_len;
    if (ob_jwt_auth_extract_token(request->authorization.ptr, request->authorization.len, request->cookie.ptr, request->cookie.len,
                                  config->cookie_name, &token, &token_len) != 0)
        return s_deny(denial, 401, "token_missing", "a bearer token is required");
    bool from_cookie = request->cookie.ptr && token >= request->cookie.ptr && token < request->cookie.ptr + request->cookie.len;
    if (from_cookie) {
        ob_csrf_request_t csrf = {request->method, request->origin, request->host, request->content_type, config->public_base_url};
        const char *code = ob_csrf_check(&csrf);
        if (code)
            return s_deny(denial, 403, code,
                          strcmp(code, "json_required") == 0
                              ? "a change made with the session cookie must be sent as application/json"
                              : "a change made with the session cookie must come from this site's own pages");
    }
    if (!config->jwt)
        return s_deny(denial, 401, "auth_not_configured", "user authentication is not configured on this server");
    ob_jwt_claims_t claims;
    const char *reason = "bad_signature";
    ob_err_t err = ob_jwt_auth_verify(config->jwt, token, token_len, request->now_s, &claims, &reason);
    if (err == OB_ERR_INTERNAL)
        return s_deny(denial, 503, "unavailable", "the token could not be checked; retry");
    if (err != OB_OK)
        return s_deny(denial, 401, reason, "the bearer token is not valid");
    s_set(identity->principal, sizeof identity->principal, claims.sub);
    s_set(identity->email, sizeof identity->email, claims.email);
    s_set(identity->role, sizeof identity->role, "user");
    return 0;
}

static int
s_check_token(const char *tokens_csv, const ob_edge_request_t *request, ob_edge_denial_t *denial)
{
    const char *token;
    size_t token_len;
    if (ob_service_token_parse_bearer(request->authorization.ptr, request->authorization.len, &token, &token_len) != 0)
        return s_deny(denial, 401, "token_missing", "a bearer token is required");
    if (!tokens_csv || !ob_service_token_check(tokens_csv, token, token_len))
        return s_deny(denial, 401, "bad_token", "the bearer token is not accepted");
    return 0;
}

int
ob_edge_auth_check(const ob_edge_auth_config_t *config, ob_auth_kind_t kind, const ob_edge_request_t *request,
                   ob_edge_identity_t *identity, ob_edge_denial_t *denial)
{
    memset(identity, 0, sizeof *identity);
    switch (kind) {
    case OB_AUTH_PUBLIC:
        s_set(identity->role, sizeof identity->role, "public");
        return 0;
    case OB_AUTH_USER:
        return s_check_user(config, request, identity, denial);
    case OB_AUTH_SERVICE:
        if (s_check_token(config->service_tokens, request, denial) != 0)
            return -1;
        s_set(identity->principal, sizeof identity->principal, "service");
        s_set(identity->role, sizeof identity->role, "service");
        return 0;
    case OB_AUTH_ADMIN:
        if (s_check_token(config->admin_token, request, denial) != 0)
            return -1;
        s_set(identity->principal, sizeof identity->principal, "admin");
        s_set(identity->role, sizeof identity->role, "admin");
        return 0;
    case OB_AUTH_METRICS:
        if (config->metrics_token && *config->metrics_token && s_check_token(config->metrics_token, request, denial) != 0)
            return -1;
        s_set(identity->principal, sizeof identity->principal, "metrics");
        s_set(identity->role, sizeof identity->role, "metrics");
        return 0;
    case OB_AUTH_STRIPE_SIGNATURE: {
        ob_stripe_sig_result_t result =
            ob_stripe_sig_verify(request->stripe_signature.ptr, request->stripe_signature.len, request->body.ptr, request->body.len,
                                 config->stripe_webhook_secrets, config->stripe_tolerance_s, request->now_s, &identity->signed_at);
        if (result == OB_STRIPE_SIG_NOT_CONFIGURED)
            return s_deny(denial, 503, ob_stripe_sig_code(result), ob_stripe_sig_message(result));
        if (result != OB_STRIPE_SIG_OK)
            return s_deny(denial, 400, ob_stripe_sig_code(result), ob_stripe_sig_message(result));
        s_set(identity->principal, sizeof identity->principal, "stripe");
        s_set(identity->role, sizeof identity->role, "stripe");
        return 0;
    }
    case OB_AUTH_LAGO_SIGNATURE: {
        ob_lago_sig_result_t result =
            ob_lago_sig_verify(config->lago, request->lago_algorithm.ptr, request->lago_algorithm.len, request->lago_signature.ptr,
                               request->lago_signature.len, request->body.ptr, request->body.len);
        if (result == OB_LAGO_SIG_NOT_CONFIGURED)
            return s_deny(denial, 503, ob_lago_sig_code(result), ob_lago_sig_message(result));
        if (result != OB_LAGO_SIG_OK)
            return s_deny(denial, 400, ob_lago_sig_code(result), ob_lago_sig_message(result));
        if (request->lago_unique_key.len == 0 || request->lago_unique_key.len > 255)
            return s_deny(denial, 400, "unique_key_missing", "the X-Lago-Unique-Key header is required");
        s_set(identity->principal, sizeof identity->principal, "lago");
        s_set(identity->role, sizeof identity->role, "lago");
        return 0;
    }
    }
    return s_deny(denial, 500, "internal", "unknown authentication kind");
}
