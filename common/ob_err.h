/*  ob_err - the one outcome enum shared by every module.
 *
 *  Plumbing returns 0 / -1; anything a caller acts on returns an ob_err_t.
 *  Each value maps to one HTTP status at the edge (ob_err_http_status).
 */
#ifndef OB_ERR_H_INCLUDED
#define OB_ERR_H_INCLUDED

typedef enum {
    OB_OK = 0,
    OB_ERR_INVALID,      /* the input is malformed or fails validation: 400 */
    OB_ERR_UNAUTHORIZED, /* no or bad credentials: 401 */
    OB_ERR_FORBIDDEN,    /* credentials fine, not allowed: 403 */
    OB_ERR_NOT_FOUND,    /* 404 */
    OB_ERR_CONFLICT,     /* the state forbids it (already subscribed, ...): 409 */
    OB_ERR_PAYMENT,      /* the card was declined: 402 */
    OB_ERR_QUOTA,        /* quota exhausted: 429 */
    OB_ERR_TRANSIENT,    /* try again later (database, Redis, peer down): 503 */
    OB_ERR_UPSTREAM,     /* an outside API answered with an error: 502 */
    OB_ERR_TIMEOUT,      /* the deadline passed: 504 */
    OB_ERR_INTERNAL      /* a bug or an impossible state: 500 */
} ob_err_t;

/*  The HTTP status for an outcome. */
int ob_err_http_status(ob_err_t err);

/*  A stable snake_case name, used as a default error code. */
const char *ob_err_name(ob_err_t err);

#endif
