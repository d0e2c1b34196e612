/*  ob_err - outcome names and HTTP statuses. */
#include "common/ob_err.h"

static const struct {
    int status;
    const char *name;
} s_table[] = {
    [OB_OK] = {200, "ok"},
    [OB_ERR_INVALID] = {400, "invalid_request"},
    [OB_ERR_UNAUTHORIZED] = {401, "unauthorized"},
    [OB_ERR_FORBIDDEN] = {403, "forbidden"},
    [OB_ERR_NOT_FOUND] = {404, "not_found"},
    [OB_ERR_CONFLICT] = {409, "conflict"},
    [OB_ERR_PAYMENT] = {402, "payment_required"},
    [OB_ERR_QUOTA] = {429, "quota_exceeded"},
    [OB_ERR_TRANSIENT] = {503, "unavailable"},
    [OB_ERR_UPSTREAM] = {502, "upstream_error"},
    [OB_ERR_TIMEOUT] = {504, "timeout"},
    [OB_ERR_INTERNAL] = {500, "internal"},
};

int
ob_err_http_status(ob_err_t err)
{
    if ((unsigned)err >= sizeof s_table / sizeof s_table[0])
        return 500;
    return s_table[err].status;
}

const char *
ob_err_name(ob_err_t err)
{
    if ((unsigned)err >= sizeof s_table / sizeof s_table[0])
        return "internal";
    return s_table[err].name;
}
